"""Acts and UPDs made from an invoice (services/closing.py, views/closing.py):
one action on an issued invoice per role, own numbering sequences by the
invoice rule, the lines copied and editable while a draft, read-only once
issued, the printed act and UPD read back with pypdf (totals, «В том числе
НДС», status 1 or 2, «руб.»/«коп.», Cyrillic), and the client's page
listing them."""
import io
import re
from decimal import Decimal as D

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    Act,
    ActLine,
    Client,
    Company,
    DocumentTemplate,
    Employee,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PrintedDocument,
    Product,
    Tax,
    Upd,
    UpdLine,
)
from app.services import closing, invoices, timeline
from app.services.company import ensure_company
from tests.conftest import first_id, unique
from tests.pdf import pdf_text


def _invoice(session, owner, *, included, tax_name, status=InvoiceStatus.ISSUED,
             client=None):
    """An invoice of ``owner``'s client with two lines: 2 x 5 000,00 and 1,5 x
    200 000,00 (so 310 000,00 before VAT)."""
    owner_id = first_id(session, Employee, username=owner)
    if client is None:
        client = Client(name=unique("ООО Заказчик актов"), inn="7707083893", kpp="770701001",
                        legal_address="г. Москва, ул. Тверская, д. 1",
                        responsible_id=owner_id)
        session.add(client)
    tax = session.get(Tax, first_id(session, Tax, name=tax_name))
    unit = session.scalar(select(Product).where(Product.unit != "").limit(1))
    invoice = Invoice(client=client, number=unique("INVA")[:20], responsible_id=owner_id,
                      prices_include_vat=included, status=InvoiceStatus.DRAFT)
    invoice.lines = [
        InvoiceLine(description="Консультация по договору", quantity=D(2),
                    price=D("5000.00"), tax=tax, tax_rate=invoices.rate_of(tax), sort_order=0,
                    product=unit),
        InvoiceLine(description="Сопровождение сделки", quantity=D("1.5"),
                    price=D("200000.00"), tax=tax, tax_rate=invoices.rate_of(tax),
                    sort_order=1),
    ]
    invoices._compute(invoice)
    invoice.status = status
    session.add(invoice)
    session.commit()
    return invoice


def _make(user, kind, invoice):
    return user.post(f"/{kind}s/make/{invoice.id}", {})


def _made(session, model, invoice):
    session.expire_all()
    return session.scalars(select(model).where(model.invoice_id == invoice.id)
                           .order_by(model.id)).all()


def _print(user, session, kind, document):
    template_id = first_id(session, DocumentTemplate, code=kind)
    response = user.post(f"/documents/print/{kind}/{document.id}",
                         {"template": str(template_id)}, follow=False)
    assert response.mimetype == "application/pdf", response.text[-2000:]
    return response.data


# --- per role ----------------------------------------------------------------------

@pytest.mark.parametrize("username", ["admin", "head", "manager"])
def test_roles_make_an_act_and_a_upd_from_an_issued_invoice(as_role, session, username):
    invoice = _invoice(session, username, included=True, tax_name="НДС 22 %")
    user = as_role(username)
    page = user.get(f"/invoices/show/{invoice.id}").text
    assert "Сформировать акт" in page and "Сформировать УПД" in page
    page = _make(user, "act", invoice).text
    acts = _made(session, Act, invoice)
    assert len(acts) == 1, page[-2000:]
    act = acts[0]
    assert act.client_id == invoice.client_id and act.deal_id == invoice.deal_id
    assert act.status.value == "draft" and act.number.startswith("АКТ")
    assert [(line.description, line.quantity, line.price, line.tax_rate, line.amount,
             line.tax_amount) for line in sorted(act.lines, key=lambda x: x.sort_order)] == [
        (line.description, line.quantity, line.price, line.tax_rate, line.amount,
         line.tax_amount) for line in sorted(invoice.lines, key=lambda x: x.sort_order)]
    assert (act.subtotal, act.tax_amount, act.total) == (invoice.subtotal, invoice.tax_amount,
                                                          invoice.total)
    assert act.responsible.username == username
    _make(user, "upd", invoice)
    upds = _made(session, Upd, invoice)
    assert len(upds) == 1 and upds[0].number.startswith("УПД")
    # Both are listed under the invoice, linking their pages.
    page = user.get(f"/invoices/show/{invoice.id}").text
    assert f"/acts/show/{act.id}" in page and f"/upds/show/{upds[0].id}" in page


