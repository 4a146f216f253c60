"""import attempts, the ledger that undoes an import, dictionary synonyms

Revision ID: 0020
Revises: 0019

- import_attempt: each claim of an import and how it ended, so the journal
  can tell a run that died and was resumed.
- import_created (id ranges) and import_change (a column's values before
  and after) record what an import wrote; «Отменить импорт» reads them
  to undo it; import_undo records an undo (who, when, what it did).
- synonyms on every dictionary: other ways people write a value, matched
  by imports («Мск» for «Москва»).
Plain ADD COLUMN, not batch mode: on SQLite that would copy the tables
and drop their triggers.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

DICTIONARIES = ('action_result', 'action_type', 'client_group', 'client_origin',
                'client_status', 'client_type', 'currency', 'funnel_stage', 'loan_purpose',
                'mailing_type', 'market_segment', 'product', 'refusal_reason', 'region', 'tag',
                'task_status', 'task_type', 'tax')


def _job():
    return sa.Column('job_id', sa.Integer(),
                     sa.ForeignKey('import_job.id', ondelete='CASCADE'), nullable=False)


def upgrade():
    for table in DICTIONARIES:
        op.add_column(table, sa.Column('synonyms', sa.Text(), nullable=True))
    op.create_table(
        'import_attempt',
        sa.Column('id', sa.Integer(), primary_key=True),
        _job(),
        sa.Column('worker', sa.String(100)),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime()),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(20), nullable=False),
    )
    op.create_index('ix_import_attempt_job_id', 'import_attempt', ['job_id'])
    op.create_table(
        'import_undo',
        sa.Column('id', sa.Integer(), primary_key=True),
        _job(),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('ab_user.id', ondelete='SET NULL')),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('deleted', sa.Integer(), nullable=False),
        sa.Column('restored', sa.Integer(), nullable=False),
        sa.Column('kept', sa.Integer(), nullable=False),
    )
    op.create_index('ix_import_undo_job_id', 'import_undo', ['job_id'])
    op.create_table(
        'import_created',
        sa.Column('id', sa.Integer(), primary_key=True),
        _job(),
        sa.Column('table_name', sa.String(60), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
    )
    op.create_index('ix_import_created_job_id', 'import_created', ['job_id'])
    op.create_table(
        'import_change',
        sa.Column('id', sa.Integer(), primary_key=True),
        _job(),
        sa.Column('table_name', sa.String(60), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(60), nullable=False),
        sa.Column('old_value', sa.Text()),
        sa.Column('new_value', sa.Text()),
    )
    op.create_index('ix_import_change_job_id', 'import_change', ['job_id'])


def downgrade():
    for table in ('import_change', 'import_created', 'import_undo', 'import_attempt'):
        op.drop_table(table)
    for table in DICTIONARIES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('synonyms')
