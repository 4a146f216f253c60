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
