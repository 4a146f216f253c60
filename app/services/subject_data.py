"""«Данные субъекта» (152-FZ, art. 14): everything the CRM stores about one
person — a person client (or sole proprietor), a contact person or a
lead — gathered once and given two ways: a PDF for the person (the web
layer renders ``print/subject_data.html``) and a machine-readable ZIP
archive (``data.json`` with the same sections, plus the notes' files and
the printed documents' PDFs).

What is gathered:

- a client: the record's fields and custom fields, applications, deals,
  leads, tasks, notes (and their files), counterparty actions, invoices,
  projects, printed documents, mailing lists, the history of the client and
  of its records, and the imports that created or changed the client (its
  columns or custom fields: the ones erasure takes the files of);
- a contact person: the record, its counterparty actions, mailing lists,
  its own history and imports;
- a lead: the record, its deal, counterparty actions (and its notes and
  tasks once they link to a lead), history and imports.

Another person's data is left out: a person client's contact persons (and
their changes in the client's history) are people of their own, and so
is the contact person named on a counterparty action.

A value is kept as stored (``Section.rows``); ``text`` words it as the
screens do (ДД.ММ.ГГГГ, «300 000,00», an enum's label, «Да»/«Нет», a time
in the office's zone, nothing for None) and ``plain`` as JSON does (ISO
dates, UTC times with «Z», amounts as exact strings, an enum's stored
value). The archive is written to a temporary file, the JSON in pieces and
each file copied in chunks, so memory holds the gathered records and never
the archive. No Flask request here: the web layer passes the time zone, the
way to find a stored file and the words of a history row."""
import dataclasses
import datetime
import decimal
import enum
import json
import os
import shutil
import tempfile
import zipfile

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app.labels import ENUMS, FIELDS
from app.models import (
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    HistoryEntry,
    ImportJob,
    Invoice,
    Lead,
    Note,
    PrintedDocument,
    Project,
    Reminder,
    Task,
    utcnow,
)
from app.services import custom_fields, import_undo, personal_data, values
from app.services.localtime import to_local

FORMAT = "sdelka-subject-data"
VERSION = 1
# Rows of one section the PDF prints (xhtml2pdf needs seconds per few
# hundred rows); the archive always holds them all.
PDF_ROWS = 500
COPY_CHUNK = 1024 * 1024

ENTITIES = {"client": Client, "contact": ContactPerson, "lead": Lead}
TABLES = {"client": "client", "contact": "contact_person", "lead": "lead"}

LABELS = dict(FIELDS, id=_l("Record number"), at=_l("When"), user=_l("Who"),
              what=_l("What"), field=_l("Field"), old_value=_l("Was"),
              new_value=_l("Became"), entity=_l("Printed from"),
              entity_id=_l("Record number"), template_name=_l("Template"),
              job=_l("Import"), how=_l("What the import did"),
              fields=_l("Fields"), rows=_l("Rows"), file_size=_l("Size, bytes"))

# The consent, and when the person's data was erased (services/erasure.py).
CONSENT = ["consent_date", "consent_form", "consent_purpose", "consent_withdrawn",
           "erased_at"]
CLIENT_FIELDS = [
    "id", "kind", "name", "last_name", "first_name", "middle_name", "birth_date",
    "passport_series", "passport_number", "passport_issued_by", "passport_issue_date",
    "inn", "ogrn", "kpp", "legal_address", "bank_name", "bik", "settlement_account",
    "corr_account", "phone", "phone2", "email", "region", "city", "address", "status", "type",
    "origin", "segment", "group", "tags", "funnel_stage", "responsible", "participants",
    "public_access", "mailing_types", "mailing_opt_out", "comments", *CONSENT,
    "created_at", "updated_at"]
CONTACT_FIELDS = ["id", "client", "name", "position", "phone", "email", "comment",
                  "mailing_types", "mailing_opt_out", *CONSENT]
LEAD_FIELDS = ["id", "title", "client", "contact_name", "company_name", "inn", "phone",
               "email", "amount", "origin", "segment", "web_form", "status", "deal",
               "responsible", "participants", "closed_at", "comment", *CONSENT,
               "created_at", "updated_at"]
APPLICATION_FIELDS = ["id", "date", "amount", "term_months", "rate_percent", "loan_purpose",
                      "offer", "status", "origin", "responsible", "comment", "created_at"]
DEAL_FIELDS = ["id", "title", "amount", "currency", "stage", "probability",
               "expected_close", "status", "loss_reason", "closed_at", "responsible",
               "comment", "created_at"]
TASK_FIELDS = ["id", "type", "planned_at", "deadline", "status", "assignee", "author", "deal",
               "application", "description", "result", "note", "reminder_minutes",
               "started_at", "finished_at", "created_at"]
