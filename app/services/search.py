"""Search as people search: any part of a client's name,
a phone typed in any format, an INN or an e-mail; upper or lower case, ё or
е alike.

Each client keeps its words in ``client.search``, written by the app on
every insert and update (mapper events below; the bulk import writes it
with the row): lower case, ё as е, phones as their digits (8… as 7…).
An index finds any part of it: a trigram GIN index on PostgreSQL
(pg_trgm), an FTS5 trigram table ``client_search`` on SQLite, kept by
triggers (migration 0018). A term shorter than a trigram is a plain
LIKE: it matches so many rows that walking the list's order finds a page
at once. On PostgreSQL each register row keeps a copy of its client's
text with an index of its own (CLIENT_WORDS, migration 0036)."""
import re

from sqlalchemy import (
    Text,
    and_,
    any_,
    bindparam,
    event,
    func,
    literal_column,
    or_,
    select,
    table,
    update,
)

from app.models import Client

_NON_DIGIT = re.compile(r"\D")
# What someone typing a phone number types.
_PHONE_LIKE = re.compile(r"^[\d\s()+\-.]+$")
TRIGRAM = 3
# Digits of a whole phone number without the country code.
WHOLE_PHONE = 10
MAX_TERM = 100
# The largest id an INTEGER key holds: a bigger number is simply not found.
MAX_ID = 2**31 - 1
FTS_TABLE = "client_search"
# A register's own words the quick search looks in, besides its number and
# its client's, by table; indexed by migration 0019 (an FTS5 table
# ``<table>_words`` on SQLite, trigram indexes on PostgreSQL).
WORDS = {
    "contact_person": ("name", "phone", "email"),
    "lead": ("title", "contact_name", "phone", "email"),
    "deal": ("title",),
    "note": ("text",),
    "project": ("name",),
    "counterparty_action": ("result",),
    "invoice": ("number",),
    "invoice_line": ("description",),
}
WORDS_SUFFIX = "words"
# PostgreSQL: the registers whose rows keep their client's search text in
# CLIENT_WORDS, with a trigram index, kept by triggers (migration 0036).
CLIENT_WORDS = "client_search"
CLIENT_WORDS_TABLES = ("act", "application", "contact_person", "counterparty_action", "deal",
                       "invoice", "lead", "note", "project", "task", "upd")


def fold(value):
    """Lower case, ё as е, single spaces. (str.replace, not str.translate:
    four times faster, and an import folds two values per row.)"""
    return " ".join(str(value or "").lower().replace("ё", "е").split())


def phone_digits(value):
    text = str(value or "")
    # A number as stored (+79161234567) needs no pattern: an import makes
    # the search text of every row.
    digits = text[1:] if text[:1] == "+" and text[1:].isascii() and text[1:].isdigit() \
        else _NON_DIGIT.sub("", text)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    return digits


def client_words(values):
    """The search text of a client: ``values`` maps (or an object has)
    name, e-mail, INN and phones."""
    get = values.get if isinstance(values, dict) else (lambda k: getattr(values, k, None))
    parts = []
    for key, form in CLIENT_WORD_FORMS:
        value = get(key)
        if value:
            value = form(value)
            if value:
                parts.append(value)
    return " ".join(parts)


# What a client's search text is made of, in its order.
CLIENT_WORD_FORMS = (("name", fold), ("email", fold), ("inn", str.strip),
                     ("phone", phone_digits), ("phone2", phone_digits))


def terms(typed):
    """The forms of what was typed to look for: its folded text, and the
    digits of a phone number (8… also as 7…)."""
    typed = str(typed or "").strip()[:MAX_TERM]
    found = [fold(typed)] if fold(typed) else []
    if _PHONE_LIKE.match(typed):
        digits = _NON_DIGIT.sub("", typed)
        if len(digits) >= WHOLE_PHONE and digits != typed:
            # A whole number written with separators is a phone: looked for
            # as phones are kept. No name or e-mail holds it so written, and
            # each form more is a look-up more in the index (22 against
            # 6 ms for «8 (941) 712-12-36» at a million clients).
            return [phone_digits(digits)]
        for form in (digits, phone_digits(digits),
                     "7" + digits[1:] if digits[:1] == "8" and len(digits) > 3 else ""):
            if len(form) >= TRIGRAM and form not in found:
                found.append(form)
    return found


def _fts_phrase(term):
    return '"' + term.replace('"', '""') + '"'


