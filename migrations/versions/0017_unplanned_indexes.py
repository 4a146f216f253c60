"""deals and clients without a planned task: index look-ups per row

Revision ID: 0017
Revises: 0016

«Без планов» (services/followup.py) walks open deals, and clients, newest
first and looks up for each one whether an open task is planned from now
on, and whether a client has an application in processing or an open deal.
Each look-up is now one index, index only:
- task (deal_id, planned_at, status_id) and task (client_id, planned_at,
  status_id), partial on the link being set. They replace the indexes on
  deal_id and client_id alone (their prefixes). On SQLite the index on
  deal_id held every task without a deal: after ANALYZE it said a deal's
  look-up finds three million rows, and SQLite walked the planned-date
  index once per open deal instead (the bench never finished).
- application (client_id, status) and deal (client_id, status) replace
  the indexes on client_id alone.
- deal (status, id) replaces deal (status): PostgreSQL can walk the open
  deals in id order (SQLite's index held the id already, as the rowid).
Not batch mode: on SQLite that would copy the tables and drop their
roll-up triggers.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# (table, new index, its columns, partial on the first column, the index it replaces)
INDEXES = (
    ('task', 'ix_task_deal_planned', ['deal_id', 'planned_at', 'status_id'], True,
     'ix_task_deal_id'),
    ('task', 'ix_task_client_planned', ['client_id', 'planned_at', 'status_id'], True,
     'ix_task_client_id'),
    ('application', 'ix_application_client_status', ['client_id', 'status'], False,
     'ix_application_client_id'),
    ('deal', 'ix_deal_client_status', ['client_id', 'status'], False, 'ix_deal_client_id'),
    ('deal', 'ix_deal_status_id', ['status', 'id'], False, 'ix_deal_status'),
)


def upgrade():
    for table, name, columns, partial, old in INDEXES:
        where = sa.text(f'{columns[0]} IS NOT NULL') if partial else None
        op.create_index(name, table, columns, unique=False,
                        sqlite_where=where, postgresql_where=where)
        op.drop_index(old, table_name=table)


def downgrade():
    for table, name, columns, _partial, old in INDEXES:
        op.create_index(old, table, [columns[0]], unique=False)
        op.drop_index(name, table_name=table)
