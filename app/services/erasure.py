"""Erasure of one person's personal data (152-FZ, art. 14, 17, 21) and the
list of persons kept past the retention period.

``erase`` turns a person's record (a client who is a person or a sole
proprietor, a contact person, a lead) into «Субъект №N» (N: the record's
id): the name parts, passport, INN and bank details, phones, e-mails,
addresses, birth date, comments, custom field values and mailing lists are
cleared; the client's notes lose their text and files (deleted from the
uploads folder once the transaction is committed), its tasks, actions,
applications, deals and projects their free text, its deals and projects
the person's name in their titles, its printed documents (PDFs holding
the passport) are deleted, and its leads are erased with it. The history
keeps that a field changed and when, with its values blanked; an import's
stored before/after values of the record likewise, and the stored files
of the imports that created or changed it are deleted (the journal says
so, its report quotes nothing of the person); the employees'
notifications linking to the person's pages or tasks read «Субъект №N:
персональные данные удалены», and any other naming the person's full name
has it read «Субъект №N».

What statistics and accounting need stays: amounts, statuses, dates,
stages, the responsible employee, the region, the kind of client.

The consent (date, form, purpose, withdrawal) is kept: it names no one
once the record is anonymised, and 152-FZ (art. 9 part 3) puts on the
operator the proof that the processing before the erasure had the
subject's consent; ``erased_at`` with the access log's «erase» row is the
record of the destruction (art. 21 part 3-5).

An erasure is refused while an open deal or an unpaid (draft or issued)
invoice needs the data, unless the caller confirms it (``confirmed``):
the screen shows what blocks first. Everything happens in the caller's
transaction (the files go after its commit); the ORM writes the record, so the search text
(services/search.py) and the indexes of the registers' words follow."""
import collections
import datetime
import json
import logging
import os
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, insert, literal, or_, select, update

from app.models import (
    AccessAction,
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    CustomField,
    CustomValue,
    Deal,
    DealStatus,
    HistoryEntry,
    ImportChange,
    ImportJob,
    Invoice,
    InvoiceStatus,
    Lead,
    Note,
    Notification,
    PersonalDataLog,
    PrintedDocument,
    Project,
    Task,
    utcnow,
)
from app.services import history, import_jobs, import_undo, imports, personal_data
from app.services.errors import Refused

log = logging.getLogger(__name__)

SUBJECT = "Субъект №{}"
# A note's text is required: what stands in its place.
NOTE_ERASED = "Текст удалён (персональные данные)"
# An employee's notification about the person (a lead from the site, a
# task's reminder) keeps its link and time; its text reads so.
NOTICE_ERASED = "{}: персональные данные удалены"
PAGES = {Client: "/clients/show/{}", ContactPerson: "/contacts/show/{}",
         Lead: "/leads/show/{}"}

NOT_A_PERSON = _l("Only a person's personal data can be erased")
NOT_FOUND = _l("The record was not found")
BLOCKED = _l("An open deal or an unpaid invoice needs the person's data: confirm the "
             "erasure to go ahead")

# The record's own personal fields, cleared (the name is replaced).
CLIENT_FIELDS = ("last_name", "first_name", "middle_name", "birth_date", "passport_series",
                 "passport_number", "passport_issued_by", "passport_issue_date", "inn", "ogrn",
                 "kpp", "legal_address", "bank_name", "bik", "settlement_account",
                 "corr_account", "phone", "phone2", "email", "city", "address", "comments")
CONTACT_FIELDS = ("position", "phone", "email", "comment")
LEAD_FIELDS = ("inn", "phone", "email", "comment")
NAME_FIELDS = {Client: ("name",), ContactPerson: ("name",), Lead: ("title", "contact_name")}
OWN_FIELDS = {Client: CLIENT_FIELDS, ContactPerson: CONTACT_FIELDS, Lead: LEAD_FIELDS}
# Free text of the client's other records, cleared.
FREE_TEXT = {Application: ("comment",), Deal: ("comment",), Project: ("description",),
             Task: ("description", "result", "note"), CounterpartyAction: ("result",)}
# History fields whose values are blanked on the person's and the client's rows.
HISTORY_FIELDS = (set(CLIENT_FIELDS) | set(CONTACT_FIELDS) | set(LEAD_FIELDS)
                  | {"name", "title", "contact_name", "comment", "description", "result",
                     "note", "client", "recipient", "contact", "mailing_types"})
STORED = re.compile(r"([0-9a-f]{32})_sep_.+", re.S)


