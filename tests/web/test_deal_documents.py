"""«Сформировать счёт и договор» from a deal: one action makes an invoice
(the deal's client, amount and line, the next number, linked to the deal)
and a contract printed from the chosen template of deals or clients, linked
to the deal; per role, under the row rule, with CSRF."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import (
    Client,
    Deal,
    DocumentTemplate,
    Invoice,
    InvoiceStatus,
    PrintedDocument,
    TemplateEntity,
)
from app.services import invoices
from tests.conftest import employee_id, unique
from tests.pdf import pdf_text

NUMBER = re.compile(r"^INV\d{7}$")
SUCCESS = "сформирован"


def _deal(session, owner, amount=Decimal("150000.00")):
    owner_id = employee_id(session, owner)
    client = Client(name=unique("ООО Покупатель"), email="buyer@example.ru",
                    responsible_id=owner_id)
    session.add(client)
    session.flush()
    deal = Deal(title=unique("Поставка станков"), client_id=client.id, amount=amount,
                responsible_id=owner_id)
    session.add(deal)
    session.commit()
    return deal


@pytest.fixture
def templates(session):
    """A contract template of deals, one of clients, one of invoices."""
    made = {
        "deal": DocumentTemplate(name=unique("Договор поставки"), entity=TemplateEntity.DEAL,
                                 body="<p>Договор с {{ client.name }} по сделке "
                                      "«{{ deal.title }}» на {{ deal.amount|money }} руб.</p>"),
        "client": DocumentTemplate(name=unique("Договор с клиентом"),
                                   entity=TemplateEntity.CLIENT,
                                   body="<p>Договор с клиентом {{ client.name }}</p>"),
        "invoice": DocumentTemplate(name=unique("Счёт другой"), entity=TemplateEntity.INVOICE,
                                    body="<p>Счёт {{ invoice.number }}</p>"),
    }
    session.add_all(made.values())
    session.commit()
    yield made
    session.rollback()
    for template in made.values():
        template.is_active = False
    session.commit()


def _invoices_of(session, deal):
    session.expire_all()
    return session.scalars(select(Invoice).where(Invoice.deal_id == deal.id)).all()


def _documents_of(session, deal):
    session.expire_all()
    return session.scalars(select(PrintedDocument).where(
        PrintedDocument.entity == TemplateEntity.DEAL,
        PrintedDocument.entity_id == deal.id)).all()


@pytest.mark.parametrize("username", ["admin", "head", "manager"])
def test_one_action_makes_the_invoice_and_the_contract(as_role, session, templates, username):
    deal = _deal(session, "manager")
    user = as_role(username)
    page = user.get(f"/deal-documents/deal/{deal.id}").text
    assert "Сформировать счёт и договор" in page
    assert templates["deal"].name in page and templates["client"].name in page
    assert templates["invoice"].name not in page  # only deals' and clients' templates
    assert "Без договора" in page

    response = user.post(f"/deal-documents/deal/{deal.id}",
                         {"template": str(templates["deal"].id)}, follow=False)
    assert response.status_code == 302
    [invoice] = _invoices_of(session, deal)
    assert response.headers["Location"].endswith(f"/invoices/show/{invoice.id}")
    assert invoice.client_id == deal.client_id
    assert NUMBER.match(invoice.number)
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.total == Decimal("150000.00") == invoice.subtotal
    # The deal's amount includes the VAT of the company's default tax.
    assert invoice.prices_include_vat
    assert invoice.tax_amount == invoices.line_amounts(
        1, invoice.total, 0, invoice.lines[0].tax_rate, included=True)[1]
    assert invoice.responsible_id == deal.responsible_id
    [line] = invoice.lines
    assert line.description == deal.title
    assert line.quantity == 1 and line.price == Decimal("150000.00")
    assert line.amount == Decimal("150000.00")

    [document] = _documents_of(session, deal)
    assert document.template_id == templates["deal"].id
    assert document.client_id == deal.client_id
    text = pdf_text(document.content)
    assert deal.title in text and "150 000,00" in text

    shown = user.get(response.headers["Location"]).text
    assert SUCCESS in shown and invoice.number in shown and document.file_name in shown


def test_a_clients_template_prints_the_contract_of_the_deal(as_role, session, templates):
    deal = _deal(session, "manager")
    user = as_role("manager")
    user.post(f"/deal-documents/deal/{deal.id}", {"template": str(templates["client"].id)})
    [document] = _documents_of(session, deal)
    assert document.client_id == deal.client_id
    client_name = session.get(Client, deal.client_id).name
    assert client_name in pdf_text(document.content)
    # On the deal's print page and in the deal's timeline: the deal's papers.
    assert document.file_name in user.get(f"/documents/print/deal/{deal.id}").text
    assert len(_invoices_of(session, deal)) == 1


def test_without_a_contract_only_the_invoice_is_made(as_role, session, templates):
    deal = _deal(session, "manager")
    manager = as_role("manager")
    page = manager.post(f"/deal-documents/deal/{deal.id}", {"template": ""}).text
    assert SUCCESS in page
    assert len(_invoices_of(session, deal)) == 1
    assert _documents_of(session, deal) == []


def test_numbers_follow_one_another(as_role, session, templates):
    first, second = _deal(session, "manager"), _deal(session, "manager")
    manager = as_role("manager")
    for deal in (first, second):
        manager.post(f"/deal-documents/deal/{deal.id}", {"template": ""})
    [a], [b] = _invoices_of(session, first), _invoices_of(session, second)
    assert int(b.number[3:]) > int(a.number[3:])


def test_a_manager_may_not_make_them_from_anothers_deal(as_role, session, templates):
    deal = _deal(session, "admin")
    manager = as_role("manager")
    assert manager.get(f"/deal-documents/deal/{deal.id}").status_code == 404
    response = manager.post(f"/deal-documents/deal/{deal.id}",
                            {"template": str(templates["deal"].id)}, follow=False)
    assert response.status_code == 404
    assert _invoices_of(session, deal) == [] and _documents_of(session, deal) == []


def test_a_deal_seen_but_not_changeable_is_refused(as_role, session, templates):
    from app.models import PublicAccess

    deal = _deal(session, "admin")
    client = session.get(Client, deal.client_id)
    client.public_access = PublicAccess.READ
    session.commit()
    manager = as_role("manager")
    page = manager.get(f"/deals/show/{deal.id}")
    assert page.status_code == 200 and "deal-documents" not in page.text
    assert manager.post(f"/deal-documents/deal/{deal.id}", {"template": ""},
                        follow=False).status_code == 403
    assert _invoices_of(session, deal) == []


def test_read_only_is_refused(as_role, session, templates):
    deal = _deal(session, "manager")
    auditor = as_role("auditor")
    assert "deal-documents" not in auditor.get(f"/deals/show/{deal.id}").text
    response = auditor.post(f"/deal-documents/deal/{deal.id}", {"template": ""}, follow=False)
    assert response.status_code in (302, 403)
    assert _invoices_of(session, deal) == []


def test_the_deal_page_offers_the_action(as_role, session):
    deal = _deal(session, "manager")
    page = as_role("manager").get(f"/deals/show/{deal.id}").text
    assert f'href="/deal-documents/deal/{deal.id}"' in page
    assert "Сформировать счёт и договор" in page


def test_without_csrf_nothing_is_made(as_role, session, templates):
    deal = _deal(session, "manager")
    manager = as_role("manager")
    manager.post(f"/deal-documents/deal/{deal.id}", {"template": ""}, csrf=False)
    assert _invoices_of(session, deal) == []


def test_a_deal_without_an_amount_is_refused_with_the_reason(as_role, session, templates):
    deal = _deal(session, "manager", amount=Decimal(0))
    page = as_role("manager").post(f"/deal-documents/deal/{deal.id}",
                                   {"template": str(templates["deal"].id)}).text
    assert "У сделки нет суммы" in page
    assert _invoices_of(session, deal) == [] and _documents_of(session, deal) == []


def test_an_inactive_or_foreign_template_is_refused(as_role, session, templates):
    deal = _deal(session, "manager")
    page = as_role("manager").post(f"/deal-documents/deal/{deal.id}",
                                   {"template": str(templates["invoice"].id)}).text
    assert "Выберите шаблон" in page
    assert _invoices_of(session, deal) == []
    assert session.scalar(select(func.count()).select_from(PrintedDocument).where(
        PrintedDocument.template_id == templates["invoice"].id)) == 0
