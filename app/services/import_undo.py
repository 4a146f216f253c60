"""What an import wrote, and «Отменить импорт» (as EspoCRM's "Revert
import").

While an import runs, its ``Ledger`` records, in the import's own
transaction, the ids of the records it created (as ranges: a batch's ids
are consecutive, but for other writers' rows in between on PostgreSQL) and
every column it changed on an existing record, with the stored values
before and after. The history keeps texts for people («01.02.2026»,
«Москва»), which cannot be written back; the ledger keeps what the column
holds (JSON of the value: ids, enum names, ISO dates).

``plan`` says what an undo would do and which records were changed since
the import: a created record edited later, a changed column whose value is
no longer the import's. The user confirms (undo them too) or skips (leave
them) each of those. A created record to which someone has added records
since (a task, a deal, a note on an imported client) is never deleted: an
undo must not take colleagues' work with it.

``undo`` does it in one transaction, with plain statements by id range and
executemany, not per object, so that 100 000 rows take seconds; the
restored columns get a history entry each, as an edit on screen would.
The journal keeps an ``ImportUndo`` row and the job's status becomes
"undone"."""
import datetime
import decimal
import enum
import json
from dataclasses import dataclass, field

from sqlalchemy import (
    Date,
    DateTime,
    Numeric,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import Enum as EnumType

from app.models import (
    Client,
    CustomField,
    CustomValue,
    HistoryEntry,
    ImportChange,
    ImportCreated,
    ImportJob,
    ImportUndo,
    Model,
    model_of,
    utcnow,
)
from app.permissions import ADMIN
from app.services import custom_fields, history, search

# Custom field values are ledgered under "custom:<entity>", field = the code.
CUSTOM = "custom:"
# Records changed since the import listed on the confirmation screen.
MAX_LISTED = 500
_CHUNK = 500


# --- the ledger, written by the import ------------------------------------------------

def dump(value):
    """A column's value as the ledger stores it."""
    if isinstance(value, enum.Enum):
        value = value.name
    elif isinstance(value, (datetime.date, datetime.datetime)):
        value = value.isoformat()
    elif isinstance(value, decimal.Decimal):
        value = str(value)
    elif isinstance(value, (set, tuple)):
        value = sorted(value)
    return json.dumps(value, ensure_ascii=False)


def load(column, text):
    """The stored value back, typed as ``column`` holds it."""
    value = json.loads(text) if text is not None else None
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, EnumType) and kind.enum_class is not None:
        return kind.enum_class[value]
    if isinstance(kind, DateTime):
        return datetime.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return datetime.date.fromisoformat(value)
    if isinstance(kind, Numeric):
        return decimal.Decimal(value)
    return value


def ranges(ids):
    """Sorted ids as [(first, last)] runs of consecutive ones."""
    out = []
    for record_id in sorted(ids):
        if out and record_id == out[-1][1] + 1:
            out[-1][1] = record_id
        else:
            out.append([record_id, record_id])
    return [tuple(r) for r in out]


class Ledger:
    """What one import run wrote, kept until ``flush`` writes it in the
    import's transaction (before each commit, and at PENDING entries:
    ``flush_if_full``). ``savepoint`` forgets what a block recorded if the block fails
    (a batch the database refused is retried row by row)."""

    # Entries held before they are written: a batch's two runs of ids are
    # a round trip on their own, while a million ids or changes held would
    # be tens of megabytes.
    PENDING = 50_000

    def __init__(self, session, job_id):
        self.session = session
        self.job_id = job_id
        self.created = {}
        self.changes = []

    def add_created(self, table, ids):
        self.created.setdefault(table, []).extend(ids)

    def changed(self, table, record_id, column, old, new):
        self.changes.append({"job_id": self.job_id, "table_name": table,
                             "record_id": record_id, "field": column,
                             "old_value": dump(old), "new_value": dump(new)})

    def savepoint(self):
        return _Mark(self)

    def flush_if_full(self):
        if sum(map(len, self.created.values())) + len(self.changes) >= self.PENDING:
            self.flush()

    def flush(self):
        rows = [{"job_id": self.job_id, "table_name": table, "first_id": a, "last_id": b}
                for table, ids in self.created.items() for a, b in ranges(ids)]
        if rows:
            self.session.execute(insert(ImportCreated), rows)
        if self.changes:
            self.session.execute(insert(ImportChange), self.changes)
        self.created, self.changes = {}, []