class Blocked(Refused):
    """The erasure needs a confirmation: ``blockers`` lists why."""

    def __init__(self, blockers):
        super().__init__(BLOCKED)
        self.blockers = blockers


def entity_model(entity):
    return {name: model for model, name in personal_data.ENTITIES.items()}.get(entity)


def subject_name(record_id):
    return SUBJECT.format(record_id)


def _person(session, model, pk):
    record = session.get(model, pk) if model is not None else None
    if record is None:
        raise Refused(NOT_FOUND)
    if not personal_data.is_person(record):
        raise Refused(NOT_A_PERSON)
    return record


def _open_deals(session, condition):
    return [{"kind": "deal", "id": d.id, "title": d.title, "amount": d.amount}
            for d in session.scalars(select(Deal).where(condition, Deal.status == DealStatus.OPEN)
                                     .order_by(Deal.id))]


UNPAID = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED)


def blockers(session, model, pk):
    """What needs the person's data: [{"kind": "deal"|"invoice", "id",
    "title", "amount"}] (open deals; draft or issued invoices)."""
    record = _person(session, model, pk)
    if model is Client:
        found = _open_deals(session, Deal.client_id == pk)
        invoices = session.scalars(select(Invoice).where(
            or_(Invoice.client_id == pk, Invoice.recipient_id == pk),
            Invoice.status.in_(UNPAID)).order_by(Invoice.id))
        return found + [{"kind": "invoice", "id": i.id, "title": str(i), "amount": i.total}
                        for i in invoices]
    if model is ContactPerson:
        # A deal the contact person works on (its actions name them).
        return _open_deals(session, Deal.id.in_(
            select(CounterpartyAction.deal_id).where(CounterpartyAction.contact_id == pk)))
    return _open_deals(session, Deal.id == record.deal_id) if record.deal_id else []


def _names(record):
    """The person's names as they may be written in a title: the full
    name first, then the surname (at least 3 letters)."""
    found = [getattr(record, "name", None) or getattr(record, "contact_name", None)]
    found.append(getattr(record, "last_name", None))
    return [n for n in dict.fromkeys(found) if n and len(n.strip()) >= 3]


def _without_names(text, names, label, whole=False):
    """``text`` with each of ``names`` read ``label``; ``whole``: only
    where the name stands as words (not «Иванов Иван» in «Иванов Иванович»)."""
    for name in names:
        pattern = re.escape(name.strip())
        if whole:
            pattern = rf"(?<!\w){pattern}(?!\w)"
        text = re.sub(pattern, label, text, flags=re.IGNORECASE)
    return text


def _clear(record, fields):
    for field in fields:
        setattr(record, field, None)


def _custom_values(session, entity, pk):
    ids = select(CustomField.id).where(CustomField.entity == entity)
    session.execute(CustomValue.__table__.delete().where(
        CustomValue.record_id == pk, CustomValue.field_id.in_(ids)))


def _blank_history(session, condition, names, label, entity=None):
    """Blank the personal values of the history rows ``condition`` selects
    (with ``entity``: its custom fields' too, named by their label); in the
    text of a created or deleted record (its title) and of any other row
    without a field, the person's names read «Субъект №N»."""
    table = HistoryEntry.__table__
    fields = table.c.field.in_(HISTORY_FIELDS)
    if entity is not None:
        fields = or_(fields, table.c.field.in_(
            select(CustomField.label_ru).where(CustomField.entity == entity)))
    session.execute(update(table).where(condition, fields)
                    .values(old_value=None, new_value=None))
    if not names:
        return
    rows = session.execute(select(table.c.id, table.c.old_value, table.c.new_value).where(
        condition, table.c.field.is_(None))).all()
    for row_id, old, new in rows:
        values = {key: _without_names(text, names, label)
                  for key, text in (("old_value", old), ("new_value", new)) if text}
        changed = {k: v for k, v in values.items() if v != (old if k == "old_value" else new)}
        if changed:
            session.execute(update(table).where(table.c.id == row_id).values(changed))


def _blank_imports(session, table_name, pk, fields):
    session.execute(update(ImportChange).where(
        ImportChange.table_name == table_name, ImportChange.record_id == pk,
        ImportChange.field.in_(fields)).values(old_value=None, new_value=None))


def _erase_notes(session, condition):
    """Clear the text and the file of the notes; returns the stored file names."""
    files = []
    for note in session.scalars(select(Note).where(condition)):
        if note.file:
            files.append(note.file)
        note.text, note.file = NOTE_ERASED, None
    return files


