"""sign-in failures: the journal of failed sign-ins

Revision ID: 0028
Revises: 0027

Each failed sign-in on the screen or the API: when, the login as typed,
the employee it names if any, the client's address and why (wrong
password, unknown user, locked, inactive); old rows are removed by the
nightly «sign-in-failures» job.
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('username', sa.String(length=256), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.Enum('wrong_password', 'unknown_user', 'locked', 'inactive',
                                    name='signinfailurereason', native_enum=False,
                                    length=20), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sign_in_failure_at', 'sign_in_failure', ['at'], unique=False)
    op.create_index('ix_sign_in_failure_user_id', 'sign_in_failure', ['user_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_sign_in_failure_user_id', table_name='sign_in_failure')
    op.drop_index('ix_sign_in_failure_at', table_name='sign_in_failure')
    op.drop_table('sign_in_failure')
