"""CSV that Excel opens correctly in Russian: ';' between fields, dates as
ДД.ММ.ГГГГ, money with a decimal comma, UTF-8 with a BOM or cp1251, and
text cells that a spreadsheet would run as a formula neutralised."""
import csv
import datetime
import io
from decimal import Decimal

ENCODINGS = {"utf-8": "utf-8-sig", "cp1251": "cp1251"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """One value as the text of a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    # A leading apostrophe makes Excel and LibreOffice treat it as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header, rows, encoding="utf-8"):
    """Bytes of a whole CSV file; ``encoding`` is "utf-8" or "cp1251"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue().encode(ENCODINGS.get(encoding, "utf-8-sig"), errors="replace")
