"""Working on a task: status with its dates, the action,
the assignee and a note, checked together and changed together in the
caller's transaction."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import Employee, Note, StatusKind, TaskStatus
from app.services import assignment, dictionaries
from app.services.errors import Refused


def first_status(session):
    """The status a new task starts in: the first open one of the dictionary."""
    return session.scalars(select(TaskStatus).where(
        TaskStatus.is_active.is_(True), TaskStatus.kind == StatusKind.OPEN)
        .order_by(TaskStatus.sort_order, TaskStatus.id)).first()


def done_status_row(session):
    """The status «Выполнено» of the task list closes a task with: the first
    active one of the kind "done" in the dictionary's order, or None; as the
    dictionary's kept row (services/dictionaries.active_values), read only
    when the table's stamp changed."""
    return next((row for row in dictionaries.active_values(session, TaskStatus)
                 if row.kind == StatusKind.DONE), None)


def done_status(session):
    """``done_status_row`` as the record, to give a task."""
    row = done_status_row(session)
    return None if row is None else session.get(TaskStatus, row.id)


def is_open(task):
    """Is ``task`` still to be done (no status or one of the kind "open")?"""
    return task.status is None or task.status.kind == StatusKind.OPEN


RESULT_LIMIT = 2000


def finish(session, task, *, now, author_id, result=""):
    """Close ``task`` in ``done_status`` by the work form's rule
    (``process``), with its ``result`` when one is given (else the task's
    stays); a status that takes dates gets ``now`` (UTC) as the end and as
    the start unless the task has one. Refuses a task that is not open, a
    result over RESULT_LIMIT characters, or when no done status is set up;
    the caller commits."""
    status = done_status(session)
    if status is None:
        raise Refused(_l("No active task status of the kind «done»"), "status")
    if not is_open(task):
        raise Refused(_l("The task is already closed"), "status")
    result = (result or "").strip()
    if len(result) > RESULT_LIMIT:
        raise Refused(_l("The result is longer than %(limit)s characters",
                         limit=RESULT_LIMIT), "result")
    process(session, task, status=status, type_=None, assignee=None,
            started_at=task.started_at or now, finished_at=now, note="",
            author_id=author_id, allowed_assignees=())
    if result:
        task.result = result
    return status


def assignable(session, user_id, scope):
    """The active employees the user ``user_id`` may give a task to, by the
    one rule of records (services/assignment.py, ``scope``)."""
    return session.scalars(select(Employee).where(
        Employee.active.is_(True), assignment.assignable(user_id, scope))
        .order_by(Employee.last_name, Employee.first_name)).all()


def process(session, task, *, status, type_, assignee, started_at, finished_at, note,
            author_id, allowed_assignees):
    """Change ``task`` as the work form asks; the caller commits. Refuses
    (``Refused`` of every field at once) and changes nothing when a value
    does not fit."""
    errors = {}
    if status is None:
        errors["status"] = _l("Choose a status")
    elif status.takes_dates:
        if started_at is None:
            errors["started_at"] = _l("This status needs a start date and time")
        if finished_at is None:
            errors["finished_at"] = _l("This status needs an end date and time")
        if started_at and finished_at and finished_at < started_at:
            errors["finished_at"] = _l("The end cannot be before the start")
    if assignee is not None and (not assignee.active or assignee not in allowed_assignees):
        errors["assignee"] = _l("The task cannot be given to this employee")
    if errors:
        raise Refused.several(errors)
    task.status = status
    if status.takes_dates:
        task.started_at, task.finished_at = started_at, finished_at
    task.type = type_ or task.type
    task.assignee = assignee or task.assignee
    note = (note or "").strip()
    if note:
        task.note = f"{task.note}\n{note}" if task.note else note
        if task.client_id:
            session.add(Note(client_id=task.client_id, text=note, author_id=author_id))
