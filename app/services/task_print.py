"""The printed task list: each task with its client's address,
phones and contact persons and the client's last completed task, gathered
for a whole page of tasks in a few grouped queries (never one per task)."""
import dataclasses
import datetime
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.models import Client, ContactPerson, StatusKind, Task, TaskStatus, TaskType
from app.services.localtime import to_local

CHUNK = 500  # ids per IN (...): well inside every database's limit


@dataclasses.dataclass
class LastDone:
    at: datetime.datetime
    type_name: str
    description: str
    result: str


@dataclasses.dataclass
class Line:
    task: Task
    planned_local: datetime.datetime
    client: Client | None
    contacts: list
    last_done: LastDone | None
    is_open: bool


def _chunks(ids):
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def contacts_by_client(session, client_ids):
    found = defaultdict(list)
    for chunk in _chunks(client_ids):
        for person in session.scalars(select(ContactPerson)
                                      .where(ContactPerson.client_id.in_(chunk))
                                      .order_by(ContactPerson.client_id, ContactPerson.name)):
            found[person.client_id].append(person)
    return found


def last_completed_by_client(session, client_ids):
    """{client id: LastDone}: each client's latest task of a "done" status,
    by end time (planned time when it has none), one windowed query."""
    when = func.coalesce(Task.finished_at, Task.planned_at)
    found = {}
    for chunk in _chunks(client_ids):
        ranked = (select(Task.client_id, when.label("at"), TaskType.name.label("type_name"),
                         Task.description, Task.result,
                         func.row_number().over(partition_by=Task.client_id,
                                                order_by=(when.desc(), Task.id.desc()))
                         .label("n"))
                  .outerjoin(TaskType, TaskType.id == Task.type_id)
                  .where(Task.client_id.in_(chunk), Task.status_id.in_(
                      select(TaskStatus.id).where(TaskStatus.kind == StatusKind.DONE)))
                  .subquery())
        for row in session.execute(select(ranked).where(ranked.c.n == 1)):
            found[row.client_id] = LastDone(row.at, row.type_name or "",
                                            row.description or "", row.result or "")
    return found


def lines(session, tasks, tz_name):
    """The printable lines of ``tasks`` (already filtered, sorted and loaded
    with their type, status and assignee)."""
    client_ids = {t.client_id for t in tasks if t.client_id}
    clients = {}
    for chunk in _chunks(client_ids):
        clients.update((c.id, c) for c in session.scalars(
            select(Client).where(Client.id.in_(chunk)).options(selectinload(Client.region))))
    contacts = contacts_by_client(session, client_ids)
    last_done = last_completed_by_client(session, client_ids)
    result = []
    for task in tasks:
        planned = to_local(task.planned_at, tz_name)
        status_open = task.status is None or task.status.kind == StatusKind.OPEN
        result.append(Line(task, planned, clients.get(task.client_id),
                           contacts.get(task.client_id, []), last_done.get(task.client_id),
                           status_open))
    return result


def address(client):
    """"Москва, ул. Ленина, 1" from the client's region, city and address."""
    if client is None:
        return ""
    parts = [client.region.name if client.region else None, client.city, client.address]
    seen = []
    for part in parts:
        part = (part or "").strip()
        if part and part not in seen:
            seen.append(part)
    return ", ".join(seen)


def phone_text(value):
    """"+79161234567" as "+7 916 123-45-67"; anything unparsable as is."""
    if not value:
        return ""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