class _Mark:
    def __init__(self, ledger):
        self.ledger = ledger

    def __enter__(self):
        self.sizes = {t: len(ids) for t, ids in self.ledger.created.items()}
        self.changes = len(self.ledger.changes)
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            for table in list(self.ledger.created):
                del self.ledger.created[table][self.sizes.get(table, 0):]
            del self.ledger.changes[self.changes:]
        return False


# --- one record's imports (erasure, «Данные субъекта») ----------------------------------

@dataclass
class Touched:
    """What the imports did to one record: created it, and/or changed its
    columns (``fields``) and custom fields (``custom``: their codes)."""

    created: bool = False
    fields: set = field(default_factory=set)
    custom: set = field(default_factory=set)


def touched(session, table, entity, record_id):
    """The imports that created or changed one record, by the ledger:
    {job id: ``Touched``}; ``table`` is the record's table, ``entity`` its
    custom fields' entity. Imports older than the ledger left no trace.

    An undone import's records are gone but those its undo kept (others
    had added records to them): if it kept none, an id of its range that
    exists again is a later record's (SQLite gives freed ids anew). Its
    changes stay in the ledger: it did change the record."""
    found = {}
    kept = exists().where(ImportUndo.job_id == ImportCreated.job_id, ImportUndo.kept > 0)
    for (job_id,) in session.execute(
            select(ImportCreated.job_id).join(ImportJob, ImportJob.id == ImportCreated.job_id)
            .where(ImportCreated.table_name == table, ImportCreated.first_id <= record_id,
                   ImportCreated.last_id >= record_id,
                   or_(ImportJob.status != "undone", kept))):
        found.setdefault(job_id, Touched()).created = True
    for job_id, name, column in session.execute(
            select(ImportChange.job_id, ImportChange.table_name, ImportChange.field)
            .where(ImportChange.table_name.in_((table, CUSTOM + entity)),
                   ImportChange.record_id == record_id)):
        one = found.setdefault(job_id, Touched())
        (one.custom if name.startswith(CUSTOM) else one.fields).add(column)
    return found


# --- what an undo would do ------------------------------------------------------------

@dataclass
class Conflict:
    table: str
    record_id: int
    # edited (a created record, since) | added (records point to a created
    # one: always kept, see the module's docstring) | changed (a column
    # the import changed, since)
    kind: str
    # {table: count} of the records added; the column of a change
    detail: object = None
    label: str = None

    @property
    def confirmable(self):
        return self.kind != "added"

    @property
    def key(self):
        return f"{self.table}:{self.record_id}"


@dataclass
class Plan:
    job: ImportJob
    created: dict = field(default_factory=dict)  # {table: count}
    changed: int = 0  # columns to restore
    conflicts: list = field(default_factory=list)
    # The ledger's changes and the values stored now, read once for the
    # plan and the undo.
    changes: list = field(default_factory=list, repr=False)
    now: dict = field(default_factory=dict, repr=False)

    @property
    def listed(self):
        return self.conflicts[:MAX_LISTED]

    @property
    def unlisted(self):
        return len(self.conflicts) - len(self.listed)


def may_change(job, user):
    """The user who ran the import, or an administrator."""
    return job.user_id == user.id or any(r.name == ADMIN for r in user.roles)


def undoable(job):
    """A finished import that saved something, not undone yet."""
    return job.status == "done" and not job.dry_run


def _table(name):
    return Model.metadata.tables[name]


def _created(session, job_id):
    """{table: [(first, last)]}, adjacent ranges joined."""
    out = {}
    for row in session.execute(select(ImportCreated.table_name, ImportCreated.first_id,
                                      ImportCreated.last_id)
                               .where(ImportCreated.job_id == job_id)
                               .order_by(ImportCreated.table_name, ImportCreated.first_id)):
        runs = out.setdefault(row.table_name, [])
        if runs and row.first_id <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(runs[-1][1], row.last_id))
        else:
            runs.append((row.first_id, row.last_id))
    return out


def _in_ranges(column, runs):
    return or_(*(column.between(a, b) if a != b else column == a for a, b in runs))


def _by_hundred(runs):
    """``runs`` a hundred at a time: SQLite limits the depth of an expression."""
    for start in range(0, len(runs), 100):
        yield runs[start:start + 100]


