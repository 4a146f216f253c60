"""Invoices through the screens: numbering, lines and totals
computed on the server, draft → issued → paid, editing only drafts,
duplicating, printing, the numbering settings, and unique numbers under
concurrent creation on PostgreSQL."""
import datetime
import io
import re
import threading
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.models import (
    Client,
    Company,
    Currency,
    DocumentTemplate,
    Employee,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Product,
    Tax,
)
from app.services import invoices
from app.services.company import ensure_company
from tests.conftest import first_id, jwt_headers, unique

NUMBER = re.compile(r"^INV\d{7}$")


@pytest.fixture(autouse=True)
def company_without_default_tax(session):
    """Lines here carry VAT only when they name their tax (the company's
    default rate is tested in test_vat.py)."""
    company = ensure_company(session)
    saved = company.default_tax_id
    company.default_tax_id = None
    session.commit()
    yield
    session.expire_all()
    company = session.get(Company, 1)
    company.default_tax_id = saved
    session.commit()


def _new_invoice(user, session, buyer, **extra):
    order = unique("З")
    data = {"client": str(buyer.id), "issue_date": "2026-11-23", "payment_term": "30",
            "order_number": order, "terms": "Предоплата 100%", "comment": "Спасибо!"}
    data.update(extra)
    page = user.post("/invoices/add", data).text
    invoice = session.scalar(select(Invoice).where(Invoice.order_number == order))
    assert invoice is not None, page[-3000:]
    return invoice


def _add_line(user, invoice_id, **fields):
    data = {"invoice": str(invoice_id), "quantity": "1", "price": "0",
            "discount_percent": "0"}
    data.update({k: str(v) for k, v in fields.items()})
    return user.post("/invoice-lines/add", data)


def test_invoice_from_draft_to_paid(as_role, session, buyer):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer)
    assert NUMBER.match(invoice.number)
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.due_date == datetime.date(2026, 12, 23)
    assert invoice.currency.code == "RUB" and invoice.exchange_rate == 1
    assert invoice.responsible.username == "manager"

    # Lines: from the catalogue (name, price and tax filled in) and free text.
    consult = first_id(session, Product, name="Консультация")
    vat22 = first_id(session, Tax, name="НДС 22 %")
    _add_line(manager, invoice.id, product=consult, quantity="2", tax=vat22)
    _add_line(manager, invoice.id, description="Доставка", quantity="1", price="1500",
              discount_percent="10")
    session.expire_all()
    invoice = session.get(Invoice, invoice.id)
    lines = sorted(invoice.lines, key=lambda x: x.id)
    assert [(x.description, x.amount, x.tax_amount) for x in lines] == [
        ("Консультация", Decimal("10000.00"), Decimal("2200.00")),
        ("Доставка", Decimal("1350.00"), Decimal("0.00"))]
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        Decimal("11350.00"), Decimal("2200.00"), Decimal("13550.00"))

    page = manager.get(f"/invoices/show/{invoice.id}").text
    assert invoice.number in page and "13\u00a0550,00" in page
    # The lines tab, fetched when opened, adds to this invoice.
    assert f"_flt_0_invoice={invoice.id}" in manager.get(
        f"/invoices/related/{invoice.id}/InvoiceLineView").text

    # Issued: no more edits of the invoice or its lines.
    manager.post(f"/invoices/status/{invoice.id}", {"status": "issued"})
    session.expire_all()
    assert session.get(Invoice, invoice.id).status is InvoiceStatus.ISSUED
    page = manager.get(f"/invoices/edit/{invoice.id}", follow_redirects=True).text
    assert "Изменять можно только черновик счёта" in page
    manager.post(f"/invoices/edit/{invoice.id}", {"client": str(buyer.id),
                                                   "terms": "Другие условия",
                                                   "payment_term": "15"})
    page = _add_line(manager, invoice.id, description="Лишнее", price="1").text
    assert "Изменять можно только черновик счёта" in page
    page = manager.post(f"/invoice-lines/delete/{lines[0].id}").text
    assert "Изменять можно только черновик счёта" in page
    page = manager.post(f"/invoices/delete/{invoice.id}").text
    assert "Выставленный или оплаченный счёт нельзя удалить" in page
    session.expire_all()
    invoice = session.get(Invoice, invoice.id)
    assert invoice.terms == "Предоплата 100%" and len(invoice.lines) == 2
    assert invoice.total == Decimal("13550.00")

    # Printed with the seeded invoice template.
    template_id = first_id(session, DocumentTemplate, code="invoice")
    response = manager.post(f"/documents/print/invoice/{invoice.id}",
                            {"template": str(template_id)}, follow=False)
    assert response.mimetype == "application/pdf"
    text = " ".join("\n".join(p.extract_text() for p in
                              PdfReader(io.BytesIO(response.data)).pages).split())
    assert f"Счёт на оплату № {invoice.number}" in text
    assert "Тринадцать тысяч пятьсот пятьдесят рублей 00 копеек" in text
    assert "Консультация" in text and "13 550,00" in text and buyer.name in text

    manager.post(f"/invoices/status/{invoice.id}", {"status": "paid"})
    session.expire_all()
    assert session.get(Invoice, invoice.id).status is InvoiceStatus.PAID
    page = manager.post(f"/invoices/status/{invoice.id}", {"status": "lost"}).text
    assert "Неизвестный статус" in page


