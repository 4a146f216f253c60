"""Parsing and mapping of import files, without a database."""
import codecs
import datetime
import random
from decimal import Decimal

import phonenumbers
import pytest

from app.labels import ENUMS, FIELDS
from app.models import Client, ProcessingStatus
from app.services import imports, validation
from app.services.csv_io import stream_csv

ALMA = "Дата;Фамилия;Имя;Отчество;регион;город;сумма;телефон;дата рождения;статус;комментарии"


def write(tmp_path, data, name="f.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def read_all(path):
    encoding, delimiter = imports.sniff(path)
    return encoding, delimiter, list(imports.records(path, encoding, delimiter))


@pytest.mark.parametrize("codec, expected", [
    ("cp1251", "cp1251"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_encoding_is_detected(tmp_path, codec, expected):
    text = ALMA + "\r\n15.01.2026;Иванов;Пётр;Сергеевич;Москва;Москва;1 000;+79161234567;" \
                  "01.02.1980;Отказ;Ёлка, щётка, объём\r\n"
    encoding, delimiter, rows = read_all(write(tmp_path, text.encode(codec)))
    assert encoding == expected and delimiter == ";"
    assert rows[0][1][0] == "Дата"  # no BOM left in the first cell
    assert rows[1][1][10] == "Ёлка, щётка, объём"


def test_short_cp1251_file_is_not_taken_for_another_code_page(tmp_path):
    path = write(tmp_path, "Имя\nЖора\n".encode("cp1251"))
    assert imports.sniff(path)[0] == "cp1251"


def test_utf8_cut_at_the_end_of_the_sample_is_still_utf8():
    head = ("Ж" * 10).encode("utf-8")[:-1]
    assert imports.detect_encoding(head) == "utf-8"


@pytest.mark.parametrize("line, delimiter", [
    ("a;b;c", ";"), ("a,b,c", ","), ('"x, y";b;c', ";"), ("a\tb\tc", "\t"), ("single", ";"),
    ('"Иванов; Пётр",b,c,d', ",")])
def test_delimiter_is_detected(line, delimiter):
    assert imports.detect_delimiter(line + "\n1;2\n") == delimiter


def test_quoted_fields_with_delimiters_newlines_and_quotes(tmp_path):
    data = ('Имя;Комментарий\r\n"Иванов; Пётр";"строка 1\r\nстрока 2 ""в кавычках"""\r\n'
            "\r\n\r\nСидоров;x\r\n").encode("utf-8")
    _, _, rows = read_all(write(tmp_path, data))
    assert rows[1] == (2, ["Иванов; Пётр", 'строка 1\r\nстрока 2 "в кавычках"'])
    assert rows[2][1] == [] and rows[4] == (6, ["Сидоров", "x"])  # lines as an editor counts


def test_a_10_mb_field_is_refused_with_a_message(tmp_path):
    data = b'a;b\n"' + b"x" * (10 * 1024 * 1024) + b'";1\n'
    path = write(tmp_path, data)
    with pytest.raises(imports.FileProblem) as problem:
        list(imports.records(path, "utf-8", ";"))
    assert "Line 2" in str(problem.value) and "1048576" in str(problem.value)


def test_bytes_that_are_not_the_encoding_are_a_file_problem(tmp_path):
    path = write(tmp_path, "a;b\nЖ;1\n".encode("utf-8") + b"\xff\xfe;1\n")
    with pytest.raises(imports.FileProblem) as problem:
        list(imports.records(path, "utf-8", ";"))
    assert "utf-8" in str(problem.value)


def test_empty_file_has_no_header(tmp_path):
    path = write(tmp_path, b"\r\n\r\n")
    with pytest.raises(imports.FileProblem):
        imports.read_header(path, "utf-8", ";")


@pytest.mark.parametrize("text, value", [
    ("15.01.2026", datetime.date(2026, 1, 15)), ("5.1.2026", datetime.date(2026, 1, 5)),
    ("15/01/2026", datetime.date(2026, 1, 15)), ("2026-01-15", datetime.date(2026, 1, 15)),
    ("15.01.26", datetime.date(2026, 1, 15)), ("29.02.2024", datetime.date(2024, 2, 29))])
def test_dates(text, value):
    assert imports.parse_date(text) == value


@pytest.mark.parametrize("text", ["32.01.2026", "29.02.2025", "15.13.2026", "вчера", "15.01",
                                  "01.01.1812", "01.01.3000", "2026-1"])
def test_invalid_dates(text):
    with pytest.raises(imports.Bad):
        imports.parse_date(text)


@pytest.mark.parametrize("text, value", [
    ("150 000", "150000"), ("150\u00a0000,50", "150000.50"), ("1 234 567,5", "1234567.5"),
    ("1,234,567.50", "1234567.50"), ("1.234.567,50", "1234567.50"), ("1500,5", "1500.5"),
    ("1500.5", "1500.5"), ("10 000 руб.", "10000"), ("7₽", "7")])
def test_amounts_with_spaces_and_commas(text, value):
    assert imports.parse_decimal(text) == Decimal(value)


def _amount_field():
    from app.models import Application

    return imports.make_field(Application, "amount", "Сумма")


@pytest.mark.parametrize("text", ["-5", "1e30", "10000000000000", "NaN", "Infinity", "12abc",
                                  "²", "1²"])
def test_negative_or_absurd_amounts_are_refused(text):
    with pytest.raises(imports.Bad):
        imports.convert(_amount_field(), text, None)


def test_amounts_are_rounded_to_kopecks():
    assert imports.convert(_amount_field(), "10,005", None) == Decimal("10.01")


def test_datetime_is_read_in_moscow_time_and_stored_in_utc():
    import zoneinfo

    value = imports.parse_datetime("15.01.2026 12:30", zoneinfo.ZoneInfo("Europe/Moscow"))
    assert value == datetime.datetime(2026, 1, 15, 9, 30)


def _client_entity():
    columns = ["kind", "name", "last_name", "first_name", "phone", "inn", "region",
               "birth_date", "responsible", "public_access"]
    return imports.entity_for("clients", Client, columns, FIELDS, ENUMS, ("phone", "inn"))


def test_headers_map_by_russian_or_english_label_or_field_name():
    entity = _client_entity()
    header = ["Телефон", "INN", " фамилия ", "Дата рождения", "Kind", "Чего-то нет", "region",
              "Телефон"]
    assert imports.auto_map(entity, header) == ["phone", "inn", "last_name", "birth_date",
                                                "kind", None, "region", None]


def test_alma_header_is_recognised_and_mapped_in_full():
    header = ALMA.split(";")
    assert imports.is_alma_header(header)
    assert imports.is_alma_header([h.upper() + " " for h in header])
    mapping = imports.auto_map(imports.alma_entity(), header)
    assert None not in mapping and len(set(mapping)) == 11


@pytest.mark.parametrize("word, status", [
    ("В обработке", ProcessingStatus.IN_PROCESSING), ("завершена", ProcessingStatus.COMPLETED),
    ("ОДОБРЕНА", ProcessingStatus.COMPLETED), ("Отказ", ProcessingStatus.REFUSED),
    ("refused", ProcessingStatus.REFUSED)])
def test_alma_status_words(word, status):
    spec = imports.alma_entity().field("status")
    assert imports.convert(spec, word, None) is status


def test_enum_by_label_in_either_language():
    spec = _client_entity().field("kind")
    assert imports.convert(spec, "Компания", None).value == "company"
    assert imports.convert(spec, "Sole proprietor", None).value == "sole_proprietor"
    with pytest.raises(imports.Bad):
        imports.convert(spec, "Кооператив", None)


def test_wrong_column_count_and_bad_cells_are_row_problems():
    entity = _client_entity()
    header = ["Фамилия", "Телефон", "Дата рождения"]
    options = imports.Options(mapping=imports.auto_map(entity, header))
    importer = imports.Importer(None, entity, options)
    assert importer._convert(2, ["a", "b"]).errors
    assert not importer._convert(3, ["Иванов", "", "", "", ""]).errors  # empty extras
    row = importer._convert(4, ["Иванов", "12", "31.02.1990"])
    assert {str(label) for label, _ in row.errors} == {"Phone", "Birth date"}
    row = importer._convert(5, ["'=Иванов", "8 916 123-45-67", ""])
    assert row.values == {"last_name": "=Иванов", "phone": "+79161234567"}


def test_fast_phone_check_agrees_with_phonenumbers():
    # Every four-digit start of the ten digits once, the rest at random:
    # phonenumbers' Russian patterns tell numbers apart by their first
    # digits, and 20 000 random numbers (twice the time) missed about one
    # start in seven.
    rng = random.Random(4)
    for start in range(10000):
        digits = f"{start:04d}" + "".join(rng.choice("0123456789") for _ in range(6))
        for text in (digits, "8" + digits, "+7" + digits, f"+7 ({digits[:3]}) {digits[3:]}"):
            try:
                slow = phonenumbers.format_number(phonenumbers.parse(text, "RU"),
                                                  phonenumbers.PhoneNumberFormat.E164)
                slow = slow if phonenumbers.is_valid_number(
                    phonenumbers.parse(text, "RU")) else None
            except phonenumbers.NumberParseException:
                slow = None
            try:
                fast = validation.phone(text)
            except validation.ValidationError:
                fast = None
            assert fast == slow, text


def test_stream_csv_yields_chunks_and_substitutes_what_cp1251_lacks():
    rows = ([i, f"строка {i} — ₽ 😀"] for i in range(1200))
    chunks = list(stream_csv(["№", "Текст"], rows, "cp1251", chunk_rows=500))
    assert len(chunks) == 4  # header, 500, 500, 200
    text = b"".join(chunks).decode("cp1251")
    assert text.splitlines()[1] == "0;строка 0 — руб. ?"
    assert b"".join(stream_csv(["a"], [], "utf-8")).startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize("written, value", [
    ("г. Москва", "Москва"), ("город Москва", "Москва"), ("Москва г", "Москва"),
    ("Московская обл.", "Московская область"), ("Респ. Татарстан", "Республика Татарстан"),
    ("Краснодарский кр.", "Краснодарский край"), ("Ленинский р-н", "Ленинский район"),
    ("Ханты-Мансийский АО", "Ханты-Мансийский ао"), ("  ТВЕРСКАЯ   ОБЛАСТЬ ", "Тверская область"),
    ("Зелёноград", "Зеленоград"),
])
def test_dictionary_values_match_as_places_are_written(written, value):
    assert imports.dictionary_key(written) == imports.dictionary_key(value)


def test_dictionary_key_keeps_what_is_not_an_affix():
    assert imports.dictionary_key("Городец") == "городец"
    assert imports.dictionary_key("Гродно") == "гродно"
    assert imports.dictionary_key("Край") == "край"  # nothing but an affix: itself
    assert imports.dictionary_key("Москва") != imports.dictionary_key("Московская область")