def _ids(session, table, runs):
    """The ids of ``runs`` that still exist."""
    ids = []
    for part in _by_hundred(runs):
        ids += session.scalars(select(table.c.id).where(_in_ranges(table.c.id, part))).all()
    return set(ids)


def _label(session, table, record_id):
    model = model_of(table)
    obj = session.get(model, record_id) if model is not None else None
    return str(obj) if obj is not None else f"#{record_id}"


def _dependents(session, job_id, created):
    """{(table, id): {child table: count}} of created records to which
    records not created by the import point."""
    found = {}
    for child in Model.metadata.sorted_tables:
        for fk in child.foreign_keys:
            parent = fk.column.table
            runs = created.get(parent.name)
            if not runs or fk.column.name != "id":
                continue
            column = fk.parent
            for part in _by_hundred(runs):
                query = select(column, func.count()).where(_in_ranges(column, part))
                if child.name in created:  # not the import's own children
                    query = query.where(~exists().where(
                        ImportCreated.job_id == job_id, ImportCreated.table_name == child.name,
                        child.c.id.between(ImportCreated.first_id, ImportCreated.last_id)))
                for parent_id, count in session.execute(query.group_by(column)):
                    counts = found.setdefault((parent.name, parent_id), {})
                    counts[child.name] = counts.get(child.name, 0) + count
    return found


def table_label(name):
    """A ledger table's name for people («Клиенты»)."""
    name = name[len(CUSTOM):] if name.startswith(CUSTOM) else name
    model = model_of(_table(name))
    return getattr(model, "__label__", name)


@dataclass
class _Change:
    table_name: str
    record_id: int
    field: str
    old_value: str
    new_value: str


def _changes(session, job_id):
    """The ledger's changes of ``job_id``, one per column: the value before
    the first change (a record the file names twice goes back to before
    the import) and after the last."""
    merged = {}
    for row in session.execute(select(
            ImportChange.table_name, ImportChange.record_id, ImportChange.field,
            ImportChange.old_value, ImportChange.new_value)
            .where(ImportChange.job_id == job_id).order_by(ImportChange.id)):
        key = (row.table_name, row.record_id, row.field)
        if key in merged:
            merged[key].new_value = row.new_value
        else:
            merged[key] = _Change(*row)
    return list(merged.values())


def _current(session, changes):
    """{(table, id, field): the value stored now} (missing: record deleted)."""
    now = {}
    by_table = {}
    for change in changes:
        by_table.setdefault(change.table_name, []).append(change)
    for name, group in by_table.items():
        if name.startswith(CUSTOM):
            entity = name[len(CUSTOM):]
            codes = {c.field for c in group}
            definitions = session.scalars(select(CustomField).where(
                CustomField.entity == entity, CustomField.code.in_(codes))).all()
            model = custom_fields.ENTITIES[entity]
            ids = sorted(_ids(session, model.__table__, ranges({c.record_id for c in group})))
            stored = {}
            for start in range(0, len(ids), _CHUNK):
                stored.update(custom_fields.load(session, entity, ids[start:start + _CHUNK],
                                                 definitions))
            for c in group:
                if c.record_id in stored:
                    now[(name, c.record_id, c.field)] = stored[c.record_id].get(c.field)
            continue
        table = _table(name)
        columns = sorted({c.field for c in group})
        ids = sorted({c.record_id for c in group})
        for start in range(0, len(ids), _CHUNK):
            for row in session.execute(select(table.c.id, *(table.c[c] for c in columns))
                                       .where(table.c.id.in_(ids[start:start + _CHUNK]))):
                for column in columns:
                    now[(name, row.id, column)] = row._mapping[table.c[column]]
    return now


def _ledger_value(session, name, field_name, text):
    if name.startswith(CUSTOM):
        value = json.loads(text) if text is not None else None
        definition = session.scalar(select(CustomField).where(
            CustomField.entity == name[len(CUSTOM):], CustomField.code == field_name))
        return custom_fields.value_of_json(definition, value) if definition else value
    return load(_table(name).c[field_name], text)