def test_an_invoice_without_lines_is_not_issued(as_role, session, buyer):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer)
    page = manager.post(f"/invoices/status/{invoice.id}", {"status": "issued"}).text
    assert "добавьте хотя бы одну позицию" in page
    session.expire_all()
    assert session.get(Invoice, invoice.id).status is InvoiceStatus.DRAFT


def test_bad_line_values_get_a_message(as_role, session, buyer):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer)
    assert "Выберите товар или услугу" in _add_line(manager, invoice.id, price="5").text
    page = _add_line(manager, invoice.id, description="x", quantity="0", price="5").text
    assert "Количество" in page or "quantity" in page.lower()
    session.expire_all()
    assert session.get(Invoice, invoice.id).lines == []


def test_duplicate_makes_a_new_draft_with_the_lines(as_role, session, buyer):
    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer, payment_term="date",
                           due_date="2026-12-05")
    assert invoice.due_date == datetime.date(2026, 12, 5)
    _add_line(manager, invoice.id, description="Аудит", price="7000", quantity="3")
    manager.post(f"/invoices/status/{invoice.id}", {"status": "issued"})
    page = manager.post(f"/invoices/duplicate/{invoice.id}").text
    assert "создан как копия счёта" in page
    session.expire_all()
    copy = session.scalar(select(Invoice).where(Invoice.client_id == buyer.id)
                          .order_by(Invoice.id.desc()))
    assert copy.id != invoice.id and copy.number != invoice.number
    assert NUMBER.match(copy.number) and copy.status is InvoiceStatus.DRAFT
    assert [(x.description, x.amount) for x in copy.lines] == [("Аудит",
                                                                 Decimal("21000.00"))]
    assert copy.total == Decimal("21000.00") and copy.issue_date == datetime.date.today()


def test_client_with_invoices_cannot_be_deleted(as_role, session, buyer):
    manager = as_role("manager")
    _new_invoice(manager, session, buyer)
    page = manager.post(f"/clients/delete/{buyer.id}").text
    assert "У клиента есть счета, его нельзя удалить" in page
    session.expire_all()
    assert session.get(Client, buyer.id) is not None


def test_manager_cannot_touch_another_managers_invoice(as_role, session):
    head_id = first_id(session, Employee, username="head")
    other = Client(name=unique("Чужой покупатель"), responsible_id=head_id)
    invoice = Invoice(client=other, number=unique("T"), responsible_id=head_id)
    session.add(invoice)
    session.commit()
    manager = as_role("manager")
    assert manager.get(f"/invoices/show/{invoice.id}").status_code in (302, 404)
    assert manager.post(f"/invoices/status/{invoice.id}", {"status": "paid"},
                        follow=False).status_code in (403, 404)
    assert manager.post(f"/invoices/duplicate/{invoice.id}",
                        follow=False).status_code == 404
    assert manager.get(f"/documents/print/invoice/{invoice.id}").status_code == 404


