"""The loan calculator screen, its errors and its CSV export, per role."""
import csv
import io

import pytest

FORM = {"calc": "1", "amount": "100 000", "rate": "12", "months": "12",
        "first_date": "2026-12-23", "kind": "annuity", "interest_basis": "monthly"}


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_every_role_calculates_a_schedule(as_role, role):
    page = as_role(role).get("/calculator/", query_string=FORM).text
    assert "Ежемесячный платёж" in page
    assert "8\u00a0884,88" in page
    assert "6\u00a0618,53" in page  # overpayment
    assert page.count("<tr><td>") == 12
    assert "<svg" in page and "Основной долг" in page


def test_calculator_is_in_the_menu_and_needs_sign_in(as_role, client):
    assert "Кредитный калькулятор" in as_role("manager").get("/").text
    assert client.get("/calculator/").status_code == 302


def test_empty_form_shows_defaults_and_no_errors(as_role):
    page = as_role("manager").get("/calculator/").text
    assert "Рассчитать" in page and "Сбросить" in page
    assert "has-error" not in page and 'id="schedule"' not in page


def test_prefill_from_a_link_does_not_calculate(as_role):
    page = as_role("manager").get("/calculator/?amount=250000&months=24").text
    assert 'value="250000"' in page and 'value="24"' in page
    assert 'id="schedule"' not in page and "has-error" not in page


def test_comma_decimal_and_differentiated(as_role):
    form = dict(FORM, amount="120000,00", kind="differentiated")
    page = as_role("manager").get("/calculator/", query_string=form).text
    assert "Первый платёж" in page and "11\u00a0200,00" in page and "7\u00a0800,00" in page


@pytest.mark.parametrize("field, value, message", [
    ("amount", "-5", "Сумма должна быть больше нуля."),
    ("amount", "сто", "Это не число."),
    ("amount", "1,005", "В сумме не больше двух знаков после запятой."),
    ("rate", "101", "Ставка должна быть от 0 до 100 %."),
    ("months", "0", "Срок должен быть от 1 до 600 месяцев."),
    ("months", "601", "Срок должен быть от 1 до 600 месяцев."),
    ("months", "1.5", "Срок — целое число месяцев."),
    ("first_date", "31.02.2026", "Введите дату в виде ДД.ММ.ГГГГ."),
    ("kind", "balloon", "Неизвестный вид погашения."),
])
def test_invalid_input_gets_a_message_by_the_field(as_role, field, value, message):
    response = as_role("manager").get("/calculator/", query_string=dict(FORM, **{field: value}))
    assert response.status_code == 200
    assert message in response.text
    assert 'id="schedule"' not in response.text


def test_all_errors_are_shown_at_once(as_role):
    page = as_role("manager").get("/calculator/", query_string=dict(
        FORM, amount="", rate="x", months="0")).text
    assert "Заполните поле." in page and "Это не число." in page
    assert "Срок должен быть от 1 до 600 месяцев." in page


def test_english_interface(as_role):
    client = as_role("manager")
    client.get("/lang/en")
    page = client.get("/calculator/", query_string=dict(FORM, rate="101")).text
    assert "Loan calculator" in page and "Rate must be between 0 and 100 percent." in page
    client.get("/lang/ru")


@pytest.mark.parametrize("encoding, codec", [("utf-8", "utf-8-sig"), ("cp1251", "cp1251")])
def test_csv_export(as_role, encoding, codec):
    response = as_role("manager").get("/calculator/csv",
                                      query_string=dict(FORM, encoding=encoding))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    if encoding == "utf-8":
        assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode(codec)), delimiter=";"))
    assert rows[0] == ["№", "Дата", "Платёж", "Проценты", "Основной долг", "Остаток долга"]
    assert rows[1] == ["1", "23.12.2026", "8884,88", "1000,00", "7884,88", "92115,12"]
    assert rows[12][0] == "12" and rows[12][5] == "0,00"
    assert rows[13][1:5] == ["Итого", "106618,53", "6618,53", "100000,00"]


def test_csv_export_with_bad_input_returns_to_the_form(as_role):
    response = as_role("manager").get("/calculator/csv", query_string=dict(FORM, months="0"))
    assert response.status_code == 302
    assert "/calculator/" in response.location


def test_pdf_export_has_cyrillic_text_and_the_schedule(as_role):
    import io

    from pypdf import PdfReader

    response = as_role("manager").get("/calculator/pdf", query_string=FORM)
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "График погашения кредита" in text
    assert "8 884,88" in text and "6 618,53" in text and "Итого" in text


def test_pdf_export_with_bad_input_returns_to_the_form(as_role):
    response = as_role("manager").get("/calculator/pdf", query_string=dict(FORM, rate="x"))
    assert response.status_code == 302


def test_open_in_calculator_from_an_application_and_a_client(as_role, session):
    import datetime
    from decimal import Decimal

    from sqlalchemy import select

    from app.models import Application, Client, Employee

    manager_id = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    client = Client(name="Калькуляторов", responsible_id=manager_id)
    session.add(client)
    session.flush()
    application = Application(client=client, amount=Decimal("250000.50"), term_months=24,
                              rate_percent=Decimal("9.9"), date=datetime.date(2026, 11, 1),
                              responsible_id=manager_id)
    session.add(application)
    session.commit()
    manager = as_role("manager")
    for url in (f"/applications/show/{application.id}", f"/clients/show/{client.id}"):
        page = manager.get(url).text
        assert "Открыть в калькуляторе" in page
        link = page.split('id="open-calculator" href="')[1].split('"')[0].replace("&amp;", "&")
        assert "amount=250000,50" in link and "months=24" in link
        assert "rate=9,9" in link and f"client={client.id}" in link
        prefilled = manager.get(link).text
        assert 'value="250000,50"' in prefilled and 'value="24"' in prefilled
        assert 'value="9,9"' in prefilled
        assert f'<option value="{client.id}" selected>Калькуляторов</option>' in prefilled
    # The printed schedule names the client and writes the rate as typed.
    from pypdf import PdfReader

    pdf = manager.get(link.replace("/calculator/?", "/calculator/pdf?"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Заёмщик: Калькуляторов" in text and "9,9" in text and "9.9" not in text
    # Another manager's client is not named.
    other = as_role("head").get(link.replace("/calculator/?", "/calculator/pdf?"))
    assert "Калькуляторов" in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(other.data)).pages)
    hidden = Client(name="Чужой заёмщик")
    session.add(hidden)
    session.commit()
    page = manager.get(f"/calculator/?client={hidden.id}").text
    assert "Чужой заёмщик" not in page
