"""Change history of clients and of every register of a client: applications,
leads, deals, tasks, invoices, contact persons and projects; and of the
dictionaries (their table's name is the entity), changed on FAB's screens,
in the console's cells or by an import alike.

One mechanism for every screen, API call, import and job: SQLAlchemy session
events record who changed which field from what to what. Changes are read in
``before_flush`` (while the old values are still known) and written in
``after_flush`` (when new rows have their ids), in the same transaction.

The acting user is a context variable set by the web layer per request and
by jobs, so this module needs no Flask request."""
import contextvars
import datetime
import decimal
import enum

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    Act,
    Application,
    Client,
    ContactPerson,
    Deal,
    DictionaryMixin,
    HistoryEntry,
    Invoice,
    Lead,
    Project,
    Task,
    Upd,
    utcnow,
)
from app.services import values

TRACKED = {Client: "client", Application: "application", Lead: "lead", Deal: "deal",
           Task: "task", Invoice: "invoice", ContactPerson: "contact", Project: "project",
           Act: "act", Upd: "upd"}
# Kept by the app, not changed by a person: search text, the reminder and
# overdue jobs' marks, a segment's turn of its managers.
SKIPPED = {"id", "created_at", "updated_at", "search", "reminder_sent_for",
           "overdue_marked_for", "last_assigned_id"}


def entity_of(model):
    """The history's name of a tracked model's records, None if untracked:
    a register by TRACKED, a dictionary by its table."""
    entity = TRACKED.get(model)
    if entity is None and issubclass(model, DictionaryMixin):
        entity = model.__tablename__
    return entity


def model_of_entity(entity):
    """The model whose records the history names ``entity``, or None."""
    from app.models import dictionary_models

    for model, name in TRACKED.items():
        if name == entity:
            return model
    return next((m for m in dictionary_models() if m.__tablename__ == entity), None)


acting_user_id = contextvars.ContextVar("acting_user_id", default=None)


def text_of(value):
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime.datetime):
        return values.datetime_text(value)
    if isinstance(value, datetime.date):
        return values.date_text(value)
    if isinstance(value, decimal.Decimal):
        return values.decimal_text(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(sorted(str(v) for v in value))
    return str(value)


def _scaled(value, scale):
    """A typed amount with its column's places («1 500,50», as stored), not
    as typed («1 500,5»)."""
    if isinstance(value, decimal.Decimal) and scale is not None and value.is_finite():
        return value.quantize(decimal.Decimal(1).scaleb(-scale))
    return value


def client_id_of(obj):
    return obj.id if isinstance(obj, Client) else getattr(obj, "client_id", None)


def _changes(session, obj):
    """[(field, old, new)] of a modified tracked object."""
    state = inspect(obj)
    mapper = state.mapper
    fk_of = {}
    for rel in mapper.relationships:
        if rel.direction.name == "MANYTOONE":
            for column in rel.local_columns:
                fk_of[column.key] = rel
    changed = [a for a in mapper.column_attrs
               if a.key not in SKIPPED and a.key not in fk_of
               and state.attrs[a.key].history.has_changes()]
    # An attribute set on an expired object has no old value in memory.
    unknown = [a for a in changed if not state.attrs[a.key].history.deleted]
    stored = {}
    if unknown:
        with session.no_autoflush:
            row = session.execute(select(*(a.columns[0] for a in unknown))
                                  .where(mapper.primary_key[0] == state.identity[0])).first()
        stored = dict(zip((a.key for a in unknown), row or ()))
    changes = []
    for attr in changed:
        history = state.attrs[attr.key].history
        old = history.deleted[0] if history.deleted else stored.get(attr.key)
        new = history.added[0] if history.added else None
        if old != new:
            scale = getattr(attr.columns[0].type, "scale", None)
            changes.append((attr.key, text_of(_scaled(old, scale)), text_of(_scaled(new, scale))))
    for rel in mapper.relationships:
        # Collections of children (a client's applications) are their own rows.
        if rel.direction.name == "ONETOMANY":
            continue
        history = state.attrs[rel.key].history
        if not history.has_changes():
            continue
        if rel.uselist:
            old = set(history.unchanged) | set(history.deleted)
            new = set(history.unchanged) | set(history.added)
            changes.append((rel.key, text_of(old), text_of(new)))
            continue
        new = history.added[0] if history.added else None
        old = history.deleted[0] if history.deleted else None
        if old is None and rel.direction.name == "MANYTOONE":
            # The old object was never loaded: find it by the stored key.
            column = next(iter(rel.local_columns))
            with session.no_autoflush:
                old_id = session.execute(select(column).where(
                    mapper.primary_key[0] == state.identity[0])).scalar()
            if old_id is not None:
                with session.no_autoflush:
                    old = session.get(rel.mapper.class_, old_id)
        if old is not new:
            changes.append((rel.key, text_of(old), text_of(new)))
    return changes


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    pending = session.info.setdefault("history_pending", [])
    for obj in session.dirty:
        if entity_of(type(obj)) and session.is_modified(obj):
            for field, old, new in _changes(session, obj):
                pending.append((obj, "update", field, old, new))
    for obj in session.deleted:
        if entity_of(type(obj)):
            pending.append((obj, "delete", None, str(obj), None))
    for obj in session.new:
        if entity_of(type(obj)):
            pending.append((obj, "create", None, None, None))


@event.listens_for(Session, "after_flush")
def _write(session, flush_context):
    pending = session.info.pop("history_pending", [])
    if not pending:
        return
    now, user_id = utcnow(), acting_user_id.get()
    rows = [
        {"entity": entity_of(type(obj)), "entity_id": obj.id, "client_id": client_id_of(obj),
         "user_id": user_id, "at": now, "action": action, "field": field,
         "old_value": old, "new_value": str(obj) if action == "create" else new}
        for obj, action, field, old, new in pending
    ]
    session.connection().execute(insert(HistoryEntry), rows)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop("history_pending", None)


def record(session, entity, entity_id, client_id, action, text=None):
    """An event that is not a field change, e.g. a printed document."""
    session.add(HistoryEntry(entity=entity, entity_id=entity_id, client_id=client_id,
                             user_id=acting_user_id.get(), at=utcnow(), action=action,
                             new_value=text))


def for_client(session, client_id, limit=500):
    """The client's timeline, newest first."""
    return session.scalars(
        select(HistoryEntry).where(HistoryEntry.client_id == client_id)
        .order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc()).limit(limit)
    ).all()


def for_record(session, entity, entity_id, limit=500):
    """One record's own changes, newest first."""
    return session.scalars(
        select(HistoryEntry).where(HistoryEntry.entity == entity,
                                   HistoryEntry.entity_id == entity_id)
        .order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc()).limit(limit)
    ).all()
