"""services/values: the one way dates, date-times, amounts, numbers and
yes/no are read from what people type and written as they read them."""
import datetime
from decimal import Decimal

import pytest

from app.services import values
from app.services.values import ValidationError

D = Decimal
NBSP, NARROW, THIN = "\u00a0", "\u202f", "\u2009"


@pytest.mark.parametrize("text, expected", [
    ("20.05.2005", datetime.date(2005, 5, 20)),
    ("  20.05.2005 ", datetime.date(2005, 5, 20)),
    ("5.1.2026", datetime.date(2026, 1, 5)),
    ("20/05/2005", datetime.date(2005, 5, 20)),
    ("20-05-2005", datetime.date(2005, 5, 20)),
    ("04.12.26", datetime.date(2026, 12, 4)),
    ("01.01.75", datetime.date(1975, 1, 1)),
    ("2005-05-20", datetime.date(2005, 5, 20)),
    ("29.02.2024", datetime.date(2024, 2, 29)),
    (datetime.date(2026, 1, 2), datetime.date(2026, 1, 2)),
    (datetime.datetime(2026, 1, 2, 23, 59), datetime.date(2026, 1, 2)),
])
def test_dates_are_read_russian_and_iso(text, expected):
    assert values.date(text) == expected


@pytest.mark.parametrize("text", [
    "", "25-10-26x", "32.01.2026", "29.02.2025", "15.13.2026", "20.05", "вчера",
    "01.01.1812", "01.01.3000", "2026-1", "20.05.2005 11:00", "٢٠.٠٥.٢٠٠٥", "20.05-2005",
    "2005/05/20", None, 20052005, "1" * 100,
])
def test_unreadable_dates_are_refused_with_the_russian_pattern(text):
    with pytest.raises(ValidationError) as error:
        values.date(text)
    assert "ДД.ММ.ГГГГ" in str(error.value)


@pytest.mark.parametrize("text, expected", [
    ("04.12.2026 11:00", datetime.datetime(2026, 12, 4, 11, 0)),
    ("4.12.2026 9:05", datetime.datetime(2026, 12, 4, 9, 5)),
    ("04.12.2026, 11:00", datetime.datetime(2026, 12, 4, 11, 0)),
    ("04.12.2026   11:00:30", datetime.datetime(2026, 12, 4, 11, 0, 30)),
    ("04.12.2026", datetime.datetime(2026, 12, 4, 0, 0)),
    ("2026-12-04 11:00", datetime.datetime(2026, 12, 4, 11, 0)),
    ("2026-12-04T11:00", datetime.datetime(2026, 12, 4, 11, 0)),
    ("2026-12-04T11:00:00", datetime.datetime(2026, 12, 4, 11, 0)),
    ("2026-12-04 11:00:00.123456", datetime.datetime(2026, 12, 4, 11, 0)),
    (datetime.date(2026, 12, 4), datetime.datetime(2026, 12, 4)),
])
def test_date_times_are_read_russian_and_iso(text, expected):
    assert values.datetime_local(text) == expected


@pytest.mark.parametrize("text", [
    "", "04.12.2026 25:00", "04.12.2026 11:60", "04.12.2026 11", "04.12.2026 11:00 PM",
    "32.12.2026 11:00", "2026-12-04T11:00:00Z", "завтра в 11", "11:00",
])
def test_unreadable_date_times_are_refused(text):
    with pytest.raises(ValidationError) as error:
        values.datetime_local(text)
    assert "ДД.ММ.ГГГГ ЧЧ:ММ" in str(error.value)


def test_dates_and_times_are_written_the_russian_way():
    assert values.date_text(datetime.date(2005, 5, 20)) == "20.05.2005"
    assert values.date_text(datetime.datetime(2005, 5, 20, 13, 5)) == "20.05.2005"
    assert values.datetime_text(datetime.datetime(2026, 12, 4, 9, 5, 7)) == "04.12.2026 09:05"
    assert values.datetime_text(datetime.datetime(2026, 12, 4, 9, 5, 7),
                                seconds=True) == "04.12.2026 09:05:07"
    assert values.date_long(datetime.date(2026, 11, 23)) == "23 ноября 2026 г."
    assert values.date_long(datetime.date(2026, 5, 1)) == "1 мая 2026 г."
    assert values.month_text(datetime.date(2026, 3, 31)) == "03.2026"
    assert values.date_text(None) == values.datetime_text(None) == values.date_long(None) == ""


@pytest.mark.parametrize("value", [datetime.date(1900, 1, 1), datetime.date(2100, 12, 31),
                                   datetime.datetime(2026, 2, 28, 23, 59)])
def test_what_is_written_is_read_back(value):
    if isinstance(value, datetime.datetime):
        assert values.datetime_local(values.datetime_text(value)) == value
    else:
        assert values.date(values.date_text(value)) == value


