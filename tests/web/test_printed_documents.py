"""Printed documents a customer can receive: every
seeded template prints for a client with nothing optional filled and for
one with everything filled — no error, no «None», no «5E+1», no label left
hanging before an empty value — numbers as people write them, Russian
cases, and the template editor's warnings on save."""
import datetime
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    Application,
    Client,
    ClientKind,
    Company,
    Currency,
    Deal,
    DocumentTemplate,
    Employee,
    Invoice,
    InvoiceLine,
    Tax,
    TemplateEntity,
)
from app.services import invoices
from app.services.company import ensure_company
from tests.conftest import employee_id, unique

COMPANY_FIELDS = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "settlement_account",
                  "corr_account", "postcode", "director_name", "director_position",
                  "legal_address", "actual_address", "okved", "oktmo")
FILLED_COMPANY = {
    "name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001",
    "ogrn": "1027700132195", "bank_name": "ПАО Сбербанк", "bik": "044525225",
    "settlement_account": "40702810938000000001", "corr_account": "30101810400000000225",
    "postcode": "117997", "director_name": "Петрова Анна Сергеевна",
    "director_position": "Генеральный директор", "legal_address": "г. Москва, ул. Вавилова, 19",
    "actual_address": "г. Москва, ул. Вавилова, 19", "okved": "64.19", "oktmo": "45397000",
}
# A line left to fill in by hand (signature lines are 14 underscores long).
BLANK_LINE = re.compile(r"(?<!_)(_{4,13}|_{15,})(?!_)")
# A label printed with nothing after it: «ИНН ,», «р/с в», «— мес.», «— %».
DANGLING = re.compile(r"(\b(ИНН|КПП|ОГРН|БИК|р/с|к/с|Сч\. №|Телефон:|Адрес:)\s*[,.;)]"
                      r"|—\s*(мес|%|руб)|в лице\s*,|№\s*от\b|\(\s*\))")


def _text(data):
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def company(session):
    """The company's requisites, set by the test and put back afterwards."""
    row = ensure_company(session)
    saved = {name: getattr(row, name) for name in COMPANY_FIELDS}

    def set_to(values):
        for name in COMPANY_FIELDS:
            setattr(row, name, values.get(name, "" if name == "name" else None))
        session.commit()

    yield set_to
    session.rollback()
    row = session.get(Company, row.id)
    for name, value in saved.items():
        setattr(row, name, value)
    session.commit()


def _records(session, *, filled):
    """A client with its application, deal and invoice: everything optional
    empty, or everything filled."""
    manager_id = employee_id(session, "manager")
    if filled:
        client = Client(
            name="Смирнова Ольга Петровна " + unique("")[1:], kind=ClientKind.PERSON,
            last_name="Смирнова", first_name="Ольга", middle_name="Петровна",
            birth_date=datetime.date(1990, 3, 8), passport_series="4510",
            passport_number="123456", passport_issued_by="ОВД района Арбат г. Москвы",
            passport_issue_date=datetime.date(2010, 5, 20), inn="500100732259",
            phone="+79161234567", email="olga@example.ru", city="Москва",
            address="ул. Тверская, д. 1", legal_address="ул. Тверская, д. 1",
            responsible_id=manager_id)
    else:
        client = Client(name=unique("Клиент"), responsible_id=manager_id)
    session.add(client)
    session.flush()
    application = Application(client_id=client.id, responsible_id=manager_id,
                              amount=Decimal("300000") if filled else Decimal(0))
    if filled:
        application.term_months = 12
        application.rate_percent = Decimal("14.5")
    rub = session.scalar(select(Currency).where(Currency.code == "RUB"))
    deal = Deal(title=unique("Поставка") if filled else "", client_id=client.id,
                responsible_id=manager_id, amount=Decimal("150000") if filled else Decimal(0),
                currency_id=rub.id if (filled and rub) else None,
                expected_close=datetime.date(2031, 1, 31) if filled else None,
                comment="Срок поставки — 10 дней." if filled else None)
    invoice = Invoice(client_id=client.id, number=unique("T")[:20], responsible_id=manager_id,
                      deal=deal if filled else None)
    tax = session.scalar(select(Tax).where(Tax.rate > 0).order_by(Tax.id))
    if filled:
        invoice.order_number = "З-17"
        invoice.terms = "Оплата в течение 5 дней"
        invoice.comment = "Спасибо!"
        invoice.lines = [
            InvoiceLine(description="Бумага", quantity=Decimal("50"), price=Decimal("250"),
                        tax=tax, sort_order=0),
            InvoiceLine(description="Доставка", quantity=Decimal("1.5"),
                        price=Decimal("1000"), discount_percent=Decimal("10"), sort_order=1),
            InvoiceLine(description="Скрепки", quantity=Decimal("100"), price=Decimal("2.5"),
                        sort_order=2),
        ]
    session.add_all([application, deal, invoice])
    session.flush()
    invoices.recalculate(session, invoice)
    session.commit()
    return {"application": application, "deal": deal, "invoice": invoice, "client": client}


