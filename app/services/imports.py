"""CSV import of every entity and of the AlmaCRM client format.

The pipeline, all of it streaming so memory does not grow with the file:

1. ``sniff``: the encoding (a UTF-8 BOM, strict UTF-8, else charset-normalizer
   among the Cyrillic code pages, cp1251 first of all) and the delimiter
   (``;`` or ``,``) from the first 64 KB.
2. ``auto_map``: each header is matched to a field by its label in Russian
   or English, its field name, or an alias; the user may change the mapping.
3. ``Importer.run``: rows are read one by one, converted (dates ДД.ММ.ГГГГ,
   amounts with spaces and commas, phones to E.164, INN checks, enums by
   label), and handled in batches of ``BATCH`` rows: dictionary values and
   employees come from maps loaded once, referenced clients and duplicates
   (normalised phone, INN; a dictionary's name) from one indexed query per
   batch, and new rows go in with one multi-row INSERT per table.

The whole file is one transaction, but on SQLite, where it commits in
chunks (``Importer.run``) and keeps "all or nothing" through the ledger of
what it wrote (services/import_undo.py). A dry run is the same run rolled
back, so its counts and problems are exactly those of the real run,
duplicates within the file included (earlier rows are in the database, or
their keys remembered, when later ones are checked). "All or nothing"
rolls back when any row is bad;
"apply good rows" keeps the good ones and writes the bad ones, with an
error column, to a CSV the user downloads. A row is converted completely
before anything of it is written, and a batch the database refuses is
retried row by row in savepoints, so no half record is ever left.

History: rows created by an import get no per-record history entry (it
would double the writes of a 50 000 rows/s import); the import journal
(``ImportJob``: who, when, which file, counts) is the record of them.
Updated records go through the ORM, so the history service records every
changed field as for an edit on screen.

No Flask request here: the views and the background worker pass the user,
the options and the labels in."""
import codecs
import collections
import contextlib
import csv
import datetime
import gc
import io
import os
import re
import sys
import threading
import time
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import charset_normalizer
from babel.support import Translations
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Integer,
    Numeric,
    String,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from app.models import (
    Application,
    Client,
    ClientKind,
    DictionaryMixin,
    Employee,
    ProcessingStatus,
    PublicAccess,
    Region,
    Reminder,
)
from app.services import (
    access,
    assignment,
    bulk_sql,
    clients,
    import_undo,
    localtime,
    personal_data,
    rollups,
    search,
    validation,
    values,
)
from app.services.csv_io import codec as export_codec
from app.services.csv_io import from_cell

# Rows handled and written together. 2 000 rather than 1 000: half the
# statements, look-ups and search-index segments a file, 9–10 % of an import
# on either database (alternating runs of 100 000 AlmaCRM rows).
BATCH = 2000
SNIFF_BYTES = 64 * 1024
# A single field longer than this is refused with a clear message (a 10 MB
# field in a CSV is a broken file, not data).
MAX_FIELD_CHARS = 1024 * 1024
MAX_PROBLEMS = 1000
# The statistics roll-ups take an import's changes every so many batches
# (services/rollups.deferred): each fold leaves the roll-up rows one more
# version to step over until the commit.
FOLD_BATCHES = 50
# How long one transaction of a chunked import (SQLite) writes before it
# commits and lets other writers in, and how long it then leaves the lock
# free (converting rows meanwhile).
CHUNK_SECONDS = 1.0
LOCK_FREE_SECONDS = 0.15
READ_AHEAD = 20  # batches: 40 000 rows at most wait converted
MAX_TEXT = 100_000
csv.field_size_limit(MAX_FIELD_CHARS)

TRANSLATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")

ALMA_KEY = "almacrm"
ALMA_HEADER = ("Дата", "Фамилия", "Имя", "Отчество", "регион", "город", "сумма", "телефон",
               "дата рождения", "статус", "комментарии")
# AlmaCRM files give the processing status as text, in the words people use:
STATUS_WORDS = {
    ProcessingStatus.IN_PROCESSING: ("в обработке", "в работе", "обработка", "новая", "новый",
                                     "new", "in processing", "in_processing", "ожидание"),
    ProcessingStatus.COMPLETED: ("завершена", "завершено", "завершен", "выполнена",
                                 "выполнено", "одобрена", "одобрено", "выдан", "выдано",
                                 "completed", "done"),
    ProcessingStatus.REFUSED: ("отказ", "отказано", "отклонена", "отклонено", "refused",
                               "rejected"),
}
# Their names on the screens (app/labels.ENUMS), for the mapping screen's choice.
STATUS_LABELS = {ProcessingStatus.IN_PROCESSING: _l("In processing"),
                 ProcessingStatus.COMPLETED: _l("Completed"),
                 ProcessingStatus.REFUSED: _l("Refused")}
# Unknown values of a choice column the report lists (the mapping screen
# offers a choice for each), and the longest text taken for one.
MAX_UNKNOWN = 300
# The statistics target of the duplicate keys' refresh (``_fresh_statistics``):
# 3 000 sampled rows instead of 30 000.
ANALYSE_TARGET = 10
MAX_UNKNOWN_TEXT = 255


# Importable entities by key, registered by the list screens at start-up
# (their add form's columns and labels), and the screen each belongs to.
ENTITIES = {}
ENTITY_VIEWS = {}
# Lists that offer the AlmaCRM import, and the screens whose "add" it needs.
ALMA_TARGETS = {"clients", "applications"}
ALMA_VIEWS = ("ClientView", "ApplicationView")


def get_entity(key):
    """The entity of ``key`` or None."""
    if key == ALMA_KEY and ALMA_KEY not in ENTITIES:
        ENTITIES[ALMA_KEY] = alma_entity()
    return ENTITIES.get(key)


class FileProblem(ValueError):
    """The file cannot be read further; the message says why and where."""


# --- reading the file ------------------------------------------------------------------


def detect_encoding(head):
    """The codec of a file from its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A character cut by the end of the sample is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    match = charset_normalizer.from_bytes(
        head, cp_isolation=["cp1251", "koi8_r", "cp866", "mac_cyrillic"]).best()
    return match.encoding if match is not None else "cp1251"


def detect_delimiter(text):
    """';' or ',' (or a tab): whichever the header line holds most of."""
    line = text.lstrip("\r\n").split("\n", 1)[0]
    counts = {d: line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ";"))
    return best if counts[best] else ";"


def sniff(path):
    """(encoding, delimiter) of a stored file."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    return encoding, detect_delimiter(text)


def records(path, encoding, delimiter):
    """(line number, cells) of every record; the number is the line the
    record starts on, as a text editor and a spreadsheet count it."""
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        previous = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(_csv_message(str(exc), previous + 1)) from None
            except UnicodeDecodeError:
                raise FileProblem(_l(
                    "Line %(line)s: the file is not in the %(encoding)s encoding; save it "
                    "as UTF-8 or Windows-1251", line=previous + 1, encoding=encoding)) from None
            start, previous = previous + 1, reader.line_num
            yield start, row


def _csv_message(text, line):
    if "field larger than field limit" in text:
        return _l("Line %(line)s: a field is longer than %(n)s characters; the file cannot "
                  "be read further", line=line, n=MAX_FIELD_CHARS)
    if "NUL" in text:
        return _l("Line %(line)s: the file contains zero bytes; it is not a text CSV file",
                  line=line)
    return _l("Line %(line)s: the file is not valid CSV (%(error)s)", line=line, error=text)


def read_header(path, encoding, delimiter):
    """The first non-empty record, or FileProblem."""
    for line, row in records(path, encoding, delimiter):
        if any("\x00" in c for c in row):
            raise FileProblem(_l("Line %(line)s: the file contains zero bytes; it is not a "
                                 "text CSV file", line=line))
        if any(c.strip() for c in row):
            return [c.strip() for c in row]
    raise FileProblem(_l("The file is empty: it has no header line"))


def count_rows(path):
    """Lines in the file (an estimate of records, for the progress bar)."""
    lines = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines, 1)


# --- entities and their fields ----------------------------------------------------------


def _msgid(label):
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


_catalogues = {}


def label_variants(label):
    """A label in every interface language (the English msgid and Russian)."""
    msgid = _msgid(label)
    if "ru" not in _catalogues:
        _catalogues["ru"] = Translations.load(TRANSLATIONS_DIR, ["ru"])
    return {msgid, _catalogues["ru"].gettext(msgid)}


