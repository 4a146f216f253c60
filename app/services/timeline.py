"""The timeline of a client, a deal or a lead: its notes, tasks, counterparty
actions, printed documents and recorded changes in one feed, newest first.

One query per kind of entry, each cut at the page's size in the database,
merged here; a page ends with the cursor of its last entry, and the next
page asks each kind for what comes strictly after it in the same order
(time, then kind, then id), so no entry is shown twice or skipped when
several share a moment. Times stay UTC: the screen shows them in the
office's zone.

``viewer_id`` is the user restricted to their own records (None: access to
all clients); each kind's query then carries the row rule of
services/access.py. The subject itself is checked by the caller (a page
one may not read is not there)."""
import datetime
from dataclasses import dataclass, field

from sqlalchemy import Integer, and_, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from app.models import (
    Client,
    CounterpartyAction,
    Deal,
    HistoryEntry,
    Lead,
    Note,
    PrintedDocument,
    Task,
    TemplateEntity,
)
from app.services import access

PAGE_SIZE = 100
SUBJECTS = {"client": Client, "deal": Deal, "lead": Lead}
# Kinds by their rank: of entries at the same moment the higher rank comes
# first (a note written with a task shows above it).
KINDS = ("change", "document", "action", "task", "note")


@dataclass
class Entry:
    kind: str  # one of KINDS
    at: datetime.datetime  # UTC
    id: int
    record: object  # Note, Task, CounterpartyAction, PrintedDocument or HistoryEntry
    # Changes saved together (same record, user and moment) are one entry.
    changes: list = field(default_factory=list)

    @property
    def key(self):
        return self.at, KINDS.index(self.kind), self.id

    @property
    def cursor(self):
        return f"{self.at.isoformat()}~{KINDS.index(self.kind)}~{self.id}"


@dataclass
class Page:
    entries: list
    older: str | None  # the cursor of the next page, None at the end


def parse_cursor(text):
    """(time, rank, id) of a cursor, or None for anything else."""
    try:
        at, rank, row_id = (text or "").split("~")
        rank, row_id = int(rank), int(row_id)
        at = datetime.datetime.fromisoformat(at)
    except ValueError:
        return None
    if not 0 <= rank < len(KINDS) or at.tzinfo is not None:
        return None
    return at, rank, row_id


def _after(moment, id_column, rank, cursor):
    """The rows of one kind that come after ``cursor`` in the feed's order."""
    at, c_rank, c_id = cursor
    if rank < c_rank:
        return moment <= at
    if rank > c_rank:
        return moment < at
    return or_(moment < at, and_(moment == at, id_column < c_id))


# The numbers of a timeline's statements: its subject, its viewer and the
# rows a kind may give (a page and one more).
SUBJECT_ID = bindparam("timeline_subject", type_=Integer)
VIEWER_ID = bindparam("timeline_viewer", type_=Integer)
LIMIT = bindparam("timeline_limit", type_=Integer)