def plan(session, job):
    """What undoing ``job`` would do now, and what was changed since."""
    result = Plan(job)
    # In the order of the tables' dependencies: clients before their applications.
    order = {t.name: i for i, t in enumerate(Model.metadata.sorted_tables)}
    created = dict(sorted(_created(session, job.id).items(), key=lambda item: order[item[0]]))
    finished = job.finished_at or utcnow()
    added = _dependents(session, job.id, created)
    for name, runs in created.items():
        table = _table(name)
        ids = _ids(session, table, runs)
        result.created[name] = len(ids)
        edited = set()
        if "updated_at" in table.c:
            for part in _by_hundred(runs):
                edited.update(session.scalars(select(table.c.id).where(
                    _in_ranges(table.c.id, part), table.c.updated_at > finished)))
        for record_id in sorted(ids & ({i for (t, i) in added if t == name} | edited)):
            counts = added.get((name, record_id))
            result.conflicts.append(Conflict(name, record_id, "added" if counts else "edited",
                                             counts))
    changes = result.changes = _changes(session, job.id)
    now = result.now = _current(session, changes)
    for change in changes:
        key = (change.table_name, change.record_id, change.field)
        if key not in now:
            continue  # the record is gone: nothing to restore
        result.changed += 1
        new = _ledger_value(session, change.table_name, change.field, change.new_value)
        if now[key] != new:
            result.conflicts.append(Conflict(change.table_name, change.record_id, "changed",
                                             change.field))
    for conflict in result.conflicts[:MAX_LISTED]:
        table = conflict.table[len(CUSTOM):] if conflict.table.startswith(CUSTOM) \
            else conflict.table
        conflict.label = _label(session, _table(table), conflict.record_id)
    return result


# --- the undo ---------------------------------------------------------------------------

def revert(session, job_id):
    """Take back what a run of ``job_id`` committed and forget its ledger:
    an all-or-nothing import that met a bad row after committing chunks, or
    the chunks of a worker that died (before its job runs again). Created
    records that others have added records to meanwhile stay; the rest is
    undone whatever happened to it since (seconds, in a run that is being
    undone as a whole). Returns (deleted, restored)."""
    job = session.get(ImportJob, job_id)
    kept = set(_dependents(session, job_id, _created(session, job_id)))
    changes = _changes(session, job_id)
    restored = _restore(session, changes, _current(session, changes), kept)
    deleted = _delete(session, job, kept)
    session.execute(delete(ImportCreated).where(ImportCreated.job_id == job_id))
    session.execute(delete(ImportChange).where(ImportChange.job_id == job_id))
    return deleted, restored


def written(session, job_id):
    """True if the ledger holds something of ``job_id``."""
    return session.scalar(select(ImportCreated.id).where(ImportCreated.job_id == job_id)
                          .union_all(select(ImportChange.id).where(
                              ImportChange.job_id == job_id)).limit(1)) is not None


def undo(session, job, user_id, confirmed=(), confirm_unlisted=False):
    """Undo ``job`` in the caller's transaction (the caller commits).
    ``confirmed``: keys («table:id») of conflicts to undo too; the rest are
    kept. Returns the ``ImportUndo`` entry."""
    current = plan(session, job)
    confirmed = set(confirmed)
    listed = {c.key for c in current.listed}
    kept = {(c.table, c.record_id) for c in current.conflicts
            if not c.confirmable or not (c.key in confirmed or (
                confirm_unlisted and c.key not in listed))}
    restored = _restore(session, current.changes, current.now, kept)
    deleted = _delete(session, job, kept)
    entry = ImportUndo(job_id=job.id, user_id=user_id, at=utcnow(), deleted=deleted,
                       restored=restored, kept=len(kept))
    session.add(entry)
    session.execute(update(ImportJob).where(ImportJob.id == job.id).values(status="undone"))
    return entry


