"""statistics: sales plans and indexes for the grouped figures

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sales_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('manager_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('deals', sa.Integer(), nullable=False),
        sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['manager_id'], ['ab_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('manager_id', 'month', name='uq_sales_plan_manager_month'),
    )
    with op.batch_alter_table('sales_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_plan_month'), ['month'], unique=False)

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_status_date_responsible',
                              ['status', 'date', 'responsible_id', 'amount'], unique=False)

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_created_responsible_stage',
                              ['created_at', 'responsible_id', 'funnel_stage_id'], unique=False)

    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.create_index('ix_deal_created_stage',
                              ['created_at', 'responsible_id', 'stage_id', 'status', 'amount',
                               'currency_id'], unique=False)
        batch_op.create_index('ix_deal_status_closed',
                              ['status', 'closed_at', 'responsible_id', 'amount', 'currency_id'],
                              unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_assignee_planned_status',
                              ['assignee_id', 'planned_at', 'status_id', 'type_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_assignee_planned_status')

    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_status_closed')
        batch_op.drop_index('ix_deal_created_stage')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_created_responsible_stage')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_status_date_responsible')

    with op.batch_alter_table('sales_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_plan_month'))

    op.drop_table('sales_plan')