def normalise(text):
    text = unicodedata.normalize("NFKC", str(text)).lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w%]+", " ", text).split())


# The words Russian files add to a place's name («г. Москва», «Московская
# обл.», «Респ. Татарстан», «Краснодарский кр.», «Ленинский р-н»), as
# normalise() leaves them.
_AFFIXES = re.compile(
    r"\b(?:г|гор|город|обл|область|респ|республика|кр|край|ао|р н|район)\b")


def dictionary_key(name):
    """What a dictionary value is matched by: normalise(), without the usual
    affixes of a place; «г. Москва» is «Москва»."""
    key = normalise(name)
    bare = " ".join(_AFFIXES.sub(" ", key).split())
    return bare or key


def dictionary_keys(session, model):
    """{dictionary_key(name or synonym): id} of a dictionary: a value's own
    name before another value's synonym, then an active value before an
    inactive one of the same key."""
    from app.services.dictionaries import keys_of  # it imports this module

    found, synonyms = {}, []
    for row_id, name, active, text in session.execute(
            select(model.id, model.name, model.is_active, model.synonyms)):
        key = dictionary_key(name)
        if key not in found or (active and not found[key][1]):
            found[key] = (row_id, active)
        if text:
            synonyms.append((row_id, active, text))
    named = set(found)
    for row_id, active, text in synonyms:
        for key in keys_of(text):
            if key not in named and (key not in found or (active and not found[key][1])):
                found[key] = (row_id, active)
    return {key: row_id for key, (row_id, _) in found.items()}


@dataclass
class Field:
    name: str
    label: object
    kind: str  # str text int decimal date datetime bool enum dict employee client record
    column: str
    required: bool = False
    max_length: int = None
    target: type = None
    enum: type = None
    enum_words: dict = None
    enum_labels: dict = None  # {member: its label}, for the mapping screen
    places: int = 2
    minimum: Decimal = None
    maximum: Decimal = None
    check: object = None
    aliases: tuple = ()


@dataclass
class Entity:
    key: str
    label: object
    model: type
    fields: list
    # Fields whose normalised value marks a duplicate of an existing record.
    duplicate_keys: tuple = ()
    alma: bool = False
    # Its custom fields' columns (services/imports_custom.Columns), when
    # read for this request or run.
    custom: object = None

    def field(self, name):
        return next((f for f in self.fields if f.name == name), None)


_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


def _colour(value):
    if not _COLOUR.fullmatch(value):
        raise validation.ValidationError(_l("A colour is written as #RRGGBB, for example #28a745"))
    return value.lower()


CHECKS = {"phone": validation.phone, "phone2": validation.phone, "inn": validation.inn,
          "ogrn": validation.ogrn, "kpp": validation.kpp, "bik": validation.bik,
          "email": validation.email, "color": _colour}
NON_NEGATIVE = {"amount", "price", "quantity", "rate", "sort_order"}
PERCENT = {"probability", "discount_percent"}
# Headers other files give a column, besides its label in either language.
ALIASES = {
    "consent_date": ("согласие на обработку персональных данных",
                     "согласие на обработку пд", "дата согласия",
                     "дата согласия на обработку персональных данных",
                     "дата согласия на обработку пд", "согласие пд", "согласие"),
    "consent_form": ("форма согласия",),
    "consent_purpose": ("цель обработки", "цель обработки персональных данных",
                        "цель согласия"),
    "consent_withdrawn": ("согласие отозвано", "дата отзыва согласия", "отзыв согласия"),
}


# Integer columns that hold one of an enum's values: files name the choice.
INTEGER_ENUMS = {"reminder_minutes": Reminder}


def make_field(model, name, label, enum_labels=None):
    """The import field of a model's column or many-to-one relation, or None
    for what cannot come from a CSV cell (collections, files, ids of others)."""
    mapper = model.__mapper__
    if name in mapper.relationships:
        rel = mapper.relationships[name]
        if rel.uselist:
            return None
        column = next(iter(rel.local_columns))
        target = rel.mapper.class_
        if issubclass(target, DictionaryMixin):
            kind = "dict"
        elif issubclass(target, Employee):
            kind = "employee"
        elif target is Client:
            kind = "client"
        else:
            kind = "record"
        return Field(name, label, kind, column.key, required=not column.nullable,
                     target=target)
    if name not in mapper.columns:
        return None
    column = mapper.columns[name]
    kind_of = column.type
    required = not column.nullable and column.default is None and not column.primary_key
    spec = Field(name, label, "str", column.key, required=required, check=CHECKS.get(name))
    if type(kind_of).__name__ in ("FileColumn", "ImageColumn"):
        return None
    enum_class = kind_of.enum_class if isinstance(kind_of, Enum) else INTEGER_ENUMS.get(name)
    if enum_class is not None:
        spec.kind, spec.enum = "enum", enum_class
        words = {}
        labels = (enum_labels or {}).get(enum_class, {})
        for member in enum_class:
            words[normalise(member.value)] = member
            words[normalise(member.name)] = member
            for text in label_variants(labels.get(member, member.value)):
                words[normalise(text)] = member
        spec.enum_words = words
        spec.enum_labels = {member: labels.get(member, member.value) for member in enum_class}
    elif isinstance(kind_of, Boolean):
        spec.kind = "bool"
    elif isinstance(kind_of, DateTime):
        spec.kind = "datetime"
    elif isinstance(kind_of, Date):
        spec.kind = "date"
    elif isinstance(kind_of, Numeric):
        spec.kind, spec.places = "decimal", kind_of.scale or 0
        spec.maximum = Decimal(10) ** ((kind_of.precision or 14) - spec.places) - 1
    elif isinstance(kind_of, Integer):
        spec.kind, spec.maximum = "int", Decimal(2 ** 31 - 1)
    elif isinstance(kind_of, Text):
        spec.kind, spec.max_length = "text", MAX_TEXT
    elif isinstance(kind_of, String):
        spec.max_length = kind_of.length
    if name in NON_NEGATIVE:
        spec.minimum = Decimal(0)
    if name in PERCENT:
        spec.minimum, spec.maximum = Decimal(0), Decimal(100)
    if name == "term_months":
        spec.minimum, spec.maximum = Decimal(1), Decimal(600)
    if name == "id":
        spec.kind, spec.required = "id", False
    spec.aliases = ALIASES.get(name, ())
    return spec


def entity_for(key, model, columns, labels, enum_labels=None, duplicate_keys=()):
    """An importable entity from a screen's columns and labels."""
    fields = []
    for name in ["id", *columns]:
        if any(f.name == name for f in fields):
            continue
        spec = make_field(model, name, labels.get(name, name), enum_labels)
        if spec is not None and spec.kind == "client" and "client.id" in labels:
            # An exported record carries its client's ID as well as the name.
            spec.aliases = tuple(label_variants(labels["client.id"]))
        if spec is not None:
            fields.append(spec)
    if model is Client:
        fields = [f if f.name != "name" else _replace(f, required=False) for f in fields]
    if issubclass(model, DictionaryMixin) and not duplicate_keys:
        duplicate_keys = ("name",)
    return Entity(key, model.__label__, model, fields, duplicate_keys)


def _replace(spec, **changes):
    return Field(**{**spec.__dict__, **changes})


def alma_entity():
    """The AlmaCRM client format: a person and an application per row."""
    def f(name, label, model, **kw):
        spec = make_field(model, name, label)
        return _replace(spec, **kw)

    fields = [
        f("date", "Дата", Application, required=False),
        f("last_name", "Фамилия", Client),
        f("first_name", "Имя", Client),
        f("middle_name", "Отчество", Client),
        f("region", "регион", Client),
        f("city", "город", Client),
        f("amount", "сумма", Application, required=False),
        f("phone", "телефон", Client),
        f("birth_date", "дата рождения", Client),
        f("status", "статус", Application, required=False, enum_labels=STATUS_LABELS,
          enum_words={normalise(w): m for m, words in STATUS_WORDS.items() for w in words}),
        f("comments", "комментарии", Client, aliases=("комментарий",)),
    ]
    return Entity(ALMA_KEY, _l("Clients and applications (AlmaCRM format)"), Client, fields,
                  duplicate_keys=("phone",), alma=True)