def _fts_ids(fts, term):
    """SELECT of the rowids the FTS5 table ``fts`` finds ``term`` in: its
    trigram index, never a scan."""
    return (select(literal_column("rowid")).select_from(table(fts))
            .where(literal_column(fts).op("MATCH")(_fts_phrase(term))))


def _holds(key, term, dialect):
    """``key`` (a client id column: a client's own, a record's client_id)
    is a client whose search text holds ``term``. Tested straight on the
    ids the index gives: going through the client table as well reads each
    matching client's row (15 ms against 3.5 ms for 7 700 matches at a
    million clients), and on PostgreSQL a client list's own ``id IN
    (SELECT …)`` keeps the planner from combining the trigram index with
    the record number typed (``OR id = …``): 1.3 s instead of an index."""
    if dialect == "sqlite" and len(term) >= TRIGRAM:
        return key.in_(_fts_ids(FTS_TABLE, term))
    held = _within(Client.search, term, dialect)
    if key is Client.id:
        return held
    if dialect == "postgresql" and key.table.name in CLIENT_WORDS_TABLES:
        # The register's own copy of its clients' words: its index gives
        # the rows at once (1.3 ms for «ригор» in 100 000 applications at a
        # million clients, against 28 ms through the 15 000 matching
        # clients' rows and a probe each).
        return _within(client_words_column(key.table.name), term, dialect)
    ids = select(Client.id).where(held)
    if dialect == "postgresql" and len(term) >= TRIGRAM:
        # = ANY(ARRAY(…)): the few ids the index finds first, once, then
        # the records by the index on client_id (combined with the index
        # of their own words). As IN (…), the planner, sure that half the
        # rows pass a manager's access test, walks a list's sort index
        # through 84 000 applications to find 25 (0.8 s against 35 ms). A
        # short term matches too many clients to search an array per row.
        return key == any_(func.array(ids.scalar_subquery()))
    return key.in_(ids)


def _within(column, term, dialect):
    """``column``'s folded text holds ``term``: as LIKE '%term%' for the
    trigram index; a term too short for it is tested row by row, and
    strpos (instr) finds it as written: PostgreSQL's LIKE matches a
    Cyrillic pattern two to three times slower (12 against 5.5 ms for
    20 000 clients); on SQLite both cost the same."""
    if len(term) >= TRIGRAM:
        return column.contains(term, autoescape=True)
    return (func.strpos if dialect == "postgresql" else func.instr)(column, term) > 0


def client_words_column(table_name):
    """The copy of the client's search text on a register's row (PostgreSQL
    only, not mapped: SQLite has no such column)."""
    return literal_column(f"{table_name}.{CLIENT_WORDS}", Text)


def copies_client_words(connection):
    """Do the registers' rows keep their client's search text here? Bulk
    writers then give it with the row (the triggers would look it up)."""
    return connection.dialect.name == "postgresql"


def client_condition(key, typed, dialect):
    """SQL condition: ``key`` is a client matching what was typed (None:
    nothing typed)."""
    found = terms(typed)
    if not found:
        return None
    return or_(*(_holds(key, term, dialect) for term in found))


# What fold() makes a single space of, as one character of a GLOB class.
_SPACES = " \t\n\r\u00a0"


def _glob_class(char):
    """The GLOB pattern of one character of a folded term: every character
    that fold() turns into it (both cases; ё for е; a space of any kind)."""
    if char == " ":
        variants = set(_SPACES)
    else:
        variants = {char} | {form for form in (char.upper(), char.title()) if len(form) == 1}
        if char == "е":
            variants |= {"ё", "Ё"}
    if len(variants) == 1 and char not in "*?[":
        return char
    # In a class "]" is literal first, "*", "?" and "[" anywhere.
    return "[" + "".join(sorted(variants, key=lambda c: (c != "]", c))) + "]"


def glob_pattern(term, prefix=False):
    """A GLOB pattern that matches the text whose fold() holds (``prefix``:
    begins with) the folded ``term`` (runs of spaces aside: one is one)."""
    return ("" if prefix else "*") + "".join(_glob_class(char) for char in term) + "*"


def _folded(column):
    """fold() of a column in PostgreSQL (its lower() knows Cyrillic), as the
    trigram indexes of migration 0019 take it."""
    return func.replace(func.lower(column), literal_column("'ё'"), literal_column("'е'"))


