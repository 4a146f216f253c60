import csv
import datetime
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.csv_io import cell, from_cell, to_csv


@pytest.mark.parametrize("text", [
    "=SUM(A1:A9)", "=1+1", "+7+cmd|' /c calc'!A1", "-2+3", "@SUM(1)", "@cmd", "+A1", "-A1",
    "\tx", "\rx", "=", "+", "-", "+7 916 доб. 5", "-5 %", "-1e5", '="0012345678"'])
def test_formula_like_text_is_neutralised(text):
    assert cell(text) == "'" + text
    assert from_cell(cell(text)) == text


@pytest.mark.parametrize("text", ["+79161979005", "+7 (916) 197-90-05", "+7-916-197-90-05",
                                  "8 916 197-90-05", "0012345678", "40702810900000012345",
                                  "7707083893", "044525225", "+5", "1-2"])
def test_phones_and_requisites_stay_text_without_an_apostrophe(text):
    # A spreadsheet would make a number of them (leading zeros, the «+» and
    # digits past the 15th lost) or, in Excel, a sum of «+7-916-…».
    assert cell(text) == f'="{text}"'
    assert from_cell(cell(text)) == text


@pytest.mark.parametrize("text", ["-150,00", "-300 000,00", "-300\u00a0000,00", "-5", "-0.5",
                                  "Иванов", "", "12.03.2020", "1234,50", " =1", "x=1"])
def test_numbers_and_plain_text_are_written_as_they_are(text):
    assert cell(text) == text and from_cell(text) == text


def test_texts_starting_with_apostrophes_come_back_exactly():
    assert cell("'=1+1") == "''=1+1" and cell("''-2") == "'''-2"
    assert cell("'abc") == "'abc" and cell("'0012") == "'0012" and cell("'") == "'"
    for text in ("'=1+1", "''-2", "'abc", "'0012", "'", "''"):
        assert from_cell(cell(text)) == text


def test_an_older_files_apostrophes_are_taken_off():
    # Files exported by earlier versions put one before every «+» and «-»,
    # phones and negative amounts too.
    assert from_cell("'+79161979005") == "+79161979005" and from_cell("'-150,00") == "-150,00"
    assert from_cell('="+7 (916) 197-90-05"') == "+7 (916) 197-90-05"
    assert from_cell('="1+1"') == '="1+1"'  # not a text ``cell`` writes so


def test_digits_longer_than_excel_takes_in_a_formula_are_left_as_they_are():
    assert cell("1" * 255) == '="' + "1" * 255 + '"' and cell("+" + "1" * 254)[:3] == '="+'
    assert cell("1" * 256) == "1" * 256
    for text in ("1" * 255, "+" + "1" * 254, "1" * 256, "+" + "1" * 255):
        assert from_cell(cell(text)) == text


@given(st.text(alphabet="'=+-@\t\r0123456789 ()\u00a0,.\"x|!ё", max_size=12))
def test_every_text_comes_back_exactly(text):
    assert from_cell(cell(text)) == text


def test_values_are_formatted_for_a_russian_excel():
    assert cell(Decimal("1234.5")) == "1234,50"
    assert cell(datetime.date(2026, 1, 2)) == "02.01.2026"
    assert cell(None) == "" and cell(True) == "да" and cell(7) == "7"
    assert cell("Иванов; Пётр") == "Иванов; Пётр"
    assert cell(-7) == "-7" and cell(Decimal("-300000")) == "-300000,00"


@pytest.mark.parametrize("encoding, codec, bom", [("utf-8", "utf-8-sig", True),
                                                   ("cp1251", "cp1251", False)])
def test_file_round_trips_with_semicolons_quotes_and_newlines(encoding, codec, bom):
    rows = [("Иванов; Пётр", 'ООО "Ромашка"', "строка 1\nстрока 2", Decimal("10"))]
    data = to_csv(["ФИО", "Компания", "Комментарий", "Сумма"], rows, encoding)
    assert data.startswith(b"\xef\xbb\xbf") == bom
    parsed = list(csv.reader(io.StringIO(data.decode(codec), newline=""), delimiter=";"))
    assert parsed == [["ФИО", "Компания", "Комментарий", "Сумма"],
                      ["Иванов; Пётр", 'ООО "Ромашка"', "строка 1\nстрока 2", "10,00"]]