def _erase_one(session, record, now):
    """The record's own fields; returns (names it had, entity, files)."""
    model = type(record)
    entity = personal_data.ENTITIES[model]
    names = _names(record)
    label = subject_name(record.id)
    for field in NAME_FIELDS[model]:
        setattr(record, field, label)
    _clear(record, OWN_FIELDS[model])
    if hasattr(record, "mailing_types"):
        record.mailing_types = []
        record.mailing_opt_out = True
    record.erased_at = now
    _custom_values(session, entity, record.id)
    files = []
    if model is ContactPerson:
        _free_text(session, CounterpartyAction, CounterpartyAction.contact_id == record.id)
    if model is Lead:
        _free_text(session, CounterpartyAction, CounterpartyAction.lead_id == record.id)
        files += _erase_notes(session, Note.lead_id == record.id)
        _free_text(session, Task, Task.lead_id == record.id)
    return names, entity, files


def _free_text(session, model, condition):
    session.execute(update(model).where(condition)
                    .values({field: None for field in FREE_TEXT[model]}))


def erase(session, model, pk, user_id=None, confirmed=False, now=None):
    """Erase the personal data of the person ``model`` #``pk`` in the
    session (the caller commits, then calls ``remove_files`` with what this
    returns: the stored names of the files to delete). Raises ``Refused``
    (not a person, not found) or ``Blocked`` (what needs the data, unless
    ``confirmed``). ``user_id``: who, for the access log (by default the
    acting user of the history)."""
    record = _person(session, model, pk)
    found = blockers(session, model, pk)
    if found and not confirmed:
        raise Blocked(found)
    if user_id is None:
        user_id = history.acting_user_id.get()
    return _erase(session, record, now or utcnow(), user_id)


def _erase(session, record, now, user_id):
    model = type(record)
    erased = [record]
    client_id = record.id if model is Client else None
    if model is Client:
        erased += session.scalars(select(Lead).where(Lead.client_id == record.id,
                                                     Lead.erased_at.is_(None))).all()
    # The values as they were: an import's report may quote them.
    values = {value.strip() for one in erased
              for field in OWN_FIELDS[type(one)] + NAME_FIELDS[type(one)]
              if isinstance(value := getattr(one, field), str) and value.strip()}
    done, files = [], []
    for one in erased:
        names, entity, found = _erase_one(session, one, now)
        done.append((one, names, entity))
        files += found
    if client_id is not None:
        names = done[0][1]
        label = subject_name(client_id)
        files += _erase_notes(session, Note.client_id == client_id)
        for register, _fields in FREE_TEXT.items():
            _free_text(session, register, register.client_id == client_id)
        for register in (Deal, Project):
            title = Deal.title if register is Deal else Project.name
            for row in session.scalars(select(register).where(register.client_id == client_id)):
                text = getattr(row, title.key)
                new = _without_names(text, names, label)
                if new != text:
                    setattr(row, title.key, new)
        session.execute(PrintedDocument.__table__.delete().where(
            PrintedDocument.client_id == client_id))
    session.flush()  # the history rows of the change are written now: blanked below
    table = HistoryEntry.__table__
    for one, names, entity in done:
        _blank_history(session, and_(table.c.entity == entity, table.c.entity_id == one.id),
                       names, subject_name(one.id), entity)
        _blank_imports(session, one.__tablename__, one.id,
                       OWN_FIELDS[type(one)] + NAME_FIELDS[type(one)])
        history.record(session, entity, one.id, client_id if entity != "lead" else
                       one.client_id, "erase")
        session.execute(insert(PersonalDataLog), [{
            "at": now, "user_id": user_id, "action": AccessAction.ERASE,
            "entity": entity, "entity_id": one.id, "rows": None}])
    if client_id is not None:
        _blank_history(session, table.c.client_id == client_id, done[0][1],
                       subject_name(client_id))
    _blank_notifications(session, done, client_id)
    return files + _erase_imports(session, done, values, now)


def _blank_notifications(session, done, client_id):
    """The employees' notifications that link to the person's pages or to
    their tasks (the text names them) say only «Субъект №N: …»: one UPDATE
    per person and 500 links (the table has no index on the link)."""
    first = done[0][0]
    tasks = []
    if client_id is not None:
        tasks = session.scalars(select(Task.id).where(Task.client_id == client_id)).all()
    elif isinstance(first, Lead):
        tasks = session.scalars(select(Task.id).where(Task.lead_id == first.id)).all()
    groups = {subject_name(one.id): [PAGES[type(one)].format(one.id)] for one, _n, _e in done}
    groups[subject_name(first.id)] += [f"/tasks/{page}/{task_id}" for task_id in tasks
                                       for page in ("work", "show")]
    for label, links in groups.items():
        for start in range(0, len(links), 500):
            session.execute(update(Notification).where(
                Notification.link.in_(links[start:start + 500]))
                .values(text=NOTICE_ERASED.format(label)))
    _blank_named_notifications(session, done)


