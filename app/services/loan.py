"""Loan repayment schedules: annuity and differentiated, in roubles and kopecks.

Pure standard library so it can be tested and reused without the app, but
for reading typed inputs, which services/values does for every screen, and
the messages of its refusals, lazy-translated.
Money is ``Decimal`` quantized to 0.01 (ROUND_HALF_UP). Internally the
schedule is computed in integer kopecks with exact rational rounding, so no
result depends on the caller's decimal context or on a precision limit.
"""
import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import Enum

from flask_babel import lazy_gettext as _l

from app.services import values
from app.services.values import ValidationError

MAX_AMOUNT = Decimal(10**12)
MAX_RATE = Decimal(100)
MAX_MONTHS = 600
# Caps the size of the exact (1 + r)^n arithmetic; banks quote at most 3-4.
MAX_RATE_PLACES = 6

# Only converts exact kopeck integers to Decimal; fixed so that a changed
# global context (precision, traps) cannot alter results.
_CTX = Context(prec=40, rounding=ROUND_HALF_UP)


class LoanKind(str, Enum):
    ANNUITY = "annuity"
    DIFFERENTIATED = "differentiated"


class InterestBasis(str, Enum):
    MONTHLY = "monthly"  # balance * rate / 12 per month
    ACTUAL = "actual"  # balance * rate * days / 365 per period


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    date: date
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal  # after this payment


@dataclass(frozen=True)
class Schedule:
    rows: tuple
    monthly_payment: Decimal  # annuity: the regular payment; differentiated: the first
    total_payment: Decimal
    total_interest: Decimal  # the overpayment
    total_principal: Decimal


def parse_decimal(text, field="amount"):
    """Parse user input like '100 000,50', '100000.50' or '1 000' to Decimal.

    Regular, non-breaking and thin spaces are digit-group separators and a
    comma is the decimal separator. Raises ``values.ValidationError`` at ``field``.
    """
    if isinstance(text, Decimal):
        return text
    if text is None or not str(text).strip():
        raise ValidationError(_l("A value is required."), field)
    try:
        return values.number(str(text))
    except ValidationError:
        raise ValidationError(_l("Not a valid number."), field) from None


def compute_schedule(
    amount,
    annual_rate_percent,
    months,
    first_payment_date,
    kind="annuity",
    interest_basis="monthly",
):
    """Build the repayment schedule of a loan.

    ``amount`` and ``annual_rate_percent`` are Decimal (or int); the rate is
    0..100 inclusive. ``interest_basis`` "monthly" charges balance * rate / 12
    each month; "actual" charges balance * rate * days / 365 for the days since
    the previous payment (a month before the first payment for row 1); a
    365-day year is used even in leap years.

    The annuity payment is the one that repays the loan exactly under the
    chosen basis: P * r / (1 - (1 + r)^-n) with r = rate / 1200 for "monthly",
    and its generalisation to unequal periods for "actual". Payments fall on
    the day of month of ``first_payment_date``, clamped to short months. The
    last row repays the whole remaining balance, so the principal sums to
    ``amount`` exactly and the balance ends at 0.00.
    """
    amount_k = _amount_kopecks(amount)
    rate_num, rate_den = _rate_ratio(annual_rate_percent)
    _check_months(months)
    kind = _enum(LoanKind, kind, "kind", _l("Unknown repayment kind."))
    basis = _enum(InterestBasis, interest_basis, "interest_basis", _l("Unknown interest basis."))
    dates, previous = _payment_dates(first_payment_date, months)

    # Each period grows a balance by the factor growth[k] / scale, so interest
    # is balance * (growth[k] - scale) / scale, kept exact in integers.
    if basis is InterestBasis.MONTHLY:
        scale = 1200 * rate_den
        growth = [scale + rate_num] * months
    else:
        scale = 36500 * rate_den
        starts = [previous, *dates[:-1]]
        growth = [scale + rate_num * (end - start).days for start, end in zip(starts, dates)]

    if kind is LoanKind.ANNUITY:
        regular = _annuity_kopecks(amount_k, growth, scale)
        rows = _annuity_rows(amount_k, regular, growth, scale)
        if rows is None and regular > 0:
            # Rounding the payment up by under half a kopeck a month can repay
            # the loan before the last row on long terms with small amounts.
            # With the monthly basis a kopeck less provably cannot, and keeps
            # every regular payment equal.
            regular -= 1
            rows = _annuity_rows(amount_k, regular, growth, scale)
        if rows is None:
            rows = _annuity_rows(amount_k, regular, growth, scale, bounded=True)
        monthly = regular if months > 1 else rows[0][0]
    else:
        share = _round_div(amount_k, months)
        if months > 1 and share * (months - 1) >= amount_k:
            # Same early-repayment case as above; rounding down cannot overshoot.
            share -= 1
        rows = _differentiated_rows(amount_k, share, growth, scale)
        monthly = rows[0][0]

    return Schedule(
        rows=tuple(
            ScheduleRow(n, day, _money(p), _money(i), _money(pr), _money(b))
            for n, (day, (p, i, pr, b)) in enumerate(zip(dates, rows), 1)
        ),
        monthly_payment=_money(monthly),
        total_payment=_money(sum(row[0] for row in rows)),
        total_interest=_money(sum(row[1] for row in rows)),
        total_principal=_money(sum(row[2] for row in rows)),
    )


