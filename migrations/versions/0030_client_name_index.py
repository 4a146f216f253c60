"""clients sorted by name: an index walks them in order

Revision ID: 0030
Revises: 0029

A list sorted by name (the commonest sort after the newest first) read and
sorted every client before showing 25: 53 ms at 100 000 clients on SQLite,
ten times that at a million, for each page. client (name, id) gives the
order as stored, so a page is a walk of the index, each row tested by the
manager's row rule until the page is full. Not batch mode: on SQLite that
would copy the table and drop its triggers.
"""
from alembic import op


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_client_name_id', 'client', ['name', 'id'])


def downgrade():
    op.drop_index('ix_client_name_id', table_name='client')