NOTE_FIELDS = ["id", "created_at", "author", "deal", "text", "file"]
ACTION_FIELDS = ["id", "action_type", "planned_at", "done_at", "action_result", "result",
                 "deal", "lead", "responsible"]
INVOICE_FIELDS = ["id", "number", "issue_date", "due_date", "status", "deal", "currency",
                  "subtotal", "tax_amount", "total", "comment"]
PROJECT_FIELDS = ["id", "name", "description", "start_date", "end_date", "is_closed",
                  "responsible"]
DOCUMENT_FIELDS = ["id", "created_at", "template_name", "entity", "entity_id", "file_name",
                   "author"]
HISTORY_FIELDS = ["at", "user", "what", "field", "old_value", "new_value"]
IMPORT_FIELDS = ["job", "at", "user", "file_name", "how", "fields"]
MAILING_FIELDS = ["name"]

# Money columns (Numeric(14, 2) amounts): «300 000,00» as the screens show.
MONEY = {"amount", "price", "subtotal", "tax_amount", "total"}
IMPORT_CREATED = _l("created the record")
IMPORT_CHANGED = _l("changed the record")


@dataclasses.dataclass
class Section:
    """One kind of records about the person: its JSON key, title, fields
    (in order) and rows ({field: stored value}); ``files`` — the archive's
    file entries by row (``{"name", "path", "size"}``), when it has some."""

    key: str
    title: object
    fields: list
    rows: list = dataclasses.field(default_factory=list)

    def labels(self):
        return [(field, LABELS.get(field, field)) for field in self.fields]


@dataclasses.dataclass
class Subject:
    entity: str
    record_id: int
    name: str
    record: Section
    sections: list
    custom: list  # [(label, text)] of the record's custom fields
    # Files to put into the archive: (section key, row id, name, source)
    # where source is a path on disk or ("document", id).
    files: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Stored:
    """How the web layer finds a stored file: ``name(stored)`` the name the
    user gave it, ``path(stored)`` where it lies on disk."""

    name: object
    path: object


# --- values --------------------------------------------------------------------------


def _named(value):
    if value is None:
        return None
    full = getattr(value, "full_name", None)
    return full if isinstance(full, str) else str(value)


def _value(record, field):
    value = getattr(record, field)
    if isinstance(value, (list, tuple, set)):
        return sorted(_named(v) for v in value)
    if hasattr(value, "__table__"):  # a linked record: its name
        return _named(value)
    return value


def enum_text(value):
    for enum_cls, labels in ENUMS.items():
        if isinstance(value, enum_cls):
            return str(labels[value])
    return str(value.value)


def text(field, value, tz_name):
    """A stored value as the screens show it; "" for nothing."""
    if value is None or value == [] or value == "":
        return ""
    if field == "reminder_minutes" and isinstance(value, int):
        try:
            return enum_text(Reminder(value))
        except ValueError:
            return str(value)
    if isinstance(value, enum.Enum):
        return enum_text(value)
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, datetime.datetime):
        return values.datetime_text(to_local(value, tz_name))
    if isinstance(value, datetime.date):
        return values.date_text(value)
    if isinstance(value, decimal.Decimal):
        if field in MONEY:
            return values.money(value)
        return values.number_text(value, grouped=True)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def plain(value):
    """A stored value as JSON holds it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime):
        return value.isoformat() + "Z"  # stored as UTC
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _rows(records, fields, **extra):
    return [{**{f: _value(r, f) for f in fields if hasattr(r, f)},
             **{k: fn(r) for k, fn in extra.items()}} for r in records]


# --- gathering -----------------------------------------------------------------------


def load(session, entity, record_id):
    """The person's record, or None (no such record, or a company)."""
    model = ENTITIES.get(entity)
    record = session.get(model, record_id) if model is not None else None
    if record is None or not personal_data.is_person(record):
        return None
    return record


def gather(session, record, *, stored, history_words):
    """The person's data: a ``Subject``. ``stored``: a ``Stored``;
    ``history_words(entry)`` -> (what, field label, old text, new text)."""
    entity = personal_data.ENTITIES[type(record)]
    gatherer = {"client": _client, "contact": _contact, "lead": _lead}[entity]
    fields = {"client": CLIENT_FIELDS, "contact": CONTACT_FIELDS, "lead": LEAD_FIELDS}[entity]
    subject = Subject(entity=entity, record_id=record.id, name=_title(record),
                      record=Section("record", _title(record), fields,
                                     _rows([record], fields)),
                      sections=[], custom=_custom(session, entity, record.id))
    gatherer(session, record, subject, stored)
    subject.sections.append(_mailing(record))
    subject.sections.append(_history(session, entity, record, history_words))
    subject.sections.append(_imports(session, entity, record.id))
    return subject


