"""Per-day roll-ups behind the statistics: tasks, clients and applications
counted per day and per employee and status or stage (``TaskDay``,
``ClientDay``, ``ApplicationDay``).

Database triggers (migration 0011) keep them exact in the transaction that
changes a record, whatever writes it. This module rebuilds them from the
records (after a load that bypassed the triggers, such as the bench
generator's, or to repair), checks them against the records, and splits a
period into the whole days a roll-up answers and the hours at its edges
that the records answer.

A timestamp counts on its UTC date: the office's midnights are hours inside
UTC days, and a UTC day does not move when the office's time zone does."""
import datetime

from sqlalchemy import Date, and_, cast, delete, except_, func, insert, select, text
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
