"""statistics: SQLite defers the roll-ups of a bulk write too

Revision ID: 0015
Revises: 0014

SQLite's triggers count every inserted row into its day's roll-up row:
invoking a trigger costs a quarter of the work of storing an AlmaCRM
import row there (callgrind: 23 600 of 88 800 instructions), even when
its WHEN clause is false. So a write that defers
(``services/rollups.deferred``) drops the insert triggers inside its
transaction and puts them back before it ends, and the fold counts the new
rows set-based. Which rows are new: the table ``rollup_deferred`` holds,
per source table, the largest id already counted (SQLite gives a new row
the largest id plus one, so every row inserted meanwhile is above it). The
update and delete triggers now fire only for rows at or below that mark:
a row above it is the fold's, which counts it as it is when folded, so an
update or a delete inside the block is exact whether or not its row was
folded yet (ids never change). Without a mark they fire for every row, as
before. The mark exists only inside the transaction that defers, and
SQLite lets one writer at a time, so no other writer ever sees it.

PostgreSQL is left as it is (0013: statement triggers and pending tables).
"""
import importlib.util
import os

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _revision_0011():
    path = os.path.join(os.path.dirname(__file__), '0011_statistics_rollups.py')
    spec = importlib.util.spec_from_file_location('revision_0011', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R11 = _revision_0011()


def _marked(rollup):
    """0011's update and delete triggers, firing only for rows at or below
    the mark."""
    source = rollup[1]
    _, delete, update = R11._sqlite_triggers(rollup)
    mark = (f"coalesce((SELECT last_id FROM rollup_deferred WHERE source = '{source}'), "
            "OLD.id)")
    return [statement.replace(' BEGIN ', f' WHEN OLD.id <= {mark} BEGIN ', 1)
            for statement in (delete, update)]


def _replace(statements):
    for statement in statements:
        op.execute('DROP TRIGGER ' + statement.split()[2])
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.create_table(
        'rollup_deferred',
        sa.Column('source', sa.String(length=20), primary_key=True),
        sa.Column('last_id', sa.Integer(), nullable=False),
    )
    for rollup in R11.ROLLUPS:
        _replace(_marked(rollup))


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    for rollup in R11.ROLLUPS:
        _replace(R11._sqlite_triggers(rollup)[1:])
    op.drop_table('rollup_deferred')
