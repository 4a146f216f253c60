"""What the scheduled jobs look for: task reminders due,
tasks that went overdue, deals and clients with nothing planned, and the
figures of the daily digest. Every question is one SQL query; marking what
was announced is an UPDATE of plain columns (no change history: these are
the jobs' bookkeeping, not the user's data)."""
import datetime

from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import and_, bindparam, func, literal, or_, select, update
from sqlalchemy.orm import aliased

from app.models import (
    Application,
    Client,
    Deal,
    DealStatus,
    Employee,
    Lead,
    ProcessingStatus,
    Reminder,
    StatusKind,
    Task,
    TaskStatus,
    TaskType,
)

REMINDER_STEPS = [m.value for m in Reminder if m.value > 0]
LONGEST_REMINDER = datetime.timedelta(minutes=max(REMINDER_STEPS))


def is_open():
    """SQL: the task's status is of the "open" kind, or it has none (the
    same rule as the overdue mark of the task list)."""
    return or_(Task.status_id.is_(None), Task.status_id.in_(
        select(TaskStatus.id).where(TaskStatus.kind == StatusKind.OPEN)))


def _active_assignee():
    """Deactivated employees get no reminders (they cannot sign in)."""
    return Task.assignee_id.in_(select(Employee.id).where(Employee.active.is_(True)))


def _task_rows(session, query):
    client, kind = aliased(Client), aliased(TaskType)
    query = (query.add_columns(client.name.label("client_name"), kind.name.label("type_name"))
             .outerjoin(client, client.id == Task.client_id)
             .outerjoin(kind, kind.id == Task.type_id))
    return session.execute(query).all()


_TASK_COLUMNS = (Task.id, Task.assignee_id, Task.planned_at, Task.deadline,
                 Task.reminder_minutes, Task.description, Task.client_id)


def due_reminders(session, now, limit=1000):
    """Open tasks with an assignee whose reminder time has come and whose
    planned time is still ahead, not yet reminded for that planned time."""
    due = or_(*[and_(Task.reminder_minutes == m,
                     Task.planned_at <= now + datetime.timedelta(minutes=m))
                for m in REMINDER_STEPS])
    query = (select(*_TASK_COLUMNS)
             .where(Task.planned_at > now, Task.planned_at <= now + LONGEST_REMINDER, due,
                    _active_assignee(), is_open(),
                    or_(Task.reminder_sent_for.is_(None),
                        Task.reminder_sent_for != Task.planned_at))
             .order_by(Task.planned_at, Task.id).limit(limit))
    return _task_rows(session, query)


def mark_reminded(session, rows):
    """Remember the planned time each reminder was sent for."""
    _mark(session, "reminder_sent_for", "planned_at",
          [{"task_id": r.id, "moment": r.planned_at} for r in rows])


def newly_overdue(session, now, lookback_days, limit=1000):
    """Open tasks with an assignee whose deadline passed within the last
    ``lookback_days`` days and whose assignee was not told about it yet."""
    query = (select(*_TASK_COLUMNS)
             .where(Task.deadline < now,
                    Task.deadline >= now - datetime.timedelta(days=lookback_days),
                    _active_assignee(), is_open(),
                    or_(Task.overdue_marked_for.is_(None),
                        Task.overdue_marked_for != Task.deadline))
             .order_by(Task.deadline, Task.id).limit(limit))
    return _task_rows(session, query)


def mark_overdue(session, rows):
    _mark(session, "overdue_marked_for", "deadline",
          [{"task_id": r.id, "moment": r.deadline} for r in rows])


def _mark(session, marker, moment, params):
    if not params:
        return
    table = Task.__table__
    # Only if the task was not moved meanwhile: a moved task is announced anew.
    session.connection().execute(
        update(table).where(table.c.id == bindparam("task_id"),
                            table.c[moment] == bindparam("moment"))
        .values({marker: bindparam("moment")}), params)


