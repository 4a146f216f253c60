"""statistics: per-day roll-ups of tasks, clients and applications kept by
triggers; task and application indexes that only served the old queries

Revision ID: 0011
Revises: 0010

The roll-ups hold counts (and application amounts in kopecks) per day and
per employee and status or stage. Triggers write them in the transaction
that changes the record, whoever changes it (screens, API, imports, jobs,
plain SQL), so they are exact: SQLite per row, PostgreSQL per statement
with transition tables, adding up a statement's rows first and taking the
roll-up rows in key order, so that concurrent writers queue instead of
deadlocking. 0 stands for a missing employee, status or stage (a key
column cannot be NULL and still be unique on both databases). The SQL is
written out here and frozen with the revision; app/services/rollups.py
rebuilds and checks them from the models.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# (roll-up, source table, its day column, whether that is a timestamp whose
# UTC date is the day, [(key column, source column, is an integer id)],
# source column summed in kopecks or None)
ROLLUPS = (
    ('task_day', 'task', 'planned_at', True,
     [('assignee_id', 'assignee_id', True), ('status_id', 'status_id', True)], None),
    ('client_day', 'client', 'created_at', True,
     [('responsible_id', 'responsible_id', True), ('stage_id', 'funnel_stage_id', True)], None),
    ('application_day', 'application', 'date', False,
     [('responsible_id', 'responsible_id', True), ('status', 'status', False)], 'amount'),
)


def _exprs(rollup, row, dialect):
    """SQL of the roll-up's columns (day, keys…, and kopecks) for ``row``."""
    _, _, day, stamp, keys, money = rollup
    pg = dialect == 'postgresql'
    exprs = [(f'CAST({row}.{day} AS date)' if pg else f'date({row}.{day})') if stamp
             else f'{row}.{day}']
    exprs += [f'coalesce({row}.{source}, 0)' if integer else f'{row}.{source}'
              for _, source, integer in keys]
    if money:
        exprs.append(f'CAST({row}.{money} * 100 AS bigint)' if pg
                     else f'CAST(round({row}.{money} * 100) AS INTEGER)')
    return exprs


def _names(rollup):
    table, _, _, _, keys, money = rollup
    key = ['day'] + [name for name, _, _ in keys]
    return key, key + ['n'] + (['kopecks'] if money else [])


def _on_conflict(rollup, qualified):
    table, *_, money = rollup
    key, _ = _names(rollup)
    prefix = f'{table}.' if qualified else ''
    sets = [f'n = {prefix}n + excluded.n']
    if money:
        sets.append(f'kopecks = {prefix}kopecks + excluded.kopecks')
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"


def _sqlite_triggers(rollup):
    table, source, day, _, keys, money = rollup
    _, columns = _names(rollup)

    def add(row, sign):
        values = _exprs(rollup, row, 'sqlite')
        values.insert(len(keys) + 1, str(sign))
        if money:
            values[-1] = f'{sign} * {values[-1]}'
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)}) "
                f"{_on_conflict(rollup, False)};")

    watched = ', '.join([day] + [s for _, s, _ in keys] + ([money] if money else []))
    return [
        f'CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN {add("NEW", 1)} END',
        f'CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN {add("OLD", -1)} END',
        f'CREATE TRIGGER {table}_update AFTER UPDATE OF {watched} ON {source} '
        f'BEGIN {add("OLD", -1)} {add("NEW", 1)} END',
    ]


def _transition_rows(rollup, transition, sign):
    """SELECT of a transition table's rows as roll-up rows counting ``sign``."""
    money = rollup[-1]
    key, _ = _names(rollup)
    exprs = _exprs(rollup, 'r', 'postgresql')
    named = [f'{e} AS {c}' for e, c in zip(exprs[:len(key)], key)]
    named.append(f'{sign} AS n')
    if money:
        named.append(f'{sign} * {exprs[-1]} AS kopecks')
    return f"SELECT {', '.join(named)} FROM {transition} r"