def is_alma_header(header):
    return [normalise(h) for h in header] == [normalise(h) for h in ALMA_HEADER]


def auto_map(entity, header):
    """The field name of each header cell, or None."""
    names = {}
    for spec in entity.fields:
        for text in (spec.name, *label_variants(spec.label), *spec.aliases):
            names.setdefault(normalise(text), spec.name)
    mapping, used = [], set()
    for cell in header:
        name = names.get(normalise(cell))
        if name in used:
            name = None
        used.add(name)
        mapping.append(name)
    return mapping


def template_header(entity, render=str):
    """The header of an entity's template file, in the interface language."""
    if entity.alma:
        return list(ALMA_HEADER)
    return [render(f.label) for f in entity.fields if f.name != "id"]


# --- converting cells ------------------------------------------------------------------


class Bad(ValueError):
    pass


class Unknown(Bad):
    """A choice column's text that names none of its values: the report
    lists it for the mapping screen, where the user says what it means."""


# Cells are read by services/values, as typed values are on screens; a
# spreadsheet's cell may also carry a currency or other locales' separators.
YES, NO = values.YES, values.NO


def parse_decimal(text):
    """"1 234 567,50", "1,234,567.5", "1234,5 руб." -> Decimal."""
    try:
        return values.number_in_cell(text)
    except values.ValidationError:
        raise Bad(_l("Not a number: %(value)s", value=text[:50])) from None


def parse_date(text):
    """ДД.ММ.ГГГГ (also Д.М.ГГГГ, ДД.ММ.ГГ, ДД/ММ/ГГГГ and ISO ГГГГ-ММ-ДД)."""
    try:
        return values.date(text)
    except values.ValidationError:
        raise Bad(_l("Not a date: %(value)s (expected ДД.ММ.ГГГГ)", value=text[:50])) from None


def parse_datetime(text, tz):
    """ДД.ММ.ГГГГ ЧЧ:ММ[:СС] in the app's time zone -> naive UTC."""
    try:
        local = values.datetime_local(text)
    except values.ValidationError:
        raise Bad(_l("Not a date and time: %(value)s (expected ДД.ММ.ГГГГ ЧЧ:ММ)",
                     value=text[:50])) from None
    return localtime.to_utc(local, tz.key)


def converter(spec, tz):
    """``convert`` for one field, specialised once per import. The texts of
    kinds that repeat down a file (MEMO_KINDS) are converted once each, up
    to MEMO texts a column, so memory stays bounded whatever the file's
    size; a text that fails is not remembered (its error is raised again)."""
    parse = _parser(spec, tz)
    if spec.kind not in MEMO_KINDS:
        return parse
    memo = {}

    def remembered(text):
        found = memo.get(text)
        if found is None:
            found = parse(text)
            if len(memo) < MEMO:
                memo[text] = found
        return found

    return remembered


def _parser(spec, tz):
    if spec.kind == "date":
        return parse_date
    if spec.kind == "decimal":
        general = lambda text: convert(spec, text, tz)  # noqa: E731
        digits = len(str(int(spec.maximum))) if spec.maximum is not None else 12

        def amount(text):
            # Most amounts are whole numbers, perhaps with spaces: "150 000".
            plain = text.replace(" ", "").replace("\u00a0", "")
            if plain.isdigit() and len(plain) <= digits and plain.isascii():
                number = Decimal(plain)
                if spec.maximum is None or number <= spec.maximum:
                    return number
            return general(text)

        return amount
    if spec.kind in PLAIN_KINDS:
        return str.strip
    if spec.kind == "custom":
        return spec.check  # services/imports_custom: custom_fields.parse
    if spec.kind in ("str", "text") and spec.check is None:
        limit = spec.max_length

        def text_of(text):
            if limit and len(text) > limit:
                raise Bad(_l("Longer than %(n)s characters", n=limit))
            return text

        return text_of
    return lambda text: convert(spec, text, tz)


def convert(spec, text, tz):
    """The stored value of one non-empty cell, or Bad."""
    kind = spec.kind
    if kind in ("str", "text"):
        if spec.check is not None:
            try:
                text = spec.check(text)
            except validation.ValidationError as exc:
                raise Bad(exc.args[0]) from None
        if spec.max_length and len(text) > spec.max_length:
            raise Bad(_l("Longer than %(n)s characters", n=spec.max_length))
        return text
    if kind == "date":
        return parse_date(text)
    if kind == "datetime":
        return parse_datetime(text, tz)
    if kind in ("decimal", "int", "id"):
        number = parse_decimal(text)
        if kind != "decimal" and number != number.to_integral_value():
            raise Bad(_l("Not a whole number: %(value)s", value=text[:50]))
        if spec.minimum is not None and number < spec.minimum:
            raise Bad(_l("Must not be less than %(n)s", n=spec.minimum))
        if spec.maximum is not None and number > spec.maximum:
            raise Bad(_l("Too large: %(value)s", value=text[:50]))
        if kind == "decimal":
            return number.quantize(Decimal(1).scaleb(-spec.places), rounding=ROUND_HALF_UP)
        return int(number)
    if kind == "bool":
        word = text.strip().lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise Bad(_l("Expected yes or no: %(value)s", value=text[:50]))
    if kind == "enum":
        member = spec.enum_words.get(normalise(text))
        if member is None:
            raise Unknown(_l("Unknown value «%(value)s»: choose what it means on the column "
                             "mapping screen", value=text[:50]))
        # An integer column (INTEGER_ENUMS) takes the plain number.
        return member.value if isinstance(member, int) else member
    return text.strip()  # dict, employee, client, record: resolved by batch


# Kinds whose few distinct texts repeat down a file (dates, amounts, statuses,
# yes/no): ``converter`` remembers their conversions.
MEMO_KINDS = frozenset(("date", "datetime", "decimal", "int", "enum", "bool"))
MEMO = 20_000
# Kinds resolved by batch against the database: the cell's text is kept.
PLAIN_KINDS = frozenset(("dict", "employee", "client", "record"))


def _width_error(count, width):
    return _l("The row has %(n)s fields, the header has %(m)s", n=count, m=width)


def row_converter(columns, width, tz, unknown=None):
    """``convert(line, cells, joined=None) -> Row`` for one mapping: each
    mapped cell through its field's ``converter``. Blank cells are left
    out, the export's formula guard is removed, a cell with a zero byte is
    refused, every bad cell gives (label, message). ``joined`` is
    ``"".join(cells)`` when the caller has it. ``unknown`` (field name,
    text) hears of each choice cell that names no value."""
    # Per column, once per import: (index, field name, label, parser or
    # None for a text kept as it is, whether an unknown text is reported).
    plan = [(index, spec.name, spec.label,
             None if spec.kind in PLAIN_KINDS else converter(spec, tz),
             spec.kind == "enum" and unknown is not None)
            for index, spec in columns]
    zero = _l("Contains zero bytes")

    def convert_row(line, cells, joined=None):
        count = len(cells)
        if count != width and (count < width or "".join(cells[width:]).strip()):
            return Row(line, cells, {}, [("", _width_error(count, width))])
        nul = "\x00" in (joined if joined is not None else "".join(cells))
        values, errors = {}, []
        for index, name, label, parse, noting in plan:
            text = cells[index].strip()
            if not text:
                continue
            if nul and "\x00" in text:
                errors.append((label, zero))
                continue
            if text[0] == "'" or text[0] == "=":
                text = from_cell(text)
            if parse is None:
                values[name] = text
                continue
            try:
                values[name] = parse(text)
            except Bad as exc:
                errors.append((label, exc.args[0]))
                if noting and exc.__class__ is Unknown:
                    unknown(name, text)
        return Row(line, cells, values, errors)

    return convert_row


# --- the run ---------------------------------------------------------------------------


@dataclass
class Options:
    mapping: list  # field name (or None) of each column
    user_id: int = None
    # The user sees only own and public clients (no "access to all clients").
    restricted: bool = False
    on_duplicate: str = "skip"  # skip | update | create
    mode: str = "all"  # all (one transaction) | good (apply good rows)
    create_missing: bool = False
    # Dictionary models the user may add values to.
    may_create: frozenset = frozenset()
    timezone: str = "Europe/Moscow"
    error_label: str = "Ошибка"
    # Who new records belong to when a row names nobody (None: the
    # importer; a restricted user's are always theirs).
    responsible_id: int = None
    # What unknown texts of choice columns mean, chosen on the mapping
    # screen: {field name: {text: enum member's name | dictionary id | "new"
    # | employee id | a custom field's choice or dictionary id}}.
    value_map: dict = field(default_factory=dict)
    # The journal entry: what the run writes is ledgered under it, for
    # «Отменить импорт» (services/import_undo.py).
    job_id: int = None


