"""Per-day roll-ups behind the statistics: tasks, clients and applications
counted per day and per employee and status or stage (``TaskDay``,
``ClientDay``, ``ApplicationDay``).

Database triggers (migration 0011) keep them exact in the transaction that
changes a record, whatever writes it. This module rebuilds them from the
records (after a load that bypassed the triggers, such as the bench
generator's, or to repair), checks them against the records, and splits a
period into the whole days a roll-up answers and the hours at its edges
that the records answer.

A bulk write defers its changes to the roll-ups (``deferred``), folded
in a few times per import: on PostgreSQL the triggers append each
statement's sums to a pending table rather than updating the same roll-up
rows in every statement (migration 0013); on SQLite the triggers leave the
rows above a mark to the fold, which counts them set-based rather than
with an upsert per row (migration 0015).

A timestamp counts on its UTC date: the office's midnights are hours inside
UTC days, and a UTC day does not move when the office's time zone does."""
import contextlib
import datetime

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    delete,
    except_,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from app.models import Application, ApplicationDay, Client, ClientDay, Task, TaskDay


class utc_day(GenericFunction):  # noqa: N801 (an SQL function's name)
    """The date of a naive UTC timestamp."""

    type = Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day(element, compiler, **kw):
    return compiler.process(cast(element.clauses.clauses[0], Date), **kw)


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element, compiler, **kw):
    # CAST(… AS DATE) on SQLite keeps only the year: the text's numeric prefix.
    return f"date({compiler.process(element.clauses, **kw)})"


def _sources():
    """(roll-up, source model, source query of its columns in the roll-up's
    order, one row per record)."""
    def ids(column):
        return func.coalesce(column, 0)

    return (
        (TaskDay, Task, select(utc_day(Task.planned_at), ids(Task.assignee_id),
                               ids(Task.status_id))),
        (ClientDay, Client, select(utc_day(Client.created_at), ids(Client.responsible_id),
                                   ids(Client.funnel_stage_id))),
        (ApplicationDay, Application, select(Application.date, ids(Application.responsible_id),
                                             Application.status)),
    )


def _money(model):
    return model is ApplicationDay


def _aggregated(model, query, dialect):
    """The roll-up's rows computed afresh from its records."""
    keys = list(query.selected_columns)
    columns = [*keys, func.count()]
    if _money(model):
        kopecks = (cast(Application.amount * 100, model.kopecks.type) if dialect == "postgresql"
                   else cast(func.round(Application.amount * 100), model.kopecks.type))
        columns.append(func.sum(kopecks))
    return query.with_only_columns(*columns).group_by(*keys)


def _columns(model):
    """The roll-up's columns in its sources' order: the key, then the sums."""
    return ([c.name for c in model.__table__.primary_key.columns] + ["n"]
            + (["kopecks"] if _money(model) else []))


def rebuild(connection):
    """Count every roll-up afresh from its records. On PostgreSQL writers of
    those records wait meanwhile, so no change is counted twice or lost."""
    dialect = connection.dialect.name
    for model, source, query in _sources():
        if dialect == "postgresql":
            connection.execute(text(f"LOCK TABLE {source.__tablename__} "
                                    "IN SHARE ROW EXCLUSIVE MODE"))
        connection.execute(delete(model))
        connection.execute(insert(model).from_select(_columns(model),
                                                     _aggregated(model, query, dialect)))


def check(connection):
    """{roll-up table: rows that differ from a fresh count}; empty when exact.
    Rows counted down to nothing may stay behind and are no difference."""
    dialect = connection.dialect.name
    found = {}
    for model, _, query in _sources():
        fresh = _aggregated(model, query, dialect)
        kept = select(*(getattr(model, c) for c in _columns(model))).where(model.n != 0)
        differ = sum(connection.scalar(select(func.count()).select_from(
            except_(a, b).subquery())) for a, b in ((fresh, kept), (kept, fresh)))
        if differ:
            found[model.__tablename__] = differ
    return found


# The largest id of each source table counted so far, while a write
# defers on SQLite (migration 0015); none otherwise.
MARKS = Table("rollup_deferred", MetaData(), Column("source", String(20), primary_key=True),
              Column("last_id", Integer, nullable=False))
# Tables of the triggers' machinery, which the models do not describe.
TRIGGER_TABLES = frozenset([MARKS.name] + [f"{model.__tablename__}_pending"
                                           for model in (TaskDay, ClientDay, ApplicationDay)])


def _pending(model):
    """The table the triggers append to while a write defers (PostgreSQL)."""
    return model.__table__.to_metadata(MetaData(), name=f"{model.__tablename__}_pending")


