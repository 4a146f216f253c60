"""Invoice rules without the web: line amounts and rounding, totals, due
dates, numbering settings and number format."""
import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from app.models import PaymentTerm
from app.services import documents
from app.services.errors import Refused
from app.services.invoices import (
    check_numbering,
    due_date,
    format_number,
    line_amounts,
    totals,
)

D = Decimal


@pytest.mark.parametrize("quantity, price, discount, rate, amount, tax", [
    ("1", "100.00", "0", "0", "100.00", "0.00"),
    ("2", "5000.00", "0", "20", "10000.00", "2000.00"),
    ("1", "15000.00", "10", "20", "13500.00", "2700.00"),
    # half a kopeck rounds up (ROUND_HALF_UP), never to even
    ("1", "0.05", "50", "0", "0.03", "0.00"),
    ("3", "33.33", "0", "20", "99.99", "20.00"),
    ("0.333", "10.00", "0", "10", "3.33", "0.33"),
    ("1", "0.01", "0", "10", "0.01", "0.00"),
    ("1", "0.05", "0", "10", "0.05", "0.01"),  # 0.005 -> 0.01
    ("1.5", "2.35", "3", "20", "3.42", "0.68"),  # 3.41925 -> 3.42, 0.684 -> 0.68
    ("1", "100.00", "100", "20", "0.00", "0.00"),
])
def test_line_amounts(quantity, price, discount, rate, amount, tax):
    assert line_amounts(D(quantity), D(price), D(discount), D(rate)) == (D(amount), D(tax))


def test_line_amounts_are_decimal_even_for_float_free_input():
    amount, tax = line_amounts(3, D("0.10"), 0, 20)
    assert isinstance(amount, Decimal) and amount == D("0.30") and tax == D("0.06")


@pytest.mark.parametrize("args, message", [
    ((0, 10, 0, 0), "quantity"),
    ((-1, 10, 0, 0), "quantity"),
    ((1, -10, 0, 0), "price"),
    ((1, 10, 101, 0), "discount"),
    ((1, 10, -1, 0), "discount"),
])
def test_line_amounts_refuse_bad_values(args, message):
    with pytest.raises(Refused, match=message):
        line_amounts(*map(D, map(str, args)))


def test_totals_sum_rounded_lines():
    lines = [SimpleNamespace(amount=D(a), tax_amount=D(t)) for a, t in
             (("10000.00", "2000.00"), ("13500.00", "2700.00"), ("0.03", "0.01"))]
    assert totals(lines) == (D("23500.03"), D("4700.01"), D("28200.04"))
    assert totals([]) == (D("0.00"), D("0.00"), D("0.00"))


def test_totals_never_drift_with_many_small_lines():
    lines = [SimpleNamespace(amount=D("0.10"), tax_amount=D("0.02")) for _ in range(1000)]
    assert totals(lines) == (D("100.00"), D("20.00"), D("120.00"))


@pytest.mark.parametrize("term, expected", [
    (PaymentTerm.ON_RECEIPT, datetime.date(2026, 11, 23)),
    (PaymentTerm.DAYS_15, datetime.date(2026, 12, 8)),
    (PaymentTerm.DAYS_30, datetime.date(2026, 12, 23)),
    (PaymentTerm.DAYS_45, datetime.date(2027, 1, 7)),
])
def test_due_date_of_a_term(term, expected):
    assert due_date(datetime.date(2026, 11, 23), term) == expected


def test_due_date_on_a_chosen_date():
    issued = datetime.date(2026, 11, 23)
    assert due_date(issued, PaymentTerm.DATE, datetime.date(2026, 12, 1)) == \
        datetime.date(2026, 12, 1)
    with pytest.raises(Refused, match="Choose the due date"):
        due_date(issued, PaymentTerm.DATE, None)
    with pytest.raises(Refused, match="before the issue date"):
        due_date(issued, PaymentTerm.DATE, datetime.date(2026, 11, 1))


def test_number_format():
    assert format_number("INV", 1) == "INV0000001"
    assert format_number("СЧ-", 1234567) == "СЧ-1234567"
    assert format_number("", 42) == "0000042"


@pytest.mark.parametrize("prefix, number, ok", [
    ("INV", 1, True), ("", 5, True), ("СЧ-2026/", 100, True), ("ABCDEFGHIJ", 9999999, True),
    ("ABCDEFGHIJK", 1, False), ("IN V", 1, False), ("<b>", 1, False),
    ("INV", 0, False), ("INV", 10_000_000, False), ("INV", None, False),
])
def test_numbering_settings(prefix, number, ok):
    if ok:
        assert check_numbering(prefix, number) == (prefix, number)
    else:
        with pytest.raises(Refused):
            check_numbering(prefix, number)


def test_percent_and_file_names():
    assert documents.percent(D("15.900")) == "15,9"
    assert documents.percent(D("10.000")) == "10"
    assert documents.percent(None) == ""
    invoice = SimpleNamespace(number="INV0000007", id=7,
                              issue_date=datetime.date(2026, 11, 23))
    assert documents.file_name("Счёт на оплату", "invoice", invoice) == \
        "Счёт на оплату INV0000007 от 23.11.2026.pdf"
    client = SimpleNamespace(name='ООО "Ромашка/../Лютик"', id=3)
    name = documents.file_name("Анкета: <1>", "client", client)
    assert "/" not in name and '"' not in name and ":" not in name and "<" not in name
    assert name.endswith(".pdf") and len(documents.file_name("x" * 400, "client",
                                                                 client)) <= 154
