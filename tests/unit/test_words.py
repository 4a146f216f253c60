"""Russian amounts in words: plural forms, genders, kopecks, bounds."""
from decimal import Decimal, localcontext

import pytest

from app.services.words import amount_in_words, number_in_words, plural

D = Decimal


@pytest.mark.parametrize(
    "amount, text",
    [
        (0, "Ноль рублей 00 копеек"),
        (1, "Один рубль 00 копеек"),
        (2, "Два рубля 00 копеек"),
        (5, "Пять рублей 00 копеек"),
        (11, "Одиннадцать рублей 00 копеек"),
        (21, "Двадцать один рубль 00 копеек"),
        (112, "Сто двенадцать рублей 00 копеек"),
        (D("123.45"), "Сто двадцать три рубля 45 копеек"),
        (1_000, "Одна тысяча рублей 00 копеек"),
        (D("1001.01"), "Одна тысяча один рубль 01 копейка"),
        (2_000, "Две тысячи рублей 00 копеек"),
        (5_000, "Пять тысяч рублей 00 копеек"),
        (11_000, "Одиннадцать тысяч рублей 00 копеек"),
        (21_000, "Двадцать одна тысяча рублей 00 копеек"),
        (22_000, "Двадцать две тысячи рублей 00 копеек"),
        (1_000_000, "Один миллион рублей 00 копеек"),
        (2_000_000, "Два миллиона рублей 00 копеек"),
        (1_000_001, "Один миллион один рубль 00 копеек"),
        (
            D("111111111.11"),
            "Сто одиннадцать миллионов сто одиннадцать тысяч сто одиннадцать рублей 11 копеек",
        ),
        (2_000_000_000, "Два миллиарда рублей 00 копеек"),
        (1_000_000_000_000, "Один триллион рублей 00 копеек"),
    ],
)
def test_amount_in_words(amount, text):
    assert amount_in_words(amount) == text


@pytest.mark.parametrize(
    "kopecks, text",
    [
        ("0.01", "01 копейка"),
        ("0.02", "02 копейки"),
        ("0.04", "04 копейки"),
        ("0.05", "05 копеек"),
        ("0.11", "11 копеек"),
        ("0.12", "12 копеек"),
        ("0.21", "21 копейка"),
        ("0.22", "22 копейки"),
        ("0.25", "25 копеек"),
        ("0.99", "99 копеек"),
    ],
)
def test_kopeck_forms(kopecks, text):
    assert amount_in_words(D(kopecks)) == f"Ноль рублей {text}"


def test_rounds_half_up_to_kopecks():
    assert amount_in_words(D("0.005")) == "Ноль рублей 01 копейка"
    assert amount_in_words(D("1.994")) == "Один рубль 99 копеек"
    assert amount_in_words(D("1.995")) == "Два рубля 00 копеек"


def test_accepts_int_str_float_and_ignores_decimal_context():
    assert amount_in_words("123.45") == "Сто двадцать три рубля 45 копеек"
    assert amount_in_words(1.1) == "Один рубль 10 копеек"
    with localcontext() as ctx:
        ctx.prec = 3
        assert amount_in_words(D("123456.78")).endswith("рублей 78 копеек")


def test_largest_amount():
    text = amount_in_words(D("999999999999999.99"))
    assert text.startswith("Девятьсот девяносто девять триллионов")
    assert text.endswith("девятьсот девяносто девять рублей 99 копеек")


@pytest.mark.parametrize("amount", [-1, D("-0.01"), "-5"])
def test_negative_amount_is_refused(amount):
    with pytest.raises(ValueError):
        amount_in_words(amount)


@pytest.mark.parametrize(
    "amount", [D(10**15), D("999999999999999.995"), D("1E+999999"), "abc", None, True,
               D("NaN"), float("inf")]
)
def test_out_of_range_or_not_a_number_is_refused(amount):
    with pytest.raises(ValueError):
        amount_in_words(amount)


def test_plural_and_feminine():
    forms = ("рубль", "рубля", "рублей")
    assert [plural(n, forms) for n in (1, 2, 4, 5, 11, 14, 21, 101, 111, 1000)] == [
        "рубль", "рубля", "рубля", "рублей", "рублей", "рублей", "рубль", "рубль",
        "рублей", "рублей",
    ]
    assert number_in_words(2, feminine=True) == "две"
    assert number_in_words(1_002_001) == "один миллион две тысячи один"