def _annuity_rows(amount_k, regular, growth, scale, bounded=False):
    """(payment, interest, principal, balance) tuples in kopecks.

    Principal is payment minus interest, negative when an "actual" period's
    interest exceeds the payment (unpaid interest joins the debt, keeping
    payments equal). Returns None when the loan would be repaid before the
    last row or the debt would double: then kopeck rounding, amplified by
    extreme rate and term, dominates. ``bounded`` instead keeps each
    principal within [0, balance]; the loan may then end early.
    """
    rows = []
    balance = amount_k
    last = len(growth) - 1
    for index, factor in enumerate(growth):
        interest = _round_div(balance * (factor - scale), scale)
        if index == last:
            principal = balance
        else:
            principal = regular - interest
            if bounded:
                principal = min(max(principal, 0), balance)
            elif principal >= balance or balance - principal > 2 * amount_k:
                return None
        balance -= principal
        rows.append((principal + interest, interest, principal, balance))
    return rows


def _differentiated_rows(amount_k, share, growth, scale):
    rows = []
    balance = amount_k
    last = len(growth) - 1
    for index, factor in enumerate(growth):
        interest = _round_div(balance * (factor - scale), scale)
        principal = balance if index == last else share
        balance -= principal
        rows.append((principal + interest, interest, principal, balance))
    return rows


def _annuity_kopecks(amount_k, growth, scale):
    """The equal payment that repays amount_k exactly, rounded to kopecks.

    With per-period factors q_k = growth[k] / scale the payment solves
    P * prod(q_k) = A * sum_k prod(q_j for j > k). Scaled by scale^n it is
    P * prod(growth) / sum_k scale^k * prod(growth[j] for j > k), all in
    integers, so no precision is lost. Equal factors give the textbook
    P * r / (1 - (1 + r)^-n); a zero rate gives P / n.
    """
    product = 1
    weights = 0
    scale_power = 1
    for factor in growth:
        scale_power *= scale
        weights = weights * factor + scale_power
        product *= factor
    return _round_div(amount_k * product, weights)


def _round_div(numerator, denominator):
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def _money(kopecks):
    return Decimal(kopecks).scaleb(-2, context=_CTX)


def _as_decimal(value, field, message):
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValidationError(message, field)
    value = Decimal(value)
    if not value.is_finite():
        raise ValidationError(message, field)
    return value


