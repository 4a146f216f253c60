"""Document templates and printing through the screens: the
editor's preview, printing per role with row-level access, the stored PDF
and the client's history."""
import io
import re
from decimal import Decimal
from urllib.parse import unquote

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.models import (
    Application,
    Client,
    Deal,
    DocumentTemplate,
    Employee,
    HistoryEntry,
    PrintedDocument,
    PublicAccess,
    Task,
    TemplateEntity,
)
from tests.conftest import employee_id, unique, with_history


def _pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def own_client(session):
    """A private client of the manager."""
    client = Client(name=unique("Ромашка"), inn="7707083893",
                    responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    return client


@pytest.fixture
def foreign_client(session):
    """A private client of the head of sales: the manager does not see it."""
    client = Client(name=unique("Чужой"), responsible_id=employee_id(session, "head"),
                    public_access=PublicAccess.PRIVATE)
    session.add(client)
    session.commit()
    return client


@pytest.fixture
def client_template(session):
    template = DocumentTemplate(
        name=unique("Анкета"), entity=TemplateEntity.CLIENT,
        body="<h1>Анкета клиента</h1><p>{{ client.name }}, ИНН {{ client.inn }}</p>"
             "<p>{{ company.name }} — {{ employee.full_name }}, {{ today|date_ru }}</p>"
             "<p>{{ 1234.5|amount_in_words }}</p>")
    session.add(template)
    session.commit()
    return template


def _print(user, entity, pk, template_id):
    return user.post(f"/documents/print/{entity}/{pk}", {"template": str(template_id)},
                     follow=False)


def test_seeded_templates_exist(session):
    codes = set(session.scalars(select(DocumentTemplate.code)))
    assert {"loan_agreement", "invoice", "commercial_offer"} <= codes


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_each_role_prints_a_visible_client(as_role, session, own_client, client_template,
                                           role):
    user = as_role(role)
    page = user.get(f"/clients/show/{own_client.id}").text
    assert "Печать документа" in page
    choose = user.get(f"/documents/print/client/{own_client.id}")
    assert choose.status_code == 200 and client_template.name in choose.text
    response = _print(user, "client", own_client.id, client_template.id)
    assert response.status_code == 200, response.text[:2000]
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1)
    assert unquote(encoded) == f"{client_template.name} {own_client.name}.pdf"
    text = _pdf_text(response.data)
    assert own_client.name in text and "Анкета клиента" in text
    assert "Одна тысяча двести тридцать четыре рубля 50 копеек" in text
    # Recorded: the stored file, and the client's history with who and which template.
    document = session.scalar(select(PrintedDocument).where(
        PrintedDocument.client_id == own_client.id).order_by(PrintedDocument.id.desc()))
    assert document.content == response.data and document.author.username == role
    entry = session.scalar(select(HistoryEntry).where(
        HistoryEntry.client_id == own_client.id, HistoryEntry.action == "print")
        .order_by(HistoryEntry.id.desc()))
    assert entry.user_id == employee_id(session, role)
    assert client_template.name in entry.new_value
    page = with_history(user, f"/clients/show/{own_client.id}")
    history = page.split('id="history"')[1]
    assert "напечатан" in history and client_template.name in history
    assert f"/documents/pdf/{document.id}" in page.split('id="Documents"')[1]
    again = user.get(f"/documents/pdf/{document.id}")
    assert again.status_code == 200 and again.data == response.data


def test_manager_cannot_print_or_download_for_another_managers_client(
        as_role, session, foreign_client, client_template):
    head = as_role("head")
    assert _print(head, "client", foreign_client.id, client_template.id).status_code == 200
    document_id = session.scalar(select(PrintedDocument.id).where(
        PrintedDocument.client_id == foreign_client.id))
    manager = as_role("manager")
    before = session.scalar(select(func.count()).select_from(PrintedDocument))
    assert manager.get(f"/documents/print/client/{foreign_client.id}").status_code == 404
    assert _print(manager, "client", foreign_client.id,
                  client_template.id).status_code == 404
    assert manager.get(f"/documents/pdf/{document_id}").status_code == 404
    assert session.scalar(select(func.count()).select_from(PrintedDocument)) == before
    listing = manager.get("/documents/list/").text
    assert foreign_client.name not in listing


