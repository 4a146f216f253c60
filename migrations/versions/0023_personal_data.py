"""personal data: consent and the access log

Revision ID: 0023
Revises: 0022

A person's consent to the processing of their personal data (date, form,
purpose, withdrawal) on clients, contact persons and leads; a web form
may require the visitor's consent; the log of who opened, exported,
printed or changed a person's record.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

PERSON_TABLES = ('client', 'contact_person', 'lead')


def upgrade():
    for table in PERSON_TABLES:
        op.add_column(table, sa.Column('consent_date', sa.Date(), nullable=True))
        op.add_column(table, sa.Column('consent_form', sa.Enum(
            'written', 'electronic', 'oral', 'other', name='consentform', native_enum=False,
            length=20), nullable=True))
        op.add_column(table, sa.Column('consent_purpose', sa.Text(), nullable=True))
        op.add_column(table, sa.Column('consent_withdrawn', sa.Date(), nullable=True))
    op.add_column('web_form', sa.Column('consent_required', sa.Boolean(),
                                        server_default=sa.false(), nullable=False))
    op.add_column('web_form', sa.Column('consent_text', sa.Text(), nullable=True))
    op.create_table(
        'personal_data_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.Enum('view', 'export', 'print', 'change',
                                    name='accessaction', native_enum=False, length=20),
                  nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_personal_data_log_at', 'personal_data_log', ['at'], unique=False)
    op.create_index('ix_personal_data_log_user_id', 'personal_data_log', ['user_id'],
                    unique=False)
    op.create_index('ix_personal_data_log_entity', 'personal_data_log',
                    ['entity', 'entity_id'], unique=False)


def downgrade():
    op.drop_index('ix_personal_data_log_entity', table_name='personal_data_log')
    op.drop_index('ix_personal_data_log_user_id', table_name='personal_data_log')
    op.drop_index('ix_personal_data_log_at', table_name='personal_data_log')
    op.drop_table('personal_data_log')
    op.drop_column('web_form', 'consent_text')
    op.drop_column('web_form', 'consent_required')
    for table in PERSON_TABLES:
        for column in ('consent_withdrawn', 'consent_purpose', 'consent_form', 'consent_date'):
            op.drop_column(table, column)
