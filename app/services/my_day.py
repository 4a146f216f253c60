"""«Мой день», the start page of everyone who does not land on the
statistics: the user's open tasks of today and the overdue ones, and their
open deals that need attention (nothing planned; the expected close date
passed). Each section is a few rows and a capped count.

Only the user's own rows: tasks assigned to them, deals they are
responsible for. The row rule (services/access.py) always lets a user see
those, so no access clause is added: it could only cost the planner.

Every query starts from the user's rows in an index, so its cost follows
one person's records, never the three million tasks:
- tasks on task (assignee_id, planned_at, status_id, type_id): today's are
  a range of it, the overdue ones a walk of it newest planned first that
  stops after the rows shown (and the capped count). The walk passes the
  user's open tasks planned ahead first (one planned ahead may already be
  past its deadline): few in practice; the bench's manager with 30 000 of
  them waits 50 ms;
- deals on deal (responsible_id) (SQLite keeps the id in it: newest first
  without a sort); "nothing planned" is the look-up of «Без планов»
  (services/followup.py) on task (deal_id, planned_at, status_id).
For a manager with 60 000 tasks and 6 000 deals (the bench's data, ten
managers) every section with its count takes 40 ms on either database."""
import dataclasses
import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.models import Deal, DealStatus, Task
from app.services import followup, localtime

ROWS = 10
# The headings count this far, then say «более 100».
COUNT_LIMIT = 100


@dataclasses.dataclass
class Section:
    rows: list
    count: int
    capped: bool  # more than ``count`` rows


def day_bounds(day, tz_name):
    """[since, until): the office's local ``day`` in naive UTC."""
    return (localtime.midnight_utc(day, tz_name),
            localtime.midnight_utc(day + datetime.timedelta(days=1), tz_name))


def office_today(now, tz_name):
    """The office's date at ``now`` (naive UTC)."""
    return localtime.today(tz_name, now.replace(tzinfo=datetime.timezone.utc))


def _open(open_ids):
    return or_(Task.status_id.is_(None), Task.status_id.in_(open_ids))


def _not_overdue(now):
    return or_(Task.deadline.is_(None), Task.deadline >= now)


def today_tasks_query(open_ids, user_id, now, tz_name):
    """The user's open tasks planned for the office's today that are not
    overdue (those are listed apart), in planned order."""
    since, until = day_bounds(office_today(now, tz_name), tz_name)
    return (select(Task).where(Task.assignee_id == user_id, Task.planned_at >= since,
                               Task.planned_at < until,
                               _open(open_ids), _not_overdue(now))
            .order_by(Task.planned_at, Task.id))


def overdue_tasks_query(open_ids, user_id, now):
    """The user's open tasks whose deadline has passed (the task list's
    mark), the latest planned first: the index's order, so a page stops
    after its rows."""
    return (select(Task).where(Task.assignee_id == user_id, Task.deadline < now,
                               _open(open_ids))
            .order_by(Task.planned_at.desc()))


def unplanned_deals_query(session, user_id, now):
    """The user's open deals with no open task planned from now on (the
    rule of «Без планов»), newest first."""
    return followup.unplanned_deals_query(session, now).where(Deal.responsible_id == user_id)


def late_deals_query(user_id, today):
    """The user's open deals whose expected close date is before the
    office's ``today``, the latest missed first."""
    return (select(Deal).where(Deal.responsible_id == user_id, Deal.status == DealStatus.OPEN,
                               Deal.expected_close < today)
            .order_by(Deal.expected_close.desc(), Deal.id.desc()))


def _section(session, query, options, rows=ROWS):
    found = session.scalars(query.options(*options).limit(rows)).all()
    if len(found) < rows:
        return Section(found, len(found), False)
    count = followup.count_of(session, query, COUNT_LIMIT + 1)
    return Section(found, min(count, COUNT_LIMIT), count > COUNT_LIMIT)


TASK_LOADS = (selectinload(Task.client), selectinload(Task.deal), selectinload(Task.type))
DEAL_LOADS = (selectinload(Deal.client), selectinload(Deal.stage), selectinload(Deal.currency))


def my_day(session, user_id, now, tz_name, tasks=True, deals=True):
    """{section name: Section} of the user at ``now`` (naive UTC): "today"
    and "overdue" (tasks, when ``tasks``), "unplanned" and "late" (deals,
    when ``deals``)."""
    sections = {}
    if tasks:
        # The open statuses as ids (a dictionary of a few rows): followup.py says why.
        open_ids = followup.open_status_ids(session)
        sections["overdue"] = _section(session, overdue_tasks_query(open_ids, user_id, now),
                                       TASK_LOADS)
        sections["today"] = _section(session, today_tasks_query(open_ids, user_id, now, tz_name),
                                     TASK_LOADS)
    if deals:
        sections["unplanned"] = _section(session, unplanned_deals_query(session, user_id, now),
                                         DEAL_LOADS)
        sections["late"] = _section(session, late_deals_query(user_id,
                                                              office_today(now, tz_name)),
                                    DEAL_LOADS)
    return sections