def _print(manager, session, code, record):
    template = session.scalar(select(DocumentTemplate).where(DocumentTemplate.code == code))
    response = manager.post(f"/documents/print/{template.entity.value}/{record.id}",
                            {"template": str(template.id)}, follow=False)
    assert response.status_code == 200, response.text[:2000]
    assert response.mimetype == "application/pdf", response.text[:2000]
    return _text(response.data)


SEEDED = (("loan_agreement", "application"), ("invoice", "invoice"),
          ("commercial_offer", "deal"))


@pytest.mark.parametrize("code, record", SEEDED)
def test_seeded_templates_print_with_everything_empty(as_role, session, company, code,
                                                      record):
    company({})
    records = _records(session, filled=False)
    text = _print(as_role("manager"), session, code, records[record])
    assert "None" not in text and "E+" not in text and "Invalid" not in text
    assert not DANGLING.search(text), DANGLING.search(text).group(0)
    assert BLANK_LINE.search(text)  # what is missing is a line to fill in by hand


@pytest.mark.parametrize("code, record", SEEDED)
def test_seeded_templates_print_with_everything_filled(as_role, session, company, code,
                                                       record):
    company(FILLED_COMPANY)
    records = _records(session, filled=True)
    text = _print(as_role("manager"), session, code, records[record])
    assert "None" not in text and "E+" not in text
    assert not DANGLING.search(text), DANGLING.search(text).group(0)
    assert "ООО «Ромашка»" in text
    if code == "loan_agreement":
        assert ("в лице Генерального директора Петровой Анны Сергеевны, действующей "
                "на основании Устава") in text
        assert "именуемая в дальнейшем «Заёмщик»" in text
        assert "паспорт 4510 № 123456, выдан ОВД района Арбат г. Москвы 20.05.2010" in text
        assert "Срок кредита — 12 мес. Процентная ставка — 14,5% годовых" in text
        assert "300 000,00 руб. (Триста тысяч рублей 00 копеек)" in text
        assert "Петрова А. С." in text and "Смирнова О. П." in text
        assert not BLANK_LINE.search(text)
    elif code == "invoice":
        lines = text.split("Товары (работы, услуги)")[1]
        # Quantities as people write them, never 5E+1 or 1E+2.
        assert re.search(r"Бумага 50 шт|Бумага 50\b", lines), lines
        assert re.search(r"Доставка 1,5\b", lines) and re.search(r"Скрепки 100\b", lines)
        assert "12 500,00" in lines and "1 350,00" in lines and "10%" in lines
        assert "ИНН 7707083893" in text and not BLANK_LINE.search(text)
    else:
        assert "150 000,00 руб." in text and "Сто пятьдесят тысяч рублей 00 копеек" in text
        assert "31.01.2031" in text