def test_print_refuses_a_template_of_another_entity(as_role, session, own_client):
    invoice_template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.code == "invoice"))
    page = _print(as_role("manager"), "client", own_client.id, invoice_template.id)
    assert page.status_code == 200 and "Выберите шаблон" in page.text


def test_a_broken_template_shows_line_and_reason_not_500(as_role, session, own_client):
    template = DocumentTemplate(name=unique("Сломанный"), entity=TemplateEntity.CLIENT,
                                body="строка 1\n{{ client.name.__class__ }}")
    session.add(template)
    session.commit()
    page = _print(as_role("admin"), "client", own_client.id, template.id)
    assert page.status_code == 200
    assert "Документ не напечатан" in page.text and "Строка 2" in page.text
    assert "Недопустимая операция в шаблоне" in page.text


def test_pdf_fetches_no_file_given_in_a_template(as_role, session, own_client):
    template = DocumentTemplate(
        name=unique("Картинки"), entity=TemplateEntity.CLIENT,
        body='<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
             '<img src="../../../../etc/passwd"><p>{{ client.name }}</p>')
    session.add(template)
    session.commit()
    response = _print(as_role("admin"), "client", own_client.id, template.id)
    assert response.mimetype == "application/pdf"
    assert b"root:" not in response.data


@pytest.mark.parametrize("entity", ["application", "deal", "task"])
def test_print_from_application_deal_and_task(as_role, session, own_client, entity):
    manager_id = employee_id(session, "manager")
    record = {
        "application": lambda: Application(client_id=own_client.id, amount=Decimal("120000"),
                                           term_months=6, rate_percent=Decimal("12"),
                                           responsible_id=manager_id),
        "deal": lambda: Deal(title=unique("Поставка"), client_id=own_client.id,
                             amount=Decimal("50000"), responsible_id=manager_id),
        "task": lambda: Task(client_id=own_client.id, description="Позвонить",
                             assignee_id=manager_id, author_id=manager_id),
    }[entity]()
    session.add(record)
    template = DocumentTemplate(name=unique("Документ"), entity=TemplateEntity(entity),
                                body="<p>{{ client.name }}</p>{% if schedule %}"
                                     "<p>Платежей: {{ schedule.rows|length }}</p>{% endif %}")
    session.add(template)
    session.commit()
    manager = as_role("manager")
    url = {"application": f"/applications/show/{record.id}",
           "deal": f"/deals/show/{record.id}", "task": f"/tasks/show/{record.id}"}[entity]
    assert f"/documents/print/{entity}/{record.id}" in manager.get(url).text
    response = _print(manager, entity, record.id, template.id)
    assert response.mimetype == "application/pdf"
    text = _pdf_text(response.data)
    assert own_client.name in text
    if entity == "application":
        assert "Платежей: 6" in text
    if entity == "task":
        work = manager.get(f"/tasks/work/{record.id}").text
        assert f"/documents/print/task/{record.id}" in work


def test_seeded_loan_agreement_prints_the_schedule(as_role, session, own_client):
    application = Application(client_id=own_client.id, amount=Decimal("100000"),
                              term_months=12, rate_percent=Decimal("10"),
                              responsible_id=employee_id(session, "manager"))
    session.add(application)
    session.commit()
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.code == "loan_agreement"))
    response = _print(as_role("manager"), "application", application.id, template.id)
    text = " ".join(_pdf_text(response.data).split())
    assert "КРЕДИТНЫЙ ДОГОВОР" in text and "Сто тысяч рублей 00 копеек" in text
    assert "Процентная ставка — 10% годовых" in text
    assert "8 791,59" in text  # the annuity payment of 100 000 at 10% for 12 months
    assert "0,00" in text.split("Итого")[0]  # the balance after the last row


# --- the template editor ------------------------------------------------------------------

def test_head_creates_template_and_previews_it(as_role, session, own_client):
    head = as_role("head")
    form = head.get("/templates/add").text
    assert "company.inn" in form and "amount_in_words" in form and "preview-frame" in form
    name = unique("Письмо")
    head.post("/templates/add", {"name": name, "entity": "client", "is_active": "y",
                                 "body": "<p>Уважаемый {{ client.name }}!</p>"})
    assert session.scalar(select(DocumentTemplate.id).where(DocumentTemplate.name == name))
    answer = head.post("/templates/preview", {"entity": "client",
                                              "body": "<p>{{ client.name }}</p>"}).json
    assert answer["error"] is None and "Иванов Иван Иванович" in answer["html"]
    assert "Content-Security-Policy" in answer["html"]
    answer = head.post("/templates/preview", {"entity": "client", "record_id":
                                              str(own_client.id),
                                              "body": "<p>{{ client.name }}</p>"}).json
    assert own_client.name in answer["html"]
    pdf = head.post("/templates/preview", {"entity": "client", "format": "pdf",
                                           "body": "<p>{{ client.name }}</p>"})
    assert pdf.mimetype == "application/pdf"