def _adding(model, rows, dialect):
    """INSERT of ``rows`` (the roll-up's columns) adding their sums to the
    roll-up rows of the same key."""
    names = _columns(model)
    key = names[:len(model.__table__.primary_key.columns)]
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(model).from_select(
        names, rows)
    return statement.on_conflict_do_update(
        index_elements=key,
        set_={name: getattr(model, name) + statement.excluded[name] for name in names[len(key):]})


def fold(connection):
    """Add this transaction's deferred changes into the roll-ups."""
    fold_one = _fold_pending if connection.dialect.name == "postgresql" else _fold_marked
    for model, source, query in _sources():
        fold_one(connection, model, source, query)


def _fold_pending(connection, model, source, query):
    """PostgreSQL: the pending sums, emptying the pending table, the
    roll-up rows taken in key order as the triggers take them (other
    transactions' pending rows are invisible here)."""
    pending = _pending(model)
    names = _columns(model)
    key = names[:len(model.__table__.primary_key.columns)]
    moved = delete(pending).returning(*pending.c).cte("moved")
    sums = [func.sum(moved.c[name]) for name in names[len(key):]]
    keys = [moved.c[name] for name in key]
    rows = (select(*keys, *sums).group_by(*keys)
            .having(or_(*(total != 0 for total in sums))).order_by(*keys))
    connection.execute(_adding(model, rows, "postgresql").add_cte(moved))


def _fold_marked(connection, model, source, query):
    """SQLite: the rows above the source table's mark, which then moves to
    its largest id."""
    name = source.__tablename__
    mark = select(MARKS.c.last_id).where(MARKS.c.source == name).scalar_subquery()
    connection.execute(_adding(model, _aggregated(model, query.where(source.id > mark),
                                                  "sqlite"), "sqlite"))
    connection.execute(update(MARKS).where(MARKS.c.source == name).values(
        last_id=select(func.coalesce(func.max(source.id), 0)).scalar_subquery()))


@contextlib.contextmanager
def deferred(connection):
    """Within the block the roll-ups of this transaction's writes wait for
    a fold; the block yields ``fold`` (call it now and then on a long
    write) and folds at its end. Updates and deletes meanwhile count
    exactly, of rows folded or not; inserted rows count at the fold (on
    SQLite as the rows above the mark: a new row gets the largest id plus
    one).

    The state is local to the transaction (a transaction-local setting on
    PostgreSQL, a mark row on SQLite, where one writer at a time holds the
    database) and undone by rolling back to a savepoint taken before it,
    like the deferred changes written after it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT set_config('sdelka.defer_rollups', 'on', true)"))

        def stop():
            connection.execute(text("SELECT set_config('sdelka.defer_rollups', 'off', true)"))
    else:
        stop = _defer_sqlite(connection)

    def finish():
        fold(connection)
        stop()

    try:
        yield lambda: fold(connection)
    except BaseException:
        # The error goes on to the caller. Where the transaction still
        # works, it is left as without the block; where it failed, it has
        # to be rolled back, which undoes the deferral too.
        with contextlib.suppress(SQLAlchemyError):
            finish()
        raise
    finish()


def _defer_sqlite(connection):
    """Mark the largest ids counted and drop the insert triggers (their
    text kept as SQLite stores it); returns what undoes both. Dropping is
    part of the transaction: no other connection sees the triggers gone,
    and rolling back puts them back."""
    names = [f"{model.__tablename__}_insert" for model, _, _ in _sources()]
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
        f"({', '.join('?' * len(names))})", tuple(names)).all()
    for _, source, _ in _sources():
        connection.execute(insert(MARKS).from_select(["source", "last_id"], select(
            literal(source.__tablename__), func.coalesce(func.max(source.id), 0))))
    for name, _ in triggers:
        connection.exec_driver_sql(f"DROP TRIGGER {name}")

    def stop():
        connection.execute(delete(MARKS))
        kept = {name for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for name, sql in triggers:
            if name not in kept:  # a rollback to a savepoint may have restored it
                connection.exec_driver_sql(sql)

    return stop


def split(since, until):
    """[since, until) as (the whole UTC days inside it as [first, last) dates,
    or None) and the [start, end) stretches of hours left at its edges."""
    first = since.date() if since.time() == datetime.time() else \
        since.date() + datetime.timedelta(days=1)
    last = until.date()
    if first >= last:
        return None, [(since, until)]
    edges = [(start, end) for start, end in
             ((since, _midnight(first)), (_midnight(last), until)) if start < end]
    return (first, last), edges


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time())


def within(model, days):
    """A roll-up's rows of the days [first, last), less those counted down
    to nothing."""
    return and_(model.day >= days[0], model.day < days[1], model.n != 0)
