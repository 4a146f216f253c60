"""dictionaries and staff: a stamp per table that changes with every write

Revision ID: 0033
Revises: 0032

A list page's search form offers every value of each dictionary column
(statuses, regions, employees, …): reading them all was four queries and
a seventh of a client or task list's time, each page. The form is now drawn
once per set of the tables' stamps (views/custom_fields.py). Triggers write
a new random stamp on any write to a watched table, from whichever worker,
server or SQL; random as in 0032, so a restored database never brings back
a stamp seen with other rows.
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

# The dictionaries (models.DictionaryMixin), departments, employees and roles.
WATCHED = ("action_result", "action_type", "client_group", "client_origin", "client_status",
           "client_type", "currency", "funnel_stage", "loan_purpose", "mailing_type",
           "market_segment", "product", "refusal_reason", "region", "tag", "task_status",
           "task_type", "tax", "department", "ab_user", "ab_role")
NEW_STAMP = {"sqlite": "abs(random() % 9007199254740992)",
             "postgresql": "floor(random() * 9007199254740992)::bigint"}


def upgrade():
    op.create_table("table_stamp",
                    sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("stamp", sa.BigInteger, nullable=False))
    dialect = op.get_bind().dialect.name
    for table in WATCHED:
        op.execute("INSERT INTO table_stamp (name, stamp) "
                   f"VALUES ('{table}', {NEW_STAMP[dialect]})")
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION table_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN UPDATE table_stamp SET stamp = {NEW_STAMP[dialect]} "
                   "WHERE name = TG_TABLE_NAME; RETURN NULL; END $$")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_table_stamp AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION table_stamp_bump()")
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_table_stamp_{event.lower()} AFTER {event} "
                       f"ON {table} BEGIN UPDATE table_stamp SET stamp = {NEW_STAMP[dialect]} "
                       f"WHERE name = '{table}'; END")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in WATCHED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_table_stamp ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_table_stamp_{event}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION table_stamp_bump()")
    op.drop_table("table_stamp")
