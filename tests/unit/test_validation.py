from decimal import Decimal

import pytest

from app.services import validation as v

WEIGHTS = (7, 1, 3) * 8


def with_key(prefix3, account_without_key):
    """Put the control digit at position 9 by the Bank of Russia procedure
    (weights 7-1-3, take the last digit of the sum, times 3)."""
    digits = prefix3 + account_without_key[:8] + "0" + account_without_key[9:]
    total = sum(int(d) * w % 10 for d, w in zip(digits, WEIGHTS))
    key = (total % 10) * 3 % 10
    return account_without_key[:8] + str(key) + account_without_key[9:]


def test_inn_valid_company_and_person():
    assert v.inn("7707083893") == "7707083893"
    assert v.inn(" 500100732259 ") == "500100732259"


@pytest.mark.parametrize("value, message", [
    ("7707083894", "check digit"),
    ("12345", "10 or 12 digits"),
    ("77070838ab", "10 or 12 digits"),
])
def test_inn_invalid(value, message):
    with pytest.raises(v.ValidationError, match=message):
        v.inn(value)


def test_ogrn():
    assert v.ogrn("1027700132195") == "1027700132195"
    with pytest.raises(v.ValidationError, match="check digit"):
        v.ogrn("1027700132196")
    with pytest.raises(v.ValidationError, match="13 or 15"):
        v.ogrn("102770013")


def test_kpp_allows_letters_in_reason_code():
    assert v.kpp("773601001") == "773601001"
    assert v.kpp("7736ab001") == "7736AB001"
    with pytest.raises(v.ValidationError):
        v.kpp("77360100")


def test_bik():
    assert v.bik("044525225") == "044525225"
    with pytest.raises(v.ValidationError, match="starts with 04"):
        v.bik("123456789")


def test_real_sberbank_correspondent_account_matches_its_bik():
    assert v.corr_account("30101810400000000225", "044525225")
    with pytest.raises(v.ValidationError, match="does not match"):
        v.corr_account("30101810500000000225", "044525225")
    with pytest.raises(v.ValidationError, match="starts with 301"):
        v.corr_account("40101810400000000225")


def test_settlement_account_control_key():
    account = with_key("225", "40702810X38000012345".replace("X", "0"))
    assert v.settlement_account(account, "044525225") == account
    broken = account[:-1] + str((int(account[-1]) + 1) % 10)
    with pytest.raises(v.ValidationError, match="does not match"):
        v.settlement_account(broken, "044525225")
    # Without a BIK only the shape is checked.
    assert v.settlement_account(broken) == broken
    with pytest.raises(v.ValidationError, match="20 digits"):
        v.settlement_account("4070281")


def test_phone_normalised_to_e164():
    assert v.phone("8 (916) 123-45-67") == "+79161234567"
    assert v.phone("+7 916 123 45 67") == "+79161234567"
    with pytest.raises(v.ValidationError):
        v.phone("12")
    with pytest.raises(v.ValidationError):
        v.phone("hello")


def test_small_codes():
    assert v.postcode("101000") == "101000"
    assert v.oktmo("45382000") == "45382000"
    assert v.okved("62.01, 63.11.1") == "62.01, 63.11.1"
    for check, bad in ((v.postcode, "1010"), (v.oktmo, "123"), (v.okved, "программы")):
        with pytest.raises(v.ValidationError):
            check(bad)


# --- values of any column ------------------------------------------------------------

@pytest.mark.parametrize("value", ["a\x00b", "\x01", "x\x1b[31m", "\x7f", "\ud800"])
def test_text_refuses_control_characters(value):
    with pytest.raises(v.ValidationError, match="control characters"):
        v.text(value)


def test_text_keeps_tabs_and_line_breaks_and_its_length():
    assert v.text("строка\r\nещё\tодна", 20) == "строка\r\nещё\tодна"
    assert v.text("Я" * 255, 255) == "Я" * 255
    with pytest.raises(v.ValidationError, match="At most 255 characters"):
        v.text("Я" * 256, 255)
    with pytest.raises(v.ValidationError, match="Enter text"):
        v.text(5)