def test_auditor_reads_but_does_not_change_invoices(as_role, session, buyer):
    invoice = _new_invoice(as_role("manager"), session, buyer)
    auditor = as_role("auditor")
    assert auditor.get(f"/invoices/show/{invoice.id}").status_code == 200
    assert auditor.post(f"/invoices/status/{invoice.id}", {"status": "paid"},
                        follow=False).status_code in (302, 403)
    assert auditor.post(f"/invoices/duplicate/{invoice.id}",
                        follow=False).status_code in (302, 403)
    session.expire_all()
    assert session.get(Invoice, invoice.id).status is InvoiceStatus.DRAFT


def test_admin_sets_prefix_and_next_number(as_role, session, buyer):
    admin = as_role("admin")
    company = session.get(Company, 1) or Company(id=1, name="")
    session.add(company)
    session.commit()
    saved = (company.invoice_prefix, company.invoice_next_number)
    form = {"name": "ООО «Сделка»", "invoice_prefix": "СЧ-", "invoice_next_number": "500"}
    try:
        admin.post("/company/edit/1", form)
        invoice = _new_invoice(admin, session, buyer)
        assert invoice.number == "СЧ-0000500"
        page = admin.post("/company/edit/1", dict(form, invoice_prefix="a b")).text
        assert "Префикс — до 10 букв" in page
        page = admin.post("/company/edit/1", dict(form, invoice_next_number="0")).text
        assert "Следующий номер должен быть от 1 до 9999999" in page
        # Moved back onto a used number: it is skipped.
        admin.post("/company/edit/1", dict(form, invoice_next_number="500"))
        assert _new_invoice(admin, session, buyer).number == "СЧ-0000501"
    finally:
        session.expire_all()
        company = session.get(Company, 1)
        company.invoice_prefix, company.invoice_next_number = saved[0], saved[1] + 10
        session.commit()


def test_foreign_currency_takes_its_rate(as_role, session, buyer):
    usd = first_id(session, Currency, code="USD")
    invoice = _new_invoice(as_role("manager"), session, buyer, currency=str(usd))
    assert invoice.exchange_rate == Decimal("80")
    invoice = _new_invoice(as_role("manager"), session, buyer, currency=str(usd),
                           exchange_rate="81.5")
    assert invoice.exchange_rate == Decimal("81.5")


def test_numbers_are_unique_under_concurrent_creation(app, session, buyer):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("row locks are a PostgreSQL test; SQLite serialises all writers")
    with app.app_context():
        engine = db.engine
    threads, per_thread, numbers, errors = 8, 10, [], []
    start = threading.Barrier(threads)

    def create():
        try:
            start.wait()
            for _ in range(per_thread):
                with Session(engine) as own:
                    invoice = Invoice(client_id=buyer.id, status=InvoiceStatus.DRAFT)
                    invoice.number = invoices.next_number(own)
                    own.add(invoice)
                    own.commit()
                    numbers.append(invoice.number)
        except Exception as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=create) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(numbers) == threads * per_thread == len(set(numbers))
    digits = sorted(int(n[-7:]) for n in numbers)
    assert digits == list(range(digits[0], digits[0] + len(digits)))  # no gaps


