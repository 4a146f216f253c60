"""VAT on invoices: the 2026 rates of the dictionary, the company's default
rate and «Цены включают НДС», totals rounded line by line with VAT added or
included, a line keeping the rate it was saved with, the printed wording
(«В том числе НДС 22 %», «Всего к оплате», «руб.») read back from the PDF,
per role, and the migration that brings an existing dictionary up to date."""
import re
from decimal import Decimal as D
from types import SimpleNamespace

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from app import db
from app.models import (
    Client,
    Company,
    DocumentTemplate,
    Employee,
    Invoice,
    InvoiceStatus,
    Tax,
)
from app.services import invoices
from app.services.company import _blank, ensure_company
from tests.conftest import _postgres_schema, first_id, jwt_headers, make_app, unique
from tests.pdf import pdf_text


@pytest.fixture
def company(session):
    """The requisites as a test sets them, put back afterwards."""
    row = ensure_company(session)
    session.commit()
    saved = (row.default_tax_id, row.prices_include_vat)
    yield row
    session.expire_all()
    row = session.get(Company, row.id)
    row.default_tax_id, row.prices_include_vat = saved
    session.commit()


def _new_invoice(user, session, buyer, included=False, **extra):
    order = unique("НДС")
    data = {"client": str(buyer.id), "issue_date": "2026-12-01", "payment_term": "15",
            "order_number": order}
    if included:
        data["prices_include_vat"] = "y"
    data.update(extra)
    page = user.post("/invoices/add", data).text
    invoice = session.scalar(select(Invoice).where(Invoice.order_number == order))
    assert invoice is not None, page[-3000:]
    return invoice


def _add_line(user, invoice_id, **fields):
    data = {"invoice": str(invoice_id), "quantity": "1", "discount_percent": "0"}
    data.update({k: str(v) for k, v in fields.items()})
    return user.post("/invoice-lines/add", data)


def _reload(session, invoice):
    session.expire_all()
    return session.get(Invoice, invoice.id)


def _print(user, session, invoice):
    template_id = first_id(session, DocumentTemplate, code="invoice")
    response = user.post(f"/documents/print/invoice/{invoice.id}",
                         {"template": str(template_id)}, follow=False)
    assert response.mimetype == "application/pdf", response.text[-2000:]
    return pdf_text(response.data)


# --- the service: known totals -----------------------------------------------------

@pytest.mark.parametrize("price, rate, included, amount, vat", [
    ("12200.00", 22, True, "12200.00", "2200.00"),
    ("100.00", 22, True, "100.00", "18.03"),
    ("1000.00", 22, False, "1000.00", "220.00"),
    ("100.00", 10, True, "100.00", "9.09"),
    ("0.05", 22, False, "0.05", "0.01"),       # 0,011 rounds half up
    ("1000.00", None, False, "1000.00", "0.00"),  # «Без НДС»
])
def test_line_vat_added_or_included(price, rate, included, amount, vat):
    assert invoices.line_amounts(1, D(price), 0, rate, included) == (D(amount), D(vat))


def test_totals_round_line_by_line():
    three = [SimpleNamespace(amount=D("100.00"), tax_amount=D("18.03"))] * 3
    assert invoices.totals(three, included=True) == (D("300.00"), D("54.09"), D("300.00"))
    added = [SimpleNamespace(amount=D("1000.00"), tax_amount=D("220.00"))]
    assert invoices.totals(added) == (D("1000.00"), D("220.00"), D("1220.00"))


def test_print_summary_lists_each_rate_and_keeps_no_vat_terms_out():
    summary = invoices.print_summary(
        [(D(22), D("18.03")), (D(10), D("9.09")), (D(22), D("18.03")), (None, D(0))],
        included=True, currency_code="RUB",
        terms="Оплата в течение 5 дней. НДС не облагается.")
    assert [(v["label"], v["amount"]) for v in summary["vat"]] == [
        ("В том числе НДС 22 %", D("36.06")), ("В том числе НДС 10 %", D("9.09")),
        ("Без НДС", D("0.00"))]
    assert summary["terms"] == "Оплата в течение 5 дней."
    assert summary["currency_short"] == "руб." and summary["in_roubles"]
    # 0 % is a VAT rate too: a taxed supply, not an exempt one.
    zero = invoices.print_summary([(D(0), D(0))], included=False, currency_code="USD",
                                  terms="НДС не облагается")
    assert zero["vat"][0]["label"] == "НДС 0 %" and zero["currency_short"] == "USD"
    assert zero["terms"] == "" and not zero["in_roubles"]
    exempt = invoices.print_summary([(None, D(0))], included=False, currency_code="RUB",
                                    terms="НДС не облагается")
    assert exempt["terms"] == "НДС не облагается"  # no line carries VAT


