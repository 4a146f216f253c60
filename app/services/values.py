"""Values as people in a Russian office type and read them: one place that
parses and formats dates, dates with a time, amounts, numbers and yes/no
for the forms, the REST API, CSV import and export, printed documents,
custom fields and the loan calculator (ARCHITECTURE, "Values").

Reading (``date``, ``datetime_local``, ``number``, ``decimal``, ``integer``,
``yes_no``) accepts what a person types — «20.05.2005», «4.12.26»,
«04.12.2026 11:00», «300 000,00» (groups split by a space, a no-break or a
thin space), «14,5», «да» — and ISO forms as well («2005-05-20»,
«2026-12-04T11:00», «14.5»), and raises ``ValidationError`` with a
translatable message for anything else. It never guesses: a number takes
ASCII digits only (no «٣٠٠», «1e10», «Infinity»), a date exists and falls
in 1900–2100.

Writing (``date_text``, ``datetime_text``, ``money``, ``number_text``,
``plain_number``, ``yes_no_text``, ``date_long``) gives the Russian forms:
«20.05.2005», «04.12.2026 11:00», «300 000,00» (no-break spaces), «14,5»,
«да» / «нет», «23 ноября 2026 г.». The symbols and month names come from
Babel's Russian locale; the hot paths (CSV export of a million rows, list
pages) format with str.format, which Babel's per-call pattern parsing would
make ten times dearer.

Phones and e-mail addresses are checked in ``validation`` (phonenumbers,
email-validator). No Flask request here; times crossing to the office's
zone go through ``localtime``.
"""
import datetime
import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from babel import Locale
from flask_babel import lazy_gettext as _l

from app.services.errors import Refused

LOCALE = Locale.parse("ru")
GROUP = LOCALE.number_symbols["latn"]["group"]  # U+00A0 no-break space
POINT = LOCALE.number_symbols["latn"]["decimal"]  # ","
MONTHS = tuple(LOCALE.months["format"]["wide"][m] for m in range(1, 13))  # "января", …
DATE_FORMAT = "ДД.ММ.ГГГГ"
DATETIME_FORMAT = "ДД.ММ.ГГГГ ЧЧ:ММ"
FIRST_YEAR, LAST_YEAR = 1900, 2100
# Fixed, so that a caller's decimal context cannot change a rounding.
_CTX = Context(prec=60, rounding=ROUND_HALF_UP)
KOPECK = Decimal("0.01")


class ValidationError(Refused, ValueError):
    """A value that cannot be read (``message``; ``field`` where the reader
    knows it). A ValueError as well, as Python's own parsers raise: callers
    catch both in one clause."""


# --- dates and times -------------------------------------------------------------

# Day first as Russians write it (separators . / -, a year of 4 or 2 digits),
# or ISO year first. Only ASCII digits.
_DAY_FIRST = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})", re.ASCII)
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
# A time after the date: a space, a comma or ISO's "T"; seconds and their
# fraction are optional (the API sends them).
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?", re.ASCII)
_DATE_CLOCK = re.compile(r"(?P<day>[^\sT,]+)(?:(?:\s*,\s*|\s+|T)(?P<clock>\S+))?")


