"""personal data erasure: the erased_at marker and the retention indexes

Revision ID: 0026
Revises: 0025

A client, contact person or lead whose personal data was erased
(services/erasure.py) keeps when in ``erased_at``; clients and leads are
indexed by their last change for the list of persons past the retention
period («Истёк срок хранения»). The access log's new action «erase» needs no
change: its enum is stored as text without a CHECK constraint.
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

PERSON_TABLES = ('client', 'contact_person', 'lead')


def upgrade():
    for table in PERSON_TABLES:
        op.add_column(table, sa.Column('erased_at', sa.DateTime(), nullable=True))
    op.create_index('ix_client_updated_id', 'client', ['updated_at', 'id'], unique=False)
    op.create_index('ix_lead_updated_id', 'lead', ['updated_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_lead_updated_id', table_name='lead')
    op.drop_index('ix_client_updated_id', table_name='client')
    for table in PERSON_TABLES:
        op.drop_column(table, 'erased_at')
