"""CSV that Excel opens correctly in Russian: ';' between fields, dates as
ДД.ММ.ГГГГ, money with a decimal comma, UTF-8 with a BOM or cp1251, text
a spreadsheet would turn into a number (phones, INNs, account numbers) kept
as text, and text cells that a spreadsheet would run as a formula
neutralised (``cell``; ``from_cell`` reads them back for the import).

``to_csv`` builds a small file in memory; ``stream_csv`` yields a file of
any size in chunks, so an export of a million rows never holds them all."""
import codecs
import csv
import datetime
import io
import re
import unicodedata
from decimal import Decimal

from app.services import values

ENCODINGS = {"utf-8": "utf-8-sig", "cp1251": "cp1251"}
# A text starting so is a formula to Excel (LibreOffice: "=" only) unless
# it is a plain signed number; OWASP's list of CSV injection starts.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# «-150,00», «-300 000,00», «+5»: a signed number, which no spreadsheet runs.
_SIGNED_NUMBER = re.compile(r"[+-](?:[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)"
                            r"(?:[.,][0-9]+)?")
# Digits (a phone, an INN, an account number, «+7 (916) 197-90-05»): opened
# from a CSV they would become a number, losing leading zeros, the «+» and
# digits past the 15th, or (Excel, «+7-916-…») a sum; written ="…", a
# formula whose value is the text itself, up to 255 characters (the
# longest text Excel takes inside a formula).
_AS_TEXT = re.compile(r"\+?[0-9][0-9 \u00a0()\-]*")
_as_text = _AS_TEXT.fullmatch
_signed_number = _SIGNED_NUMBER.fullmatch
_SPECIAL_FIRST = frozenset("=+-@\t\r'0123456789")
_DIGIT_OR_PLUS = frozenset("+0123456789")
# Characters cp1251 lacks, written the way a Russian reader expects.
_CP1251_SUBSTITUTES = {"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-",
                       "\u2044": "/", "\u2032": "'", "\u2033": '"', "\u20bd": "руб.",
                       "\u2009": " ", "\u202f": " ", "\u2007": " "}


def _substitute(error):
    """Codec error handler: an unencodable character becomes its nearest
    encodable form (ё stays ё, "é" becomes "e", "₽" becomes "руб."), or "?"."""
    out = []
    for char in error.object[error.start:error.end]:
        text = _CP1251_SUBSTITUTES.get(char)
        if text is None:
            decomposed = unicodedata.normalize("NFKD", char)
            text = "".join(c for c in decomposed if not unicodedata.combining(c))
            try:
                text.encode(error.encoding)
            except (UnicodeEncodeError, LookupError):
                text = "?"
            text = text or "?"
        out.append(text)
    return "".join(out), error.end


codecs.register_error("sdelka_substitute", _substitute)


def codec(encoding):
    """The Python codec of an export encoding choice ("utf-8" or "cp1251")."""
    return ENCODINGS.get(encoding, "utf-8-sig")


def _text(value):
    """A text cell as a spreadsheet reads it back: digits as ="…" (text,
    not a number); a leading apostrophe (shown, never run) before a text a
    spreadsheet would run as a formula and before a text that starts with
    apostrophes and such a start, so ``from_cell`` takes off exactly one.
    ``value`` starts with one of ``_SPECIAL_FIRST``; branches by the first
    character (an export calls this for every phone, INN and date-time)."""
    first = value[0]
    if first in _DIGIT_OR_PLUS:
        digits = value[1:] if first == "+" else value
        if len(value) <= 255 and (digits.isdigit() and digits.isascii() or _as_text(value)):
            return '="' + value + '"'
        if first != "+":
            return value  # «1234,50», «15.01.2026 11:00»: a number, a date
    elif first == "'":
        return "'" + value if value.lstrip("'")[:1] in _FORMULA_START else value
    if first in "+-" and _signed_number(value):
        return value
    return "'" + value


def from_cell(text):
    """The text ``cell`` wrote as ``text``: the import's inverse of the
    formula guard and of ="…", exact for every text. A file a spreadsheet
    saved has the texts themselves; a file of an older version (an
    apostrophe before every «+» and «-», phones included) reads as it
    meant."""
    first = text[:1]
    if first == "'":
        if text.lstrip("'")[:1] in _FORMULA_START:
            return text[1:]
    elif first == "=" and text.startswith('="') and text.endswith('"') and \
            _as_text(text, 2, len(text) - 1):
        return text[2:-1]
    return text


def cell(value):
    """One value as the text of a cell."""
    if value is None:
        return ""
    if type(value) is str:  # most cells: plain text, checked by its first character
        return _text(value) if value and value[0] in _SPECIAL_FIRST else value
    if isinstance(value, bool):
        return values.yes_no_text(value)
    if isinstance(value, Decimal):
        return values.plain_number(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return values.date_text(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return _text(text) if text and text[0] in _SPECIAL_FIRST else text


def to_csv(header, rows, encoding="utf-8"):
    """Bytes of a whole CSV file; ``encoding`` is "utf-8" or "cp1251"."""
    return b"".join(stream_csv(header, rows, encoding))


def stream_csv(header, rows, encoding="utf-8", chunk_rows=500):
    """The file as chunks of bytes: the header, then every ``chunk_rows``
    rows. ``rows`` may be a generator; only one chunk is held at a time."""
    encoder = codecs.getincrementalencoder(codec(encoding))(errors="sdelka_substitute")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush():
        data = encoder.encode(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow([cell(h) for h in header])
    yield flush()
    pending = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        pending += 1
        if pending >= chunk_rows:
            yield flush()
            pending = 0
    if pending:
        yield flush()