# --- deals and clients with nothing planned ----------------------------------------
#
# Both lists walk their table newest first and test each row with index
# look-ups, so a page or a capped count costs in proportion to the rows it
# walks, never to the three million tasks (migration 0017 adds the indexes):
# - "nothing planned" is NOT EXISTS on task (deal_id | client_id, planned_at,
#   status_id), covering, partial on the link being set. The partial index
#   matters on SQLite: in the bench most tasks have no deal, ANALYZE then
#   said a deal_id look-up finds three million rows, and SQLite walked the
#   planned-date index for every open deal (`make bench` never finished).
#   The open statuses are their ids (a dictionary of a few rows), not a
#   subquery: PostgreSQL priced the subquery's hashed filter so high that
#   it hashed every future task instead of probing (0.4 s).
# - "in work" is two look-ups of one row each, written as scalar subqueries
#   rather than EXISTS: PostgreSQL turns an EXISTS under OR into a hash of
#   every application in processing (200 000 rows, 140 ms) before the first
#   client; a subquery with LIMIT is never hashed.
# tests/unit/test_unplanned.py holds both databases to these plans.


def open_status_ids(session):
    """Ids of the task statuses of the "open" kind."""
    return session.scalars(select(TaskStatus.id)
                           .where(TaskStatus.kind == StatusKind.OPEN)).all()


def _nothing_planned(now, open_ids, link):
    """SQL: no open task linked by ``link`` is planned from ``now`` on."""
    status = or_(Task.status_id.is_(None), Task.status_id.in_(open_ids))
    return ~select(literal(1)).where(link, Task.planned_at >= now, status).exists()


def _found(*conditions):
    """SQL: a row matching ``conditions`` (correlated) exists; a look-up."""
    return select(literal(1)).where(*conditions).limit(1).scalar_subquery().is_not(None)


def unplanned_deals_query(session, now):
    """Open deals with no open task planned from now on, newest first."""
    return (select(Deal).where(Deal.status == DealStatus.OPEN,
                               _nothing_planned(now, open_status_ids(session),
                                                Task.deal_id == Deal.id))
            .order_by(Deal.id.desc()))


def unplanned_clients_query(session, now):
    """Clients in work (an application in processing or an open deal) with
    no open task planned from now on, newest first."""
    in_work = or_(
        _found(Application.client_id == Client.id,
               Application.status == ProcessingStatus.IN_PROCESSING),
        _found(Deal.client_id == Client.id, Deal.status == DealStatus.OPEN))
    return (select(Client).where(in_work, _nothing_planned(now, open_status_ids(session),
                                                           Task.client_id == Client.id))
            .order_by(Client.id.desc()))


def count_of(session, query, limit=None):
    """Rows of ``query`` (a select of one model), counted up to ``limit``
    (None: all). Only the key is selected, and in the query's own order
    when limited: the lists above walk their table by id, and their
    look-ups then go through the task and deal indexes in id order too
    (SQLite left to itself walked the clients by an index on the owner, in
    random id order: twice the time)."""
    model = query.column_descriptions[0]["entity"]
    inner = query.with_only_columns(*model.__mapper__.primary_key,
                                    maintain_column_froms=True)
    if limit:
        inner = inner.limit(limit)
    else:
        inner = inner.order_by(None)
    return session.scalar(select(func.count()).select_from(inner.subquery()))


# --- daily digest ----------------------------------------------------------------

def digest_figures(session, since, until, day):
    """Key figures of one local day [since, until) in UTC; ``day`` its date."""
    done = select(TaskStatus.id).where(TaskStatus.kind == StatusKind.DONE)
    won_at = func.coalesce(Deal.closed_at, Deal.updated_at)
    won_count, won_sum = session.execute(
        select(func.count(), func.coalesce(func.sum(Deal.amount), 0))
        .where(Deal.status == DealStatus.WON, won_at >= since, won_at < until)).one()
    return {
        "applications": session.scalar(select(func.count()).select_from(Application)
                                       .where(Application.date == day)),
        "leads": session.scalar(select(func.count()).select_from(Lead)
                                .where(Lead.created_at >= since, Lead.created_at < until)),
        "clients": session.scalar(select(func.count()).select_from(Client)
                                  .where(Client.created_at >= since,
                                         Client.created_at < until)),
        "tasks_completed": session.scalar(
            select(func.count()).select_from(Task)
            .where(Task.status_id.in_(done), Task.finished_at >= since,
                   Task.finished_at < until)),
        "tasks_overdue": session.scalar(
            select(func.count()).select_from(Task)
            .where(Task.deadline >= since, Task.deadline < until, is_open())),
        "deals_won": won_count,
        "deals_won_amount": won_sum,
    }


def users_with_role(session, role_name):
    """Active employees holding the role (the heads of sales)."""
    return session.scalars(select(Employee).join(Employee.roles)
                           .where(Role.name == role_name, Employee.active.is_(True))
                           .order_by(Employee.id)).all()