@dataclass
class Report:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    problems: list = field(default_factory=list)  # {row, field, message}
    duplicates: list = field(default_factory=list)  # {row, field, value, id, action}
    file_error: str = None
    applied: bool = False
    dry_run: bool = False
    # Texts of enum, dictionary, employee and custom choice columns that
    # name no value, with their rows: {field name: {text: rows}},
    # MAX_UNKNOWN texts a field (the fields cut there are listed in
    # unknown_cut).
    unknown: dict = field(default_factory=dict)
    unknown_cut: list = field(default_factory=list)

    def problem(self, row, label, message):
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"row": row, "field": str(label) if label else "",
                                  "message": str(message)})

    def as_dict(self):
        return dict(self.__dict__)


@dataclass
class Row:
    line: int
    cells: list
    values: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # (label, message)
    existing_id: int = None
    action: str = "create"
    # A new client's search text (``Importer._named``).
    words: str = None


class Importer:
    def __init__(self, session, entity, options, error_path=None, encoding="utf-8-sig",
                 header=None):
        self.session = session
        self.entity = entity
        self.options = options
        self.tz = zoneinfo.ZoneInfo(options.timezone)
        self.columns = [(i, self._with_values(entity.field(name)))
                        for i, name in enumerate(options.mapping)
                        if name and entity.field(name) is not None]
        self.mapped = {spec.name for _, spec in self.columns}
        self.width = len(options.mapping)
        self.report = Report()
        # Work to do while PostgreSQL stores a COPY (run() sets it).
        self._meanwhile = None
        self.error_path = error_path
        self.error_encoding = encoding if encoding != "utf-8" else "utf-8-sig"
        self.header = header or []
        self._errors_out = None
        self._maps = {}
        self._first_new_id = None
        self._convert = row_converter(self.columns, self.width, self.tz, self._unknown)
        self._naming = entity.model is Client  # the AlmaCRM format's too
        self._unknown_keys = {}
        # The chosen meanings of unknown dictionary and employee texts (_load_maps).
        self._value_ids, self._value_new = {}, {}
        self.owner = options.user_id if options.restricted or options.responsible_id is None \
            else options.responsible_id
        self._required = [spec for spec in entity.fields if spec.required
                          and spec.name in self.mapped and not self._has_default(spec)]
        self._names = {}
        self._analysed_at = 0
        self._rows_before = None  # PostgreSQL's estimate, when first needed
        # Writes custom field values; None when there are none to write.
        self.custom = entity.custom.start(session, self.mapped) if entity.custom else None
        self._sqlite = True
        self.ledger = None
        # {key: {value: _Earlier}} of rows of rolled-back chunks (``_forget``).
        self._gone = {}
        self._keys = None

    def _with_values(self, spec):
        """An enum field that also reads the texts the user gave a meaning
        to on the mapping screen (so they cost nothing per row); a custom
        field of choices also reads them, and counts the texts that name
        none of its values."""
        chosen = self.options.value_map.get(spec.name)
        if spec.kind == "custom" and self.entity.custom is not None:
            return self.entity.custom.choosing(spec, chosen or {}, self._unknown)
        if not chosen or spec.kind != "enum":
            return spec
        words = dict(spec.enum_words)
        for text, member in chosen.items():
            if member in spec.enum.__members__:
                words.setdefault(normalise(text), spec.enum[member])
        return _replace(spec, enum_words=words)

    def _unknown(self, name, text, key=None):
        """Count a row's text of a choice field that names no value."""
        if len(text) > MAX_UNKNOWN_TEXT:
            return
        keys = self._unknown_keys.setdefault(name, {})
        key = normalise(text) if key is None else key
        first = keys.get(key)
        counts = self.report.unknown.setdefault(name, {})
        if first is None:
            if len(keys) >= MAX_UNKNOWN:
                if name not in self.report.unknown_cut:
                    self.report.unknown_cut.append(name)
                return
            keys[key] = first = text
        counts[first] = counts.get(first, 0) + 1

    # -- public -------------------------------------------------------------------

    def run(self, rows, dry_run=False, progress=None, checkpoint=None):
        """Import ``rows`` ((line, cells) pairs); the last commit is the
        caller's.

        Without ``checkpoint`` the file is one transaction. With it (SQLite,
        where one writer at a time holds the database) the rows go in
        chunks of about CHUNK_SECONDS, and ``checkpoint(report)`` commits
        after each, so that colleagues' saves wait a fraction of a second,
        not the whole import. A chunk of a check, or of an all-or-nothing
        import after its first bad row, is rolled back before that commit;
        an all-or-nothing import that meets a bad row takes back the chunks
        it committed (``import_undo.revert``, from the ledger), so it ends
        with all of the file or none. Committing needs the ledger, i.e. a
        journal entry (``Options.job_id``), and a session bound to one
        connection, whose settings (``bulk_sql.bulk_session``) and page
        cache last the whole run."""
        report = self.report
        report.dry_run = dry_run
        self._check_mapping()
        if report.file_error:
            return report
        self._load_maps()
        self._sqlite = self.session.get_bind().dialect.name == "sqlite"
        if self.options.job_id is not None and not dry_run:
            self.ledger = import_undo.Ledger(self.session, self.options.job_id)
        if (self.ledger is None and not dry_run) or not isinstance(self.session.bind,
                                                                   Connection):
            checkpoint = None  # see the docstring
        self._first_new_id = (self.session.scalar(
            select(self.entity.model.id).order_by(self.entity.model.id.desc()).limit(1))
            or 0)
        committed = False
        batches = self._batches(rows)
        ahead = collections.deque()
        self._meanwhile = lambda: _convert_ahead(ahead, batches)
        # Only a chunk that may be rolled back needs its rows' keys.
        remember = checkpoint is not None and (dry_run or self.options.mode == "all")
        chunk = _Chunk(self.session, remember)
        try:
            with bulk_sql.bulk_session(self.session.connection()), fewer_collections(), \
                    contextlib.closing(batches):
                for batch, problem in _drain(ahead, batches):
                    report.total += len(batch)
                    if problem is not None:
                        raise problem
                    self._handle(batch)
                    chunk.written(self, batch)
                    if self.ledger is not None:
                        self.ledger.flush_if_full()
                    if progress:
                        progress(report)
                    if checkpoint is not None and chunk.age() >= CHUNK_SECONDS:
                        self._flush_ledger()
                        kept = self._keeping(dry_run)
                        self._forget(chunk.close(kept))
                        checkpoint(report)
                        committed |= kept
                        _read_ahead(ahead, batches)
                        chunk = _Chunk(self.session, remember)
        except FileProblem as exc:
            report.file_error = str(exc)
        except BaseException:
            chunk.fail()
            raise
        finally:
            if self._errors_out is not None:
                self._errors_out.close()
        keep = self._keeping(dry_run) and not report.file_error
        self._flush_ledger()
        chunk.close(keep)
        if not keep and committed:
            import_undo.revert(self.session, self.options.job_id)
        report.applied = keep
        if progress:
            progress(report)
        return report

    def _flush_ledger(self):
        """Into the chunk about to be closed: rolled back, it takes its own
        ledger entries with it."""
        if self.ledger is not None:
            self.ledger.flush()

    def _keeping(self, dry_run):
        """Whether what was written so far stays."""
        return not dry_run and (self.options.mode == "good" or not self.report.errors)

    def _forget(self, keys):
        """A rolled-back chunk's rows are no longer in the database: their
        duplicate keys are remembered, so that later rows repeating them
        are still told duplicates of the file."""
        for key, lines in keys.items():
            for value, line in lines.items():
                self._gone.setdefault(key, {}).setdefault(value, _Earlier(line))

    def _batches(self, rows):
        """(converted rows, None) by BATCH; a file problem comes as
        (the rows read before it, FileProblem) and ends the file."""
        convert, batch = self._convert, []
        named = self._named if self._naming else None
        try:
            for line, cells in rows:
                joined = "".join(cells)
                if not joined or joined.isspace():
                    continue
                row = convert(line, cells, joined)
                if named is not None:
                    named(row)
                batch.append(row)
                if len(batch) >= BATCH:
                    yield batch, None
                    batch = []
        except FileProblem as exc:
            yield batch, exc
            return
        if batch:
            yield batch, None

    @staticmethod
    def _named(row):
        """A client's name from the full name when the file gives none, and
        its search text: the cells alone decide them, so they are worked out
        with the conversion, which PostgreSQL's import does while the server
        stores the rows sent before (``bulk_sql.insert_rows``' meanwhile)."""
        values = row.values
        if not values.get("name"):
            name = clients.full_name(values.get("last_name"), values.get("first_name"),
                                     values.get("middle_name"))
            if name:
                values["name"] = name
        row.words = search.client_words(values)

    # -- steps --------------------------------------------------------------------

    def _check_mapping(self):
        missing = [spec for spec in self.entity.fields if spec.required
                   and spec.name not in self.mapped and not self._has_default(spec)]
        if self.entity.model is Client and not self.entity.alma and not (
                self.mapped & {"name", "last_name", "first_name"}):
            missing.append(self.entity.field("name"))
        if self.entity.alma and not self.mapped & {"last_name", "first_name"}:
            missing.append(self.entity.field("last_name"))
        if missing:
            self.report.file_error = str(_l(
                "No column is mapped to the required fields: %(fields)s",
                fields=", ".join(str(s.label) for s in missing if s is not None)))

    def _has_default(self, spec):
        column = self.entity.model.__table__.columns.get(spec.column)
        if spec.name in ("responsible", "author"):
            return True
        return column is not None and column.default is not None

    def _handle(self, batch):
        self._resolve(batch)
        self._complete(batch)
        self._duplicates(batch)
        self._check_synonyms(batch)
        good = [row for row in batch if not row.errors]
        self._write(good)
        for row in batch:
            if row.errors:
                self.report.errors += 1
                for label, message in row.errors:
                    self.report.problem(row.line, label, message)
                self._write_error_row(row)

    def _check_synonyms(self, batch):
        """A dictionary file's «Синонимы» obey the form's rule
        (services/dictionaries.check_synonyms): a synonym names no other
        value and belongs to no other value, in the dictionary or earlier
        in the file; else a later file could not tell which value a text
        means."""
        model = self.entity.model
        if not issubclass(model, DictionaryMixin) or "synonyms" not in self.mapped:
            return
        from app.services.dictionaries import keys_of  # it imports this module

        known = self._maps.get(model)
        if known is None:
            known = self._maps[model] = dictionary_keys(self.session, model)
        label = self.entity.field("synonyms").label
        names, earlier = {}, {}  # this batch's values: key of a name or synonym -> name
        for row in batch:
            name = row.values.get("name") or ""
            if not row.errors and row.action != "skip":
                names[dictionary_key(name)] = name
        for row in batch:
            text = row.values.get("synonyms")
            if not text or row.errors or row.action == "skip":
                continue
            name = row.values.get("name") or ""
            own = dictionary_key(name)
            synonyms = {k: v for k, v in keys_of(text).items() if k != own}
            for key, synonym in synonyms.items():
                holder = known.get(key)
                if holder is not None and holder != row.existing_id:
                    value = self.session.scalar(select(model.name).where(model.id == holder))
                elif key in names or key in earlier:
                    value = names.get(key) or earlier[key]
                else:
                    continue
                if dictionary_key(value) == key:
                    message = _l("The synonym «%(synonym)s» is the value «%(value)s» of this "
                                 "dictionary; a synonym cannot name another value",
                                 synonym=synonym, value=value)
                else:
                    message = _l("The synonym «%(synonym)s» already belongs to the value "
                                 "«%(value)s»", synonym=synonym, value=value)
                row.errors.append((label, message))
                break
            else:
                row.values["synonyms"] = "\n".join(synonyms.values()) or None
                earlier.update(dict.fromkeys(synonyms, name))

    # -- references ---------------------------------------------------------------

    def _load_maps(self):
        """Dictionary values and employees by name: small tables, read once."""
        for _, spec in self.columns:
            if spec.kind == "dict" and spec.target not in self._maps:
                self._maps[spec.target] = dictionary_keys(self.session, spec.target)
            if spec.kind == "dict" and self.options.value_map.get(spec.name):
                self._load_values(spec)
            if spec.kind == "employee" and Employee not in self._maps:
                people = {}
                for e in self.session.execute(select(
                        Employee.id, Employee.username, Employee.email, Employee.last_name,
                        Employee.first_name, Employee.middle_name)):
                    names = [e.username, e.email,
                             " ".join(p for p in (e.last_name, e.first_name, e.middle_name) if p),
                             " ".join(p for p in (e.last_name, e.first_name) if p),
                             " ".join(p for p in (e.first_name, e.last_name) if p)]
                    for name in names:
                        if name:
                            people.setdefault(normalise(name), e.id)
                self._maps[Employee] = people
            if spec.kind == "employee" and self.options.value_map.get(spec.name):
                self._load_people(spec)

    def _load_values(self, spec):
        """The chosen meanings of a dictionary field's unknown texts: an
        existing value (checked to be one) or a new one (if the user may add
        values to that dictionary)."""
        chosen = self.options.value_map[spec.name]
        ids = {text: int(v) for text, v in chosen.items()
               if isinstance(v, int) or str(v).isdigit()}
        real = set(self.session.scalars(select(spec.target.id).where(
            spec.target.id.in_(set(ids.values())))))
        self._value_ids[spec.name] = {dictionary_key(text): v for text, v in ids.items()
                                      if v in real}
        if spec.target in self.options.may_create:
            self._value_new[spec.name] = {dictionary_key(text) for text, v in chosen.items()
                                          if v == "new"}

    def _load_people(self, spec):
        """The employees chosen for an employee field's unknown texts:
        active ones, and for a restricted user only himself (he gives
        records to nobody else)."""
        ids = {normalise(text): int(v) for text, v in self.options.value_map[spec.name].items()
               if isinstance(v, int) or str(v).isdigit()}
        if self.options.restricted:
            ids = {key: v for key, v in ids.items() if v == self.options.user_id}
        active = set(self.session.scalars(select(Employee.id).where(
            Employee.id.in_(set(ids.values())), Employee.active.is_(True))))
        self._value_ids[spec.name] = {key: v for key, v in ids.items() if v in active}

    def _resolve(self, batch):
        for _, spec in self.columns:
            if spec.kind == "dict":
                self._resolve_dictionary(spec, batch)
            elif spec.kind == "employee":
                people = self._maps[Employee]
                chosen = self._value_ids.get(spec.name, {})
                for row in batch:
                    name = row.values.get(spec.name)
                    if name is not None:
                        key = normalise(name)
                        found = people.get(key)
                        if found is None:
                            found = chosen.get(key)
                        if found is None:
                            row.errors.append((spec.label, _l(
                                "No employee «%(name)s»: choose who it is on the column "
                                "mapping screen", name=name[:100])))
                            self._unknown(spec.name, name, key)
                        row.values[spec.name] = found
            elif spec.kind in ("client", "record"):
                self._resolve_records(spec, batch)

    def _resolve_dictionary(self, spec, batch):
        known = self._maps[spec.target]
        names = self._names.setdefault(spec.name, {})
        chosen = self._value_ids.get(spec.name, {})
        new = self._value_new.get(spec.name, ())
        create = self.options.create_missing and spec.target in self.options.may_create
        for row in batch:
            name = row.values.get(spec.name)
            if name is None:
                continue
            found = names.get(name)
            if found is not None:
                row.values[spec.name] = found
                continue
            key = dictionary_key(name)
            found = known.get(key)
            if found is None:
                found = chosen.get(key)
            if found is not None and len(names) < 10000:
                names[name] = found
            if found is None and (create or key in new) and len(name) <= 150:
                values = {"name": name.strip(), "is_active": True, "sort_order": 0}
                if spec.target is Region:
                    values["code"] = None
                found = self.session.execute(
                    insert(spec.target).returning(spec.target.id), [values]).scalar()
                if self.ledger is not None:
                    self.ledger.add_created(spec.target.__tablename__, [found])
                known[key] = found
            if found is None:
                row.errors.append((spec.label, _l(
                    "Unknown value «%(name)s» of %(what)s: choose what it means on the column "
                    "mapping screen", name=name[:100], what=spec.target.__label__)))
                self._unknown(spec.name, name, key)
            row.values[spec.name] = found

    def _resolve_records(self, spec, batch):
        """Referenced records by id ("15", "№15") or by name/title/number;
        a restricted user may only attach to clients they may change."""
        target = spec.target
        wanted_ids, wanted_names = set(), set()
        for row in batch:
            value = row.values.get(spec.name)
            if value is None:
                continue
            digits = value.lstrip("№#").strip()
            if digits.isdigit() and len(digits) < 10:
                row.values[spec.name] = ("id", int(digits))
                wanted_ids.add(int(digits))
            else:
                row.values[spec.name] = ("name", value)
                wanted_names.add(value)
        if not wanted_ids and not wanted_names:
            return
        name_column = next((getattr(target, n) for n in ("number", "title", "name")
                            if hasattr(target, n)), None)
        allowed = None
        if self.options.restricted:
            allowed = access.clause(target, self.options.user_id, write=True, driving=True)
        by_id, by_name = {}, {}
        for chunk in _chunks(sorted(wanted_ids)):
            query = select(target.id).where(target.id.in_(chunk))
            if allowed is not None:
                query = query.where(allowed)
            by_id.update((i, i) for i in self.session.scalars(query))
        if wanted_names and name_column is not None:
            for chunk in _chunks(sorted(wanted_names)):
                query = select(name_column, target.id).where(name_column.in_(chunk))
                if allowed is not None:
                    query = query.where(allowed)
                for name, row_id in self.session.execute(query):
                    by_name.setdefault(name, []).append(row_id)
        for row in batch:
            ref = row.values.get(spec.name)
            if ref is None:
                continue
            how, value = ref
            if how == "id":
                found = by_id.get(value)
            else:
                ids = by_name.get(value, [])
                found = ids[0] if len(ids) == 1 else None
                if len(ids) > 1:
                    row.errors.append((spec.label, _l(
                        "Several records are called «%(name)s»: give the ID", name=value[:100])))
                    continue
            if found is None:
                row.errors.append((spec.label, _l(
                    "No %(what)s «%(name)s» that you may change", what=target.__label__,
                    name=str(value)[:100])))
            row.values[spec.name] = found

    # -- record rules ---------------------------------------------------------------

    def _complete(self, batch):
        """Rules a screen applies on save: a person's name (from the full
        name: ``_named``), a birth date in the past, the required fields of a
        new record (its owner is given when it is written: ``_own``)."""
        named = self._naming
        today = datetime.date.today()
        alma, required = self.entity.alma, self._required
        for row in batch:
            if row.errors:
                continue
            values = row.values
            if named and not values.get("name") and values.get("id") is None:
                row.errors.append((_l("Name"), clients.NO_NAME))
                continue
            if alma:
                birth = values.get("birth_date")
                if birth is not None and birth > today:
                    row.errors.append((self.entity.field("birth_date").label,
                                       _l("A birth date cannot be in the future")))
                    continue
            if values.get("consent_withdrawn") is not None and (
                    values.get("id") is None or values.get("consent_date") is not None):
                problem = personal_data.consent_problem(values)
                if problem:
                    row.errors.append((self.entity.field("consent_withdrawn").label, problem))
                    continue
            if values.get("id") is None:
                for spec in required:
                    if values.get(spec.name) is None:
                        row.errors.append((spec.label, _l("This field is required")))

    def _duplicates(self, batch):
        """Rows that repeat an existing record (or an earlier row of the file)
        by a duplicate key, and updates by ID."""
        entity, model = self.entity, self.entity.model
        if not entity.alma and "id" in self.mapped:
            self._by_id(batch)
        keys = self.duplicate_keys()
        if keys:
            self._fresh_statistics([k for k, _ in keys])
        for key, same in keys:
            column = getattr(model, key)
            # Rows with errors too: their duplicates are reported as well.
            pending = [r for r in batch if r.existing_id is None and r.values.get(key)]
            if key == "name" and issubclass(model, DictionaryMixin):
                known = self._maps.get(model)
                if known is None:
                    known = self._maps[model] = dictionary_keys(self.session, model)
                found = {dictionary_key(r.values[key]): known.get(dictionary_key(r.values[key]))
                         for r in pending}
                found = {k: v for k, v in found.items() if v is not None}
                lookup = lambda r: found.get(dictionary_key(r.values[key]))  # noqa: E731
            else:
                found = {}
                for value, row_id in bulk_sql.find(
                        self.session.connection(), model.__tablename__, column.name,
                        {r.values[key] for r in pending}):
                    if row_id < found.get(value, row_id + 1):  # the oldest record wins
                        found[value] = row_id
                lookup = lambda r: found.get(r.values[key])  # noqa: E731
            seen = {}
            gone = self._gone.get(key, {})
            for row in pending:
                existing = lookup(row)
                in_file = seen.get(same(row.values[key])) or (
                    gone.get(same(row.values[key])) if existing is None else None)
                if existing is None and in_file is None:
                    if not row.errors:  # a refused row is not in the file's records
                        seen[same(row.values[key])] = row
                    continue
                self._duplicate(row, key, existing, in_file)

    def duplicate_keys(self):
        """[(column, how its values compare)] the file's duplicates are found by."""
        if self._keys is None:
            entity, model = self.entity, self.entity.model
            keys = [k for k in entity.duplicate_keys if k in self.mapped]
            if model is Client and not entity.alma:
                keys = [k for k in ("phone", "inn") if k in self.mapped]
            self._keys = [(k, dictionary_key if k == "name" and issubclass(model, DictionaryMixin)
                           else normalise if k == "name" else str) for k in keys]
        return self._keys

    def _fresh_statistics(self, keys):
        """PostgreSQL plans the duplicate look-ups from the table's
        statistics; a large import into a small table makes them stale, and
        "phone IN (…500 values)" would then read the whole table. Refresh
        those of the key columns (a third of the time of the whole table's)
        each time the rows this import wrote double (ANALYZE samples, and
        sees this transaction's own rows), unless they are still few beside
        the rows the table had: the planner scales its figures to the
        table's size, and a million clients cost half a second an ANALYZE.
        A small sample serves (the plan only needs the key to be nearly
        unique): the default one reads 30 000 rows."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        table = self.entity.model.__tablename__
        if self._rows_before is None:
            self._rows_before = max(0, int(self.session.scalar(sql_text(
                "SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                {"t": table}) or 0))
        written = self.report.created
        if written >= max(5000, 2 * self._analysed_at, self._rows_before // 4):
            columns = ", ".join(getattr(self.entity.model, k).name for k in keys)
            before = self.session.scalar(sql_text("SHOW default_statistics_target"))
            target = sql_text("SELECT set_config('default_statistics_target', :v, true)")
            self.session.execute(target, {"v": str(ANALYSE_TARGET)})
            self.session.execute(sql_text(f"ANALYZE {table} ({columns})"))
            self.session.execute(target, {"v": before})
            self._analysed_at = written

    def _duplicate(self, row, key, existing, in_file):
        choice = self.options.on_duplicate
        spec = self.entity.field(key)
        entry = {"row": row.line, "field": str(spec.label), "value": str(row.values[key]),
                 "id": existing, "in_file": bool(in_file) or (
                     existing is not None and existing > self._first_new_id),
                 "visible": True}
        if existing is not None and self.options.restricted:
            entry["visible"] = self._may_see(existing)
        if row.errors:  # refused for its errors whatever the choice
            entry["action"] = "error"
            self._remember(entry)
            return
        if in_file is not None and existing is None:
            # The same value twice in one batch: the first is not written yet.
            entry["line"] = in_file.line
            if choice != "create":
                choice = "skip"
        elif choice == "update" and self.options.restricted \
                and not self._may_change(existing):
            row.errors.append((spec.label, _l(
                "A duplicate of a client you may not change")))
            entry["action"] = "error"
            self._remember(entry)
            return
        if choice == "skip":
            row.action = "skip"
        elif choice == "update":
            row.action, row.existing_id = "update", existing
        entry["action"] = choice
        self._remember(entry)

    def _remember(self, entry):
        if len(self.report.duplicates) < MAX_PROBLEMS:
            self.report.duplicates.append(entry)

    def _may_see(self, client_id):
        return bool(self.session.scalar(select(Client.id).where(
            Client.id == client_id, access.clause(Client, self.options.user_id))))

    def _may_change(self, row_id):
        return access.can_write(self.session, self.entity.model, row_id,
                                self.options.user_id)

    def _by_id(self, batch):
        model = self.entity.model
        ids = {r.values["id"] for r in batch if not r.errors and r.values.get("id")}
        found = set()
        for chunk in _chunks(sorted(ids)):
            query = select(model.id).where(model.id.in_(chunk))
            if self.options.restricted and not issubclass(model, DictionaryMixin):
                query = query.where(access.clause(model, self.options.user_id, write=True,
                                                  driving=True))
            found.update(self.session.scalars(query))
        for row in batch:
            row_id = row.values.get("id")
            if row.errors or not row_id:
                continue
            if row_id in found:
                row.action, row.existing_id = "update", row_id
            else:
                row.errors.append((self.entity.field("id").label, _l(
                    "No record with ID %(id)s that you may change", id=row_id)))

    # -- writing ------------------------------------------------------------------

    def _record(self, values):
        """Column values of a record: every mapped column (so that all rows
        of a batch share one INSERT), defaults for empty NOT NULL columns."""
        out = {}
        table = self.entity.model.__table__
        for spec in self.entity.fields:
            if spec.name == "id" or spec.name not in self.mapped or spec.kind == "custom":
                continue
            value = values.get(spec.name)
            if value is None:
                column = table.columns.get(spec.column)
                if column is not None and not column.nullable:
                    value = _default(column)
            out[spec.column] = value
        for extra in ("responsible", "author"):
            if extra in values and extra not in self.mapped:  # given by _own
                out[f"{extra}_id"] = values[extra]
        if "name" in values and hasattr(self.entity.model, "name"):
            out["name"] = values["name"]
        return out

    def _write(self, rows):
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        self.report.skipped += sum(1 for r in rows if r.action == "skip")
        if not creates and not updates:
            return
        self._own(creates)
        try:
            with self._all_or_nothing(updates), self._ledgered():
                self._insert(creates)
                self._update(updates)
            self.report.created += len(creates)
            self.report.updated += len(updates)
            self._refresh_dictionary()
        except SQLAlchemyError:
            # Find the rows the database refuses, one savepoint each.
            for row in creates + updates:
                try:
                    with self.session.begin_nested(), self._ledgered():
                        if row.action == "create":
                            self._insert([row])
                        else:
                            self._update([row])
                except SQLAlchemyError as exc:
                    message = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
                    row.errors.append(("", _l("The database refused the row: %(error)s",
                                              error=message)))
                    continue
                if row.action == "create":
                    self.report.created += 1
                else:
                    self.report.updated += 1

    def _all_or_nothing(self, updates):
        """What takes a batch back if the database refuses part of it: a
        savepoint, but for new AlmaCRM rows on SQLite, which
        ``_insert_alma`` takes back itself. There a savepoint a batch made
        the import 5–10 % slower: SQLite keeps the original of every page
        the batch changes, and the search index writes out what it holds
        at each savepoint."""
        if self._sqlite and self.entity.alma and not updates:
            return contextlib.nullcontext()
        return self.session.begin_nested()

    def _ledgered(self):
        """What a savepoint's block wrote is ledgered only if it holds."""
        return self.ledger.savepoint() if self.ledger is not None else contextlib.nullcontext()

    def _own(self, rows):
        """The author and the responsible of new records, as for a record
        created on a screen (services/records.admit): the row's own
        responsible; else, for a client of a market segment with managers,
        one of them (services/assignment.responsibles, the chosen
        responsible counting as its creator); else the one chosen on the
        import screen (by default the importer). A restricted user's rows
        name nobody: theirs, segment aside. AlmaCRM rows name nobody, and
        ``_insert_alma`` writes ``owner`` itself."""
        model = self.entity.model
        if self.entity.alma or not rows:
            return
        if hasattr(model, "author_id"):
            for row in rows:
                if row.values.get("author") is None:
                    row.values["author"] = self.options.user_id
        if not hasattr(model, "responsible_id"):
            return
        owner, restricted = self.owner, self.options.restricted
        segmented = model is Client and "segment" in self.mapped
        waiting = {}
        for row in rows:
            values = row.values
            if restricted or values.get("responsible") is None:
                values["responsible"] = owner
                if segmented and values.get("segment") is not None:
                    waiting.setdefault(values["segment"], []).append(values)
        for segment, waiting_values in waiting.items():
            managers = assignment.responsibles(self.session, segment, len(waiting_values),
                                               creator_id=owner)
            for values, manager in zip(waiting_values, managers):
                values["responsible"] = manager

    def _refresh_dictionary(self):
        """New values of a dictionary are found by later rows (a parent group
        defined earlier in the same file)."""
        model = self.entity.model
        if issubclass(model, DictionaryMixin) and model in self._maps:
            self._maps[model] = dictionary_keys(self.session, model)

    def _insert(self, rows):
        """Core multi-row INSERTs (executemany / insertmanyvalues), not the
        ORM's unit of work: one statement per table and batch."""
        if not rows:
            return
        model = self.entity.model
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        stamps = {"created_at": now, "updated_at": now} \
            if "created_at" in model.__table__.columns else {}
        if not self.entity.alma:
            records = [{**self._record(r.values), **stamps} for r in rows]
            if model is Client:  # the ORM's events do not see Core inserts
                for record, row in zip(records, rows):
                    record["search"] = row.words
            if self.custom is not None:  # their values need the new records' ids
                self.custom.insert(self, rows, records)
                return
            for group in _same_keys(records):
                if self.ledger is not None:
                    self._insert_with_ids(model.__table__, group)
                else:
                    self.session.execute(insert(model.__table__), group)
            return
        self._insert_alma(rows)

    def _insert_with_ids(self, table, records):
        """Insert ``records`` and return their ids in order (the records of
        an entity with custom fields, whose values need them).

        SQLite cannot order RETURNING rows of a multi-row INSERT (SQLAlchemy
        then sends one statement per row), but the transaction holds the
        database's only write lock, so the new ids are the last len(records)
        ones: rowids count up from the largest."""
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(insert(table), records)
            last = self.session.scalar(select(func.max(table.c.id)))
            ids = list(range(last - len(records) + 1, last + 1))
        else:
            ids = self.session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), records
            ).scalars().all()
        if self.ledger is not None:
            self.ledger.add_created(table.name, ids)
        return ids

    # The columns of the AlmaCRM path's tuples, in their order, named
    # through the models: a renamed column fails here, when the app starts.
    CLIENT_COLUMNS = tuple(column.expression.name for column in (
        Client.kind, Client.name, Client.last_name, Client.first_name, Client.middle_name,
        Client.birth_date, Client.region_id, Client.city, Client.phone, Client.comments,
        Client.responsible_id, Client.public_access, Client.created_at, Client.updated_at,
        Client.search))
    APPLICATION_COLUMNS = tuple(column.expression.name for column in (
        Application.client_id, Application.date, Application.amount, Application.status,
        Application.responsible_id, Application.created_at, Application.updated_at))

    ALMA_TABLES = (Client.__tablename__, Application.__tablename__)

    @classmethod
    def application_columns(cls, connection):
        """APPLICATION_COLUMNS, and the client's words where the rows keep them."""
        copies = search.copies_client_words(connection)
        return cls.APPLICATION_COLUMNS + ((search.CLIENT_WORDS,) if copies else ())

    def _insert_alma(self, rows):
        """The hot path of the AlmaCRM format: plain tuples straight to the
        driver (services/bulk_sql), no per-value processing by SQLAlchemy.
        Values are already converted and checked."""
        sqlite = self._sqlite
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        today = datetime.date.today()
        owner = self.owner
        person, private = ClientKind.PERSON.value, PublicAccess.PRIVATE.value
        in_processing = ProcessingStatus.IN_PROCESSING.value
        connection = self.session.connection()
        # The application keeps its client's words too (PostgreSQL): given
        # here, the trigger that would look each one up does not run.
        copies = search.copies_client_words(connection)
        clients, applications = [], []
        for row in rows:
            get = row.values.get
            birth, day = get("birth_date"), get("date") or today
            amount, status = get("amount") or 0, get("status")
            responsible = get("responsible", owner)
            if sqlite:
                birth = birth.isoformat() if birth is not None else None
                day, amount = day.isoformat(), str(amount)
            words = row.words
            clients.append((person, get("name"), get("last_name"), get("first_name"),
                            get("middle_name"), birth, get("region"), get("city"), get("phone"),
                            get("comments"), responsible, private, stamp, stamp, words))
            application = (day, amount, status.value if status is not None else in_processing,
                           responsible, stamp, stamp)
            applications.append(application + (words,) if copies else application)
        # On SQLite this transaction is the only writer: every row past the
        # largest ids now is this batch's, and a refused batch leaves none.
        last = [connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar() or 0
                for table in self.ALMA_TABLES] if sqlite else None
        try:
            ids = bulk_sql.insert_rows(connection, Client.__tablename__, self.CLIENT_COLUMNS,
                                       clients, with_ids=True, meanwhile=self._meanwhile)
            application_ids = bulk_sql.insert_rows(
                connection, Application.__tablename__, self.application_columns(connection),
                [(client_id, *values) for client_id, values in zip(ids, applications)],
                with_ids=self.ledger is not None, meanwhile=self._meanwhile)
        except SQLAlchemyError:
            # Unless SQLite rolled the whole transaction back itself (a full
            # disk, say): then nothing of the batch is left, and the rows past
            # those ids may already be a colleague's.
            if last is not None and connection.connection.driver_connection.in_transaction:
                for table, largest in reversed(list(zip(self.ALMA_TABLES, last))):
                    connection.exec_driver_sql(f"DELETE FROM {table} WHERE id > ?", (largest,))
            raise
        if self.ledger is not None:
            self.ledger.add_created(Client.__tablename__, ids)
            self.ledger.add_created(Application.__tablename__, application_ids)

    def _application(self, v, client_id, today):
        return {"client_id": client_id, "date": v.get("date") or today,
                "amount": v.get("amount") or Decimal(0),
                "status": v.get("status") or ProcessingStatus.IN_PROCESSING,
                "responsible_id": v.get("responsible") or self.owner,
                "comment": None}

    def _update(self, rows):
        """Through the ORM, so the history service records every change."""
        if not rows:
            return
        model = self.entity.model
        objects = {o.id: o for o in self.session.scalars(
            select(model).where(model.id.in_([r.existing_id for r in rows])))}
        applications = []
        for row in rows:
            obj = objects[row.existing_id]
            record = self._record(row.values)
            if self.entity.alma:
                record = {k: v for k, v in record.items() if k in Client.__table__.columns}
                applications.append(self._application(row.values, obj.id,
                                                       datetime.date.today()))
            if self.options.restricted:
                record.pop("responsible_id", None)
            for key, value in record.items():
                if value is not None and getattr(obj, key) != value:
                    if self.ledger is not None:
                        self.ledger.changed(model.__tablename__, obj.id, key, getattr(obj, key),
                                            value)
                    setattr(obj, key, value)
        self.session.flush()
        if self.custom is not None:
            self.custom.update(rows, objects, self.ledger)
        if applications:
            if self.ledger is not None:
                self._insert_with_ids(Application.__table__, applications)
            else:
                self.session.execute(insert(Application.__table__), applications)

    # -- the file of bad rows -----------------------------------------------------------

    def _write_error_row(self, row):
        if self.error_path is None:
            return
        if self._errors_out is None:
            self._errors_out = open(self.error_path, "w", encoding=export_codec(
                "cp1251" if self.error_encoding == "cp1251" else "utf-8"),
                errors="sdelka_substitute", newline="")
            self._error_writer = csv.writer(self._errors_out, delimiter=";",
                                            lineterminator="\r\n")
            self._error_writer.writerow(
                [str(self.options.error_label), *self.header])
        text = "; ".join(f"{label}: {message}" if str(label) else str(message)
                         for label, message in row.errors)
        self._error_writer.writerow([f"{row.line}: {text}", *row.cells])


