"""The managers' calendar: tasks per manager per day, counted by one
grouped query for the whole grid (one per stretch of a single UTC offset:
a grid across a daylight-saving change has two)."""
import datetime

from sqlalchemy import func, select, text

from app.models import Task
from app.services import localtime


def _local_day(session, column, offset):
    """The local calendar day of a UTC timestamp at ``offset``, in SQL."""
    minutes = int(offset.total_seconds() // 60)
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, f"{minutes:+d} minutes")
    return func.date(column + text(f"interval '{minutes} minutes'"))


def counts(session, *, start, days, tz_name, assignee_ids, status_ids=(), type_ids=(),
           client_id=None, row_filter=None):
    """{(assignee_id, day): number of tasks} for ``days`` days from ``start``."""
    since = localtime.midnight_utc(start, tz_name)
    until = localtime.midnight_utc(start + datetime.timedelta(days=days), tz_name)
    grid = {}
    for begin, end, offset in localtime.offset_spans(since, until, tz_name):
        day = _local_day(session, Task.planned_at, offset).label("day")
        query = (select(Task.assignee_id, day, func.count())
                 .where(Task.assignee_id.in_(assignee_ids),
                        Task.planned_at >= begin, Task.planned_at < end)
                 .group_by(Task.assignee_id, day))
        if status_ids:
            query = query.where(Task.status_id.in_(status_ids))
        if type_ids:
            query = query.where(Task.type_id.in_(type_ids))
        if client_id:
            query = query.where(Task.client_id == client_id)
        if row_filter is not None:
            query = query.where(row_filter)
        for assignee, when, n in session.execute(query):
            key = (assignee, datetime.date.fromisoformat(str(when)[:10]))
            grid[key] = grid.get(key, 0) + n
    return grid


def bounds(day, tz_name):
    """UTC start and end of a local day, for links to the task list."""
    return (localtime.midnight_utc(day, tz_name),
            localtime.midnight_utc(day + datetime.timedelta(days=1), tz_name))