def test_dictionary_has_the_2026_rates(session):
    rates = {name: (rate, exempt) for name, rate, exempt in session.execute(
        select(Tax.name, Tax.rate, Tax.is_exempt).where(Tax.is_active.is_(True)))}
    for name, rate, exempt in (("НДС 22 %", 22, False), ("НДС 10 %", 10, False),
                               ("НДС 0 %", 0, False), ("НДС 5 % (УСН)", 5, False),
                               ("НДС 7 % (УСН)", 7, False), ("Без НДС", 0, True)):
        assert rates[name] == (rate, exempt)


# --- through the screens ------------------------------------------------------------

def test_vat_included_as_a_user_types_it(as_role, session, buyer, company):
    manager = as_role("manager")
    vat22 = first_id(session, Tax, name="НДС 22 %")
    invoice = _new_invoice(manager, session, buyer, included=True)
    assert invoice.prices_include_vat
    _add_line(manager, invoice.id, description="Монтаж", price="12 200,00", tax=vat22)
    invoice = _reload(session, invoice)
    [line] = invoice.lines
    assert (line.amount, line.tax_amount, line.tax_rate) == (D("12200.00"), D("2200.00"), 22)
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        D("12200.00"), D("2200.00"), D("12200.00"))
    page = manager.get(f"/invoices/show/{invoice.id}").text
    assert "В том числе НДС" in page and "12\u00a0200,00" in page

    text = _print(manager, session, invoice)
    assert "Итого: 12 200,00" in text
    assert "В том числе НДС 22 %: 2 200,00" in text
    assert "Всего к оплате: 12 200,00" in text
    assert "на сумму 12 200,00 руб." in text and "RUB" not in text
    assert "Двенадцать тысяч двести рублей 00 копеек" in text

    three = _new_invoice(manager, session, buyer, included=True)
    for _ in range(3):
        _add_line(manager, three.id, description="Услуга", price="100,00", tax=vat22)
    three = _reload(session, three)
    assert [x.tax_amount for x in three.lines] == [D("18.03")] * 3
    assert (three.subtotal, three.tax_amount, three.total) == (
        D("300.00"), D("54.09"), D("300.00"))


def test_vat_added_and_mixed_rates_on_the_printout(as_role, session, buyer, company):
    manager = as_role("manager")
    vat22 = first_id(session, Tax, name="НДС 22 %")
    vat10 = first_id(session, Tax, name="НДС 10 %")
    invoice = _new_invoice(manager, session, buyer, terms="Оплата в течение 5 дней. "
                           "НДС не облагается.")
    assert not invoice.prices_include_vat
    _add_line(manager, invoice.id, description="Оборудование", price="1 000,00", tax=vat22)
    invoice = _reload(session, invoice)
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        D("1000.00"), D("220.00"), D("1220.00"))
    _add_line(manager, invoice.id, description="Книги", price="500,00", tax=vat10)
    invoice = _reload(session, invoice)
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        D("1500.00"), D("270.00"), D("1770.00"))

    text = _print(manager, session, invoice)
    assert "Итого: 1 500,00" in text
    assert "НДС 22 %: 220,00" in text and "НДС 10 %: 50,00" in text
    assert "В том числе" not in text
    assert "Всего к оплате: 1 770,00" in text and "на сумму 1 770,00 руб." in text
    assert "Одна тысяча семьсот семьдесят рублей 00 копеек" in text
    assert "НДС не облагается" not in text and "Оплата в течение 5 дней" in text


def test_switching_to_included_recomputes_the_draft(as_role, session, buyer, company):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer)
    _add_line(manager, invoice.id, description="Работа", price="12 200,00",
              tax=first_id(session, Tax, name="НДС 22 %"))
    assert _reload(session, invoice).total == D("14884.00")
    manager.post(f"/invoices/edit/{invoice.id}", {
        "client": str(buyer.id), "issue_date": "2026-12-01", "payment_term": "15",
        "order_number": invoice.order_number, "prices_include_vat": "y"})
    invoice = _reload(session, invoice)
    assert invoice.prices_include_vat
    assert (invoice.tax_amount, invoice.total) == (D("2200.00"), D("12200.00"))


def test_without_vat_prints_bez_nds(as_role, session, buyer, company):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer, terms="НДС не облагается (УСН).")
    _add_line(manager, invoice.id, description="Консультация", price="31 750,00",
              tax=first_id(session, Tax, name="Без НДС"))
    invoice = _reload(session, invoice)
    assert invoice.lines[0].tax_rate is None and invoice.total == D("31750.00")
    text = _print(manager, session, invoice)
    assert "Без НДС: —" in text and "на сумму 31 750,00 руб." in text
    assert "Тридцать одна тысяча семьсот пятьдесят рублей 00 копеек" in text
    assert "НДС не облагается" in text  # true here: no line carries VAT


