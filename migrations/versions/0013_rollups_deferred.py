"""statistics: roll-up changes of a bulk write deferred to one fold

Revision ID: 0013
Revises: 0012

On PostgreSQL each statement's trigger adds its rows to the roll-ups with
INSERT … ON CONFLICT DO UPDATE. An import runs in one transaction and
writes a thousand rows per statement, so the same roll-up rows were
updated by every batch; each update leaves a version that no one may
remove before the commit, and every next upsert walked all of them: the
application COPY of a batch slowed from 50 to 250 ms over 100 000 rows.

Now, while the transaction's setting ``sdelka.defer_rollups`` is on, the
triggers append the statement's sums to ``<roll-up>_pending`` instead,
and ``services/rollups.deferred`` folds them into the roll-ups a few times
per import. The setting is local to the transaction (it cannot outlive
it), and pending rows are visible to their own transaction only, so other
writers and readers are not affected. SQLite is left as it is: its
triggers work per row and update the roll-up rows in place.
"""
import importlib.util
import os

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _revision_0011():
    path = os.path.join(os.path.dirname(__file__), '0011_statistics_rollups.py')
    spec = importlib.util.spec_from_file_location('revision_0011', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R11 = _revision_0011()
EVENTS = (('insert', [('new_rows', 1)]), ('delete', [('old_rows', -1)]),
          ('update', [('old_rows', -1), ('new_rows', 1)]))


def _function(rollup, event, parts):
    table, *_, money = rollup
    key, columns = R11._names(rollup)
    sums = ['sum(n)'] + (['sum(kopecks)'] if money else [])
    union = ' UNION ALL '.join(R11._transition_rows(rollup, t, s) for t, s in parts)
    summed = f"SELECT {', '.join(key + sums)} FROM ({union}) d GROUP BY {', '.join(key)}"
    changed = ' OR '.join(f'{s} <> 0' for s in sums)
    return f"""CREATE OR REPLACE FUNCTION {table}_{event}() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
            IF current_setting('sdelka.defer_rollups', true) = 'on' THEN
                INSERT INTO {table}_pending ({', '.join(columns)}) {summed};
            ELSE
                INSERT INTO {table} ({', '.join(columns)})
                {summed} HAVING {changed} ORDER BY {', '.join(key)}
                {R11._on_conflict(rollup, True)};
            END IF;
            RETURN NULL;
        END $$"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for rollup in R11.ROLLUPS:
        table, *_, keys, money = rollup
        op.create_table(
            f'{table}_pending',
            sa.Column('day', sa.Date(), nullable=False),
            *R11._key_columns(keys),
            sa.Column('n', sa.Integer(), nullable=False),
            *([sa.Column('kopecks', sa.BigInteger(), nullable=False)] if money else []),
        )
        for event, parts in EVENTS:
            op.execute(_function(rollup, event, parts))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for rollup in R11.ROLLUPS:
        table = rollup[0]
        # 0011's functions, as they were (its statements create each
        # function, then its trigger; the triggers stay as they are).
        for statement in R11._pg_triggers(rollup):
            if statement.startswith('CREATE FUNCTION') and '_truncate()' not in statement:
                op.execute(statement.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION', 1))
        op.drop_table(f'{table}_pending')
