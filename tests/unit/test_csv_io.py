import csv
import datetime
import io
from decimal import Decimal

import pytest

from app.services.csv_io import cell, to_csv


@pytest.mark.parametrize("text", ["=SUM(A1:A9)", "+7 916", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_like_text_is_neutralised(text):
    assert cell(text) == "'" + text


def test_values_are_formatted_for_a_russian_excel():
    assert cell(Decimal("1234.5")) == "1234,50"
    assert cell(datetime.date(2026, 1, 2)) == "02.01.2026"
    assert cell(None) == "" and cell(True) == "да" and cell(7) == "7"
    assert cell("Иванов; Пётр") == "Иванов; Пётр"


@pytest.mark.parametrize("encoding, codec, bom", [("utf-8", "utf-8-sig", True),
                                                   ("cp1251", "cp1251", False)])
def test_file_round_trips_with_semicolons_quotes_and_newlines(encoding, codec, bom):
    rows = [("Иванов; Пётр", 'ООО "Ромашка"', "строка 1\nстрока 2", Decimal("10"))]
    data = to_csv(["ФИО", "Компания", "Комментарий", "Сумма"], rows, encoding)
    assert data.startswith(b"\xef\xbb\xbf") == bom
    parsed = list(csv.reader(io.StringIO(data.decode(codec), newline=""), delimiter=";"))
    assert parsed == [["ФИО", "Компания", "Комментарий", "Сумма"],
                      ["Иванов; Пётр", 'ООО "Ромашка"', "строка 1\nстрока 2", "10,00"]]
