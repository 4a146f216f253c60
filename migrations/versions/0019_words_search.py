"""the registers' own words indexed for the quick search

Revision ID: 0019
Revises: 0018

A register's quick search also looks in the record's own words (a deal's
title, a lead's contact, a note's text: services/search.WORDS). Read row
by row, 100 000 deals cost 27 ms on SQLite and 46 ms on PostgreSQL, and a
million ten times that; an index finds any part of them:
- SQLite: a contentless FTS5 table per register, trigram tokenizer (it
  folds case, Cyrillic included), kept by triggers that write ё as е.
- PostgreSQL: a trigram GIN index per column on the folded text
  ``replace(lower(column), 'ё', 'е')`` (the expression the search tests),
  when pg_trgm is there (migration 0018); and a larger sample of the
  clients' search text for the planner's estimates.
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# As services/search.WORDS was when this ran.
WORDS = {
    "contact_person": ("name", "phone", "email"),
    "lead": ("title", "contact_name", "phone", "email"),
    "deal": ("title",),
    "note": ("text",),
    "project": ("name",),
    "counterparty_action": ("result",),
    "invoice": ("number",),
    "invoice_line": ("description",),
}


def _folded(row, column):
    return f"replace(replace(coalesce({row}.\"{column}\", ''), 'ё', 'е'), 'Ё', 'Е')"


def _sqlite(table, columns):
    fts = f"{table}_words"
    names = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(_folded("new", c) for c in columns)
    old = ", ".join(_folded("old", c) for c in columns)
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return (
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {remove} {add} END",
        f"INSERT INTO {fts}(rowid, {names}) "
        f"SELECT id, {', '.join(_folded(table, c) for c in columns)} FROM {table}",
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for table, columns in WORDS.items():
            for statement in _sqlite(table, columns):
                op.execute(statement)
        return
    if bind.dialect.name != 'postgresql':
        return
    # The planner guesses how many clients a LIKE '%…%' matches from its
    # sample of the column: with the default 100 values it took 15 000
    # «григор» for 100 and sorted them all instead of walking the list's
    # order (72 ms against 46 ms a page).
    op.execute('ALTER TABLE client ALTER COLUMN search SET STATISTICS 1000')
    schema = bind.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
    if schema is None:
        log.warning('pg_trgm is not available: the registers\' own words are read row by row')
        return
    for table, columns in WORDS.items():
        for column in columns:
            op.execute(f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin "
                       f"((replace(lower(\"{column}\"), 'ё', 'е')) \"{schema}\".gin_trgm_ops)")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('ALTER TABLE client ALTER COLUMN search SET STATISTICS -1')
    for table, columns in WORDS.items():
        if bind.dialect.name == 'sqlite':
            for suffix in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_words_{suffix}')
            op.execute(f'DROP TABLE IF EXISTS {table}_words')
        else:
            for column in columns:
                op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
