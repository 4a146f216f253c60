"""imports: attempts, removed files; indexes that only slowed inserts

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:30:00

Every secondary index costs each inserted row a B-tree write (SQLite: about
2 000 instructions a row and index; the indexes were 85% of inserting an
imported client and application).
- Two indexes are prefixes of others that serve the same look-ups
  (client (responsible_id, id), client (public_access, id)): dropped.
- The indexes of optional references (a client's region, status, type,
  origin, segment, group, funnel stage; an application's loan purpose and
  origin) now hold only the rows that have one (WHERE … IS NOT NULL): every
  query on them asks for a value, which both databases match to the
  partial index.
"""
from alembic import op
import sqlalchemy as sa

OPTIONAL = {
    'client': ('region_id', 'status_id', 'type_id', 'origin_id', 'segment_id', 'group_id',
               'funnel_stage_id'),
    'application': ('loan_purpose_id', 'origin_id'),
}


def _index(batch_op, table, column, partial):
    where = sa.text(f'{column} IS NOT NULL') if partial else None
    batch_op.create_index(f'ix_{table}_{column}', [column], unique=False,
                          sqlite_where=where, postgresql_where=where)


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('files_removed_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_responsible_id')
        batch_op.drop_index('ix_client_public_access')

    for table, columns in OPTIONAL.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(f'ix_{table}_{column}')
                _index(batch_op, table, column, partial=True)


def downgrade():
    for table, columns in OPTIONAL.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(f'ix_{table}_{column}')
                _index(batch_op, table, column, partial=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_public_access', ['public_access'], unique=False)
        batch_op.create_index('ix_client_responsible_id', ['responsible_id'], unique=False)

    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('files_removed_at')
        batch_op.drop_column('attempts')