def _title(record):
    return (getattr(record, "name", None) or getattr(record, "contact_name", None)
            or getattr(record, "title", None) or "")


def _custom(session, entity, record_id):
    fields = custom_fields.fields_of(session, entity, active=False)
    found = custom_fields.load(session, entity, [record_id], fields).get(record_id, {})
    result = []
    for field in fields:
        if field.code in found:
            shown = custom_fields.text_of(session, field, found[field.code])
            if shown != "":
                result.append((custom_fields.label_of(field), shown))
    return result


def _all(session, model, *where, order=None):
    query = select(model).where(*where).order_by(*(order or (model.id,)))
    return session.scalars(query).all()


def _notes(session, subject, notes, stored):
    section = Section("notes", _l("Notes"), NOTE_FIELDS)
    for note in notes:
        row = {f: _value(note, f) for f in NOTE_FIELDS}
        if note.file:
            name = stored.name(note.file)
            row["file"] = name
            path = stored.path(note.file)
            archived = f"files/{note.id}_{name}"
            row["file_in_archive"] = archived if os.path.isfile(path) else None
            if row["file_in_archive"]:
                subject.files.append((archived, path))
        section.rows.append(row)
    return section


def _documents(session, subject, documents):
    section = Section("printed_documents", _l("Printed documents"), DOCUMENT_FIELDS)
    for document in documents:
        row = {f: _value(document, f) for f in DOCUMENT_FIELDS}
        archived = f"documents/{document.id}_{document.file_name}"
        row["file_in_archive"] = archived
        subject.files.append((archived, ("document", document.id)))
        section.rows.append(row)
    return section


def _client(session, client, subject, stored):
    cid = client.id
    sections = subject.sections
    sections.append(Section("applications", _l("Applications"), APPLICATION_FIELDS, _rows(
        _all(session, Application, Application.client_id == cid), APPLICATION_FIELDS)))
    sections.append(Section("deals", _l("Deals"), DEAL_FIELDS, _rows(
        _all(session, Deal, Deal.client_id == cid), DEAL_FIELDS)))
    lead_fields = [f for f in LEAD_FIELDS if f != "client"]
    sections.append(Section("leads", _l("Leads"), lead_fields, _rows(
        _all(session, Lead, Lead.client_id == cid), lead_fields)))
    sections.append(Section("tasks", _l("Tasks"), TASK_FIELDS, _rows(
        _all(session, Task, Task.client_id == cid, order=(Task.planned_at, Task.id)),
        TASK_FIELDS)))
    sections.append(_notes(session, subject, _all(
        session, Note, Note.client_id == cid, order=(Note.created_at, Note.id)), stored))
    sections.append(Section("actions", _l("Work with counterparties"), ACTION_FIELDS, _rows(
        _all(session, CounterpartyAction, CounterpartyAction.client_id == cid),
        ACTION_FIELDS)))
    sections.append(Section("invoices", _l("Invoices"), INVOICE_FIELDS, _rows(
        _all(session, Invoice, or_(Invoice.client_id == cid, Invoice.recipient_id == cid)),
        INVOICE_FIELDS)))
    sections.append(Section("projects", _l("Projects"), PROJECT_FIELDS, _rows(
        _all(session, Project, Project.client_id == cid), PROJECT_FIELDS)))
    sections.append(_documents(session, subject, _all(
        session, PrintedDocument, PrintedDocument.client_id == cid,
        order=(PrintedDocument.created_at, PrintedDocument.id))))


def _contact(session, contact, subject, stored):
    subject.sections.append(Section("actions", _l("Work with counterparties"), ACTION_FIELDS,
                                    _rows(_all(session, CounterpartyAction,
                                               CounterpartyAction.contact_id == contact.id),
                                          ACTION_FIELDS)))


def _lead(session, lead, subject, stored):
    sections = subject.sections
    deals = [lead.deal] if lead.deal is not None else []
    sections.append(Section("deals", _l("Deals"), DEAL_FIELDS, _rows(deals, DEAL_FIELDS)))
    sections.append(Section("tasks", _l("Tasks"), TASK_FIELDS, _rows(
        _all(session, Task, Task.lead_id == lead.id, order=(Task.planned_at, Task.id)),
        TASK_FIELDS)))
    sections.append(_notes(session, subject, _all(
        session, Note, Note.lead_id == lead.id, order=(Note.created_at, Note.id)), stored))
    sections.append(Section("actions", _l("Work with counterparties"), ACTION_FIELDS, _rows(
        _all(session, CounterpartyAction, CounterpartyAction.lead_id == lead.id),
        ACTION_FIELDS)))


def _mailing(record):
    return Section("mailing_lists", _l("Mailing types"), MAILING_FIELDS,
                   [{"name": m.name} for m in sorted(getattr(record, "mailing_types", []) or [],
                                                     key=lambda m: m.name)])