def _blank_named_notifications(session, done):
    """Any other notification whose text names the person by their full
    name (as written in the record: the match is exact in SQL) has it read
    «Субъект №N»; a single word (a lead's contact written as a surname) is
    not taken, other people bear it too. The text has no index: one scan
    of the table per erased record."""
    for one, names, _entity in done:
        full, label = (names[0].strip() if names else ""), subject_name(one.id)
        if len(full.split()) < 2:
            continue
        rows = session.execute(select(Notification.id, Notification.text).where(
            Notification.text.contains(full, autoescape=True))).all()
        for row_id, text in rows:
            new = _without_names(text, [full], label, whole=True)
            if new != text:
                session.execute(update(Notification).where(Notification.id == row_id)
                                .values(text=new))


class ImportFile(str):
    """The path of an import's stored file (``remove_files`` deletes it as
    is; a note's file is a stored name in the uploads folder)."""


def _import_jobs(session, done):
    """The ids of the imports that created or changed an erased record, by
    the ledger of «Отменить импорт» (the same ones «Данные субъекта» lists)."""
    found = set()
    for one, _names, entity in done:
        found.update(import_undo.touched(session, one.__tablename__, entity, one.id))
    return sorted(found)


def _erase_imports(session, done, values, now):
    """The stored files of the imports that created or changed an erased
    record go: the ledger does not keep the file's line of a record, so the
    whole file is the only thing known to hold the person. The journal
    marks them removed as the cleanup of old files does
    (``files_removed_at``), its report saying why (``files_erased``) and
    quoting none of the person's values. A queued or running import keeps
    its file (its worker reads it). Returns the paths, as ``ImportFile``,
    for ``remove_files`` once the erasure is committed."""
    files = []
    for job in session.scalars(select(ImportJob).where(
            ImportJob.id.in_(_import_jobs(session, done)),
            ImportJob.status.not_in(("queued", "running"))).order_by(ImportJob.id)):
        report = _report_without(job, done, values)
        if job.files_removed_at is None:
            files += [ImportFile(path) for path in import_jobs.job_files(job)]
            job.files_removed_at, job.error_file = now, None
            report["files_erased"] = True
        job.report = json.dumps(report, ensure_ascii=False, default=str)
    return files


def _report_without(job, done, values):
    """The job's report (a dict) with no duplicate quoting an erased
    record's value (found by the record's id or by the value) and the
    persons' names read «Субъект №N»."""
    report = json.loads(job.report) if job.report else {}
    entity = imports.get_entity(job.entity)
    table = entity.model.__tablename__ if entity is not None else None
    ids = {one.id for one, _names, _entity in done if one.__tablename__ == table}
    for duplicate in report.get("duplicates") or ():
        if duplicate.get("id") in ids or str(duplicate.get("value", "")).strip() in values:
            duplicate["value"] = ""
    text = json.dumps(report, ensure_ascii=False, default=str)
    for one, names, _entity in done:
        text = _without_names(text, [n for n in names if '"' not in n and "\\" not in n],
                              subject_name(one.id), whole=True)
    return json.loads(text)


def remove_files(folder, files):
    """Delete the stored files ``erase`` returned from the uploads folder
    ``folder`` (an import's, ``ImportFile``, where it is), once the erasure
    is committed (a rollback keeps them). Returns how many were deleted."""
    removed = 0
    for name in files:
        match = None if isinstance(name, ImportFile) else STORED.fullmatch(name)
        if match is None and not isinstance(name, ImportFile):
            continue
        path = name if match is None else os.path.join(folder, match.group(1))
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("Erasure: the file %s was not deleted", path)
    return removed


# --- retention -----------------------------------------------------------------------


def _quiet_since(cutoff):
    """SQL: the client had no activity since ``cutoff``: the client itself
    unchanged, and no change (history), note, task, action, deal,
    application, invoice or lead of it since; each an index probe by client."""
    key = Client.id
    return and_(
        Client.updated_at < cutoff,
        ~exists().where(HistoryEntry.client_id == key, HistoryEntry.at >= cutoff),
        ~exists().where(Note.client_id == key, Note.created_at >= cutoff),
        ~exists().where(Task.client_id == key, or_(Task.planned_at >= cutoff,
                                                   Task.created_at >= cutoff)),
        ~exists().where(CounterpartyAction.client_id == key,
                        or_(CounterpartyAction.updated_at >= cutoff,
                            CounterpartyAction.planned_at >= cutoff)),
        ~exists().where(Deal.client_id == key, Deal.updated_at >= cutoff),
        ~exists().where(Application.client_id == key, Application.updated_at >= cutoff),
        ~exists().where(Invoice.client_id == key, Invoice.updated_at >= cutoff),
        ~exists().where(Lead.client_id == key, Lead.updated_at >= cutoff),
    )


