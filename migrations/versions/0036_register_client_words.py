"""PostgreSQL: each register row keeps its client's search text

Revision ID: 0036
Revises: 0035

A register's quick search by a client's name («ригор» in the
applications) took every matching client from the client index first:
15 000 clients at a million, each read from the wide client row for its
recheck (27-30 ms), then a probe per client into the register (10 ms).
Each register row now holds a copy of its client's ``search`` in
``client_search`` with a trigram index of its own: the same search reads
the register's index and its ~1 500 rows (1.3 ms). Kept by triggers, so
every writer is covered: a row gets its client's text when inserted
without it (a bulk writer may give it, as the import does: a BEFORE
trigger whose condition is false costs COPY 0.2 s a 100 000 rows, one that
runs 0.6 s) or moved to another client, and a client's new text goes to
its rows. SQLite needs none of it: its FTS5 table gives the matching
client ids from the index itself (migration 0018).
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# Every register whose list or link field searches by its client
# (services/search.CLIENT_WORDS_TABLES: the same names).
TABLES = ("act", "application", "contact_person", "counterparty_action", "deal", "invoice",
          "lead", "note", "project", "task", "upd")
COLUMN = "client_search"


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
    if schema is None:
        log.warning("pg_trgm is not available: the registers' client words are read row by row")
    op.execute(f"""
        CREATE FUNCTION register_client_words() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.{COLUMN} := (SELECT search FROM client WHERE id = NEW.client_id);
            RETURN NEW;
        END $$""")
    spread = "\n".join(f"UPDATE {table} SET {COLUMN} = NEW.search WHERE client_id = NEW.id;"
                       for table in TABLES)
    op.execute(f"""
        CREATE FUNCTION client_words_spread() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {spread}
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.add_column(table, sa.Column(COLUMN, sa.Text(), nullable=True))
        op.execute(f"UPDATE {table} r SET {COLUMN} = c.search FROM client c "
                   f"WHERE c.id = r.client_id AND c.search IS NOT NULL")
        op.execute(f"CREATE TRIGGER {table}_client_words_insert BEFORE INSERT ON {table} "
                   f"FOR EACH ROW WHEN (NEW.{COLUMN} IS NULL AND NEW.client_id IS NOT NULL) "
                   "EXECUTE FUNCTION register_client_words()")
        op.execute(f"CREATE TRIGGER {table}_client_words_move BEFORE UPDATE OF client_id "
                   f"ON {table} FOR EACH ROW "
                   "WHEN (OLD.client_id IS DISTINCT FROM NEW.client_id) "
                   "EXECUTE FUNCTION register_client_words()")
        if schema is not None:
            op.execute(f'CREATE INDEX ix_{table}_{COLUMN}_trgm ON {table} '
                       f'USING gin ({COLUMN} "{schema}".gin_trgm_ops)')
    op.execute("CREATE TRIGGER client_words_spread AFTER UPDATE OF search ON client "
               "FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search) "
               "EXECUTE FUNCTION client_words_spread()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER client_words_spread ON client")
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_client_words_insert ON {table}")
        op.execute(f"DROP TRIGGER {table}_client_words_move ON {table}")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_{COLUMN}_trgm")
        op.drop_column(table, COLUMN)
    op.execute("DROP FUNCTION client_words_spread()")
    op.execute("DROP FUNCTION register_client_words()")
