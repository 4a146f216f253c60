"""saved views: a table stamp of their own, as the custom fields have

Revision ID: 0035
Revises: 0034

Every list page read the saved views of its list («Виды»). They are now
kept in each process while the saved_view table's stamp stays
(services/saved_views.visible, services/table_stamps.kept): a statement
fewer on every list page.
"""
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

TABLE = "saved_view"
NEW_STAMP = {"sqlite": "abs(random() % 9007199254740992)",
             "postgresql": "floor(random() * 9007199254740992)::bigint"}


def upgrade():
    dialect = op.get_bind().dialect.name
    op.execute(f"INSERT INTO table_stamp (name, stamp) VALUES ('{TABLE}', {NEW_STAMP[dialect]})")
    if dialect == "postgresql":
        # table_stamp_bump() of migration 0033 stamps the trigger's table.
        op.execute(f"CREATE TRIGGER {TABLE}_table_stamp AFTER INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {TABLE} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION table_stamp_bump()")
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {TABLE}_table_stamp_{event.lower()} AFTER {event} "
                   f"ON {TABLE} BEGIN UPDATE table_stamp SET stamp = {NEW_STAMP[dialect]} "
                   f"WHERE name = '{TABLE}'; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_table_stamp ON {TABLE}")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {TABLE}_table_stamp_{event}")
    op.execute(f"DELETE FROM table_stamp WHERE name = '{TABLE}'")
