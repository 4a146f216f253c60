"""The managers' calendar (seed 001): tasks per manager per day, counted by
one grouped query for the whole grid."""
import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from app.models import Task


def utc_offset(tz_name, day):
    return ZoneInfo(tz_name).utcoffset(datetime.datetime.combine(day, datetime.time()))


def _local_day(session, column, offset):
    """The local calendar day of a UTC timestamp, in SQL."""
    hours = int(offset.total_seconds() // 3600)
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"{hours:+d} hours")
    return func.date(column + text(f"interval '{hours} hours'"))


def counts(session, *, start, days, tz_name, assignee_ids, status_ids=(), type_ids=(),
           client_id=None, row_filter=None):
    """{(assignee_id, day): number of tasks} for ``days`` days from ``start``."""
    offset = utc_offset(tz_name, start)
    since = datetime.datetime.combine(start, datetime.time()) - offset
    until = since + datetime.timedelta(days=days)
    day = _local_day(session, Task.planned_at, offset).label("day")
    query = (select(Task.assignee_id, day, func.count())
             .where(Task.assignee_id.in_(assignee_ids),
                    Task.planned_at >= since, Task.planned_at < until)
             .group_by(Task.assignee_id, day))
    if status_ids:
        query = query.where(Task.status_id.in_(status_ids))
    if type_ids:
        query = query.where(Task.type_id.in_(type_ids))
    if client_id:
        query = query.where(Task.client_id == client_id)
    if row_filter is not None:
        query = query.where(row_filter)
    return {(assignee, datetime.date.fromisoformat(str(when)[:10])): n
            for assignee, when, n in session.execute(query)}


def bounds(day, tz_name):
    """UTC start and end of a local day, for links to the task list."""
    offset = utc_offset(tz_name, day)
    since = datetime.datetime.combine(day, datetime.time()) - offset
    return since, since + datetime.timedelta(days=1)