def _history(session, entity, record, history_words):
    if entity == "client":
        # The client's and its records' changes, but not its contact persons':
        # they are other people.
        where = and_(HistoryEntry.client_id == record.id, HistoryEntry.entity != "contact")
    else:
        where = and_(HistoryEntry.entity == entity, HistoryEntry.entity_id == record.id)
    section = Section("history", _l("History"), HISTORY_FIELDS)
    query = (select(HistoryEntry).where(where)
             .order_by(HistoryEntry.at, HistoryEntry.id))
    for entry in session.scalars(query):
        what, field_label, old, new = history_words(entry)
        section.rows.append({
            "at": entry.at, "user": _named(entry.user), "what": str(what),
            "field": str(field_label or ""), "old_value": None if old is None else str(old),
            "new_value": None if new is None else str(new),
            "entity_key": entry.entity, "entity_id": entry.entity_id, "action": entry.action,
            "field_key": entry.field})
    return section


def _imports(session, entity, record_id):
    """Imports that created the record or changed it (its columns or custom
    fields), each once, as erasure finds them (``import_undo.touched``)."""
    found = import_undo.touched(session, TABLES[entity], entity, record_id)
    section = Section("imports", _l("Imports"), IMPORT_FIELDS)
    if not found:
        return section
    custom = {f.code: custom_fields.label_of(f)
              for f in custom_fields.fields_of(session, entity, active=False)}
    jobs = session.scalars(select(ImportJob).where(ImportJob.id.in_(list(found)))
                           .order_by(ImportJob.created_at, ImportJob.id))
    for job in jobs:
        what = found[job.id]
        section.rows.append({
            "job": job.id, "at": job.created_at, "user": _named(job.user),
            "file_name": job.file_name,
            "how": str(IMPORT_CREATED if what.created else IMPORT_CHANGED),
            "fields": sorted([str(LABELS.get(f, f)) for f in what.fields]
                             + [str(custom.get(code, code)) for code in what.custom])})
    return section


# --- the two forms -------------------------------------------------------------------


def pdf_sections(subject, tz_name, limit=PDF_ROWS):
    """What the PDF prints: per section its title, the labels and, per row,
    [(label, text)] of the values that are there; at most ``limit`` rows
    (``more``: how many are left out)."""
    result = []
    for section in subject.sections:
        labels = dict(section.labels())
        rows = [[(labels[f], text(f, row.get(f), tz_name)) for f in section.fields]
                for row in section.rows[:limit]]
        result.append({"key": section.key, "title": section.title,
                       "labels": [label for _, label in section.labels()],
                       "rows": [[(label, shown) for label, shown in row if shown != ""]
                                for row in rows],
                       "cells": rows, "total": len(section.rows),
                       "more": max(0, len(section.rows) - limit)})
    return result


def record_lines(subject, tz_name):
    """[(label, text)] of the record's fields that have a value."""
    [row] = subject.record.rows
    lines = [(LABELS.get(f, f), text(f, row.get(f), tz_name)) for f in subject.record.fields]
    return [(label, shown) for label, shown in lines if shown != ""] + subject.custom


def _json_section(section):
    return {"title": str(section.title),
            "fields": {f: str(label) for f, label in section.labels()},
            "rows": [{k: plain(v) for k, v in row.items()} for row in section.rows]}


def document(subject, *, generated_at=None):
    """The archive's data.json as a dict."""
    return {
        "format": FORMAT, "version": VERSION,
        "generated_at": plain(generated_at or utcnow()),
        "subject": {"entity": subject.entity, "id": subject.record_id, "name": subject.name},
        "record": {
            "fields": {f: str(label) for f, label in subject.record.labels()},
            "values": {k: plain(v) for k, v in subject.record.rows[0].items()},
            "custom_fields": {str(label): shown for label, shown in subject.custom},
        },
        "sections": {s.key: _json_section(s) for s in subject.sections},
    }


def write_archive(session, subject, *, generated_at=None):
    """The ZIP archive in a temporary file (positioned at its start; the
    caller closes it): data.json, the notes' files and the printed
    documents."""
    out = tempfile.TemporaryFile()
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("data.json", "w") as entry:
                encoder = json.JSONEncoder(ensure_ascii=False, indent=1)
                for chunk in encoder.iterencode(document(subject, generated_at=generated_at)):
                    entry.write(chunk.encode("utf-8"))
            for name, source in subject.files:
                if isinstance(source, tuple):  # a printed document, read one at a time
                    content = session.scalar(select(PrintedDocument.content)
                                             .where(PrintedDocument.id == source[1]))
                    if content is not None:
                        archive.writestr(name, content)
                    continue
                with open(source, "rb") as src, archive.open(name, "w",
                                                             force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, COPY_CHUNK)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out