@pytest.mark.parametrize("typed, expected", [
    ("300 000,00", "300000.00"), ("14,5", "14.50"), ("1\u00a0234,56", "1234.56"),
    ("-5", "-5.00"), (".5", "0.50"), ("  7 ", "7.00"), ("0,005", "0.01"),
    ("999999999999,994", "999999999999.99"), (14.5, "14.50"), (300, "300.00"),
    (Decimal("2.345"), "2.35"),
])
def test_decimal_reads_russian_typing_and_rounds_kopecks_half_up(typed, expected):
    assert str(v.decimal(typed, 14, 2)) == expected


@pytest.mark.parametrize("typed", ["Infinity", "-inf", "NaN", "1e10", "1E5", "٣٠٠", "１２３",
                                   "12,3,4", "1 0000", "abc", "", "0x10", "1_000",
                                   float("inf"), float("nan"), Decimal("Infinity"), True,
                                   None])
def test_decimal_refuses_what_decimal_would_take(typed):
    with pytest.raises(v.ValidationError, match="number"):
        v.decimal(typed, 14, 2)


@pytest.mark.parametrize("typed", ["999999999999999999999", "1000000000000", 1e13,
                                   "999999999999,995", "9" * 99])
def test_decimal_refuses_more_digits_than_the_column_holds(typed):
    with pytest.raises(v.ValidationError, match="at most 12 digits"):
        v.decimal(typed, 14, 2)


def test_integer_within_its_column():
    assert v.integer("2147483647", -2 ** 31, 2 ** 31 - 1) == 2 ** 31 - 1
    assert v.integer(5.0) == 5
    for bad, message in (("2147483648", "from -2147483648 to"), ("1,5", "whole number"),
                         ("٣٠", "whole number with digits"), ("1e3", "whole number")):
        with pytest.raises(v.ValidationError, match=message):
            v.integer(bad, -2 ** 31, 2 ** 31 - 1)


def test_email_by_email_validator():
    assert v.email(" Ivan.Petrov@Example.RU ") == "Ivan.Petrov@example.ru"
    for bad in ("not@@mail", "a@b", "ivan", "ivan@example.ru\x00", "@example.ru"):
        with pytest.raises(v.ValidationError, match="Not an e-mail address|control"):
            v.email(bad)


def test_column_checks_follow_the_column():
    from app.models import Application, Client, ContactPerson, Deal

    def run(column, value, name=None):
        for check in v.column_checks(column, name):
            value = check(value)
        return value

    assert run(Client.__table__.c.name, "Ромашка") == "Ромашка"
    with pytest.raises(v.ValidationError, match="At most 255"):
        run(Client.__table__.c.name, "Я" * 300)
    with pytest.raises(v.ValidationError, match="control"):
        run(Client.__table__.c.comments, "текст\x00")  # Text: no length, no NUL
    with pytest.raises(v.ValidationError, match="e-mail"):
        run(ContactPerson.__table__.c.email, "not@@mail")
    assert str(run(Deal.__table__.c.amount, "300 000,00")) == "300000.00"
    with pytest.raises(v.ValidationError, match="at most 12"):
        run(Deal.__table__.c.amount, "999999999999999999999")
    # rate_percent is Numeric(6, 3): three places, three digits before the point.
    assert str(run(Application.__table__.c.rate_percent, "12,3456")) == "12.346"
    with pytest.raises(v.ValidationError, match="at most 3 digits"):
        run(Application.__table__.c.rate_percent, "1000")
    with pytest.raises(v.ValidationError, match="from -2147483648"):
        run(Application.__table__.c.term_months, 2 ** 31)
    assert v.column_checks(Deal.__table__.c.status) == []  # an enum: its own field