def name_condition(typed, dialect, prefix=False):
    """SQL condition: clients whose name holds (``prefix``: begins with)
    what was typed, in any case, ё as е; None when nothing was typed.

    The search text begins with the folded name, so a term of a trigram or
    more takes its candidates from the client index, and the name itself
    is then tested. The list's «Наименование» filters were FAB's ILIKE: on
    PostgreSQL it read every client (140 ms at 100 000 under load), and on
    SQLite its lower() knows no Cyrillic."""
    term = fold(typed)[:MAX_TERM]
    if not term:
        return None
    if dialect == "sqlite":
        exact = Client.name.op("GLOB")(glob_pattern(term, prefix))
    elif prefix:
        exact = _folded(Client.name).startswith(term, autoescape=True)
    else:
        exact = _within(_folded(Client.name), term, dialect)
    if len(term) < TRIGRAM:
        return exact  # too short for an index: it finds many at once
    if prefix and dialect == "postgresql":
        # The trigram index takes a beginning too, and finds fewer so.
        return and_(Client.search.startswith(term, autoescape=True), exact)
    return and_(_holds(Client.id, term, dialect), exact)


def words_condition(model, typed, dialect):
    """Records of ``model`` whose own words (WORDS) hold what was typed,
    in any case, ё as е; None when it has none or nothing was typed."""
    columns = WORDS.get(model.__tablename__, ())
    term = fold(typed)[:MAX_TERM]
    if not columns or not term:
        return None
    if dialect == "sqlite" and len(term) >= TRIGRAM:
        # The register's FTS5 table (migration 0019): its trigram tokenizer
        # folds the case, its triggers wrote ё as е.
        return model.id.in_(_fts_ids(f"{model.__tablename__}_{WORDS_SUFFIX}", term))
    if dialect == "sqlite":
        # Too short for a trigram: each row tested. SQLite's lower() knows
        # only ASCII; GLOB with a class per letter runs in SQLite itself
        # (a Python fold() per row costs 0.4 µs a row).
        return or_(*(getattr(model, c).op("GLOB")(glob_pattern(term)) for c in columns))
    # The expression of the trigram indexes of migration 0019, literally.
    return or_(*(_within(_folded(getattr(model, c)), term, dialect) for c in columns))


def number_of(typed):
    """The record number someone typed («№ 12», «#12», «12»), or None."""
    number = str(typed or "").strip().lstrip("№#").strip()
    return int(number) if number.isdigit() and int(number) <= MAX_ID else None


def record_condition(model, typed, dialect):
    """SQL condition: rows of ``model`` whose client (a client: itself) or
    whose own words hold what was typed, or the row of the number typed;
    None when nothing was typed."""
    key = model.id if model is Client else getattr(model, "client_id", None)
    conditions = [] if key is None else [client_condition(key, typed, dialect)]
    conditions.append(words_condition(model, typed, dialect))
    number = number_of(typed)
    if number is not None:
        conditions.append(model.id == number)
    conditions = [condition for condition in conditions if condition is not None]
    return or_(*conditions) if conditions else None


def indexed(typed):
    """Does every form of what was typed reach the client index (a trigram)?"""
    found = terms(typed)
    return bool(found) and all(len(term) >= TRIGRAM for term in found)


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _keep_words(mapper, connection, client):
    client.search = client_words(client)


# The columns client_words() reads: a bulk write of one of them must write
# the search text again (rewrite()).
WORDS_OF_CLIENT = ("name", "email", "inn", "phone", "phone2")


def fill(connection, batch=20_000):
    """Write the search text of every client without one (rows written
    before migration 0018, or straight to the database): in batches by id.
    Returns how many it wrote."""
    return _write_words(connection, Client.search.is_(None), batch)


def rewrite(connection, ids, batch=20_000):
    """Write the search text of these clients again: a bulk write of their
    WORDS_OF_CLIENT (an undone import) passes by the mapper events."""
    ids = sorted(set(ids))
    return sum(_write_words(connection, Client.id.in_(ids[start:start + batch]), batch)
               for start in range(0, len(ids), batch))


def _write_words(connection, condition, batch):
    last = written = 0
    while True:
        rows = connection.execute(
            select(Client.id, *(getattr(Client, c) for c in WORDS_OF_CLIENT))
            .where(Client.id > last, condition)
            .order_by(Client.id).limit(batch)).mappings().all()
        if not rows:
            return written
        connection.execute(update(Client.__table__).where(
            Client.__table__.c.id == bindparam("row_id")).values(search=bindparam("words")),
            [{"row_id": r["id"], "words": client_words(dict(r))} for r in rows])
        last = rows[-1]["id"]
        written += len(rows)