_Earlier = collections.namedtuple("_Earlier", "line")


def _drain(ahead, batches):
    """The batches read ahead first, then the rest of the file."""
    while True:
        if ahead:
            yield ahead.popleft()
            continue
        item = next(batches, None)
        if item is None:
            return
        yield item


def _room(ahead):
    """May another batch be read ahead? At most READ_AHEAD wait (memory),
    and none after a file problem (it ends the file)."""
    return len(ahead) < READ_AHEAD and not (ahead and ahead[-1][1] is not None)


def _convert_ahead(ahead, batches):
    """Convert the next batch while PostgreSQL stores the rows sent
    (``bulk_sql.insert_rows``' ``meanwhile``), if there is ``_room``."""
    if _room(ahead):
        item = next(batches, None)
        if item is not None:
            ahead.append(item)


def _read_ahead(ahead, batches):
    """Leave the write lock free for LOCK_FREE_SECONDS, converting the next
    batches meanwhile. SQLite queues no one: a writer waiting for the lock
    looks again every 100 ms at worst, and a lock taken again at once after
    a commit would keep it waiting for the whole import. Converting takes a
    sixth of the time of writing, so the batches read ahead are those the
    next chunk writes; at most READ_AHEAD of them (memory), else it waits."""
    free_since = time.monotonic()
    while time.monotonic() - free_since < LOCK_FREE_SECONDS:
        if not _room(ahead):
            time.sleep(max(0.0, LOCK_FREE_SECONDS - (time.monotonic() - free_since)))
            return
        item = next(batches, None)
        if item is None:
            return
        ahead.append(item)


