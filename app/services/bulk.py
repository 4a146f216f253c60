"""Bulk actions on register records: a task for each, a new responsible,
a dictionary field set to one value.

Each record goes through the one write rule of the forms and the API
(``records.write``: the entity's rules such as a deal's stage and
probability, its links, the owner check), so the history records every
change as for an edit on screen. A record the rules refuse is skipped with
their reason and the others go on: a savepoint per record takes back what
its rules had changed (a deal's client's funnel stage). The caller has
already narrowed the ids to the records the user may change (access.clause,
write); ``records.write`` checks each again. Batches of ``BATCH`` records,
``each_batch`` (the caller's commit) after each, as the segment assignment
does: one long transaction would hold SQLite's only write lock."""
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import MANYTOONE

from app.models import (
    Application,
    Client,
    ContactPerson,
    Deal,
    DictionaryMixin,
    Invoice,
    Lead,
    Project,
    Task,
)
from app.services import assignment, records
from app.services.errors import Refused

BATCH = 500
LIMIT = assignment.BULK_LIMIT

ALREADY = _l("The record already has this value")
KEPT = _l("The record's rules keep its value")
NOT_ASSIGNABLE = _l("You may not give records to this employee")
INACTIVE = _l("The value is no longer in use")

# A task links to a client, a deal and an application; a record of another
# register is named at the start of the task's description instead.
NAMED = {Lead: _l("Lead"), Invoice: _l("Invoice"), ContactPerson: _l("Contact person"),
         Project: _l("Project")}


@dataclass
class Outcome:
    """How many records were changed (or tasks created) and skipped, and
    the reasons of the skipped ones with their counts."""

    changed: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)

    def skip(self, reason, count=1):
        self.skipped += count
        self.reasons[str(reason)] += count

    def refused(self, exc):
        self.skip("; ".join(str(message) for message in exc.errors.values()))


def owner_field(model):
    """The relation naming who a record belongs to (a task: its assignee),
    or None."""
    if model is Task:
        return "assignee"
    return "responsible" if "responsible" in inspect(model).relationships else None


def dictionary_fields(model, columns):
    """The many-to-one relations of ``model`` to a dictionary among
    ``columns`` (the edit form's), in their order: {name: dictionary model}."""
    relations = inspect(model).relationships
    found = {}
    for name in columns:
        rel = relations[name] if name in relations else None
        if (rel is not None and rel.direction is MANYTOONE
                and issubclass(rel.mapper.class_, DictionaryMixin)):
            found[name] = rel.mapper.class_
    return found


def _check_size(ids):
    if len(ids) > LIMIT:
        raise Refused(_l("Too many records at once (%(count)s); narrow the filter to "
                         "%(limit)s or fewer", count=len(ids), limit=LIMIT))