def _restore(session, changes, now, kept):
    """Write the ledger's old values back (``now``: the values stored now,
    ``_current``), but on ``kept`` records, executemany by table and
    column; a history entry each, as for an edit."""
    changes = [c for c in changes if (c.table_name, c.record_id) not in kept]
    restored, entries, at = 0, [], utcnow()
    user_id = history.acting_user_id.get()
    groups, renamed = {}, set()
    for change in changes:
        key = (change.table_name, change.record_id, change.field)
        if key in now:
            groups.setdefault((change.table_name, change.field), []).append(change)
    for (name, column), group in groups.items():
        if name.startswith(CUSTOM):
            restored += _restore_custom(session, name[len(CUSTOM):], column, group)
            continue
        table = _table(name)
        params = [{"_id": c.record_id, "_value": load(table.c[column], c.old_value)}
                  for c in group]
        values = {column: bindparam("_value", type_=table.c[column].type)}
        if "updated_at" in table.c:
            values["updated_at"] = at
        session.execute(update(table).where(table.c.id == bindparam("_id")).values(**values),
                        params)
        restored += len(group)
        if name == Client.__tablename__ and column in search.WORDS_OF_CLIENT:
            renamed.update(c.record_id for c in group)
        entity = history.TRACKED.get(model_of(table))
        if entity is None:
            continue
        for change, param in zip(group, params):
            entries.append({
                "entity": entity, "entity_id": change.record_id,
                "client_id": change.record_id if name == "client" else None,
                "user_id": user_id, "at": at, "action": "update", "field": column,
                "old_value": history.text_of(now[(name, change.record_id, column)]),
                "new_value": history.text_of(param["_value"])})
    if renamed:
        search.rewrite(session.connection(), renamed)
    if entries:
        _client_ids(session, entries)
        session.execute(insert(HistoryEntry), entries)
    return restored


def _client_ids(session, entries):
    """The client whose timeline shows a restored field of an application,
    a deal, a lead or a task."""
    wanted = {}
    for entry in entries:
        if entry["client_id"] is None and entry["entity"] != "client":
            wanted.setdefault(entry["entity"], set()).add(entry["entity_id"])
    found = {}
    for model, entity in history.TRACKED.items():
        ids = sorted(wanted.get(entity, ()))
        for start in range(0, len(ids), _CHUNK):
            for row in session.execute(select(model.id, model.client_id).where(
                    model.id.in_(ids[start:start + _CHUNK]))):
                found[(entity, row.id)] = row.client_id
    for entry in entries:
        if entry["client_id"] is None:
            entry["client_id"] = found.get((entry["entity"], entry["entity_id"]))


def _restore_custom(session, entity, code, group):
    definition = session.scalar(select(CustomField).where(CustomField.entity == entity,
                                                          CustomField.code == code))
    if definition is None:
        return 0
    wanted = {c.record_id: {definition: custom_fields.value_of_json(
        definition, json.loads(c.old_value) if c.old_value else None)} for c in group}
    custom_fields.write(session, entity, wanted)
    return len(group)


def _delete(session, job, kept):
    """Delete the created records, children first, but the kept ones and
    the created children of kept ones."""
    created = _created(session, job.id)
    kept_ids = {}
    for name, record_id in kept:
        kept_ids.setdefault(name, set()).add(record_id)
    deleted = 0
    order = [t for t in reversed(Model.metadata.sorted_tables) if t.name in created]
    # Created children of kept parents stay with them (an AlmaCRM row's
    # client and application are one record of the file).
    for table in reversed(order):
        for fk in table.foreign_keys:
            parents = kept_ids.get(fk.column.table.name)
            if not parents or fk.column.name != "id":
                continue
            for start in range(0, len(sorted(parents)), _CHUNK):
                chunk = sorted(parents)[start:start + _CHUNK]
                kept_ids.setdefault(table.name, set()).update(session.scalars(
                    select(table.c.id).where(fk.parent.in_(chunk),
                                             _in_ranges(table.c.id, created[table.name]))))
    # And the created records they point to (a new region of a kept client).
    for table in order:
        for fk in table.foreign_keys:
            parent = fk.column.table.name
            mine = sorted(kept_ids.get(table.name, ()))
            if parent not in created or fk.column.name != "id" or not mine:
                continue
            for start in range(0, len(mine), _CHUNK):
                kept_ids.setdefault(parent, set()).update(
                    v for v in session.scalars(select(fk.parent).where(
                        table.c.id.in_(mine[start:start + _CHUNK])).distinct())
                    if v is not None)
    for table in order:
        runs = created[table.name]
        keep = kept_ids.get(table.name, set())
        if keep:
            runs = ranges(_ids(session, table, runs) - keep)
        for part in _by_hundred(runs):
            _delete_custom_values(session, table, part)
            deleted += session.execute(delete(table).where(
                _in_ranges(table.c.id, part))).rowcount
    return deleted


def _delete_custom_values(session, table, runs):
    entity = custom_fields.ENTITY_OF.get(model_of(table))
    if entity is None:
        return
    fields = select(CustomField.id).where(CustomField.entity == entity).scalar_subquery()
    session.execute(delete(CustomValue).where(and_(
        CustomValue.field_id.in_(fields), _in_ranges(CustomValue.record_id, runs))))
