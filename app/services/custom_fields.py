"""Custom fields: the admin's own fields on clients, contacts, applications,
leads, deals, tasks and invoices («Пользовательские поля»).

A definition is a row of ``custom_field``; values are rows of
``custom_value``, one per value (one per choice of a multiple choice), in the
column of their kind. Every value column is indexed after the field, so a
filter or a sort on any field is an index range on SQLite and PostgreSQL
alike, and defining a field never alters the schema.

Values are staged on the session with their record and written when the
session commits, in the same transaction, with a history row per change, so
a screen, the API and an import save them the same way."""
import dataclasses
import datetime
import re
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, any_, bindparam, delete, event, exists, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.models import (
    Application,
    Client,
    ContactPerson,
    CustomField,
    CustomFieldType,
    CustomValue,
    Deal,
    HistoryEntry,
    Invoice,
    Lead,
    Task,
    dictionary_models,
    utcnow,
)
from app.services import history, values
from app.services.errors import Refused

ENTITIES = {"client": Client, "contact": ContactPerson, "application": Application,
            "lead": Lead, "deal": Deal, "task": Task, "invoice": Invoice}
ENTITY_OF = {model: name for name, model in ENTITIES.items()}
COLUMN = {
    CustomFieldType.TEXT: "text_value",
    CustomFieldType.CHOICE: "text_value",
    CustomFieldType.MULTI_CHOICE: "text_value",
    CustomFieldType.LONG_TEXT: "long_value",
    CustomFieldType.INTEGER: "number_value",
    CustomFieldType.DECIMAL: "number_value",
    CustomFieldType.MONEY: "number_value",
    CustomFieldType.BOOLEAN: "number_value",
    CustomFieldType.DICTIONARY: "number_value",
    CustomFieldType.DATE: "date_value",
}
# A field's name in forms, list columns, filters and import mappings.
PREFIX = "cf_"
TEXT_LIMIT = 255
LONG_TEXT_LIMIT = 10_000
# Numeric(18, 4): what the column holds.
NUMBER_LIMIT = Decimal(10) ** 14
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m",
                     "n", "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch",
                     "", "y", "", "e", "yu", "ya"]))


class CustomValueError(values.ValidationError):
    """A custom field's value that cannot be read (``parse``): the CSV
    import's cell check catches it by this name."""


# --- Definitions --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Definition:
    """A definition as plain data: safe to keep past its session (forms
    built from it are cached between requests)."""

    id: int
    entity: str
    code: str
    label_ru: str
    label_en: str | None
    type: CustomFieldType
    required: bool
    default: str | None
    help_text: str | None
    choices: str | None
    dictionary: str | None
    sort_order: int
    is_active: bool
    in_list: bool
    in_filters: bool


def fields_of(session, entity, active=True):
    """The entity's definitions in screen order, as ``Definition``."""
    query = select(CustomField).where(CustomField.entity == entity)
    if active:
        query = query.where(CustomField.is_active.is_(True))
    return _definitions(session, query)


def active_by_entity(session):
    """Every entity's active definitions in screen order, {entity: (Definition, …)}:
    one query for a page that draws several entities' forms; tuples, as
    the pages of a process share them (views/custom_fields.CustomDefinitions)."""
    found = {}
    for definition in _definitions(session, select(CustomField).where(
            CustomField.is_active.is_(True))):
        found.setdefault(definition.entity, []).append(definition)
    return {entity: tuple(definitions) for entity, definitions in found.items()}


def _definitions(session, query):
    names = [f.name for f in dataclasses.fields(Definition)]
    return [Definition(**{name: getattr(row, name) for name in names})
            for row in session.scalars(query.order_by(CustomField.sort_order,
                                                      CustomField.id))]


def label_of(field):
    """The field's label in the interface language (Russian without a request)."""
    if str(get_locale() or "ru").startswith("en") and field.label_en:
        return field.label_en
    return field.label_ru


def signature(fields):
    """What a form built from these fields depends on: a new definition or
    an edited one makes a new form, without a restart."""
    return tuple(fields)


