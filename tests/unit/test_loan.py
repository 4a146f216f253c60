"""Loan calculator: reference figures, dates, validation and invariants."""
import dataclasses
import math
from datetime import date, datetime
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.loan import (
    LoanKind,
    Schedule,
    compute_schedule,
    parse_decimal,
)
from app.services.values import ValidationError

D = Decimal
DAY = date(2024, 1, 31)


def kopecks(x):
    """Round a non-negative Fraction half up to kopecks, as Decimal."""
    return D(math.floor(x * 100 + Fraction(1, 2))) / 100


def reference(amount, rate, months, kind="annuity"):
    """Independent monthly-basis schedule in Fractions.

    Rows are (payment, interest, principal, balance) tuples.
    """
    p = Fraction(amount)
    r = Fraction(rate) / 1200
    if kind == "annuity":
        regular = kopecks(p / months if r == 0 else p * r / (1 - (1 + r) ** -months))
    else:
        regular = kopecks(p / months)
    while True:
        balance = D(amount)
        rows = []
        for n in range(1, months + 1):
            interest = kopecks(Fraction(balance) * r)
            if n == months:
                principal = balance
            elif kind == "annuity":
                principal = regular - interest
            else:
                principal = regular
            balance -= principal
            rows.append((principal + interest, interest, principal, balance))
        if all(row[3] > 0 for row in rows[:-1]):
            return rows
        # Documented rule: a regular amount that would repay the loan before
        # the last row is lowered by one kopeck.
        regular -= D("0.01")


def as_tuples(schedule):
    return [(r.payment, r.interest, r.principal, r.balance) for r in schedule.rows]


# --- reference figures -------------------------------------------------------


def test_annuity_100k_12pct_12m():
    s = compute_schedule(D("100000"), D("12"), 12, DAY)
    assert s.monthly_payment == D("8884.88")
    assert all(r.payment == D("8884.88") for r in s.rows[:-1])
    # 6618.55 (often quoted) is 12 x the unrounded payment minus the loan;
    # rounding each row's interest and settling the last row gives 6618.53.
    assert s.total_interest == D("6618.53")
    assert s.rows[-1].payment == D("8884.85")
    assert s.rows[0].interest == D("1000.00")
    assert s.rows[0].principal == D("7884.88")
    assert s.total_payment == D("106618.53")
    assert s.total_principal == D("100000.00")
    assert as_tuples(s) == reference(100000, 12, 12)


def test_annuity_zero_rate():
    s = compute_schedule(D("100000"), D("0"), 12, DAY)
    assert s.monthly_payment == D("8333.33")
    assert [r.payment for r in s.rows] == [D("8333.33")] * 11 + [D("8333.37")]
    assert all(r.interest == 0 for r in s.rows)
    assert s.total_interest == D("0.00")
    assert s.total_payment == D("100000.00")


def test_single_month():
    s = compute_schedule(D("100000"), D("12"), 1, DAY)
    (row,) = s.rows
    assert (row.payment, row.interest, row.principal, row.balance) == (
        D("101000.00"),
        D("1000.00"),
        D("100000.00"),
        D("0.00"),
    )
    assert s.monthly_payment == D("101000.00")


def test_half_kopeck_rounds_up_exactly():
    # 100.50 * 1.01 = 101.505 exactly: must round up, not fall to 101.50
    # through an inexact power or division.
    s = compute_schedule(D("100.50"), D("12"), 1, DAY)
    assert s.monthly_payment == D("101.51")
    assert s.rows[0].interest == D("1.01")


def test_annuity_30_years():
    s = compute_schedule(D("3000000"), D("9"), 360, DAY)
    assert len(s.rows) == 360
    assert s.monthly_payment == D("24138.68")
    assert s.total_interest == D("5689921.54")
    assert s.rows[-1].payment == D("24135.42")
    assert s.rows[-1].date == date(2053, 12, 31)
    assert as_tuples(s) == reference(3000000, 9, 360)


def test_differentiated_120k_12pct_12m():
    s = compute_schedule(D("120000"), D("12"), 12, DAY, kind="differentiated")
    assert s.monthly_payment == D("11200.00")
    assert [r.principal for r in s.rows] == [D("10000.00")] * 12
    assert [r.payment for r in s.rows] == [D(11200 - 100 * k) for k in range(12)]
    assert s.rows[-1].payment == D("10100.00")
    assert s.total_interest == D("7800.00")
    assert s.total_payment == D("127800.00")


def test_differentiated_last_row_takes_remainder():
    s = compute_schedule(D("100000"), D("12"), 12, DAY, kind=LoanKind.DIFFERENTIATED)
    assert [r.principal for r in s.rows] == [D("8333.33")] * 11 + [D("8333.37")]
    assert as_tuples(s) == reference(100000, 12, 12, "differentiated")


