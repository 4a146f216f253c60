"""client search text, indexed for any part of it

Revision ID: 0018
Revises: 0017

Search as people search (services/search.py): each
client keeps its name, e-mail, INN and phone digits in ``client.search``
(lower case, ё as е), written by the app. Existing rows are filled here.
- PostgreSQL: a trigram GIN index (pg_trgm) serves ``LIKE '%…%'``. When
  the extension cannot be created (no rights), the column stays without
  it and search scans: a warning says so.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite >= 3.34) over
  the column (external content: the text is stored once), kept by
  triggers on insert, update of the column and delete.
"""
import logging

import sqlalchemy as sa
from alembic import op

from app.services.search import client_words

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

CLIENT = sa.table('client', sa.column('id', sa.Integer), sa.column('name', sa.String),
                  sa.column('email', sa.String), sa.column('inn', sa.String),
                  sa.column('phone', sa.String), sa.column('phone2', sa.String),
                  sa.column('search', sa.Text))
BATCH = 20_000

SQLITE = (
    "CREATE VIRTUAL TABLE client_search USING fts5("
    "search, content='client', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER client_search_insert AFTER INSERT ON client BEGIN "
    "INSERT INTO client_search(rowid, search) VALUES (new.id, new.search); END",
    "CREATE TRIGGER client_search_delete AFTER DELETE ON client BEGIN "
    "INSERT INTO client_search(client_search, rowid, search) "
    "VALUES ('delete', old.id, old.search); END",
    "CREATE TRIGGER client_search_update AFTER UPDATE OF search ON client BEGIN "
    "INSERT INTO client_search(client_search, rowid, search) "
    "VALUES ('delete', old.id, old.search); "
    "INSERT INTO client_search(rowid, search) VALUES (new.id, new.search); END",
)


def _fill(bind):
    last = 0
    while True:
        rows = bind.execute(
            sa.select(CLIENT.c.id, CLIENT.c.name, CLIENT.c.email, CLIENT.c.inn,
                      CLIENT.c.phone, CLIENT.c.phone2)
            .where(CLIENT.c.id > last).order_by(CLIENT.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        bind.execute(CLIENT.update().where(CLIENT.c.id == sa.bindparam('row_id'))
                     .values(search=sa.bindparam('words')),
                     [{'row_id': r['id'], 'words': client_words(dict(r))} for r in rows])
        last = rows[-1]['id']


def upgrade():
    op.add_column('client', sa.Column('search', sa.Text(), nullable=True))
    bind = op.get_bind()
    _fill(bind)
    if bind.dialect.name == 'sqlite':
        for statement in SQLITE:
            op.execute(statement)
        op.execute("INSERT INTO client_search(client_search) VALUES ('rebuild')")
        return
    if bind.dialect.name == 'postgresql':
        try:
            with bind.begin_nested():
                bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        except sa.exc.DBAPIError as exc:
            log.warning('pg_trgm is not available (%s): client search scans', exc)
            return
        # The operator class where the extension lives (the search path may
        # name only the app's schema).
        schema = bind.scalar(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
        op.execute(f'CREATE INDEX ix_client_search_trgm ON client '
                   f'USING gin (search "{schema}".gin_trgm_ops)')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for name in ('client_search_insert', 'client_search_delete', 'client_search_update'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute('DROP TABLE IF EXISTS client_search')
    else:
        op.execute('DROP INDEX IF EXISTS ix_client_search_trgm')
    op.drop_column('client', 'search')
