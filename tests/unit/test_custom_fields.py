"""Custom field values: parsing per type, codes, definitions."""
import datetime
from decimal import Decimal
from types import SimpleNamespace

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
    (CustomFieldType.MONEY, "1" + "0" * 20, "too large"),
    (CustomFieldType.MONEY, "1e20", "digits 0-9"),  # no exponents where people type
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


def test_a_dictionary_value_is_found_in_rows_already_read():
    regions = field(CustomFieldType.DICTIONARY, dictionary="Region")
    names = {5: "Москва", 7: "Тверская область"}
    assert parse(None, regions, " москва ", names) == 5
    assert parse(None, regions, "7", names) == 7
    with pytest.raises(CustomValueError) as error:
        parse(None, regions, "Марс", names)
    assert "dictionary" in str(error.value)


# --- CSV import of custom fields ------------------------------------------------------


def definition(code, kind, **kw):
    values = dict(id=abs(hash(code)) % 10_000, entity="client", code=code,
                  label_ru=code, label_en=None, type=kind, required=False, default=None,
                  help_text=None, choices=None, dictionary=None, sort_order=0,
                  is_active=True, in_list=False, in_filters=False)
    return custom_fields.Definition(**{**values, **kw})


@pytest.fixture
def client_entity(monkeypatch):
    """The clients' import entity with three custom fields, as
    ``imports_custom.extend`` makes it for a request."""
    from app.labels import FIELDS
    from app.models import Client
    from app.services import imports, imports_custom

    fields = [definition("income", CustomFieldType.MONEY, label_ru="Ежемесячный доход",
                         label_en="Monthly income", required=True),
              definition("vip", CustomFieldType.BOOLEAN, label_ru="Особый клиент"),
              definition("channel", CustomFieldType.CHOICE, label_ru="Канал",
                         choices="Почта\nЗвонок", default="Звонок", required=True)]
    monkeypatch.setattr(custom_fields, "fields_of", lambda session, entity: fields)
    plain = imports.entity_for("clients", Client, ["name", "phone"], FIELDS)
    return plain, imports_custom.extend(None, plain)


def test_custom_fields_map_by_either_label_or_code_normalised(client_entity):
    from app.services import imports

    plain, entity = client_entity
    header = ["Название", "ЕЖЕМЕСЯЧНЫЙ  доход", "monthly-income", "особый клиент.", "channel"]
    assert imports.auto_map(entity, header) == ["name", "cf_income", None, "cf_vip",
                                                "cf_channel"]
    assert imports.auto_map(entity, ["Monthly Income"]) == ["cf_income"]
    # Built-in fields first, then the custom ones, all in the template file.
    assert imports.template_header(entity)[-3:] == ["Ежемесячный доход", "Особый клиент",
                                                    "Канал"]
    assert imports.auto_map(plain, header)[1:] == [None] * 4


def test_custom_cells_are_parsed_with_the_services_messages(client_entity):
    from app.services import imports

    _, entity = client_entity
    income, vip = entity.field("cf_income"), entity.field("cf_vip")
    assert imports.converter(income, None)("150 000,5") == Decimal("150000.50")
    assert imports.converter(vip, None)("Да") is True
    with pytest.raises(imports.Bad) as error:
        imports.converter(income, None)("много")
    assert str(error.value.args[0]).startswith("Enter a number")
    # A default makes a required field optional in the file: new records get it.
    assert income.required and not entity.field("cf_channel").required


def test_importer_without_custom_values_to_write_has_no_hook(client_entity):
    from app.services import imports

    plain, entity = client_entity
    options = imports.Options(mapping=["name"])
    assert imports.Importer(None, plain, options).custom is None
    # Defaults are written for new records even when no custom column is mapped.
    assert imports.Importer(None, entity, options).custom is not None


@pytest.mark.parametrize("stored, shown", [
    ("10.0000", "10"), ("12.5000", "12.5"), ("-0.0100", "-0.01"), ("100000000.0000", "100000000")])
def test_decimals_read_back_without_an_exponent(stored, shown):
    decimal = field(CustomFieldType.DECIMAL)
    value = custom_fields._stored(decimal, SimpleNamespace(number_value=Decimal(stored)))
    assert custom_fields.text_of(None, decimal, value) == shown.replace(".", ",")  # as read
    assert custom_fields.json_of(decimal, value) == shown


@pytest.mark.parametrize("kind, value, expected", [
    (CustomFieldType.MONEY, Decimal("150000.50"), "150000.50"),
    (CustomFieldType.DATE, datetime.date(2026, 1, 15), "2026-01-15"),
    (CustomFieldType.BOOLEAN, False, False),
    (CustomFieldType.INTEGER, 7, 7),
    (CustomFieldType.MULTI_CHOICE, ["SMS"], ["SMS"]),
    (CustomFieldType.MULTI_CHOICE, None, []),
    (CustomFieldType.TEXT, None, None),
])
def test_the_api_gives_typed_json(kind, value, expected):
    assert custom_fields.json_of(field(kind), value) == expected


def test_api_values_are_checked_together():
    income = field(CustomFieldType.MONEY, required=True)
    income.code = "income"
    source = field(CustomFieldType.TEXT, default="Сайт")
    source.code = "source"
    channels = field(CustomFieldType.MULTI_CHOICE, choices="Email\nSMS")
    channels.code = "channels"
    fields = [income, source, channels]

    values, errors = custom_fields.parse_values(None, fields, {}, new=True)
    assert values == {"income": None, "source": "Сайт", "channels": None}
    assert list(errors) == ["income"] and "required" in str(errors["income"])
    values, errors = custom_fields.parse_values(None, fields, {"channels": ["sms"]}, new=False)
    assert (values, errors) == ({"channels": ["SMS"]}, {})
    _, errors = custom_fields.parse_values(None, fields, {
        "income": ["1", "2"], "source": {"a": 1}, "gone": "x"}, new=False)
    assert {code: str(message) for code, message in errors.items()} == {
        "income": "Expected a single value", "source": "Expected a single value",
        "gone": "No active custom field with this code"}
