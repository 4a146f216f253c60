"""company logo, stamp and signature images (reserved: filled by the work named here)

Revision ID: 0029
Revises: 0028
"""

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
