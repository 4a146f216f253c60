"""leads: notes and tasks of their own (note.lead_id, task.lead_id)

Revision ID: 0025
Revises: 0024

The lead's page has the quick note and quick task boxes, so a note and a
task may link to a lead (SET NULL when the lead is deleted, as an action's
link does); a note of a lead without a client has no client, so
note.client_id may be empty. Each link's index holds only the rows that
have one.

SQLite adds a column's reference only inline, where its reflection does
not see ON DELETE, and cannot make a column nullable in place: both tables
are copied (batch mode). Dropping the old table drops its triggers (the
task's roll-ups, the note's word search), so they are made again exactly
as they were.
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

TABLES = ('note', 'task')
WHERE = sa.text('lead_id IS NOT NULL')


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def _copy(table, change):
    """SQLite: ``table`` copied by batch mode with ``change(batch_op)``
    applied, its triggers made again as they were."""
    bind = op.get_bind()
    triggers = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = :name ORDER BY name"),
                            {'name': table}).scalars().all()
    with op.batch_alter_table(table, recreate='always') as batch_op:
        change(batch_op)
    for statement in triggers:
        bind.exec_driver_sql(statement)


def _add_link(table, batch_op=None):
    column = sa.Column('lead_id', sa.Integer(), nullable=True)
    target = batch_op or op
    args = () if batch_op else (table,)
    target.add_column(*args, column)
    target.create_foreign_key(f'fk_{table}_lead_id', *args, 'lead', ['lead_id'], ['id'],
                              ondelete='SET NULL')
    if table == 'note':
        target.alter_column(*args, 'client_id', existing_type=sa.Integer(), nullable=True)


def _drop_link(table, batch_op=None):
    target = batch_op or op
    args = () if batch_op else (table,)
    if table == 'note':
        target.alter_column(*args, 'client_id', existing_type=sa.Integer(), nullable=False)
    if batch_op is None:  # a copied table simply leaves it out
        op.drop_constraint(f'fk_{table}_lead_id', table, type_='foreignkey')
    target.drop_column(*args, 'lead_id')


def upgrade():
    for table in TABLES:
        if _sqlite():
            _copy(table, lambda batch_op, table=table: _add_link(table, batch_op))
        else:
            _add_link(table)
        op.create_index(f'ix_{table}_lead_id', table, ['lead_id'], unique=False,
                        sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade():
    # A note of a lead alone has no client to keep it.
    op.execute('DELETE FROM note WHERE client_id IS NULL')
    for table in TABLES:
        op.drop_index(f'ix_{table}_lead_id', table_name=table)
        if _sqlite():
            _copy(table, lambda batch_op, table=table: _drop_link(table, batch_op))
        else:
            _drop_link(table)