def test_invoices_over_the_api_follow_the_same_rules(app, session, buyer):

    http, headers = app.test_client(), jwt_headers(app, "manager")
    created = http.post("/api/v1/invoice/", json={"client": buyer.id,
                                                   "issue_date": "2026-11-23"},
                        headers=headers)
    assert created.status_code == 201, created.json
    invoice_id = created.json["id"]
    # Totals and numbers are the server's: a body's are ignored.
    forged = http.post("/api/v1/invoice/", json={"client": buyer.id, "total": "1",
                                                 "number": "X-1"}, headers=headers)
    assert forged.status_code == 201, forged.json
    assert forged.json["result"]["total"] == "0.00"
    assert NUMBER.match(forged.json["result"]["number"])
    line = http.post("/api/v1/invoice_line/", json={
        "invoice": invoice_id, "description": "Монтаж", "quantity": "2", "price": "999.99",
        "discount_percent": "0"}, headers=headers)
    assert line.status_code == 201, line.json
    session.expire_all()
    invoice = session.get(Invoice, invoice_id)
    assert NUMBER.match(invoice.number) and invoice.due_date == datetime.date(2026, 12, 8)
    assert invoice.total == Decimal("1999.98")
    assert http.put(f"/api/v1/invoice/{invoice_id}", json={"status": "issued"},
                    headers=headers).status_code == 200
    refused = http.put(f"/api/v1/invoice/{invoice_id}", json={"order_number": "X"},
                       headers=headers)
    assert refused.status_code == 422
    assert http.put(f"/api/v1/invoice/{invoice_id}", json={"status": "paid"},
                    headers=headers).status_code == 200
    refused = http.delete(f"/api/v1/client/{buyer.id}", headers=headers)
    assert refused.status_code == 422
    session.expire_all()
    assert session.get(Invoice, invoice_id).status is InvoiceStatus.PAID


def test_screen_and_api_refuse_the_same_deletes_alike(app, as_role, session, buyer):
    """One delete path (services/records.delete): a line of an issued
    invoice, the issued invoice and its buyer stay, with the same message
    on the screen and in the API; a draft's line goes and the totals follow."""

    manager = as_role("manager")
    invoice = _new_invoice(manager, session, buyer)
    _add_line(manager, invoice.id, description="Аудит", price="100")
    _add_line(manager, invoice.id, description="Монтаж", price="50")
    session.expire_all()
    first, second = session.get(Invoice, invoice.id).lines
    http, headers = app.test_client(), jwt_headers(app, "manager")
    gone = http.delete(f"/api/v1/invoice_line/{second.id}", headers=headers)
    assert gone.status_code == 200, gone.json
    session.expire_all()
    assert session.get(Invoice, invoice.id).total == Decimal("100.00")
    manager.post(f"/invoices/status/{invoice.id}", {"status": "issued"})
    for screen, resource, message in (
            (f"/invoice-lines/delete/{first.id}", f"invoice_line/{first.id}",
             "Изменять можно только черновик счёта"),
            (f"/invoices/delete/{invoice.id}", f"invoice/{invoice.id}",
             "Выставленный или оплаченный счёт нельзя удалить"),
            (f"/clients/delete/{buyer.id}", f"client/{buyer.id}",
             "У клиента есть счета, его нельзя удалить")):
        assert message in manager.post(screen).text
        refused = http.delete(f"/api/v1/{resource}", headers={
            **headers, "Accept-Language": "ru"})
        assert refused.status_code == 422 and message in str(refused.json), refused.json
    session.expire_all()
    assert session.get(Invoice, invoice.id).total == Decimal("100.00")
    assert [line.id for line in session.get(Invoice, invoice.id).lines] == [first.id]
    assert session.get(Client, buyer.id) is not None


def test_a_draft_with_lines_is_deleted_with_its_lines(app, as_role, session, buyer):
    """On the screen and over the API: the draft and its lines go (the
    lines were nulled before the delete and the database refused it)."""

    manager = as_role("manager")
    for how in ("screen", "api"):
        invoice_id = _new_invoice(manager, session, buyer).id
        _add_line(manager, invoice_id, description="Аудит", price="100")
        _add_line(manager, invoice_id, description="Монтаж", price="50")
        session.expire_all()
        lines = [line.id for line in session.get(Invoice, invoice_id).lines]
        assert len(lines) == 2
        if how == "screen":
            page = manager.post(f"/invoices/delete/{invoice_id}")
            assert page.status_code == 200 and "Ошибка" not in page.text
        else:
            gone = app.test_client().delete(f"/api/v1/invoice/{invoice_id}",
                                            headers=jwt_headers(app, "manager"))
            assert gone.status_code == 200, gone.json
        session.expire_all()
        assert session.get(Invoice, invoice_id) is None, how
        assert session.scalar(select(func.count()).select_from(InvoiceLine).where(
            InvoiceLine.id.in_(lines))) == 0, how