def test_manager_only_from_own_clients_invoices(as_role, session):
    invoice = _invoice(session, "head", included=False, tax_name="НДС 22 %")
    manager = as_role("manager")
    assert _make(manager, "act", invoice).status_code == 404
    assert _make(manager, "upd", invoice).status_code == 404
    assert _made(session, Act, invoice) == [] and _made(session, Upd, invoice) == []
    # A colleague's act is not there for the manager either.
    as_role("head").post(f"/acts/make/{invoice.id}", {})
    act = _made(session, Act, invoice)[0]
    assert manager.get(f"/acts/show/{act.id}").status_code in (302, 404)
    assert str(act.number) not in manager.get("/acts/list/").text


def test_read_only_reads_but_cannot_make(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %")
    as_role("manager").post(f"/acts/make/{invoice.id}", {})
    act = _made(session, Act, invoice)[0]
    auditor = as_role("auditor")
    page = auditor.get(f"/invoices/show/{invoice.id}").text
    assert "Сформировать акт" not in page
    response = _make(auditor, "upd", invoice)
    assert _made(session, Upd, invoice) == []
    assert "Доступ запрещён" in response.text or response.status_code in (302, 403)
    assert act.number in auditor.get("/acts/list/").text
    assert auditor.get(f"/acts/show/{act.id}").status_code == 200
    line = act.lines[0]
    auditor.post(f"/act-lines/edit/{line.id}", {"document": str(act.id),
                                                "description": "Чужая правка",
                                                "quantity": "9", "price": "1"})
    session.expire_all()
    assert session.get(ActLine, line.id).description != "Чужая правка"


def test_draft_invoice_is_refused(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %",
                       status=InvoiceStatus.DRAFT)
    manager = as_role("manager")
    page = manager.get(f"/invoices/show/{invoice.id}").text
    assert "Сформировать акт" not in page
    page = _make(manager, "act", invoice).text
    assert "из выставленного или оплаченного счёта" in page
    assert _made(session, Act, invoice) == []


# --- numbering ------------------------------------------------------------------------

def test_each_kind_has_its_own_sequence(as_role, session):
    company = ensure_company(session)
    session.commit()
    act_next, upd_next, invoice_next = (company.act_next_number, company.upd_next_number,
                                        company.invoice_next_number)
    invoice = _invoice(session, "admin", included=False, tax_name="НДС 22 %")
    admin = as_role("admin")
    _make(admin, "act", invoice)
    _make(admin, "act", invoice)
    _make(admin, "upd", invoice)
    acts, upds = _made(session, Act, invoice), _made(session, Upd, invoice)
    numbers = [int(re.sub(r"\D", "", a.number)) for a in acts]
    assert numbers[1] == numbers[0] + 1 and numbers[0] >= act_next
    assert upds[0].number == invoices.format_number("УПД", int(upds[0].number[3:]))
    assert int(upds[0].number[3:]) >= upd_next
    company = session.get(Company, company.id)
    assert company.invoice_next_number == invoice_next  # the invoices' own counter
    assert company.act_next_number >= act_next + 2 and company.upd_next_number >= upd_next + 1


def test_a_used_number_is_skipped(session, app):
    from app import db

    with app.app_context():
        company = ensure_company(db.session)
        prefix = company.act_prefix
        taken = invoices.format_number(prefix, company.act_next_number)
        db.session.commit()
        invoice = _invoice(db.session, "admin", included=False, tax_name="НДС 22 %")
        db.session.add(Act(number=taken, client_id=invoice.client_id, invoice_id=invoice.id))
        db.session.commit()
        number = invoices.next_number(db.session, closing.COUNTERS[Act])
        db.session.rollback()
    assert number != taken and number.startswith(prefix)


# --- lines: a draft's editable, an issued one's refused -------------------------------

def test_draft_lines_edit_and_issued_refuse(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %")
    manager = as_role("manager")
    _make(manager, "upd", invoice)
    upd = _made(session, Upd, invoice)[0]
    line = sorted(upd.lines, key=lambda x: x.sort_order)[0]
    vat22 = first_id(session, Tax, name="НДС 22 %")
    manager.post(f"/upd-lines/edit/{line.id}", {
        "document": str(upd.id), "description": "Консультация (уточнено)", "quantity": "3",
        "unit": "час", "price": "1000", "discount_percent": "0", "tax": str(vat22)})
    session.expire_all()
    line = session.get(UpdLine, line.id)
    assert (line.description, line.quantity, line.unit, line.amount, line.tax_amount) == (
        "Консультация (уточнено)", D(3), "час", D("3000.00"), D("660.00"))
    upd = session.get(Upd, upd.id)
    assert upd.subtotal == D("303000.00") and upd.tax_amount == D("66660.00")
    assert upd.total == D("369660.00")
    # A new line in the tab.
    manager.post("/upd-lines/add", {"document": str(upd.id), "description": "Выезд",
                                    "quantity": "1", "price": "500", "unit": "усл.",
                                    "discount_percent": "0", "tax": str(vat22)})
    session.expire_all()
    assert session.get(Upd, upd.id).total == D("370270.00")
    # Issued: read-only.
    manager.post(f"/upds/status/{upd.id}", {"status": "issued"})
    session.expire_all()
    assert session.get(Upd, upd.id).status.value == "issued"
    page = manager.post(f"/upd-lines/edit/{line.id}", {
        "document": str(upd.id), "description": "После выставления", "quantity": "1",
        "price": "1", "discount_percent": "0"}).text
    session.expire_all()
    assert session.get(UpdLine, line.id).description == "Консультация (уточнено)"
    assert "черновик" in page.lower()
    manager.post(f"/upd-lines/delete/{line.id}", {})
    session.expire_all()
    assert session.get(UpdLine, line.id) is not None
    page = manager.get(f"/upds/edit/{upd.id}", follow_redirects=True).text
    assert "Изменить можно только черновик" in page
    # Neither is an issued UPD deleted, nor its invoice.
    manager.post(f"/upds/delete/{upd.id}", {})
    session.expire_all()
    assert session.get(Upd, upd.id) is not None


def test_invoice_with_an_act_is_not_deleted(as_role, session):
    invoice = _invoice(session, "admin", included=False, tax_name="НДС 22 %")
    admin = as_role("admin")
    _make(admin, "act", invoice)
    admin.post(f"/invoices/status/{invoice.id}", {"status": "draft"})
    page = admin.post(f"/invoices/delete/{invoice.id}", {}).text
    session.expire_all()
    assert session.get(Invoice, invoice.id) is not None
    assert "акты или УПД" in page


# --- printed ------------------------------------------------------------------------------

def test_act_and_upd_with_vat_included_print(as_role, session):
    invoice = _invoice(session, "manager", included=True, tax_name="НДС 22 %")
    # 10 000,00 incl. 1 803,28 and 300 000,00 incl. 54 098,36
    assert (invoice.total, invoice.tax_amount) == (D("310000.00"), D("55901.64"))
    manager = as_role("manager")
    _make(manager, "act", invoice)
    _make(manager, "upd", invoice)
    act, upd = _made(session, Act, invoice)[0], _made(session, Upd, invoice)[0]
    text = pdf_text(_print(manager, session, "act", act))
    assert f"Акт № {act.number}" in text
    assert "310 000,00" in text and "В том числе НДС 22 %: 55 901,64" in text
    assert "310 000 руб. 00 коп." in text and "в том числе НДС 55 901 руб. 64 коп." in text
    assert "Триста десять тысяч рублей 00 копеек" in text
    assert "1,5" in text and "200 000,00" in text and "5 000,00" in text
    assert "Вышеперечисленные услуги выполнены полностью и в срок" in text
    assert "ИНН 7707083893" in text and "КПП 770701001" in text
    assert "ИСПОЛНИТЕЛЬ" in text and "ЗАКАЗЧИК" in text
    assert f"Счёт на оплату № {invoice.number}" in text
    data = _print(manager, session, "upd", upd)
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape
    text = pdf_text(data)
    assert "Универсальный передаточный документ" in text and "Статус: 1" in text
    assert f"Счёт-фактура № {upd.number}" in text
    assert "22%" in text and "55 901,64" in text and "310 000,00" in text
    assert "254 098,36" in text  # column 5: without VAT
    assert "Всего к оплате (9)" in text and "7707083893/770701001" in text
    assert "Российский рубль, 643" in text


def test_act_and_upd_without_vat_print_status_2(as_role, session):
    invoice = _invoice(session, "head", included=False, tax_name="Без НДС")
    assert (invoice.total, invoice.tax_amount) == (D("310000.00"), D("0.00"))
    head = as_role("head")
    _make(head, "act", invoice)
    _make(head, "upd", invoice)
    act, upd = _made(session, Act, invoice)[0], _made(session, Upd, invoice)[0]
    text = pdf_text(_print(head, session, "act", act))
    assert "Без НДС" in text and "В том числе НДС" not in text
    assert "на сумму 310 000 руб. 00 коп., без НДС" in text
    text = pdf_text(_print(head, session, "upd", upd))
    assert "Статус: 2" in text and "без НДС" in text and "В том числе НДС" not in text
    assert "310 000,00" in text
    page = head.get(f"/upds/show/{upd.id}").text
    assert 'id="upd-status"' in page and "<b>2</b>" in page


def test_printed_and_made_documents_are_on_the_client_page(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 10 %")
    manager = as_role("manager")
    _make(manager, "act", invoice)
    act = _made(session, Act, invoice)[0]
    _print(manager, session, "act", act)
    session.expire_all()
    printed = session.scalars(select(PrintedDocument).where(
        PrintedDocument.entity == "act", PrintedDocument.entity_id == act.id)).all()
    assert len(printed) == 1 and printed[0].client_id == invoice.client_id
    page = manager.get(f"/clients/show/{invoice.client_id}").text
    assert 'id="closing-documents"' in page and f"/acts/show/{act.id}" in page
    assert printed[0].file_name in page  # «Напечатано ранее»
    # The client's timeline lists the print, and the act's making in its changes.
    feed = timeline.page(session, "client", invoice.client_id,
                         first_id(session, Employee, username="manager"))
    records = [entry.record for entry in feed.entries]
    assert printed[0] in records
    assert any(getattr(r, "entity", None) == "act" and r.entity_id == act.id
               and getattr(r, "action", None) == "create" for r in records)


def test_sample_preview_of_both_templates(as_role, session):
    admin = as_role("admin")
    for kind in ("act", "upd"):
        body = session.scalar(select(DocumentTemplate.body).where(DocumentTemplate.code == kind))
        response = admin.post("/templates/preview", {"entity": kind, "body": body})
        assert response.json["error"] is None, response.json
        assert "АКТ0000001" in response.json["html"] or "УПД0000001" in response.json["html"]


# --- point 5: roubles, kopecks and numbers as people write them ----------------------------

def test_roubles_filter():
    from app.services import printing

    nbsp = "\u00a0"
    assert printing.format_roubles(D("300000")) == f"300{nbsp}000{nbsp}руб. 00{nbsp}коп."
    assert printing.format_roubles(D("0.5")) == f"0{nbsp}руб. 50{nbsp}коп."
    assert printing.format_roubles(None) == ""
    html = printing.render_template_string("{{ x|roubles }}", {"x": D("1234.56")})
    assert html == f"1{nbsp}234{nbsp}руб. 56{nbsp}коп."


def test_every_printed_document_writes_roubles_and_numbers_in_russian(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %")
    manager = as_role("manager")
    _make(manager, "act", invoice)
    _make(manager, "upd", invoice)
    template_id = first_id(session, DocumentTemplate, code="invoice")
    response = manager.post(f"/documents/print/invoice/{invoice.id}",
                            {"template": str(template_id)}, follow=False)
    texts = {"invoice": pdf_text(response.data)}
    texts["act"] = pdf_text(_print(manager, session, "act", _made(session, Act, invoice)[0]))
    texts["upd"] = pdf_text(_print(manager, session, "upd", _made(session, Upd, invoice)[0]))
    for kind, text in texts.items():
        # 1,5 x 200 000,00; totals 310 000,00 + 68 200,00 = 378 200,00
        assert "1,5" in text and "200 000,00" in text and "378 200,00" in text, kind
        assert "1.5" not in text and "200000" not in text and "RUB" not in text, kind
        assert "руб." in text, kind
    assert "378 200 руб. 00 коп." in texts["act"] and "378 200 руб. 00 коп." in texts["upd"]
    assert "Триста семьдесят восемь тысяч двести рублей 00 копеек" in texts["invoice"]


@pytest.mark.parametrize("username", ["admin", "auditor"])
def test_act_and_upd_screens_are_russian(as_role, session, username):
    from tests.web.test_crawl_russian import problems

    invoice = _invoice(session, "admin", included=True, tax_name="НДС 22 %")
    admin = as_role("admin")
    _make(admin, "act", invoice)
    _make(admin, "upd", invoice)
    act, upd = _made(session, Act, invoice)[0], _made(session, Upd, invoice)[0]
    user = as_role(username)
    urls = ["/acts/list/", "/upds/list/", f"/acts/show/{act.id}", f"/upds/show/{upd.id}",
            f"/invoices/show/{invoice.id}", f"/clients/show/{invoice.client_id}",
            f"/act-lines/show/{act.lines[0].id}", f"/documents/print/act/{act.id}",
            f"/documents/print/upd/{upd.id}"]
    if username == "admin":
        urls += [f"/acts/edit/{act.id}", f"/upd-lines/edit/{upd.lines[0].id}",
                 f"/upd-lines/add?_flt_0_document={upd.id}"]
    report = {}
    for url in urls:
        response = user.get(url)
        assert response.status_code == 200, url
        found = problems(response.text)
        if found:
            report[url] = sorted(found)
    assert report == {}
    # Their lists export as every register's does.
    for url, number in (("/acts/export/", act.number), ("/upds/export/", upd.number)):
        response = user.get(url)
        assert response.status_code == 200, url
        assert number in response.data.decode("utf-8-sig", "replace"), url


def test_a_draft_is_deleted_and_its_invoice_then_may_go(as_role, session):
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %")
    manager = as_role("manager")
    _make(manager, "act", invoice)
    act = _made(session, Act, invoice)[0]
    act_id, line_ids = act.id, [line.id for line in act.lines]
    manager.post(f"/acts/delete/{act_id}", {})
    session.expire_all()
    assert session.get(Act, act_id) is None
    assert all(session.get(ActLine, i) is None for i in line_ids)
    # With no act left the invoice follows its own rules again.
    assert closing.check_invoice_deletable(session, invoice) is None


def test_admin_sets_the_acts_and_upds_numbering(as_role, session):
    """A new year's sequence: a new prefix and the number 1, in the
    requisites; a bad one is refused as the invoices' is."""
    company = ensure_company(session)
    session.commit()
    saved = (company.act_prefix, company.act_next_number, company.upd_prefix,
             company.upd_next_number)
    admin = as_role("admin")
    assert "Префикс номера акта" in admin.get("/company/edit/1").text
    prefix = "А" + unique("x")[-6:]
    form = {"name": company.name or "ООО «Сделка»", "act_prefix": prefix, "act_next_number": "1",
            "upd_prefix": "У" + prefix[1:], "upd_next_number": "7"}
    try:
        admin.post("/company/edit/1", form)
        invoice = _invoice(session, "admin", included=False, tax_name="НДС 22 %")
        _make(admin, "act", invoice)
        _make(admin, "upd", invoice)
        assert _made(session, Act, invoice)[0].number == f"{prefix}0000001"
        assert _made(session, Upd, invoice)[0].number == f"У{prefix[1:]}0000007"
        page = admin.post("/company/edit/1", dict(form, act_prefix="a b")).text
        assert "Префикс — до 10 букв" in page
        page = admin.post("/company/edit/1", dict(form, upd_next_number="0")).text
        assert "Следующий номер должен быть от 1 до 9999999" in page
        # A manager does not change the requisites.
        as_role("manager").post("/company/edit/1", dict(form, act_prefix="ЧУЖОЙ"))
        session.expire_all()
        assert session.get(Company, company.id).act_prefix == prefix
    finally:
        session.expire_all()
        company = session.get(Company, company.id)
        (company.act_prefix, company.act_next_number, company.upd_prefix,
         company.upd_next_number) = saved[0], saved[1] + 10, saved[2], saved[3] + 10
        session.commit()


def test_deal_page_lists_the_documents_of_its_invoices(as_role, session):
    from app.models import Deal

    owner_id = first_id(session, Employee, username="manager")
    client = Client(name=unique("ООО Сделка актов"), responsible_id=owner_id)
    deal = Deal(title=unique("Поставка по акту"), client=client, responsible_id=owner_id,
                amount=D("378200"))
    session.add_all([client, deal])
    session.commit()
    invoice = _invoice(session, "manager", included=False, tax_name="НДС 22 %", client=client)
    invoice.deal_id = deal.id
    session.commit()
    manager = as_role("manager")
    _make(manager, "upd", invoice)
    upd = _made(session, Upd, invoice)[0]
    assert upd.deal_id == deal.id
    page = manager.get(f"/deals/show/{deal.id}").text
    assert 'id="closing-documents"' in page and f"/upds/show/{upd.id}" in page
    assert f"/deals/show/{deal.id}" in manager.get(f"/upds/show/{upd.id}").text
    # A deal without documents shows no empty table.
    other = Deal(title=unique("Без актов"), client=client, responsible_id=owner_id)
    session.add(other)
    session.commit()
    assert 'id="closing-documents"' not in manager.get(f"/deals/show/{other.id}").text