def _pg_triggers(rollup):
    table, source, _, _, keys, money = rollup
    key, columns = _names(rollup)

    sums = ['sum(n)'] + (['sum(kopecks)'] if money else [])
    changed = ' OR '.join(f'{s} <> 0' for s in sums)
    statements = []
    for event, parts, referencing in (
            ('insert', [('new_rows', 1)], 'NEW TABLE AS new_rows'),
            ('delete', [('old_rows', -1)], 'OLD TABLE AS old_rows'),
            ('update', [('old_rows', -1), ('new_rows', 1)],
             'OLD TABLE AS old_rows NEW TABLE AS new_rows')):
        union = ' UNION ALL '.join(_transition_rows(rollup, t, s) for t, s in parts)
        statements += [
            f"""CREATE FUNCTION {table}_{event}() RETURNS trigger LANGUAGE plpgsql
            SET search_path FROM CURRENT AS $$
            BEGIN
                INSERT INTO {table} ({', '.join(columns)})
                SELECT {', '.join(key + sums)} FROM ({union}) d
                GROUP BY {', '.join(key)} HAVING {changed} ORDER BY {', '.join(key)}
                {_on_conflict(rollup, True)};
                RETURN NULL;
            END $$""",
            f'CREATE TRIGGER {table}_{event} AFTER {event.upper()} ON {source} '
            f'REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {table}_{event}()',
        ]
    statements += [
        f"""CREATE FUNCTION {table}_truncate() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN DELETE FROM {table}; RETURN NULL; END $$""",
        f'CREATE TRIGGER {table}_truncate AFTER TRUNCATE ON {source} '
        f'FOR EACH STATEMENT EXECUTE FUNCTION {table}_truncate()',
    ]
    return statements


def _fill(rollup, dialect):
    table, source, *_ = rollup
    key, columns = _names(rollup)
    exprs = _exprs(rollup, source, dialect)
    values = exprs[:len(key)] + ['count(*)'] + [f'sum({e})' for e in exprs[len(key):]]
    positions = ', '.join(str(i + 1) for i in range(len(key)))
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {source} GROUP BY {positions}")


def _key_columns(keys):
    return [sa.Column(name, sa.Integer() if integer else sa.String(length=20), nullable=False)
            for name, _, integer in keys]


def upgrade():
    dialect = op.get_bind().dialect.name
    for rollup in ROLLUPS:
        table, source, _, _, keys, money = rollup
        key, columns = _names(rollup)
        if dialect == 'postgresql':
            # No write may fall between the filling and the first trigger.
            op.execute(f'LOCK TABLE {source} IN SHARE ROW EXCLUSIVE MODE')
        op.create_table(
            table,
            sa.Column('day', sa.Date(), nullable=False),
            *_key_columns(keys),
            sa.Column('n', sa.Integer(), nullable=False),
            *([sa.Column('kopecks', sa.BigInteger(), nullable=False)] if money else []),
            # Index only on PostgreSQL; SQLite stores the table in the key.
            sa.PrimaryKeyConstraint(*key, postgresql_include=columns[len(key):]),
            sqlite_with_rowid=False,
        )
        op.execute(_fill(rollup, dialect))
        for statement in (_pg_triggers(rollup) if dialect == 'postgresql'
                          else _sqlite_triggers(rollup)):
            op.execute(statement)

    # Not batch_alter_table: on SQLite a batch that copies the table drops its
    # triggers (a later migration that must copy task, client or application
    # has to create them again; tests/unit/test_rollups.py would notice).
    # Both task indexes are prefixes of a wider one, which serves their queries.
    op.drop_index('ix_task_assignee_planned', table_name='task')
    op.drop_index('ix_task_status_planned', table_name='task')
    op.create_index('ix_task_status_planned_type', 'task',
                    ['status_id', 'planned_at', 'type_id', 'assignee_id'], unique=False)
    # Served only the statistics, which read application_day now.
    op.drop_index('ix_application_status_date_responsible', table_name='application')
    rollups = [table for table, *_ in ROLLUPS]
    _analyze(rollups + ['task'], rollups + ['ix_task_status_planned_type'])


def _analyze(tables, sqlite_names):
    """Planner statistics for what was built: without them SQLite may prefer
    a narrower index it has figures for, and PostgreSQL guesses until an
    autovacuum comes by. SQLite reads every row of what it analyses, so
    there only the new tables and indexes."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"ANALYZE {', '.join(tables)}")
    else:
        for name in sqlite_names:
            op.execute(f'ANALYZE {name}')


def downgrade():
    dialect = op.get_bind().dialect.name
    op.create_index('ix_application_status_date_responsible', 'application',
                    ['status', 'date', 'responsible_id', 'amount'], unique=False)
    op.drop_index('ix_task_status_planned_type', table_name='task')
    op.create_index('ix_task_status_planned', 'task', ['status_id', 'planned_at'], unique=False)
    op.create_index('ix_task_assignee_planned', 'task', ['assignee_id', 'planned_at'],
                    unique=False)
    _analyze(['task', 'application'], ['ix_application_status_date_responsible',
                                       'ix_task_status_planned', 'ix_task_assignee_planned'])
    for table, source, *_ in ROLLUPS:
        if dialect == 'postgresql':
            for event in ('insert', 'delete', 'update', 'truncate'):
                op.execute(f'DROP TRIGGER {table}_{event} ON {source}')
                op.execute(f'DROP FUNCTION {table}_{event}()')
        else:
            for event in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER {table}_{event}')
        op.drop_table(table)