class _Chunk:
    """One transaction's share of an import: a savepoint (on SQLite it
    takes the write lock) and its roll-ups deferred to one fold. With
    ``remember``, the duplicate keys of the rows it created, for when it is
    rolled back (``Importer._forget``)."""

    def __init__(self, session, remember=False):
        self.started = time.monotonic()
        self.savepoint = session.begin_nested()
        self.stack = contextlib.ExitStack()
        self.fold = self.stack.enter_context(rollups.deferred(session.connection()))
        self.batches = 0
        self.keys = {} if remember else None

    def age(self):
        return time.monotonic() - self.started

    def written(self, importer, batch):
        self.batches += 1
        if self.batches % FOLD_BATCHES == 0:
            self.fold()
        if self.keys is None:
            return
        for key, same in importer.duplicate_keys():
            lines = self.keys.setdefault(key, {})
            for row in batch:
                value = row.values.get(key)
                if value and not row.errors and row.action == "create":
                    lines.setdefault(same(value), row.line)

    def close(self, keep):
        """Fold, then keep or roll back; the keys of its rows if rolled back."""
        self.stack.close()
        if keep:
            self.savepoint.commit()
            return {}
        self.savepoint.rollback()
        return self.keys or {}

    def fail(self):
        self.stack.__exit__(*sys.exc_info())


