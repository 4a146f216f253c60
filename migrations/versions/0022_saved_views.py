"""saved list views

Revision ID: 0022
Revises: 0021

«Виды» on every list: a user's named filters, sort and page size of a
list (services/saved_views.py), and the ones an administrator shares.
A user's views of a list are read by the unique key's prefix, the shared
ones by (view_name, shared).
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_view',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('view_name', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('shared', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'view_name', 'title',
                            name='uq_saved_view_user_view_title'),
    )
    op.create_index('ix_saved_view_view_shared', 'saved_view', ['view_name', 'shared'],
                    unique=False)


def downgrade():
    op.drop_index('ix_saved_view_view_shared', table_name='saved_view')
    op.drop_table('saved_view')