@pytest.mark.parametrize("body, line, reason", [
    ("a\nb\n{% for x in %}", 3, "Синтаксическая ошибка в шаблоне"),
    ("{{ config }}{{ request }}{{ self }}\n{{ ''.__class__.__mro__ }}", 2,
     "Недопустимая операция в шаблоне"),
    ("{{ cycler.__init__.__globals__ }}", 1, "Недопустимая операция"),
    ("{{ 'a' * 10**9 }}", 1, "Слишком большое значение в шаблоне"),
    ("{% for i in range(10**9) %}{% endfor %}", 1, "range()"),
])
def test_preview_reports_line_and_reason(as_role, body, line, reason):
    answer = as_role("admin").post("/templates/preview", {"entity": "client",
                                                          "body": body}).json
    assert answer["error"].startswith(f"Строка {line}: ")
    assert reason in answer["error"]
    assert "SECRET" not in answer["error"] and "<class" not in answer["error"]


def test_preview_needs_csrf_and_a_visible_record(as_role, foreign_client):
    admin = as_role("admin")
    assert admin.post("/templates/preview", {"body": "x"}, csrf=False).status_code == 400
    manager = as_role("manager")
    assert manager.post("/templates/preview", {"body": "x"}).status_code == 403
    head = as_role("head")
    answer = head.post("/templates/preview", {"entity": "client", "record_id": "999999999",
                                              "body": "x"}).json
    assert "Нет такой записи" in answer["error"]


def test_syntax_error_refuses_saving(as_role, session):
    name = unique("Ошибка")
    page = as_role("admin").post("/templates/add", {"name": name, "entity": "client",
                                                    "body": "{% if %}"}).text
    assert "Синтаксическая ошибка в шаблоне" in page
    assert session.scalar(select(DocumentTemplate.id).where(
        DocumentTemplate.name == name)) is None


@pytest.mark.parametrize("role", ["manager", "auditor"])
def test_managers_and_auditors_use_but_do_not_edit_templates(as_role, session, role):
    user = as_role(role)
    assert user.get("/templates/list/").status_code == 200
    assert user.get("/templates/add").status_code == 403
    template_id = session.scalar(select(DocumentTemplate.id).where(
        DocumentTemplate.code == "invoice"))
    assert user.get(f"/templates/edit/{template_id}").status_code == 403
    assert user.post("/templates/preview", {"body": "x"}).status_code == 403


def test_builtin_template_cannot_be_deleted(as_role, session):
    template_id = session.scalar(select(DocumentTemplate.id).where(
        DocumentTemplate.code == "commercial_offer"))
    page = as_role("admin").post(f"/templates/delete/{template_id}").text
    assert "Встроенный шаблон нельзя удалить" in page
    session.expire_all()
    assert session.get(DocumentTemplate, template_id) is not None