def _day(text):
    """A date from its text, or None."""
    match = _DAY_FIRST.fullmatch(text)
    if match:
        day, month, year = int(match[1]), int(match[3]), int(match[4])
        if len(match[4]) == 2:
            year += 2000 if year < 50 else 1900
    else:
        match = _ISO_DAY.fullmatch(text)
        if not match:
            return None
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def date(value):
    """A date from a date (a datetime's date) or from text: «20.05.2005»,
    «5.1.2026», «20/05/2005», «20.05.05» (years 00–49 are 2000s), ISO
    «2005-05-20». Raises ValidationError."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    found = _day(value.strip()) if isinstance(value, str) and len(value) < 40 else None
    if found is None:
        raise ValidationError(_l("Enter a date as ДД.ММ.ГГГГ, for example 20.05.2025"))
    return found


def datetime_local(value):
    """A date and time as typed (naive, in whatever zone the caller means —
    the office's on screens, UTC in the API): «04.12.2026 11:00»,
    «4.12.2026 9:05:30», ISO «2026-12-04 11:00» or «2026-12-04T11:00:00»;
    a date alone is its midnight. Raises ValidationError."""
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    result = None
    if isinstance(value, str) and len(value) < 60:
        match = _DATE_CLOCK.fullmatch(value.strip())
        day = _day(match["day"]) if match else None
        if day is not None and not match["clock"]:
            result = datetime.datetime.combine(day, datetime.time())
        elif day is not None:
            clock = _CLOCK.fullmatch(match["clock"])
            if clock and int(clock[1]) < 24 and int(clock[2]) < 60 \
                    and int(clock[3] or 0) < 60:
                result = datetime.datetime(day.year, day.month, day.day, int(clock[1]),
                                           int(clock[2]), int(clock[3] or 0))
    if result is None:
        raise ValidationError(_l("Enter a date and time as ДД.ММ.ГГГГ ЧЧ:ММ, for example "
                                 "04.12.2026 11:00"))
    return result


def date_text(value):
    """«20.05.2005»; None -> ""."""
    if value is None:
        return ""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def datetime_text(value, seconds=False):
    """«04.12.2026 11:00» of a naive time as it is (convert to the office's
    zone first: ``localtime.to_local``); None -> ""."""
    if value is None:
        return ""
    text = f"{date_text(value)} {value.hour:02d}:{value.minute:02d}"
    return f"{text}:{value.second:02d}" if seconds else text


def date_long(value):
    """«23 ноября 2026 г.» (month names from Babel's Russian locale)."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year} г."


def month_text(value):
    """«11.2026»."""
    return "" if value is None else f"{value.month:02d}.{value.year:04d}"


# --- numbers and amounts ---------------------------------------------------------

# A number as people type it: ASCII digits only (Decimal() and int() take
# Arabic-Indic and other Unicode digits too), groups of thousands split by
# spaces, a comma or a point before the fraction, no exponent.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?: \d{3})+|\d+)(?:[.,]\d+)?|[+-]?[.,]\d+", re.ASCII)
# Spaces that split groups: space, no-break, narrow no-break, thin, figure.
SPACES = " \u00a0\u202f\u2009\u2007"
_SPACE_RUN = re.compile(f"[{SPACES}]")
# What a spreadsheet leaves in a cell besides: apostrophes between groups,
# a currency after the amount, thousands commas or points of other locales.
_CELL_NOISE = re.compile(f"[{SPACES}'’]")
_CURRENCY = re.compile(r"(?:руб\.?|р\.|₽|rub)$", re.I)
_CELL_NUMBER = re.compile(r"[+-]?(?:\d+|\d{1,3}([.,])\d{3}(?:\1\d{3})*)(?:[.,]\d+)?", re.ASCII)


def _not_a_number():
    return ValidationError(_l("Enter a number with digits 0-9, for example 300 000,00 or 14,5"))


def number(value):
    """A finite Decimal from a number or from typed text: «300 000,00»,
    «300 000,00» with no-break or thin spaces, «14,5», «14.5», «-5», «,5».
    Refuses exponents («1e10»), «Infinity», «NaN», digits other than 0-9 and
    text with both a comma and a point («1,000.50»: which is the fraction?)."""
    if isinstance(value, bool):
        raise ValidationError(_l("Enter a number"))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(_l("Enter a number"))
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(_l("Enter a number"))
        return value
    if not isinstance(value, str):
        raise ValidationError(_l("Enter a number"))
    cleaned = _SPACE_RUN.sub(" ", value.strip())
    if len(cleaned) > 100 or not _NUMBER.fullmatch(cleaned):
        raise _not_a_number()
    return Decimal(cleaned.replace(" ", "").replace(",", "."))


def number_in_cell(text):
    """A number in a spreadsheet's cell: what ``number`` reads, and also
    «10 000 руб.», «7₽», «1'234», «1,234,567.50» and «1.234.567,50» (the last
    separator is the fraction's when both appear or when it is followed by
    other than three digits)."""
    if text.isascii() and text.isdigit():  # the usual cell; not "²"
        return Decimal(text)
    value = _CURRENCY.sub("", _CELL_NOISE.sub("", text.strip()))
    if len(value) > 100 or not _CELL_NUMBER.fullmatch(value):
        try:
            return number(text)  # «,5», «14,50» and the like; its message
        except ValidationError:
            raise _not_a_number() from None
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif value.count(",") > 1 or value.count(".") > 1:
        value = value.replace(",", "").replace(".", "") if value.count(".") > 1 \
            else value.replace(",", "")
    else:
        value = value.replace(",", ".")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise _not_a_number() from None


def decimal(value, precision, scale):
    """A number as a column Numeric(precision, scale) holds it: rounded half
    up to ``scale`` places (kopecks of an amount, as invoices round), with
    at most ``precision - scale`` digits before the point."""
    result = number(value)
    scale = scale or 0
    digits = (precision or 0) - scale
    limit = Decimal(10) ** digits if precision else None
    if limit is None or abs(result) < limit:
        with localcontext() as context:
            context.prec = 200
            result = result.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if limit is not None and abs(result) >= limit:
        raise ValidationError(_l("The number is too large: at most %(n)d digits before "
                                 "the decimal point", n=digits))
    return result


def integer(value, minimum=None, maximum=None):
    """A whole number, within [minimum, maximum] when given."""
    try:
        result = number(value)
    except ValidationError:
        raise ValidationError(_l("Enter a whole number with digits 0-9")) from None
    if result != result.to_integral_value():
        raise ValidationError(_l("Enter a whole number"))
    result = int(result)
    if (minimum is not None and result < minimum) or (maximum is not None
                                                      and result > maximum):
        raise ValidationError(_l("The number must be from %(min)s to %(max)s",
                                 min=minimum, max=maximum))
    return result


def kopecks(value):
    """An amount rounded half up to kopecks."""
    return number(value).quantize(KOPECK, rounding=ROUND_HALF_UP, context=_CTX)


def money(value):
    """«1 234 567,50»: two decimals rounded half up, thousands split by
    no-break spaces (Babel's Russian group symbol); None -> ""."""
    if value is None:
        return ""
    return f"{kopecks(value):,.2f}".replace(",", GROUP).replace(".", POINT)


def decimal_text(value):
    """«300 000,00», «14,500»: a Decimal with the places it has (a column's
    scale), thousands grouped; None -> ""."""
    if value is None:
        return ""
    return format(number(value), ",f").replace(",", GROUP).replace(".", POINT)


def number_text(value, places=None, grouped=False):
    """«14,5», «15,9»: a number without trailing zeros (``places`` fixes the
    decimals instead), thousands grouped when asked; None -> ""."""
    if value is None:
        return ""
    value = number(value)
    if places is None:
        # normalize() alone writes 10 as 1E+1.
        text = format(value.normalize(context=_CTX), ",f" if grouped else "f")
    else:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP,
                               context=_CTX)
        text = format(value, f"{',' if grouped else ''}.{places}f")
    return text.replace(",", GROUP).replace(".", POINT) if grouped else text.replace(".", POINT)


def plain_number(value, places=2):
    """«300000,00»: a decimal comma and no groups, as a spreadsheet reads a
    number from a CSV cell."""
    return f"{value:.{places}f}".replace(".", POINT)


# --- yes / no --------------------------------------------------------------------

YES = frozenset(("да", "д", "yes", "y", "true", "1", "истина", "+", "x", "on"))
NO = frozenset(("нет", "н", "no", "n", "false", "0", "ложь", "-", "off"))


def yes_no(value):
    """True or False from a bool or a word: «да»/«нет», yes/no, 1/0, +/-."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValidationError(_l("Enter «да» or «нет»"))


def yes_no_text(value):
    """«да» / «нет»; None -> ""."""
    return "" if value is None else ("да" if value else "нет")
