"""rate-limit counters in the database

Revision ID: 0016
Revises: 0015

Flask-Limiter kept its counters in each process's memory, so every
gunicorn worker counted on its own (twice the sign-in and web-form limits
got through under `make run`). The table holds one row per limit, key and
window (services/ratelimits.py), shared by every worker and machine.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_limit',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expiry', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_rate_limit_expiry'), 'rate_limit', ['expiry'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_rate_limit_expiry'), table_name='rate_limit')
    op.drop_table('rate_limit')
