"""sign-in failures journal (reserved: filled by the work named here)

Revision ID: 0028
Revises: 0027
"""

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