_collector = {"depth": 0, "threshold": None}
_collector_lock = threading.Lock()


@contextlib.contextmanager
def fewer_collections(young=50_000):
    """Python's cyclic garbage collector during an import: the objects that
    exist when it starts (the app's hundreds of thousands) are frozen out
    of its scans, and it runs after ``young`` new objects instead of 700.

    An import makes several container objects per row (cells, the row, its
    values) that live for a batch; with the defaults the collector ran every
    couple of hundred rows and rescanned the whole heap every few thousand,
    which cost as much as converting the rows. Young garbage is still
    collected, in larger steps, and everything is restored when the last
    import of the process ends (the settings are process-wide)."""
    with _collector_lock:
        if _collector["depth"] == 0:
            _collector["threshold"] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(young, _collector["threshold"][0]),
                             *_collector["threshold"][1:])
        _collector["depth"] += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector["depth"] -= 1
            if _collector["depth"] == 0:
                gc.set_threshold(*_collector["threshold"])
                gc.unfreeze()


def _chunks(values, size=500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _same_keys(records):
    """Records grouped by their key sets (one multi-row INSERT each)."""
    groups = {}
    for record in records:
        groups.setdefault(tuple(sorted(record)), []).append(record)
    return groups.values()


def _default(column):
    """The Python-side default of a column, evaluated (None if it has none)."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False) and \
            not getattr(default, "is_callable", False):
        return None
    return default.arg(None) if default.is_callable else default.arg