@pytest.mark.parametrize("text, expected", [
    ("300 000,00", D("300000.00")),
    (f"300{NBSP}000,00", D("300000.00")),
    (f"300{NARROW}000,00", D("300000.00")),
    (f"300{THIN}000,00", D("300000.00")),
    (f"1{NBSP}234{NBSP}567,5", D("1234567.5")),
    ("14,5", D("14.5")),
    ("14.5", D("14.5")),
    ("350,00", D("350.00")),
    (" 12 ", D("12")),
    ("-5", D("-5")),
    ("+7", D("7")),
    (",5", D("0.5")),
    (7, D(7)),
    (0.1, D("0.1")),
    (D("1.10"), D("1.10")),
])
def test_numbers_are_read_as_people_type_them(text, expected):
    assert values.number(text) == expected


@pytest.mark.parametrize("text", [
    "", "abc", "1e10", "1E5", "Infinity", "-inf", "NaN", "٣٠٠", "３００", "1,000.50", "1.2.3",
    "12%", "--1", ".", "30 00", "1 0000", "12 руб", True, None, float("inf"), D("NaN"),
    "1" * 101,
])
def test_numbers_that_are_not_typed_digits_are_refused(text):
    with pytest.raises(ValidationError):
        values.number(text)


def test_decimal_rounds_half_up_to_the_scale_and_bounds_the_digits():
    assert values.decimal("300 000,005", 14, 2) == D("300000.01")
    assert values.decimal("14,5", 6, 3) == D("14.500")
    with pytest.raises(ValidationError) as error:
        values.decimal("1 000 000 000 000", 14, 2)
    assert "12" in str(error.value)


def test_integer_is_whole_and_in_range():
    assert values.integer("1 200") == 1200
    assert values.integer("12,0") == 12
    for bad in ("1,5", "1e3", "٣"):
        with pytest.raises(ValidationError):
            values.integer(bad)
    with pytest.raises(ValidationError):
        values.integer("700", 1, 600)


@pytest.mark.parametrize("text, expected", [
    ("150 000", "150000"), (f"150{NBSP}000,50", "150000.50"), ("1 234 567,5", "1234567.5"),
    ("1,234,567.50", "1234567.50"), ("1.234.567,50", "1234567.50"), ("1500,5", "1500.5"),
    ("1500.5", "1500.5"), ("10 000 руб.", "10000"), ("7₽", "7"), ("1'234", "1234"),
    ("1.234.567", "1234567"), (",5", "0.5"), ("42", "42"),
])
def test_a_spreadsheet_cell_may_also_carry_a_currency_and_other_separators(text, expected):
    assert values.number_in_cell(text) == D(expected)


@pytest.mark.parametrize("text", ["1e3", "NaN", "²", "1²", "12abc", "1,234.567.890", "руб."])
def test_a_cell_that_is_no_number_is_refused(text):
    with pytest.raises(ValidationError):
        values.number_in_cell(text)


def test_amounts_and_numbers_are_written_the_russian_way():
    assert values.money(D("1234567.5")) == f"1{NBSP}234{NBSP}567,50"
    assert values.money(D("300000")) == f"300{NBSP}000,00"
    assert values.money(D("0.005")) == "0,01"  # half up, as invoices round
    assert values.money(D("-1234.5")) == f"-1{NBSP}234,50"
    assert values.money("300 000,00") == f"300{NBSP}000,00"
    assert values.money(None) == ""
    assert values.number_text(D("15.900")) == "15,9"
    assert values.number_text(D("10.0000")) == "10"
    assert values.number_text(D("1234567.5"), grouped=True) == f"1{NBSP}234{NBSP}567,5"
    assert values.number_text(D("14.5"), places=3) == "14,500"
    assert values.decimal_text(D("300000.00")) == f"300{NBSP}000,00"
    assert values.decimal_text(D("14.500")) == "14,500"
    assert values.plain_number(D("300000")) == "300000,00"
    assert values.plain_number(D("1.23456"), 4) == "1,2346"


@pytest.mark.parametrize("value", [D("0.01"), D("300000.00"), D("-99999999999.99")])
def test_money_is_read_back(value):
    assert values.number(values.money(value)) == value


@pytest.mark.parametrize("word, expected", [
    ("да", True), ("Да", True), ("д", True), ("yes", True), ("1", True), ("+", True),
    ("истина", True), (True, True), (1, True),
    ("нет", False), ("НЕТ", False), ("no", False), ("0", False), ("-", False), ("ложь", False),
    (False, False), (0, False),
])
def test_yes_and_no_in_words(word, expected):
    assert values.yes_no(word) is expected


@pytest.mark.parametrize("word", ["может быть", "", "2", None])
def test_other_words_are_neither_yes_nor_no(word):
    with pytest.raises(ValidationError) as error:
        values.yes_no(word)
    assert "«да»" in str(error.value)


def test_yes_and_no_are_written_in_russian():
    assert (values.yes_no_text(True), values.yes_no_text(False), values.yes_no_text(None)) == (
        "да", "нет", "")


def test_the_russian_symbols_come_from_babel():
    assert values.GROUP == NBSP and values.POINT == ","
    assert values.MONTHS[10] == "ноября"
