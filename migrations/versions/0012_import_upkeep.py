"""imports: attempts and removed files in the journal; indexes that only
slowed inserts

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 05:30:00

The three dropped indexes are prefixes of others that serve the same
look-ups (client (responsible_id, id), client (public_access, id),
application (status, date, responsible_id, amount)); each cost every insert
a B-tree write.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0010'
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

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_status_date')


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_status_date', ['status', 'date'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_public_access', ['public_access'], unique=False)
        batch_op.create_index('ix_client_responsible_id', ['responsible_id'], unique=False)

    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('files_removed_at')
        batch_op.drop_column('attempts')