def _amount_kopecks(amount):
    amount = _as_decimal(amount, "amount", _l("Amount must be a number."))
    if amount <= 0:
        raise ValidationError(_l("Amount must be greater than zero."), "amount")
    if amount > MAX_AMOUNT:
        raise ValidationError(_l("Amount must not exceed 1 000 000 000 000."), "amount")
    numerator, denominator = amount.as_integer_ratio()
    if 100 % denominator:
        raise ValidationError(_l("Amount must have at most 2 decimal places."), "amount")
    return numerator * (100 // denominator)


def _rate_ratio(rate):
    rate = _as_decimal(rate, "rate", _l("Rate must be a number."))
    if rate < 0 or rate > MAX_RATE:
        raise ValidationError(_l("Rate must be between 0 and 100 percent."), "rate")
    numerator, denominator = rate.as_integer_ratio()
    if 10**MAX_RATE_PLACES % denominator:
        raise ValidationError(_l("Rate must have at most 6 decimal places."), "rate")
    return numerator, denominator


def _check_months(months):
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValidationError(_l("Term must be a whole number of months."), "months")
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationError(_l("Term must be from 1 to 600 months."), "months")


def _enum(enum, value, field, message):
    try:
        return enum(value)
    except ValueError:
        raise ValidationError(message, field) from None


def _payment_dates(first, months):
    """Payment dates and the start of the first interest period."""
    # datetime is a date subclass, but mixing it in breaks day arithmetic.
    if not isinstance(first, date) or isinstance(first, datetime):
        raise ValidationError(_l("First payment date must be a date."), "first_date")
    start = first.year * 12 + first.month - 1
    if start - 1 < 12 or start + months - 1 > 9999 * 12 + 11:
        raise ValidationError(_l("First payment date is out of range."), "first_date")
    dates = [_month_shift(first, offset) for offset in range(months)]
    return dates, _month_shift(first, -1)


def next_month(day):
    """The same day a month later (clamped): the usual first payment date."""
    return _month_shift(day, 1)


def _month_shift(anchor, offset):
    """The anchor's day of month ``offset`` months later, clamped to month end.

    Always counted from the anchor, so Jan 31 gives Feb 28/29 and then Mar 31.
    """
    year, month = divmod(anchor.year * 12 + anchor.month - 1 + offset, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


FORM_FIELDS = ("amount", "rate", "months", "first_date", "kind", "interest_basis")


def parse_form(data):
    """Read the calculator's text inputs (a mapping of strings).

    Returns ``(values, errors)``: the keyword arguments of
    ``compute_schedule`` for the fields that parsed, and ``{field: message}``
    for every field that did not, so a form can show all problems at once.
    """
    values, errors = {}, {}
    def checked(parse, check):
        def run(text):
            value = parse(text)
            check(value)
            return value

        return run

    parsers = {
        "amount": checked(lambda text: parse_decimal(text, "amount"), _amount_kopecks),
        "rate": checked(lambda text: parse_decimal((text or "").replace("%", ""), "rate"),
                        _rate_ratio),
        "months": checked(_parse_months, _check_months),
        "first_date": _parse_date,
        "kind": lambda text: _enum(LoanKind, text or "annuity", "kind",
                                   _l("Unknown repayment kind.")),
        "interest_basis": lambda text: _enum(InterestBasis, text or "monthly",
                                             "interest_basis",
                                             _l("Unknown interest basis.")),
    }
    for field, parse in parsers.items():
        try:
            values[field] = parse(data.get(field))
        except ValidationError as exc:
            errors[field] = exc.message
    return values, errors


def schedule_from_form(data):
    """``(schedule or None, values, errors)`` for the calculator's inputs."""
    values, errors = parse_form(data)
    if errors:
        return None, values, errors
    try:
        schedule = compute_schedule(
            values["amount"], values["rate"], values["months"], values["first_date"],
            values["kind"], values["interest_basis"],
        )
    except ValidationError as exc:
        return None, values, {exc.field: exc.message}
    return schedule, values, {}


def _parse_months(text):
    text = (text or "").strip()
    if not text:
        raise ValidationError(_l("A value is required."), "months")
    if not text.isdigit() or len(text) > 4:
        raise ValidationError(_l("Term must be a whole number of months."), "months")
    return int(text)


def _parse_date(text):
    """ISO (from a date input) or ДД.ММ.ГГГГ as people type it."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_l("A value is required."), "first_date")
    try:
        return values.date(text)
    except ValidationError:
        raise ValidationError(_l("Enter the date as DD.MM.YYYY."), "first_date") from None