def test_company_defaults_the_rate_and_the_vat_mode(as_role, session, buyer, company):
    admin = as_role("admin")
    vat10 = first_id(session, Tax, name="НДС 10 %")
    page = admin.get(f"/company/edit/{company.id}").text
    assert "Ставка НДС по умолчанию" in page and "Цены включают НДС" in page
    admin.post(f"/company/edit/{company.id}", {
        "name": company.name or "ООО «Сделка»", "default_tax": str(vat10),
        "prices_include_vat": "y"})
    session.expire_all()
    stored = session.get(Company, company.id)
    assert (stored.default_tax_id, stored.prices_include_vat) == (vat10, True)

    manager = as_role("manager")
    form = manager.get("/invoices/add").text
    assert "checked" in re.search(r'<input[^>]*id="prices_include_vat"[^>]*>', form).group(0)
    invoice = _new_invoice(manager, session, buyer, included=True)
    _add_line(manager, invoice.id, description="Без выбора ставки", price="110,00")
    invoice = _reload(session, invoice)
    [line] = invoice.lines
    assert line.tax_id == vat10 and line.tax_rate == 10 and line.tax_amount == D("10.00")

    # A channel that does not say (the API, a script) takes the company's mode.
    draft = Invoice(client_id=buyer.id)
    invoices.prepare(session, draft, new=True)
    assert draft.prices_include_vat is True
    session.rollback()


def test_new_company_defaults_to_22_percent(session):
    assert _blank(session).default_tax_id == first_id(
        session, Tax, name="НДС 22 %")


def test_issued_invoice_keeps_its_rate_when_the_dictionary_changes(as_role, session, buyer,
                                                                   company):
    manager = as_role("manager")
    old = Tax(name=unique("НДС 20% старый"), rate=D(20), is_active=True, sort_order=999)
    session.add(old)
    session.commit()
    invoice = _new_invoice(manager, session, buyer)
    _add_line(manager, invoice.id, description="Старая поставка", price="1 000,00", tax=old.id)
    manager.post(f"/invoices/status/{invoice.id}", {"status": "issued"})
    invoice = _reload(session, invoice)
    assert invoice.status is InvoiceStatus.ISSUED and invoice.total == D("1200.00")

    session.get(Tax, old.id).rate = D(22)  # the admin edits the dictionary
    session.commit()
    invoice = _reload(session, invoice)
    invoices.recalculate(session, invoice)
    assert invoice.lines[0].tax_rate == 20 and invoice.total == D("1200.00")
    session.rollback()
    text = _print(manager, session, invoice)
    assert "НДС 20 %: 200,00" in text and "Всего к оплате: 1 200,00" in text

    copy_page = manager.post(f"/invoices/duplicate/{invoice.id}").text
    assert "создан как копия" in copy_page
    copy = session.scalar(select(Invoice).where(Invoice.order_number == invoice.order_number,
                                                Invoice.id != invoice.id))
    assert copy.lines[0].tax_rate == 20 and copy.total == D("1200.00")


# --- roles ----------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["admin", "head", "manager"])
def test_roles_set_vat_on_their_invoices(as_role, session, buyer, company, username):
    user = as_role(username)
    invoice = _new_invoice(user, session, buyer, included=True)
    _add_line(user, invoice.id, description="Позиция", price="12 200,00",
              tax=first_id(session, Tax, name="НДС 22 %"))
    invoice = _reload(session, invoice)
    assert invoice.tax_amount == D("2200.00") and invoice.total == D("12200.00")


def test_manager_cannot_change_vat_of_another_managers_invoice(as_role, session, company):
    head_id = first_id(session, Employee, username="head")
    other = Client(name=unique("Чужой покупатель НДС"), responsible_id=head_id)
    invoice = Invoice(client=other, number=unique("V"), responsible_id=head_id)
    session.add(invoice)
    session.commit()
    manager = as_role("manager")
    _add_line(manager, invoice.id, description="Чужая строка", price="100,00",
              tax=first_id(session, Tax, name="НДС 22 %"))
    manager.post(f"/invoices/edit/{invoice.id}", {"client": str(other.id),
                                                   "payment_term": "15",
                                                   "prices_include_vat": "y"})
    invoice = _reload(session, invoice)
    assert invoice.lines == [] and not invoice.prices_include_vat