def test_actual_days_annuity_by_hand():
    # Periods: Feb 15-Mar 15 (29 days, leap year), Mar 15-Apr 15 (31),
    # Apr 15-May 15 (30). The equal payment solving
    # 10000 q1 q2 q3 = A (q2 q3 + q3 + 1), q = 1 + 0.12 d / 365, is 3398.929...
    s = compute_schedule(D("10000"), D("12"), 3, date(2024, 3, 15), interest_basis="actual")
    assert [r.date for r in s.rows] == [date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]
    assert s.monthly_payment == D("3398.93")
    assert as_tuples(s) == [
        # 10000 * 0.12 * 29 / 365 = 95.342
        (D("3398.93"), D("95.34"), D("3303.59"), D("6696.41")),
        # 6696.41 * 0.12 * 31 / 365 = 68.248
        (D("3398.93"), D("68.25"), D("3330.68"), D("3365.73")),
        # 3365.73 * 0.12 * 30 / 365 = 33.196
        (D("3398.93"), D("33.20"), D("3365.73"), D("0.00")),
    ]
    assert s.total_interest == D("196.79")


def test_actual_days_differentiated_by_hand():
    s = compute_schedule(
        D("10000"), D("12"), 3, date(2024, 3, 15), kind="differentiated", interest_basis="actual"
    )
    assert [r.interest for r in s.rows] == [D("95.34"), D("67.95"), D("32.88")]
    assert [r.principal for r in s.rows] == [D("3333.33"), D("3333.33"), D("3333.34")]
    assert s.monthly_payment == D("3428.67")


def test_actual_days_first_period_is_one_month_back():
    # First payment Mar 31 2023: the period starts Feb 28 (clamped), 31 days.
    s = compute_schedule(
        D("36500"), D("10"), 2, date(2023, 3, 31), kind="differentiated", interest_basis="actual"
    )
    assert s.rows[0].interest == D("310.00")  # 36500 * 0.10 * 31 / 365
    assert s.rows[1].interest == D("150.00")  # 18250 * 0.10 * 30 / 365


def test_actual_basis_long_high_rate_has_equal_payments():
    # 31-day months' interest exceeds the payment here; the payment still
    # amortises exactly, so no balloon and no early repayment.
    s = compute_schedule(D("5000000"), D("20"), 360, date(2024, 1, 15), interest_basis="actual")
    assert len({r.payment for r in s.rows[:-1]}) == 1
    assert abs(s.rows[-1].payment - s.monthly_payment) < D("1000")
    assert min(r.principal for r in s.rows) < 0
    assert s.total_principal == D("5000000.00")


def test_small_amount_long_term_is_not_repaid_early():
    # 1000 / 600 = 1.6667 rounds to 1.67, and 599 x 1.67 > 1000: a kopeck
    # less keeps all regular payments equal and the last one positive.
    s = compute_schedule(D("1000"), D("0"), 600, DAY)
    assert s.monthly_payment == D("1.66")
    assert {r.payment for r in s.rows[:-1]} == {D("1.66")}
    assert s.rows[-1].payment == D("5.66")
    d = compute_schedule(D("1000"), D("0"), 600, DAY, kind="differentiated")
    assert d.rows[-1].principal == D("5.66")
    assert all(r.balance >= 0 for r in d.rows)


def test_result_ignores_global_decimal_context():
    expected = compute_schedule(D("3000000"), D("9.75"), 240, DAY)
    with localcontext() as ctx:
        ctx.prec = 5
        assert compute_schedule(D("3000000"), D("9.75"), 240, DAY) == expected


