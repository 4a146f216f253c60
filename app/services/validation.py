"""Checks of Russian requisites and contact data.

Each check returns the normalised value or raises ``ValidationError`` whose
message is a lazy string, so forms, imports and the API share one wording.
INN and OGRN use python-stdnum; KPP, BIK and the account control key are
not in stdnum and follow the Bank of Russia rules.
"""
import datetime
import re

import phonenumbers
from flask_babel import lazy_gettext as _l
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

# Numbers, dates and yes/no are read by services/values (one way per kind);
# these names stay for the callers of the column checks.
from app.services import values
from app.services.values import ValidationError, decimal, integer, number  # noqa: F401

_DIGITS = re.compile(r"\d+")
_KPP = re.compile(r"\d{4}[\dA-Z]{2}\d{3}")
_ACCOUNT_WEIGHTS = (7, 1, 3) * 8


def _digits_only(value, length, message):
    value = (value or "").strip().replace(" ", "")
    if not _DIGITS.fullmatch(value) or len(value) not in length:
        raise ValidationError(message)
    return value


def inn(value):
    """INN of a company (10 digits) or of a person / sole proprietor (12)."""
    value = _digits_only(value, (10, 12), _l("INN must have 10 or 12 digits"))
    try:
        return stdnum_inn.validate(value)
    except StdnumError:
        raise ValidationError(_l("INN check digit is wrong")) from None


def ogrn(value):
    """OGRN (13 digits) or OGRNIP of a sole proprietor (15)."""
    value = _digits_only(value, (13, 15), _l("OGRN must have 13 or 15 digits"))
    try:
        return stdnum_ogrn.validate(value)
    except StdnumError:
        raise ValidationError(_l("OGRN check digit is wrong")) from None


def kpp(value):
    value = (value or "").strip().upper()
    if not _KPP.fullmatch(value):
        raise ValidationError(
            _l("KPP must have 9 characters: 4 digits, 2 digits or letters, 3 digits")
        )
    return value


def bik(value):
    value = _digits_only(value, (9,), _l("BIK must have 9 digits"))
    if not value.startswith("04"):
        raise ValidationError(_l("A Russian BIK starts with 04"))
    return value


def _account_key_ok(prefix3, account):
    digits = prefix3 + account
    return sum(int(d) * w for d, w in zip(digits, _ACCOUNT_WEIGHTS)) % 10 == 0


def settlement_account(value, bik_value=None):
    """Settlement account (20 digits); with a BIK, its control key is checked."""
    value = _digits_only(value, (20,), _l("An account number must have 20 digits"))
    if bik_value and not _account_key_ok(bik_value[-3:], value):
        raise ValidationError(_l("The account does not match the bank's BIK"))
    return value


def corr_account(value, bik_value=None):
    """Correspondent account: 301… and keyed with '0' + BIK digits 5–6."""
    value = _digits_only(value, (20,), _l("An account number must have 20 digits"))
    if not value.startswith("301"):
        raise ValidationError(_l("A correspondent account starts with 301"))
    if bik_value and not _account_key_ok("0" + bik_value[4:6], value):
        raise ValidationError(_l("The account does not match the bank's BIK"))
    return value


def postcode(value):
    return _digits_only(value, (6,), _l("A postcode has 6 digits"))


def oktmo(value):
    return _digits_only(value, (8, 11), _l("OKTMO has 8 or 11 digits"))


def okved(value):
    value = (value or "").strip()
    codes = [c.strip() for c in value.split(",") if c.strip()]
    if not codes or not all(re.fullmatch(r"\d{2}(\.\d{1,2}){0,3}", c) for c in codes):
        raise ValidationError(_l("OKVED codes look like 62.01, separated by commas"))
    return ", ".join(codes)


_PHONE_NOISE = re.compile(r"[\s()\-.\u00a0]")
_ru_phone = None


