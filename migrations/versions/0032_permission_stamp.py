"""permissions: a stamp that changes with every change of the roles' grants

Revision ID: 0032
Revises: 0031

Each request used to read the user's roles' permission pairs (500 for the
Admin): 3–4 ms of a 25–30 ms list page. The app now keeps them per role
set in each process and reads only this stamp per request. Triggers write a
new random stamp whenever a grant, a permission-view, a permission or a
view name changes, whoever changes it (a role screen in another worker or
on another server, the permission sync, SQL typed by an admin). Random, not
a counter: a database put back from a backup (or a test's baseline) must
not bring back a value a process has seen with other grants.
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

WATCHED = ("ab_permission_view_role", "ab_permission_view", "ab_permission", "ab_view_menu")
# A 53-bit random number on both: SQLite's random() is 64 bits, PostgreSQL's a float.
NEW_STAMP = {"sqlite": "abs(random() % 9007199254740992)",
             "postgresql": "floor(random() * 9007199254740992)::bigint"}


def upgrade():
    op.create_table("permission_stamp",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("stamp", sa.BigInteger, nullable=False))
    dialect = op.get_bind().dialect.name
    op.execute(f"INSERT INTO permission_stamp (id, stamp) VALUES (1, {NEW_STAMP[dialect]})")
    bump = f"UPDATE permission_stamp SET stamp = {NEW_STAMP[dialect]} WHERE id = 1"
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION permission_stamp_bump() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN {bump}; RETURN NULL; END $$")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION permission_stamp_bump()")
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_stamp_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {bump}; END")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in WATCHED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_stamp ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_stamp_{event}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION permission_stamp_bump()")
    op.drop_table("permission_stamp")
