"""The timeline of a client, a deal or a lead: its notes, tasks, counterparty
actions, printed documents and recorded changes in one feed, newest first.

One statement finds the page: each kind's newest entries (cut at the
page's size) merged in the database, as (kind, id, time); then one
statement per kind on the page reads its records. Under load each
statement costs a wait for the interpreter's lock and the database's
process, and a record page's timeline mostly holds two or three kinds of
the five. A page ends with the cursor of its last entry, and the next
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

from sqlalchemy import Integer, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

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
    """(kind, model, moment, condition) of each kind of entry a subject of
    this kind has (its number: SUBJECT_ID)."""
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
        ("note", Note, Note.created_at, note_of),
        ("task", Task, func.coalesce(Task.finished_at, Task.created_at), task_of),
    ]
    action_of = {"client": CounterpartyAction.client_id, "deal": CounterpartyAction.deal_id,
                 "lead": CounterpartyAction.lead_id}[subject]
    sources.append(("action", CounterpartyAction,
                    func.coalesce(CounterpartyAction.done_at, CounterpartyAction.planned_at,
                                  CounterpartyAction.created_at),
                    action_of == subject_id))
    if subject == "client":
        printed = PrintedDocument.client_id == subject_id
    elif subject == "deal":
        printed = and_(PrintedDocument.entity == TemplateEntity.DEAL,
                       PrintedDocument.entity_id == subject_id)
    else:
        printed = None  # leads are not printed
    if printed is not None:
        sources.append(("document", PrintedDocument, PrintedDocument.created_at, printed))
    own = (HistoryEntry.client_id == subject_id if subject == "client" else
           and_(HistoryEntry.entity == subject, HistoryEntry.entity_id == subject_id))
    # A print is a document entry, a new task a task entry: not twice.
    sources.append(("change", HistoryEntry, HistoryEntry.at,
                    and_(own, HistoryEntry.action != "print",
                         or_(HistoryEntry.entity != "task", HistoryEntry.action != "create"))))
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
    listed = tuple(kind for kind in KINDS if kind in kinds)
    merged = _merged(subject, ruled, listed, cursor)
    if merged is None:
        return Page([], None)
    found = session.execute(merged, numbers).all()
    by_kind = {}
    for rank, row_id, _at in found[:size]:
        by_kind.setdefault(KINDS[rank], []).append(row_id)
    records = {}
    for kind, ids in by_kind.items():
        model, options = _RECORDS[kind]
        records.update(((kind, record.id), record) for record in session.scalars(
            select(model).where(model.id.in_(ids)).options(*options)))
    shown = [Entry(KINDS[rank], at, row_id, records[KINDS[rank], row_id])
             for rank, row_id, at in found[:size] if (KINDS[rank], row_id) in records]
    older = shown[-1].cursor if len(found) > size and shown else None
    return Page(_grouped(shown), older)


# Each kind's model and what its entry shows of its relations, each a
# record's one (a task's status, type, assignee), joined into its
# statement rather than read in one of their own.
_RECORDS = {
    "note": (Note, [joinedload(Note.author)]),
    "task": (Task, [joinedload(Task.status), joinedload(Task.assignee),
                    joinedload(Task.type)]),
    "action": (CounterpartyAction, [joinedload(CounterpartyAction.action_type),
                                    joinedload(CounterpartyAction.action_result),
                                    joinedload(CounterpartyAction.contact),
                                    joinedload(CounterpartyAction.responsible)]),
    "document": (PrintedDocument, [joinedload(PrintedDocument.author)]),
    "change": (HistoryEntry, [joinedload(HistoryEntry.user)]),
}

# The first page's statement by subject, row rule and kinds listed: the
# same for every record but its numbers (SUBJECT_ID, VIEWER_ID, LIMIT).
# Building it was half of a timeline's work, a tenth of a record page.
_first_pages = {}


def _merged(subject, ruled, kinds, cursor):
    """The statement of the page's (rank, id, time) rows, newest first:
    each listed kind's first rows after ``cursor`` (None: from the
    newest), merged; None when no kind is listed."""
    if cursor is None and (subject, ruled, kinds) in _first_pages:
        return _first_pages[subject, ruled, kinds]
    parts = []
    for kind, model, moment, condition in _sources(subject):
        if kind not in kinds:
            continue
        rank = KINDS.index(kind)
        query = select(literal(rank, Integer).label("rank"), model.id.label("id"),
                       moment.label("at")).where(condition)
        if cursor is not None:
            query = query.where(_after(moment, model.id, rank, cursor))
        if ruled and model is not HistoryEntry:
            query = query.where(access.clause(model, VIEWER_ID))
        # Cut in its own subquery: SQLite takes no ORDER BY or LIMIT on a
        # member of a UNION.
        part = query.order_by(moment.desc(), model.id.desc()).limit(LIMIT).subquery()
        parts.append(select(part.c.rank, part.c.id, part.c.at))
    if not parts:
        built = None
    else:
        merged = union_all(*parts).subquery()
        built = (select(merged.c.rank, merged.c.id, merged.c.at)
                 .order_by(merged.c.at.desc(), merged.c.rank.desc(), merged.c.id.desc())
                 .limit(LIMIT))
    if cursor is None:
        _first_pages[subject, ruled, kinds] = built
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