def _batches(session, model, ids, each_batch):
    """The records of ``ids`` in batches, in id order; ``each_batch`` after
    each batch is flushed."""
    ids = list(ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        yield list(session.scalars(select(model).where(model.id.in_(chunk))
                                   .order_by(model.id)))
        session.flush()
        if each_batch is not None:
            each_batch()


def _setter(name, key, value):
    """Set the relation ``name`` and its column ``key``: the rules compare
    columns with the stored row (an invoice's), and the column would follow
    the relation only at the flush, after them."""
    def apply(row):
        setattr(row, name, value)
        setattr(row, key, value.id)

    def kept(row):
        # The rules may put the value back (an open deal drops a loss reason).
        if getattr(row, name) is not value or getattr(row, key) != value.id:
            raise Refused(KEPT, name)

    return apply, kept


def _change(session, item, change, outcome, actor_id, viewer_id, assign):
    """Apply ``change`` (``_setter``) to ``item`` and write it by the one
    rule, in a savepoint: refused, the record is as before and counted
    skipped."""
    apply, kept = change
    model = type(item)
    stored = records.stored_row(session, model, item.id)
    try:
        with session.begin_nested():  # left by a refusal: rolled back
            with session.no_autoflush:
                apply(item)
            records.write(session, item, actor_id, viewer_id, stored, assign)
            kept(item)
            session.flush()
    except Refused as exc:
        outcome.refused(exc)
        return
    records.written(session, item)
    outcome.changed += 1


def change_field(session, model, ids, name, value, *, actor_id, viewer_id,
                 assign=assignment.ONESELF, each_batch=None):
    """Set the dictionary relation ``name`` of the records ``ids`` of
    ``model`` to ``value`` (an active entry). Returns an ``Outcome``."""
    ids = list(ids)
    _check_size(ids)
    if not getattr(value, "is_active", False):
        raise Refused(INACTIVE, name)
    return _set_relation(session, model, ids, name, value, actor_id, viewer_id, assign,
                         each_batch)


def change_owner(session, model, ids, employee, *, actor_id, viewer_id,
                 assign=assignment.ONESELF, each_batch=None):
    """Give the records ``ids`` of ``model`` to ``employee`` (a task: make
    them its assignee). The write rule refuses an owner the user may not
    give records to; a task's assignee is checked here by the same rule."""
    ids = list(ids)
    _check_size(ids)
    name = owner_field(model)
    if name is None:
        raise Refused(_l("These records have no responsible"))
    # The write rule checks a responsible again; a task's assignee only here.
    if not assignment.may_assign(session, actor_id, assign, employee.id):
        raise Refused(NOT_ASSIGNABLE, name)
    return _set_relation(session, model, ids, name, employee, actor_id, viewer_id, assign,
                         each_batch)


def _set_relation(session, model, ids, name, value, actor_id, viewer_id, assign, each_batch):
    """Set the relation ``name`` of each record to ``value`` by the write
    rule, record by record; those that have it already are skipped."""
    key = next(iter(inspect(model).relationships[name].local_columns)).key
    change = _setter(name, key, value)
    outcome = Outcome()
    for batch in _batches(session, model, ids, each_batch):
        for item in batch:
            if getattr(item, key) == value.id:
                outcome.skip(ALREADY)
                continue
            _change(session, item, change, outcome, actor_id, viewer_id, assign)
    return outcome


def _links_of(record):
    """{task column: id} linking a new task to ``record`` and its client."""
    if isinstance(record, Client):
        return {"client_id": record.id}
    links = {"client_id": getattr(record, "client_id", None)}
    if isinstance(record, Deal):
        links["deal_id"] = record.id
    elif isinstance(record, Application):
        links["application_id"] = record.id
    elif isinstance(record, Task):
        links.update(deal_id=record.deal_id, application_id=record.application_id)
    elif isinstance(record, Lead):  # on the lead's timeline, with or without a client
        links.update(lead_id=record.id, deal_id=record.deal_id)
    elif getattr(record, "deal_id", None) is not None:
        links["deal_id"] = record.deal_id
    return links


def create_tasks(session, model, ids, *, type_, description, planned_at, deadline,
                 assignee, actor_id, viewer_id, assign=assignment.ONESELF,
                 each_batch=None):
    """A task for each record ``ids`` of ``model``, linked to it (where a
    task can link to it) and to its client, made by the rules of the task
    form (``records.write``: its first status, links to one client that the
    user may change, the author). ``planned_at`` and ``deadline`` in UTC;
    ``assignee``: an employee the user may give tasks to. Returns an
    ``Outcome`` (``changed``: the tasks created)."""
    ids = list(ids)
    _check_size(ids)
    if not assignment.may_assign(session, actor_id, assign, assignee.id):
        raise Refused(NOT_ASSIGNABLE, "assignee")
    if deadline is not None and deadline < planned_at:
        raise Refused(_l("The deadline cannot be before the planned time"), "deadline")
    named = NAMED.get(model)
    outcome = Outcome()
    for batch in _batches(session, model, ids, each_batch):
        for record in batch:
            text = description
            if named is not None:
                text = f"{named} «{record}»" + (f": {description}" if description else "")
            task = Task(type=type_, description=text or None, planned_at=planned_at,
                        deadline=deadline, assignee=assignee, **_links_of(record))
            try:
                records.write(session, task, actor_id, viewer_id, None, assign)
            except Refused as exc:
                outcome.refused(exc)
                continue
            session.add(task)
            outcome.changed += 1
    return outcome

