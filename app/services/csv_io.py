"""CSV that Excel opens correctly in Russian: ';' between fields, dates as
ДД.ММ.ГГГГ, money with a decimal comma, UTF-8 with a BOM or cp1251, and
text cells that a spreadsheet would run as a formula neutralised.

``to_csv`` builds a small file in memory; ``stream_csv`` yields a file of
any size in chunks, so an export of a million rows never holds them all."""
import codecs
import csv
import datetime
import io
import unicodedata
from decimal import Decimal

from app.services import values

ENCODINGS = {"utf-8": "utf-8-sig", "cp1251": "cp1251"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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


def cell(value):
    """One value as the text of a cell."""
    if value is None:
        return ""
    if type(value) is str:  # most cells: the formula guard alone
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, bool):
        return values.yes_no_text(value)
    if isinstance(value, Decimal):
        return values.plain_number(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return values.date_text(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    # A leading apostrophe makes Excel and LibreOffice treat it as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


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