def test_schedule_is_frozen():
    s = compute_schedule(D("1000"), D("5"), 2, DAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.total_interest = D("0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rows[0].payment = D("0")
    assert isinstance(s.rows, tuple)


# --- dates ---------------------------------------------------------------------


def test_dates_keep_day_of_month_anchor():
    s = compute_schedule(D("1000"), D("5"), 5, date(2024, 1, 31))
    assert [r.date for r in s.rows] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    s = compute_schedule(D("1000"), D("5"), 3, date(2023, 1, 30))
    assert [r.date for r in s.rows] == [date(2023, 1, 30), date(2023, 2, 28), date(2023, 3, 30)]


def test_dates_cross_year_end():
    s = compute_schedule(D("1000"), D("5"), 3, date(2024, 11, 15))
    assert [r.date for r in s.rows] == [date(2024, 11, 15), date(2024, 12, 15), date(2025, 1, 15)]
    assert [r.number for r in s.rows] == [1, 2, 3]


# --- validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("amount", {"amount": D("-100")}),
        ("amount", {"amount": D("0")}),
        ("amount", {"amount": D("1000000000000.01")}),
        ("amount", {"amount": D("100.005")}),
        ("amount", {"amount": 100.5}),
        ("amount", {"amount": D("NaN")}),
        ("amount", {"amount": "100"}),
        ("rate", {"annual_rate_percent": D("100.01")}),
        ("rate", {"annual_rate_percent": D("-1")}),
        ("rate", {"annual_rate_percent": D("Infinity")}),
        ("rate", {"annual_rate_percent": D("1.0000001")}),
        ("months", {"months": 0}),
        ("months", {"months": 601}),
        ("months", {"months": -12}),
        ("months", {"months": 12.0}),
        ("months", {"months": True}),
        ("first_date", {"first_payment_date": "2024-01-31"}),
        ("first_date", {"first_payment_date": datetime(2024, 1, 31)}),
        ("first_date", {"first_payment_date": date(9999, 2, 1)}),
        ("first_date", {"first_payment_date": date(1, 1, 31), "interest_basis": "actual"}),
        ("kind", {"kind": "balloon"}),
        ("interest_basis", {"interest_basis": "30/360"}),
    ],
)
def test_invalid_input(field, kwargs):
    args = {
        "amount": D("100000"),
        "annual_rate_percent": D("12"),
        "months": 12,
        "first_payment_date": DAY,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        compute_schedule(**args)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert str(info.value) == info.value.message and info.value.message


def test_boundaries_are_accepted():
    assert compute_schedule(D("1000000000000"), D("100"), 600, DAY).total_principal == D(
        "1000000000000.00"
    )
    assert compute_schedule(D("0.01"), D("0"), 1, DAY).total_payment == D("0.01")
    assert compute_schedule(100000, 12, 12, DAY).monthly_payment == D("8884.88")
    assert compute_schedule(D("100000.000"), D("9.875"), 12, DAY).total_principal == D("100000")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("100 000,50", D("100000.50")),
        ("100000.50", D("100000.50")),
        ("1 000", D("1000")),
        ("1\u00a0000\u00a0000", D("1000000")),
        ("1\u202f000,5", D("1000.5")),
        ("  12,5 ", D("12.5")),
        ("0", D("0")),
        ("-5", D("-5")),
        (",5", D("0.5")),
    ],
)
def test_parse_decimal_accepts(text, expected):
    assert parse_decimal(text, "amount") == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", None, "abc", "12a", "12%", ".", "--1", "1e5", "NaN", "Infinity"]
    + ["1,000.50", "1.2.3"],  # comma is the decimal separator, so these have two points
)
def test_parse_decimal_rejects(text):
    with pytest.raises(ValidationError) as info:
        parse_decimal(text, "rate")
    assert info.value.field == "rate"


def test_parse_decimal_feeds_compute_schedule():
    s = compute_schedule(parse_decimal("100 000", "amount"), parse_decimal("12,0", "rate"), 12, DAY)
    assert s.monthly_payment == D("8884.88")


# --- invariants ------------------------------------------------------------------

amounts = st.integers(100, 10**11).map(lambda k: D(k).scaleb(-2))
rates = st.integers(0, 10000).map(lambda k: D(k).scaleb(-2))
first_dates = st.dates(date(1990, 1, 1), date(2100, 12, 31))
kinds = st.sampled_from(["annuity", "differentiated"])


def check_common(s, amount, months):
    assert isinstance(s, Schedule)
    assert len(s.rows) == months
    assert [r.number for r in s.rows] == list(range(1, months + 1))
    assert s.total_principal == amount
    assert sum(r.principal for r in s.rows) == amount
    assert s.total_payment == sum(r.payment for r in s.rows)
    assert s.total_interest == sum(r.interest for r in s.rows)
    assert s.total_payment == s.total_principal + s.total_interest
    assert s.rows[-1].balance == D("0.00")
    assert all(r.balance >= 0 for r in s.rows)
    for r in s.rows:
        assert r.payment == r.principal + r.interest
        for value in (r.payment, r.interest, r.principal, r.balance):
            assert value == value.quantize(D("0.01")) and value.as_tuple().exponent == -2
    assert all(a.date < b.date for a, b in zip(s.rows, s.rows[1:]))


@settings(max_examples=200, deadline=None)
@given(amounts, rates, st.integers(1, 600), first_dates, kinds)
def test_monthly_basis_invariants(amount, rate, months, first, kind):
    s = compute_schedule(amount, rate, months, first, kind=kind)
    check_common(s, amount, months)
    assert all(r.payment >= r.interest for r in s.rows)
    assert all(r.principal >= 0 for r in s.rows)
    assert s.monthly_payment == s.rows[0].payment
    if kind == "annuity":
        assert len({r.payment for r in s.rows[:-1]}) <= 1
    else:
        assert len({r.principal for r in s.rows[:-1]}) <= 1


@settings(max_examples=60, deadline=None)
@given(
    st.integers(100, 10**9).map(lambda k: D(k).scaleb(-2)),
    st.integers(0, 10000).map(lambda k: D(k).scaleb(-2)),
    st.integers(1, 120),
)
def test_monthly_annuity_matches_fraction_reference(amount, rate, months):
    assert as_tuples(compute_schedule(amount, rate, months, DAY)) == reference(amount, rate, months)


@settings(max_examples=100, deadline=None)
@given(amounts, rates, st.integers(1, 600), first_dates, kinds)
def test_actual_basis_invariants(amount, rate, months, first, kind):
    s = compute_schedule(amount, rate, months, first, kind=kind, interest_basis="actual")
    check_common(s, amount, months)
    # Debt may grow slightly in long periods of long high-rate annuities, but
    # stays bounded even where kopeck rounding dominates.
    assert all(r.balance <= 2 * amount for r in s.rows)