def _leaves(value, path="context"):
    """Every (path, value) of a context that is not a dict or list."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), path
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def test_context_is_plain_data_never_orm_objects(app, session, own_client):
    """The sandbox guards Python internals, not our objects: the context must
    hold no model instance (relationships lead to users and password hashes)."""
    import datetime as dt

    from app.models import Invoice, InvoiceLine
    from app.services import documents

    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    application = Application(client_id=own_client.id, amount=Decimal("1000"), term_months=3,
                              rate_percent=Decimal("12"), responsible_id=manager.id)
    deal = Deal(title="Сделка", client_id=own_client.id, responsible_id=manager.id)
    invoice = Invoice(client_id=own_client.id, number=unique("C")[:20], deal=deal,
                      responsible_id=manager.id,
                      lines=[InvoiceLine(description="Позиция", quantity=1, price=10)])
    task = Task(client_id=own_client.id, deal=deal, application=application,
                assignee_id=manager.id)
    session.add_all([application, deal, invoice, task])
    session.commit()
    plain = (str, int, Decimal, dt.date, type(None), bool)
    with app.app_context():
        for entity, record in ((TemplateEntity.CLIENT, own_client),
                               (TemplateEntity.APPLICATION, application),
                               (TemplateEntity.DEAL, deal), (TemplateEntity.TASK, task),
                               (TemplateEntity.INVOICE, invoice)):
            context = documents.build_context(session, entity, record, manager)
            for path, value in _leaves(context):
                assert isinstance(value, plain), (path, type(value))
            text = documents.render_html(
                "{{ client.responsible }}|{{ employee.full_name }}|{{ client.password }}"
                "{{ employee.password }}{{ client.responsible.password }}", context)
            assert "scrypt" not in text and "pbkdf2" not in text
        for entity in TemplateEntity:
            for path, value in _leaves(documents.sample_context(session, entity, manager)):
                assert isinstance(value, plain), (path, type(value))


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_pages_open_for_every_role(as_role, session, own_client, client_template, role):
    from app.models import Invoice

    user = as_role(role)
    invoice = Invoice(client_id=own_client.id, number=unique("P")[:20],
                      responsible_id=employee_id(session, "manager"))
    session.add(invoice)
    session.commit()
    pages = ["/templates/list/", f"/templates/show/{client_template.id}", "/documents/list/",
             "/invoices/list/", f"/invoices/show/{invoice.id}",
             f"/invoice-lines/list/?_flt_0_invoice={invoice.id}"]
    if role in ("admin", "head"):
        pages += ["/templates/add", f"/templates/edit/{client_template.id}"]
    if role in ("admin", "head", "manager"):
        pages += ["/invoices/add", f"/invoices/edit/{invoice.id}",
                  f"/invoice-lines/add?_flt_0_invoice={invoice.id}"]
    for page in pages:
        response = user.get(page)
        assert response.status_code == 200, (page, response.status_code)
    if role == "admin":
        user.get("/company/list/")  # creates the single row on first use
        assert "Префикс номера счёта" in user.get("/company/edit/1").text
    _print(user, "client", own_client.id, client_template.id)
    document_id = session.scalar(select(PrintedDocument.id).where(
        PrintedDocument.client_id == own_client.id).order_by(PrintedDocument.id.desc()))
    assert user.get(f"/documents/show/{document_id}").status_code == 200
    assert own_client.name in user.get("/documents/list/").text


@pytest.mark.parametrize("url", ["/documents/print/client/99999999999999999999",
                                 "/documents/pdf/99999999999999999999",
                                 "/documents/print/nothing/1",
                                 "/invoices/edit/99999999999999999999"])
def test_absurd_ids_are_not_found_not_500(as_role, url):
    assert as_role("admin").get(url).status_code == 404


def test_absurd_ids_in_forms_get_messages(as_role, own_client):
    admin = as_role("admin")
    answer = admin.post("/templates/preview", {"entity": "client", "body": "x",
                                               "record_id": "9" * 30}).json
    assert "Нет такой записи" in answer["error"]
    page = _print(admin, "client", own_client.id, "9" * 30)
    assert page.status_code == 200 and "Выберите шаблон" in page.text
    assert admin.post("/invoices/status/99999999999999999999",
                      {"status": "paid"}).status_code == 404


def test_lists_show_office_time_not_stored_utc(as_role, session, own_client, client_template):
    """Times are stored in UTC; the lists of templates and printed documents
    show them in the office's zone (Moscow, UTC+3), like every other screen."""
    import datetime

    user = as_role("admin")
    _print(user, "client", own_client.id, client_template.id)
    document = session.scalar(select(PrintedDocument).where(
        PrintedDocument.client_id == own_client.id).order_by(PrintedDocument.id.desc()))
    document.created_at = datetime.datetime(2031, 1, 15, 22, 30)
    client_template.updated_at = datetime.datetime(2031, 1, 15, 21, 5)
    session.commit()
    documents = user.get(f"/documents/list/?_flt_0_client={own_client.id}").text
    assert "16.01.2031 01:30" in documents and "15.01.2031 22:30" not in documents
    templates = user.get("/templates/list/?_oc_DocumentTemplateView=updated_at"
                         "&_od_DocumentTemplateView=desc").text
    assert "16.01.2031 00:05" in templates and "15.01.2031 21:05" not in templates
