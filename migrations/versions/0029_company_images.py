"""company logo, stamp and signature images in the requisites, the chief accountant's name

Revision ID: 0029
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

IMAGES = ('logo', 'stamp', 'director_signature', 'accountant_signature')


def upgrade():
    with op.batch_alter_table('company') as batch:
        batch.add_column(sa.Column('chief_accountant_name', sa.String(length=255),
                                   nullable=True))
        for name in IMAGES:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column('print_stamp_signatures', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('company') as batch:
        batch.drop_column('print_stamp_signatures')
        for name in reversed(IMAGES):
            batch.drop_column(name)
        batch.drop_column('chief_accountant_name')