def test_loan_agreement_for_a_person_without_passport_issue_date(as_role, session,
                                                                  company):
    """It failed with «Invalid isoformat string: ''»."""
    company(FILLED_COMPANY)
    manager_id = employee_id(session, "manager")
    client = Client(name="Иванов Иван Иванович", kind=ClientKind.PERSON,
                    passport_series="4510", passport_number="654321",
                    responsible_id=manager_id)
    session.add(client)
    session.flush()
    application = Application(client_id=client.id, responsible_id=manager_id,
                              amount=Decimal("100000"))
    session.add(application)
    session.commit()
    text = _print(as_role("manager"), session, "loan_agreement", application)
    assert "паспорт 4510 № 654321, выдан ______________________________ __________" in text
    assert "именуемый в дальнейшем «Заёмщик»" in text
    assert "Срок кредита — ____ мес." in text and "— ____% годовых" in text
    assert "Иванов И. И." in text


def test_an_unchanged_builtin_template_is_brought_up_to_date(app, session):
    """Upgrading runs the seeding again: a built-in template nobody edited
    gets the current text, an edited one stays as its author left it."""
    from pathlib import Path

    from app.services.seed import SEED_TEMPLATES_DIR, seed_templates

    old = Path(__file__).with_name("data_loan_agreement_v1.html")
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.code == "loan_agreement"))
    current = template.body
    try:
        template.body = old.read_text(encoding="utf-8")
        session.commit()
        seed_templates(session)
        session.commit()
        assert template.body == (SEED_TEMPLATES_DIR / "loan_agreement.html").read_text(
            encoding="utf-8")
        template.body = old.read_text(encoding="utf-8") + "<p>Своё</p>"
        session.commit()
        seed_templates(session)
        session.commit()
        assert template.body.endswith("<p>Своё</p>")
    finally:
        template.body = current
        session.commit()


# --- the template editor warns on save ---------------------------------------------------

def _save(user, body, entity="client", name=None):
    name = name or unique("Шаблон")
    page = user.post("/templates/add", {"name": name, "entity": entity, "is_active": "y",
                                        "body": body}).text
    return name, page


def _saved(session, name):
    return session.scalar(select(DocumentTemplate.id).where(DocumentTemplate.name == name))


def test_save_warns_about_a_mistyped_placeholder_with_its_line(as_role, session):
    name, page = _save(as_role("head"), "<p>{{ client.name }}</p>\n<p>{{ client.nmae }}</p>\n"
                                        "{% for line in invoice.lines %}{% endfor %}")
    assert _saved(session, name)  # saved: it only prints blank
    assert "Проверьте шаблон: Строка 2: неизвестная переменная «client.nmae»" in page
    # A client's template has no invoice: the loop never runs.
    assert "Проверьте шаблон: Строка 3: «invoice.lines» пусто в шаблонах этого вида" in page
    assert "Строка 1" not in page


def test_save_warns_about_unknown_names_and_fields_of_loop_rows(as_role, session):
    body = ("{{ clinet.name }}\n{% for line in invoice.lines %}\n{{ line.quantty }}"
            "{{ line.quantity|number }}\n{% endfor %}\n{{ deal.title }}")
    name, page = _save(as_role("head"), body, entity="invoice")
    assert _saved(session, name)
    assert "Строка 1: неизвестная переменная «clinet»" in page
    assert "Строка 3: неизвестная переменная «line.quantty»" in page
    assert "«deal.title» пусто" not in page  # an invoice may have a deal: no warning


def test_save_warns_about_a_record_this_kind_of_template_has_not(as_role, session):
    name, page = _save(as_role("head"), "<p>{{ client.name }}</p>\n{{ invoice.total|money }}")
    assert _saved(session, name)
    assert "Строка 2: «invoice.total» пусто в шаблонах этого вида" in page


