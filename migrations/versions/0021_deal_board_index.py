"""the deals board: one index serves its columns

Revision ID: 0021
Revises: 0020

«Воронка» (services/board.py) counts and sums the open deals of every
stage and shows each stage's newest cards. deal (status, stage_id, id,
responsible_id, client_id, currency_id, amount) answers both from the
index alone, in stage order: the sums walk it without a sort, a column's
cards are a range read backwards, and the row rule's and the manager
filter's tests (client, responsible) need no table look-up.
Not batch mode: on SQLite that would copy the table and drop its roll-up
triggers.
"""
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = ['status', 'stage_id', 'id', 'responsible_id', 'client_id', 'currency_id', 'amount']


def upgrade():
    op.create_index('ix_deal_board', 'deal', COLUMNS)


def downgrade():
    op.drop_index('ix_deal_board', table_name='deal')