def _sources(subject):
    """(kind, model, moment, condition, loader options) of each kind of
    entry a subject of this kind has (its number: SUBJECT_ID)."""
    subject_id = SUBJECT_ID
    # A deal's and a lead's notes and tasks are those linked to it (its
    # client's other ones are on the client's page).
    if subject == "deal":
        note_of, task_of = Note.deal_id == subject_id, Task.deal_id == subject_id
    elif subject == "lead":
        note_of, task_of = Note.lead_id == subject_id, Task.lead_id == subject_id
    else:
        note_of, task_of = Note.client_id == subject_id, Task.client_id == subject_id
    sources = [
        ("note", Note, Note.created_at, note_of, [selectinload(Note.author)]),
        ("task", Task, func.coalesce(Task.finished_at, Task.created_at), task_of,
         [selectinload(Task.status), selectinload(Task.assignee), selectinload(Task.type)]),
    ]
    action_of = {"client": CounterpartyAction.client_id, "deal": CounterpartyAction.deal_id,
                 "lead": CounterpartyAction.lead_id}[subject]
    sources.append(("action", CounterpartyAction,
                    func.coalesce(CounterpartyAction.done_at, CounterpartyAction.planned_at,
                                  CounterpartyAction.created_at),
                    action_of == subject_id,
                    [selectinload(CounterpartyAction.action_type),
                     selectinload(CounterpartyAction.action_result),
                     selectinload(CounterpartyAction.contact),
                     selectinload(CounterpartyAction.responsible)]))
    if subject == "client":
        printed = PrintedDocument.client_id == subject_id
    elif subject == "deal":
        printed = and_(PrintedDocument.entity == TemplateEntity.DEAL,
                       PrintedDocument.entity_id == subject_id)
    else:
        printed = None  # leads are not printed
    if printed is not None:
        sources.append(("document", PrintedDocument, PrintedDocument.created_at, printed,
                        [selectinload(PrintedDocument.author)]))
    own = (HistoryEntry.client_id == subject_id if subject == "client" else
           and_(HistoryEntry.entity == subject, HistoryEntry.entity_id == subject_id))
    # A print is a document entry, a new task a task entry: not twice.
    sources.append(("change", HistoryEntry, HistoryEntry.at,
                    and_(own, HistoryEntry.action != "print",
                         or_(HistoryEntry.entity != "task", HistoryEntry.action != "create")),
                    [selectinload(HistoryEntry.user)]))
    return sources


def page(session, subject, subject_id, viewer_id, *, older=None, kinds=KINDS,
         size=PAGE_SIZE):
    """The page of the timeline of ``subject`` («client», «deal», «lead») no.
    ``subject_id`` after the cursor ``older`` (None: the newest), of the
    entry kinds in ``kinds`` (those the user may list), as ``viewer_id``
    may see them (None: every entry). The caller has checked that the
    viewer may read the subject.

    A client's entries are records of that client, and a record of a
    client the viewer may read is theirs to read (services/access): the
    row rule would hold for every one, so it is not asked (four nested
    tests fewer to build, key and plan on the busiest record page)."""
    cursor = parse_cursor(older) if older else None
    ruled = viewer_id is not None and subject != "client"
    numbers = {SUBJECT_ID.key: subject_id, LIMIT.key: size + 1}
    if ruled:
        numbers[VIEWER_ID.key] = viewer_id
    found = []
    for kind, statement in _statements(subject, ruled, cursor):
        if kind in kinds:
            found += [Entry(kind, at, record.id, record)
                      for record, at in session.execute(statement, numbers)]
    found.sort(key=lambda entry: entry.key, reverse=True)
    shown = found[:size]
    older = shown[-1].cursor if len(found) > size else None
    return Page(_grouped(shown), older)


# The first page's statements by subject and whether the row rule applies:
# the same for every record but its numbers (SUBJECT_ID, VIEWER_ID, LIMIT).
# Building them was half of a timeline's work, a tenth of a record page.
_first_pages = {}


def _statements(subject, ruled, cursor):
    """(kind, statement) of every kind of the subject's entries, newest
    first, after ``cursor`` (None: from the newest)."""
    if cursor is None and (subject, ruled) in _first_pages:
        return _first_pages[subject, ruled]
    built = []
    for kind, model, moment, condition, options in _sources(subject):
        query = select(model, moment.label("moment")).where(condition)
        if cursor is not None:
            query = query.where(_after(moment, model.id, KINDS.index(kind), cursor))
        if ruled and model is not HistoryEntry:
            query = query.where(access.clause(model, VIEWER_ID))
        built.append((kind, query.options(*options)
                      .order_by(moment.desc(), model.id.desc()).limit(LIMIT)))
    if cursor is None:
        _first_pages[subject, ruled] = built
    return built


def _grouped(entries):
    """Field changes of one record saved together become one entry."""
    result = []
    for entry in entries:
        if entry.kind == "change":
            row = entry.record
            last = result[-1] if result else None
            if (row.action == "update" and last is not None and last.kind == "change"
                    and last.record.action == "update"
                    and (last.record.entity, last.record.entity_id, last.record.user_id,
                         last.at) == (row.entity, row.entity_id, row.user_id, entry.at)):
                last.changes.append(row)
                continue
            entry.changes.append(row)
        result.append(entry)
    return result