@pytest.mark.parametrize("body, line, reason", [
    ("<p>\n{{ client.name.__class__ }}</p>", 2,
     "«client.name.__class__» нельзя читать в шаблоне (это запрещает песочница)"),
    ("a\nb\n{{ config.SECRET_KEY }}", 3, "«config» недоступно в шаблонах"),
    ("{{ request }}", 1, "«request» недоступно в шаблонах"),
])
def test_save_refuses_what_the_sandbox_forbids(as_role, session, body, line, reason):
    name, page = _save(as_role("admin"), body)
    assert _saved(session, name) is None
    assert f"Строка {line}: {reason}" in page


@pytest.mark.parametrize("body, line, reason", [
    ("a\nb\n{% if client.inn %}\nИНН {{ client.inn }}\n", 3,
     "{% if %} не закрыт: не хватает {% endif %}"),
    ("{% if client.inn %}\n{% for x in invoice.lines %}\n\n{% endif %}", 4,
     "{% endif %} не закрывает {% for %} из строки 2: сначала закройте тот блок через "
     "{% endfor %}"),
    ("a\n{% endif %}", 2, "{% endif %} не закрывает ни одного открытого блока"),
    ("a\n{{ client.name|mony }}", 2, "неизвестный фильтр «mony»"),
    ("a\n{{ client.name(  }}", 2, "ожидалось «)», а стоит «}»"),
    ("{% for x in %}", 1, "не хватает значения перед «%}»"),
    ("a\n{{ client.name", 2, "шаблон заканчивается внутри {{ … }} или {% … %}"),
])
def test_save_refuses_a_syntax_error_in_russian_with_its_line(as_role, session, body, line,
                                                             reason):
    import html

    name, page = _save(as_role("admin"), body)
    assert _saved(session, name) is None
    message = f"Строка {line}: Синтаксическая ошибка в шаблоне: {reason}"
    assert message in html.unescape(page), page[page.find("alert"):][:600]
    assert "Jinja" not in html.unescape(page) and "Encountered" not in page
    assert body.split("\n")[0] in html.unescape(page)  # the typed text is kept


def test_preview_lists_the_warnings(as_role):
    answer = as_role("head").post("/templates/preview", {
        "entity": "client", "body": "{{ client.name }}\n{{ client.nmae }}"}).json
    assert answer["error"] is None
    assert answer["warnings"] == ["Строка 2: неизвестная переменная «client.nmae»"]


def test_seeded_templates_save_without_warnings(as_role, session):
    """The editor has nothing to say about the built-in templates."""
    head = as_role("head")
    for code, _ in SEEDED:
        template = session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.code == code))
        answer = head.post("/templates/preview", {"entity": template.entity.value,
                                                  "body": template.body}).json
        assert answer["error"] is None and answer["warnings"] == [], (code, answer)


def test_sample_data_has_every_field_a_record_has(app, session):
    """The editor checks placeholders against the sample data: it must have
    the same fields as a real record's, or a right placeholder would be
    reported as unknown."""
    from app.services import documents

    manager = session.get(Employee, employee_id(session, "manager"))
    records = _records(session, filled=True)
    records["task"] = None
    with app.app_context():
        for entity, record in ((TemplateEntity.APPLICATION, records["application"]),
                               (TemplateEntity.DEAL, records["deal"]),
                               (TemplateEntity.INVOICE, records["invoice"]),
                               (TemplateEntity.CLIENT, records["client"])):
            real = documents.build_context(session, entity, record, manager)
            sample = documents.sample_context(session, entity, manager)
            assert set(real) == set(sample)
            for key, value in real.items():
                if isinstance(value, dict) and isinstance(sample[key], dict):
                    assert set(value) <= set(sample[key]), (entity, key,
                                                            set(value) - set(sample[key]))
            lines = real["invoice"]["lines"] if real["invoice"] else []
            for line in lines:
                assert set(line) <= set(sample["invoice"]["lines"][0])
