"""Custom field values: parsing per type, codes, definitions."""
import datetime
from decimal import Decimal

import pytest

from app.models import CustomField, CustomFieldType
from app.services import custom_fields
from app.services.custom_fields import CustomValueError, parse


def field(kind, **kw):
    return CustomField(entity="client", code="f", label_ru="Поле", type=kind, **kw)


@pytest.mark.parametrize("kind, raw, expected", [
    (CustomFieldType.TEXT, "  Ромашка ", "Ромашка"),
    (CustomFieldType.LONG_TEXT, "строка 1\nстрока 2", "строка 1\nстрока 2"),
    (CustomFieldType.INTEGER, "1 200", 1200),
    (CustomFieldType.INTEGER, "-7", -7),
    (CustomFieldType.INTEGER, "12,0", 12),
    (CustomFieldType.DECIMAL, "3,1415", Decimal("3.1415")),
    (CustomFieldType.MONEY, "150 000,5", Decimal("150000.50")),
    (CustomFieldType.MONEY, "1\u00a0234.567", Decimal("1234.57")),
    (CustomFieldType.DATE, "31.12.2026", datetime.date(2026, 12, 31)),
    (CustomFieldType.DATE, "2026-02-01", datetime.date(2026, 2, 1)),
    (CustomFieldType.BOOLEAN, "Да", True),
    (CustomFieldType.BOOLEAN, "no", False),
    (CustomFieldType.BOOLEAN, True, True),
    (CustomFieldType.TEXT, "   ", None),
    (CustomFieldType.MONEY, "", None),
])
def test_values_parse_by_type(kind, raw, expected):
    assert parse(None, field(kind), raw) == expected


@pytest.mark.parametrize("kind, raw, message", [
    (CustomFieldType.INTEGER, "двенадцать", "whole number"),
    (CustomFieldType.INTEGER, "1.5", "whole number"),
    (CustomFieldType.DECIMAL, "1.23456", "four digits"),
    (CustomFieldType.DECIMAL, "NaN", "number"),
    (CustomFieldType.MONEY, "1e20", "too large"),
    (CustomFieldType.MONEY, "12 руб", "number"),
    (CustomFieldType.DATE, "31.02.2026", "ДД.ММ.ГГГГ"),
    (CustomFieldType.BOOLEAN, "может быть", "«да»"),
    (CustomFieldType.TEXT, "я" * 256, "255"),
])
def test_bad_values_are_refused_with_a_reason(kind, raw, message):
    with pytest.raises(CustomValueError) as error:
        parse(None, field(kind), raw)
    assert message in str(error.value)


def test_choices_match_without_case_and_keep_the_list_order():
    one = field(CustomFieldType.CHOICE, choices="Самовывоз\nДоставка\n")
    assert parse(None, one, "доставка") == "Доставка"
    with pytest.raises(CustomValueError) as error:
        parse(None, one, "Почта")
    assert "Самовывоз; Доставка" in str(error.value)
    many = field(CustomFieldType.MULTI_CHOICE, choices="Email\nSMS\nЗвонок")
    assert parse(None, many, "Звонок; email;Звонок") == ["Email", "Звонок"]
    assert parse(None, many, ["SMS"]) == ["SMS"]
    assert parse(None, many, " ; ") is None


def test_codes_are_made_from_labels_and_kept_unique():
    assert custom_fields.make_code("Ежемесячный доход", set()) == "ezhemesyachnyy_dokhod"
    assert custom_fields.make_code("Monthly income", {"monthly_income"}) == "monthly_income_2"
    assert custom_fields.make_code("2024", set()) == "f_2024"
    assert custom_fields.make_code("!!!", set()) == "field"