def choices_of(field):
    return [line.strip() for line in (field.choices or "").splitlines() if line.strip()]


def dictionary_of(field):
    return {m.__name__: m for m in dictionary_models()}.get(field.dictionary or "")


def dictionary_rows(session, field):
    """{id: name} of the field's dictionary, active rows first by order."""
    model = dictionary_of(field)
    if model is None:
        return {}
    return dict(session.execute(select(model.id, model.name)
                                .order_by(model.sort_order, model.name)).all())


def make_code(label, taken):
    """A code for the API and templates from the label: «Ежемесячный доход»
    → ``ezhemesyachnyy_dokhod``."""
    text = "".join(TRANSLIT.get(ch, ch) for ch in (label or "").lower())
    code = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:36] or "field"
    if not code[0].isalpha():
        code = "f_" + code
    candidate, n = code, 2
    while candidate in taken:
        candidate, n = f"{code}_{n}", n + 1
    return candidate


def values_count(session, field_id):
    """How many records hold a value of the field."""
    return session.scalar(select(func.count(func.distinct(CustomValue.record_id)))
                          .where(CustomValue.field_id == field_id)) or 0


def check_definition(session, field):
    """Refuse a definition that can't work; fill the code. Changing the
    entity or the type of a field that holds values is refused: the values
    would not mean the same any more."""
    if field.entity not in ENTITIES:
        raise Refused(_l("Choose what the field belongs to"))
    if not (field.label_ru or "").strip():
        raise Refused(_l("Enter the Russian label"))
    with session.no_autoflush:
        others = set(session.scalars(select(CustomField.code).where(
            CustomField.entity == field.entity, CustomField.id != (field.id or 0))))
    if field.code:
        if not CODE.match(field.code):
            raise Refused(_l("The code takes Latin lower-case letters, digits and "
                             "_, starting with a letter"))
        if field.code in others:
            raise Refused(_l("Another field of this entity has this code"))
    else:
        field.code = make_code(field.label_en or field.label_ru, others)
    if field.type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
        if not choices_of(field):
            raise Refused(_l("List the choices, one per line"))
        if any(len(c) > TEXT_LIMIT for c in choices_of(field)):
            raise Refused(_l("A choice is longer than 255 characters"))
    if field.type == CustomFieldType.DICTIONARY and dictionary_of(field) is None:
        raise Refused(_l("Choose the dictionary"))
    if field.default not in (None, ""):
        try:
            parse(session, field, field.default)
        except CustomValueError as error:
            raise Refused(_l("Default value: %(error)s", error=error.message)) from None
    if field.id:
        with session.no_autoflush:  # the stored row, not the edited one
            stored = session.execute(select(CustomField.entity, CustomField.type)
                                     .where(CustomField.id == field.id)).first()
        changed = stored and (stored.entity != field.entity
                              or CustomFieldType(stored.type) != field.type)
        count = values_count(session, field.id) if changed else 0
        if count:
            raise Refused(_l(
                "%(count)s records hold values of this field: its entity and type can "
                "only change while it is empty. Add a new field instead", count=count))


def delete_field(session, field):
    """Delete a field with its values; the number of records that held one."""
    count = values_count(session, field.id)
    session.execute(delete(CustomValue).where(CustomValue.field_id == field.id))
    session.delete(field)
    return count


# --- Values -------------------------------------------------------------------


