"""lead links on notes and tasks (reserved: filled by the work named here)

Revision ID: 0025
Revises: 0024
"""

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
