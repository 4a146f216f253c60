"""Personal data of private persons (152-FZ): the consent to processing
kept on a person's record, and the log of who opened, exported, printed or
changed a person's record.

A person's record is a client who is a person or a sole proprietor, a
contact person, or a lead. The log has one row per record page, export,
print or change, never one per list row. Opening a page or exporting a
list costs one INSERT on a connection of its own, committed at once: a
failure is logged and the page is served all the same. A change is logged
in the transaction of the change itself (session events, as the history),
so whatever channel wrote it is recorded once per record and flush."""
import datetime
import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from app.models import (
    AccessAction,
    Client,
    ClientKind,
    ConsentForm,
    ContactPerson,
    Lead,
    PersonalDataLog,
    utcnow,
)
from app.services.errors import Refused

log = logging.getLogger(__name__)

# Entity names as the history uses them.
ENTITIES = {Client: "client", ContactPerson: "contact", Lead: "lead"}
PERSON_KINDS = (ClientKind.PERSON, ClientKind.SOLE_PROPRIETOR)
WITHDRAWN_WITHOUT_CONSENT = _l("Consent cannot be withdrawn without the date it was given")
WITHDRAWN_BEFORE_CONSENT = _l("Consent cannot be withdrawn before the date it was given")


def is_person(record):
    """Does ``record`` hold a private person's data?"""
    if isinstance(record, Client):
        # A new client without a kind is stored as a person (the default).
        return record.kind is None or record.kind in PERSON_KINDS
    return type(record) in ENTITIES


def check_consent(record):
    """Refuse a withdrawal with no consent to withdraw, or one dated before it."""
    given, withdrawn = record.consent_date, record.consent_withdrawn
    if withdrawn is None:
        return
    if given is None:
        raise Refused(WITHDRAWN_WITHOUT_CONSENT, "consent_withdrawn")
    if withdrawn < given:
        raise Refused(WITHDRAWN_BEFORE_CONSENT, "consent_withdrawn")


def consent_problem(values):
    """The message refusing an imported row's consent (``values``: by field
    name), or None."""
    withdrawn, given = values.get("consent_withdrawn"), values.get("consent_date")
    if withdrawn is None:
        return None
    if given is None:
        return WITHDRAWN_WITHOUT_CONSENT
    return WITHDRAWN_BEFORE_CONSENT if withdrawn < given else None


def web_consent(lead, text, today=None):
    """A web form's ticked consent on the lead it creates."""
    lead.consent_date = today or datetime.date.today()
    lead.consent_form = ConsentForm.ELECTRONIC
    lead.consent_purpose = text


# --- the access log ------------------------------------------------------------------


def _row(action, entity, entity_id, user_id, rows=None, at=None):
    return {"at": at or utcnow(), "user_id": user_id, "action": action, "entity": entity,
            "entity_id": entity_id, "rows": rows}


def _write_apart(engine, row):
    """One INSERT on a connection of its own, never failing the caller."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(PersonalDataLog), [row])
    except Exception:  # noqa: BLE001  (the page is served; the log is best effort)
        log.exception("Personal data access log: the row was not written: %s", row)


def viewed(engine, record, user_id, later=None):
    """A person's record page was opened. ``later``: a function that runs
    the write when the page has been sent (the web layer's), so that a page
    never waits for the log: on SQLite the insert waits for any writer (a
    long import holds the lock for seconds) and, made inside the request,
    left the request's own saves answered "database is locked"."""
    if record is None or not is_person(record):
        return
    row = _row(AccessAction.VIEW, ENTITIES[type(record)], record.id, user_id)
    (later or (lambda write: write()))(lambda: _write_apart(engine, row))


def exported(engine, model, user_id, rows):
    """A list of ``model`` (a person entity) was exported: one row for the file."""
    if model in ENTITIES:
        _write_apart(engine, _row(AccessAction.EXPORT, ENTITIES[model], None, user_id, rows))


def printed(session, client_id, user_id):
    """A document was printed for a client: logged (in the print's own
    transaction) when the client is a person."""
    if client_id is None:
        return
    kind = session.scalar(select(Client.kind).where(Client.id == client_id))
    if kind in PERSON_KINDS:
        session.execute(insert(PersonalDataLog),
                        [_row(AccessAction.PRINT, "client", client_id, user_id)])


def subject_data_downloaded(session, record, user_id):
    """A person's data was downloaded («Данные субъекта»): logged in the
    download's own transaction, so a download that could not be logged
    is not given."""
    session.execute(insert(PersonalDataLog),
                    [_row(AccessAction.SUBJECT_DATA, ENTITIES[type(record)], record.id,
                          user_id)])


def remove_old(session, now, days):
    """Delete the rows older than ``days``; returns how many."""
    since = now - datetime.timedelta(days=days)
    return session.execute(delete(PersonalDataLog).where(PersonalDataLog.at < since)).rowcount


# --- changes, from every channel -----------------------------------------------------


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances):
    changed = session.info.setdefault("personal_data_changed", [])
    for obj in (*session.dirty, *session.deleted, *session.new):
        if type(obj) in ENTITIES and is_person(obj) and (
                obj in session.new or obj in session.deleted or session.is_modified(obj)):
            changed.append(obj)


@event.listens_for(Session, "after_flush")
def _write(session, flush_context):
    changed = session.info.pop("personal_data_changed", [])
    if not changed:
        return
    from app.services.history import acting_user_id

    now, user_id, seen, rows = utcnow(), acting_user_id.get(), set(), []
    for obj in changed:
        key = (type(obj), obj.id)
        if obj.id is None or key in seen:
            continue
        seen.add(key)
        rows.append(_row(AccessAction.CHANGE, ENTITIES[type(obj)], obj.id, user_id, at=now))
    if rows:
        session.connection().execute(insert(PersonalDataLog), rows)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop("personal_data_changed", None)