def _ru_phone_pattern():
    """A Russian number written as +7…, 8… or ten digits, whose ten digits
    are of a kind phonenumbers knows (the test ``is_valid_number`` makes for
    region RU, without parsing), as one regex capturing the ten digits. The
    patterns come from phonenumbers' public metadata of the region, so they
    change with its releases as its own checks do; a test holds the two
    equal."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("RU")
    kinds = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
             "personal_number", "voip", "pager", "uan", "voicemail")
    patterns = [getattr(meta, k).national_number_pattern for k in kinds
                if getattr(meta, k, None) is not None
                and getattr(meta, k).national_number_pattern
                and 10 in (getattr(meta, k).possible_length or (10,))]
    # Only ten digits are tried: with a prefix the rest is ten digits long,
    # so a text splits one way at most, as with a separate \d{10} test.
    return re.compile(r"(?:\+7|8)?(?=\d{10}\Z)((?:" + "|".join(patterns) + "))")


def phone(value, region="RU"):
    """A phone number in E.164 (+79161234567); Russian numbers may be local.

    Imports check a hundred thousand numbers a second: a Russian number
    written as +7…, 8… or ten digits is tested against phonenumbers' own
    patterns directly; anything else takes the full parse."""
    global _ru_phone
    if region == "RU" and value:
        if _ru_phone is None:
            _ru_phone = _ru_phone_pattern()
        # Spaces are the usual separators; other noise takes the regex.
        match = _ru_phone.fullmatch(value.replace(" ", "")) or \
            _ru_phone.fullmatch(_PHONE_NOISE.sub("", value))
        if match:
            return "+7" + match.group(1)
    try:
        number = phonenumbers.parse((value or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_l("Not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("Not a valid phone number"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- values of any column: forms, the API and imports alike -------------------------

# C0 control characters but tab, line feed and carriage return (a text area
# sends CRLF), DEL, and lone surrogates (JSON may carry "\ud800"; no
# database encodes one). PostgreSQL cannot store NUL at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
INTEGER_RANGES = {"SmallInteger": 2 ** 15 - 1, "Integer": 2 ** 31 - 1,
                  "BigInteger": 2 ** 63 - 1}


def text(value, max_length=None):
    """A text value: no control characters but tab and line breaks, at most
    ``max_length`` characters (a column String(n) holds n)."""
    if not isinstance(value, str):
        raise ValidationError(_l("Enter text"))
    if _CONTROL.search(value):
        raise ValidationError(_l("The text contains control characters (such as a zero "
                                 "byte) that cannot be saved"))
    if max_length is not None and len(value) > max_length:
        raise ValidationError(_l("At most %(n)d characters (now %(count)d)", n=max_length,
                                 count=len(value)))
    return value


def email(value):
    """An e-mail address checked by email-validator (syntax only, no DNS);
    stored in its normal form (the domain in lower case)."""
    from email_validator import EmailNotValidError, validate_email

    value = text(value).strip()
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError(_l("Not an e-mail address")) from None


def stored_date(value):
    """A date column's value: a date stays one; text, Russian or ISO, is
    read by ``values.date`` and given back in ISO form, which the API's
    schema (marshmallow) reads next."""
    if isinstance(value, datetime.date):
        return values.date(value)
    return values.date(value).isoformat()


def stored_datetime(value):
    """A date-and-time column's value (forms: local time already read by
    their field; the API: UTC as sent). Text, «04.12.2026 11:00» or ISO, is
    given back in ISO form; ISO with a zone («…Z», «…+03:00») as the same
    moment in UTC, the API's time."""
    if isinstance(value, datetime.datetime):
        return value
    try:
        return values.datetime_local(value).isoformat()
    except ValidationError:
        if isinstance(value, str) and len(value) < 60:
            try:
                moment = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return (moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                        .isoformat())
        raise


def column_checks(column, name=None):
    """The checks of a value for a table column, by its type (and by its
    name: a column ``email`` holds an e-mail address): each takes a value
    and returns its normal form or raises ValidationError. Forms
    (views/fields.py) and the API (views/api/fields.py) apply the same."""
    from sqlalchemy import Date, DateTime, Enum, Float, Integer, Numeric, String

    kind = column.type
    if isinstance(kind, Enum):
        return []
    if isinstance(kind, DateTime):
        return [stored_datetime]
    if isinstance(kind, Date):
        return [stored_date]
    if isinstance(kind, String):  # String(n) and Text
        checks = [lambda value, n=kind.length: text(value, n)]
        if (name or column.key) == "email":
            checks.append(email)
        return checks
    if isinstance(kind, Float):
        return [lambda value: float(number(value))]
    if isinstance(kind, Numeric):
        return [lambda value, p=kind.precision, s=kind.scale: decimal(value, p, s)]
    if isinstance(kind, Integer):
        top = next((v for cls in type(kind).__mro__
                    for k, v in INTEGER_RANGES.items() if cls.__name__ == k), 2 ** 31 - 1)
        return [lambda value, top=top: integer(value, -top - 1, top)]
    return []