def test_auditor_reads_vat_but_changes_nothing(as_role, session, buyer, company):
    invoice = _new_invoice(as_role("manager"), session, buyer)
    auditor = as_role("auditor")
    assert auditor.get(f"/invoices/show/{invoice.id}").status_code == 200
    response = _add_line(auditor, invoice.id, description="Не моя", price="100,00")
    assert response.status_code in (200, 302, 403)
    auditor.post(f"/invoices/edit/{invoice.id}", {"client": str(buyer.id),
                                                   "payment_term": "15",
                                                   "prices_include_vat": "y"})
    assert auditor.post(f"/company/edit/{company.id}", {"name": "Взлом"},
                        follow=False).status_code in (302, 403)
    invoice = _reload(session, invoice)
    assert invoice.lines == [] and not invoice.prices_include_vat
    assert session.get(Company, company.id).name != "Взлом"


# --- the migration --------------------------------------------------------------------

def test_migration_adds_the_2026_rates_and_keeps_old_lines(database_url, tmp_path):
    """A database of the previous revision with the old seeded rates,
    upgraded: the new rates join, 20 % stays, «Без НДС» is marked as no
    VAT, rates already there are not doubled."""
    if database_url.startswith("sqlite"):
        url, drop = "sqlite:///" + str(tmp_path / "before.db"), None
    else:
        url, drop = _postgres_schema()
    app = make_app(url)
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="0023")
            with db.engine.begin() as conn:
                for position, (name, rate) in enumerate(
                        (("Без НДС", 0), ("НДС 0%", 0), ("НДС 10%", 10), ("НДС 20%", 20))):
                    conn.execute(sa.text(
                        "INSERT INTO tax (name, rate, is_active, sort_order) "
                        "VALUES (:name, :rate, :active, :sort)"),
                        {"name": name, "rate": rate, "active": True,
                         "sort": (position + 1) * 10})
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                rows = {name: (D(rate), exempt) for name, rate, exempt in conn.execute(
                    sa.text("SELECT name, rate, is_exempt FROM tax"))}
    finally:
        with app.app_context():
            db.engine.dispose()
        if drop:
            drop()
    assert rows["НДС 20%"] == (20, False) and rows["НДС 10%"] == (10, False)
    assert rows["Без НДС"] == (0, True) and rows["НДС 0%"] == (0, False)
    assert rows["НДС 22 %"] == (22, False)
    assert rows["НДС 5 % (УСН)"] == (5, False) and rows["НДС 7 % (УСН)"] == (7, False)
    assert "НДС 10 %" not in rows and "НДС 0 %" not in rows and len(rows) == 7


def test_admin_marks_a_tax_as_no_vat(as_role, session):
    name = unique("Не облагается")
    admin = as_role("admin")
    assert "Без НДС" in admin.get("/taxes/add").text
    admin.post("/taxes/add", {"name": name, "rate": "0", "is_exempt": "y", "is_active": "y",
                              "sort_order": "900"})
    tax = session.scalar(select(Tax).where(Tax.name == name))
    assert tax is not None and tax.is_exempt and invoices.rate_of(tax) is None
    plain = unique("НДС 0 % экспорт")
    admin.post("/taxes/add", {"name": plain, "rate": "0", "is_active": "y",
                              "sort_order": "901"})
    tax = session.scalar(select(Tax).where(Tax.name == plain))
    assert tax is not None and not tax.is_exempt and invoices.rate_of(tax) == 0


def test_deal_papers_name_roubles_in_russian(session):
    from app.services import documents

    deal = SimpleNamespace(id=1, title="Поставка", amount=D("31750.00"),
                           currency=SimpleNamespace(code="RUB"), stage=None, probability=0,
                           expected_close=None, status=None, comment="", responsible=None)
    assert documents.deal_dict(deal)["currency_short"] == "руб."
    deal.currency = SimpleNamespace(code="USD")
    assert documents.deal_dict(deal)["currency_short"] == "USD"


def test_api_takes_the_company_mode_unless_told(app, session, buyer, company):

    company.prices_include_vat = True
    company.default_tax_id = first_id(session, Tax, name="НДС 22 %")
    session.commit()
    http, headers = app.test_client(), jwt_headers(app, "manager")
    created = http.post("/api/v1/invoice/", json={"client": buyer.id}, headers=headers)
    assert created.status_code == 201, created.json
    told = http.post("/api/v1/invoice/", json={"client": buyer.id,
                                               "prices_include_vat": False}, headers=headers)
    assert told.status_code == 201, told.json
    for invoice_id in (created.json["id"], told.json["id"]):
        line = http.post("/api/v1/invoice_line/", json={
            "invoice": invoice_id, "description": "Монтаж", "quantity": "1",
            "price": "12200.00", "discount_percent": "0"}, headers=headers)
        assert line.status_code == 201, line.json
    session.expire_all()
    included, added = (session.get(Invoice, created.json["id"]),
                       session.get(Invoice, told.json["id"]))
    assert included.prices_include_vat and included.total == D("12200.00")
    assert included.tax_amount == D("2200.00")
    assert not added.prices_include_vat and added.total == D("14884.00")