def parse(session, field, raw, names=None):
    """A value from text (CSV, the API, a default) or from a typed value;
    None for blank. ``names``: the dictionary's rows, when already read."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = CustomFieldType(field.type)
    if kind == CustomFieldType.MULTI_CHOICE:
        items = raw if isinstance(raw, (list, tuple, set)) else str(raw).split(";")
        chosen = [_choice(field, item) for item in items if str(item).strip()]
        return sorted(set(chosen), key=choices_of(field).index) or None
    if kind == CustomFieldType.CHOICE:
        return _choice(field, raw)
    if kind in (CustomFieldType.TEXT, CustomFieldType.LONG_TEXT):
        text = str(raw).strip()
        limit = TEXT_LIMIT if kind == CustomFieldType.TEXT else LONG_TEXT_LIMIT
        if len(text) > limit:
            raise CustomValueError(_l("At most %(n)s characters", n=limit))
        return text
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        try:
            return values.yes_no(raw)
        except values.ValidationError as error:
            raise CustomValueError(error.args[0]) from None
    if kind == CustomFieldType.DATE:
        return _date(raw)
    if kind == CustomFieldType.DICTIONARY:
        return _dictionary_id(session, field, raw, names)
    return _number(kind, raw)


def _choice(field, raw):
    wanted = str(raw).strip().lower()
    for choice in choices_of(field):
        if choice.lower() == wanted:
            return choice
    raise CustomValueError(_l("Choose one of: %(choices)s",
                              choices="; ".join(choices_of(field))))


def _date(raw):
    try:
        return values.date(raw if isinstance(raw, datetime.date) else str(raw))
    except values.ValidationError as error:
        raise CustomValueError(error.args[0]) from None


def _number(kind, raw):
    try:
        number = values.number(raw if isinstance(raw, (int, Decimal)) else str(raw))
    except values.ValidationError as error:
        raise CustomValueError(_l("Enter a whole number with digits 0-9")
                               if kind == CustomFieldType.INTEGER else error.args[0]) from None
    if abs(number) >= NUMBER_LIMIT:
        raise CustomValueError(_l("The number is too large"))
    if kind == CustomFieldType.INTEGER:
        if number != number.to_integral_value():
            raise CustomValueError(_l("Enter a whole number"))
        return int(number)
    if kind == CustomFieldType.MONEY:
        return number.quantize(Decimal("0.01"))
    if number != number.quantize(Decimal("0.0001")):
        raise CustomValueError(_l("At most four digits after the decimal point"))
    return number


def _dictionary_id(session, field, raw, names=None):
    rows = names if names is not None else dictionary_rows(session, field)
    if isinstance(raw, int) and raw in rows:
        return raw
    wanted = str(raw).strip().lower()
    for row_id, name in rows.items():
        if name.lower() == wanted or str(row_id) == wanted:
            return row_id
    raise CustomValueError(_l("No such value in the dictionary"))


def default_of(session, field):
    try:
        return parse(session, field, field.default)
    except CustomValueError:
        return None


def load(session, entity, ids, fields=None):
    """{record id: {code: value}} of the records ``ids``, in one query."""
    fields = fields if fields is not None else fields_of(session, entity)
    result = {record_id: {} for record_id in ids}
    if not ids or not fields:
        return result
    by_id = {f.id: f for f in fields}
    rows = session.execute(select(CustomValue).where(
        CustomValue.field_id.in_(by_id), CustomValue.record_id.in_(list(ids)))
        .order_by(CustomValue.id)).scalars()
    for row in rows:
        field = by_id[row.field_id]
        value = _stored(field, row)
        values = result.setdefault(row.record_id, {})
        if field.type == CustomFieldType.MULTI_CHOICE:
            values.setdefault(field.code, []).append(value)
        else:
            values[field.code] = value
    return result


def _stored(field, row):
    value = getattr(row, COLUMN[CustomFieldType(field.type)])
    kind = CustomFieldType(field.type)
    if kind == CustomFieldType.BOOLEAN:
        return bool(value)
    if kind in (CustomFieldType.INTEGER, CustomFieldType.DICTIONARY):
        return int(value)
    if kind == CustomFieldType.MONEY:
        return value.quantize(Decimal("0.01"))
    if kind == CustomFieldType.DECIMAL:
        # normalize() alone writes 10 as 1E+1.
        return Decimal(format(value.normalize(), "f"))
    return value


def text_of(session, field, value, names=None):
    """The value as a person reads it (history, CSV, print)."""
    if value is None or value == []:
        return ""
    kind = CustomFieldType(field.type)
    if kind == CustomFieldType.MULTI_CHOICE:
        return "; ".join(value)
    if kind == CustomFieldType.BOOLEAN:
        return values.yes_no_text(value)
    if kind == CustomFieldType.DATE:
        return values.date_text(value)
    if kind == CustomFieldType.MONEY:
        return values.money(value)
    if kind == CustomFieldType.DECIMAL:
        return values.number_text(value)
    if kind == CustomFieldType.DICTIONARY:
        names = names if names is not None else dictionary_rows(session, field)
        return names.get(value, str(value))
    return str(value)


def stage(session, record, values):
    """Save ``values`` ({code: value}, already parsed) of ``record`` when
    the session commits: the record may not have its id yet."""
    if values and type(record) in ENTITY_OF:
        session.info.setdefault("custom_staged", []).append((record, dict(values)))


def _rows(field, record_id, value):
    column = COLUMN[CustomFieldType(field.type)]
    items = value if isinstance(value, list) else [value]
    return [{"field_id": field.id, "record_id": record_id,
             column: (int(item) if isinstance(item, bool) else item)} for item in items]


def _write(session, record, values):
    entity = ENTITY_OF[type(record)]
    fields = {f.code: f for f in fields_of(session, entity, active=False)}
    wanted = {fields[code]: value for code, value in values.items() if code in fields}
    if wanted:
        write(session, entity, {record.id: wanted},
              {record.id: history.client_id_of(record)})


def write(session, entity, wanted, client_ids=None, new=False):
    """Store ``wanted`` ({record id: {Definition: value}}) of many records in
    a few statements: changed values are replaced, with a history row per
    change for a tracked entity (``client_ids``: {record id: client id}).
    ``new``: the records were just inserted, hold no values and get no
    history (an import's new rows, like its built-in columns). Returns the
    changes: [(record id, field, value before, value after)]."""
    fields = {f.code: f for given in wanted.values() for f in given}
    old = {} if new else load(session, entity, list(wanted), list(fields.values()))
    rows, replaced, changes = [], {}, []
    for record_id, given in wanted.items():
        stored = old.get(record_id, {})
        for field, value in given.items():
            value = None if value in ("", []) else value
            before = stored.get(field.code)
            if before == value:
                continue
            replaced.setdefault(field.id, []).append(record_id)
            changes.append((record_id, field, before, value))
            if value is not None:
                rows += _rows(field, record_id, value)
    if not new:
        for field_id, ids in replaced.items():
            session.execute(delete(CustomValue).where(CustomValue.field_id == field_id,
                                                      CustomValue.record_id.in_(ids)))
    # A Core executemany per value column: rows of one shape each.
    shapes = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for group in shapes.values():
        session.execute(insert(CustomValue.__table__), group)
    if new or not changes or ENTITIES[entity] not in history.TRACKED:
        return changes
    names = {code: dictionary_rows(session, f) for code, f in fields.items()
             if CustomFieldType(f.type) == CustomFieldType.DICTIONARY}
    now, user_id = utcnow(), history.acting_user_id.get()
    session.execute(insert(HistoryEntry), [
        {"entity": entity, "entity_id": record_id,
         "client_id": (client_ids or {}).get(record_id), "user_id": user_id, "at": now,
         "action": "update", "field": field.label_ru,
         "old_value": text_of(session, field, before, names.get(field.code)) or None,
         "new_value": text_of(session, field, value, names.get(field.code)) or None}
        for record_id, field, before, value in changes])
    return changes


@event.listens_for(Session, "before_commit")
def _save_staged(session):
    staged = session.info.pop("custom_staged", None)
    if not staged:
        return
    session.flush()
    for record, given in staged:
        if record.id is not None:
            _write(session, record, given)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session):
    session.info.pop("custom_staged", None)


@event.listens_for(Session, "before_flush")
def _delete_values_of_deleted(session, flush_context, instances):
    for record in session.deleted:
        entity = ENTITY_OF.get(type(record))
        if entity and record.id is not None:
            session.execute(delete(CustomValue).where(
                CustomValue.record_id == record.id,
                CustomValue.field_id.in_(select(CustomField.id)
                                         .where(CustomField.entity == entity))))


# --- Queries --------------------------------------------------------------------


def value_column(field):
    return getattr(CustomValue, COLUMN[CustomFieldType(field.type)])


# Past this many matching values a filter tests each listed row instead.
DENSE = 5_000


def matching(session, model, field, condition):
    """SQL: rows of ``model`` whose value of ``field`` meets ``condition``
    (a condition on the field's value column), and whether they are few.
    Few matches: their ids, fetched from an index range, drive the query as
    a list (a subquery leaves PostgreSQL guessing how many it returns: it
    walked a third of the table's key to fill a manager's page). Many: each
    row the list walks is tested in the (record, field) index, so a page
    stops after its rows instead of building a set of most of the table (as
    services/access.py chooses)."""
    where = (CustomValue.field_id == field.id, condition)
    ids = session.scalars(select(CustomValue.record_id).where(*where).limit(DENSE + 1)).all()
    if len(ids) > DENSE:
        return exists().where(CustomValue.record_id == model.id, *where), False
    ids = sorted(set(ids))
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: thousands of separate ones took longer to
        # render and parse (SQLAlchemy, psycopg) than the query to run.
        return model.id == any_(bindparam(None, ids, type_=ARRAY(Integer))), True
    return model.id.in_(ids), True


def definition_by_code(session, entity, code):
    """The active definition ``code`` of the entity, or None."""
    return next((d for d in fields_of(session, entity) if d.code == code), None)


def sortable(definition):
    """A list sorts by one value per record: not by a multiple choice."""
    return CustomFieldType(definition.type) not in (CustomFieldType.MULTI_CHOICE,
                                                    CustomFieldType.LONG_TEXT)


def texts(session, entity, ids, definitions):
    """{record id: {code: text}} for a list page, in one query."""
    values = load(session, entity, ids, definitions)
    names = {d.code: dictionary_rows(session, d) for d in definitions
             if CustomFieldType(d.type) == CustomFieldType.DICTIONARY}
    return {record_id: {d.code: text_of(session, d, row.get(d.code), names.get(d.code))
                        for d in definitions}
            for record_id, row in values.items()}


# --- The REST API -----------------------------------------------------------------


def json_of(field, value):
    """A value as the REST API gives it: decimals and money as strings (a
    JSON number would pass through a float), dates in ISO form, a multiple
    choice as a list (empty when nothing is chosen), a dictionary row as its
    id, text, whole numbers and yes/no as themselves."""
    kind = CustomFieldType(field.type)
    if value is None:
        return [] if kind == CustomFieldType.MULTI_CHOICE else None
    if kind in (CustomFieldType.DECIMAL, CustomFieldType.MONEY):
        return str(value)
    if kind == CustomFieldType.DATE:
        return value.isoformat()
    return value


def value_of_json(field, value):
    """The value ``json_of`` gave, back as ``load`` reads it."""
    kind = CustomFieldType(field.type)
    if value is None or value == []:
        return None
    if kind in (CustomFieldType.DECIMAL, CustomFieldType.MONEY):
        return Decimal(value)
    if kind == CustomFieldType.DATE:
        return datetime.date.fromisoformat(value)
    return value


def parse_values(session, definitions, raw, new):
    """({code: value}, {code: message}) of the API's ``custom_fields``
    object. Only active fields are accepted; a new record gets the defaults
    of the fields it leaves out; a required field can't be left empty."""
    by_code = {d.code: d for d in definitions}
    values, errors = {}, {}
    for code, item in raw.items():
        field = by_code.get(code)
        if field is None:
            errors[code] = _l("No active custom field with this code")
            continue
        several = CustomFieldType(field.type) == CustomFieldType.MULTI_CHOICE
        try:
            if isinstance(item, dict) or (isinstance(item, list) and not several):
                raise CustomValueError(_l("Expected a single value"))
            values[code] = parse(session, field, item)
        except CustomValueError as error:
            errors[code] = error.message
    for field in definitions:
        if new and field.code not in raw:
            values[field.code] = default_of(session, field)
        if field.required and field.code in values and values[field.code] in (None, []):
            errors[field.code] = _l("This field is required")
    return values, errors