def _lead_quiet_since(cutoff):
    """SQL: a lead without a client had no activity since ``cutoff``: the
    lead unchanged, no change (history), action, note or task of it since."""
    key = Lead.id
    return and_(
        Lead.updated_at < cutoff,
        ~exists().where(HistoryEntry.entity == "lead", HistoryEntry.entity_id == key,
                        HistoryEntry.at >= cutoff),
        ~exists().where(CounterpartyAction.lead_id == key,
                        or_(CounterpartyAction.updated_at >= cutoff,
                            CounterpartyAction.planned_at >= cutoff)),
        ~exists().where(Note.lead_id == key, Note.created_at >= cutoff),
        ~exists().where(Task.lead_id == key, or_(Task.planned_at >= cutoff,
                                                 Task.created_at >= cutoff)),
    )


def _contact_quiet_since(cutoff):
    """SQL: a contact person had no activity since ``cutoff``. The record
    keeps no time of its own, so its activity is its history (created or
    changed since), an action with it (done or planned since), and all of
    its client's (``_quiet_since``: a person is kept while the client they
    work for is alive). Joins the client: the caller's FROM holds both."""
    key = ContactPerson.id
    return and_(
        Client.id == ContactPerson.client_id,
        ~exists().where(HistoryEntry.entity == "contact", HistoryEntry.entity_id == key,
                        HistoryEntry.at >= cutoff),
        ~exists().where(CounterpartyAction.contact_id == key,
                        or_(CounterpartyAction.updated_at >= cutoff,
                            CounterpartyAction.planned_at >= cutoff)),
        _quiet_since(cutoff),
    )


def expired_condition(days, now=None, model=Client):
    """SQL: the ``model`` (Client: a person; Lead: one without a client;
    ContactPerson: any, with its client) not erased and with no activity
    for ``days``."""
    cutoff = (now or utcnow()) - datetime.timedelta(days=days)
    if model is Lead:
        return and_(Lead.client_id.is_(None), Lead.erased_at.is_(None),
                    _lead_quiet_since(cutoff))
    if model is ContactPerson:
        return and_(ContactPerson.erased_at.is_(None), _contact_quiet_since(cutoff))
    return and_(Client.kind.in_(personal_data.PERSON_KINDS), Client.erased_at.is_(None),
                _quiet_since(cutoff))


def expired(session, days, page=0, size=50, now=None, count_limit=10_000, model=Client):
    """Persons (``model``: clients, leads without a client, contact
    persons) with no activity for ``days``, the longest quiet first:
    ([(id, name, kind, updated_at)], total). The count stops at
    ``count_limit`` + 1 (a page walks the index of the last change; a
    contact person's is its client's, ``updated_at`` the later of it and
    the contact's last history row)."""
    condition = expired_condition(days, now, model)
    total = session.scalar(select(func.count()).select_from(
        select(model.id).where(condition).limit(count_limit + 1).subquery()))
    if model is ContactPerson:
        order = (Client.updated_at, ContactPerson.id)
    else:
        order = (model.updated_at, model.id)
    if model is Lead:
        columns = (Lead.id, func.coalesce(Lead.contact_name, Lead.title).label("name"),
                   literal(None).label("kind"), Lead.updated_at)
    elif model is ContactPerson:
        columns = (ContactPerson.id, ContactPerson.name, literal(None).label("kind"),
                   Client.updated_at, _contact_changed().label("changed_at"))
    else:
        columns = (Client.id, Client.name, Client.kind, Client.updated_at)
    rows = session.execute(
        select(*columns).where(condition)
        .order_by(*order).offset(page * size).limit(size)).all()
    if model is ContactPerson:
        rows = [Expired(r.id, r.name, r.kind, max(filter(None, (r.updated_at, r.changed_at))))
                for r in rows]
    return rows, total


Expired = collections.namedtuple("Expired", "id name kind updated_at")


def _contact_changed():
    """SQL: when the contact person's history last says of it."""
    return (select(func.max(HistoryEntry.at))
            .where(HistoryEntry.entity == "contact",
                   HistoryEntry.entity_id == ContactPerson.id)
            .scalar_subquery())
