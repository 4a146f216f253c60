"""Every screen in Russian: no raw codes, ``None``, ``True``/``False``, object
reprs, ISO time stamps or FAB's English strings.

The crawl opens every menu page, and for every FAB screen its list, the page
of one existing record, its add and its edit form, as Admin and as a Manager.
One record of each register is seeded with every enum field set to a value
that is not the default, so lists and record pages show their labels."""
import datetime
import enum
import html
import json
import os
import re
from decimal import Decimal
from html.parser import HTMLParser

import flask_appbuilder
import pytest
from sqlalchemy import select

from app import models
from app.models import (
    Application,
    Client,
    ClientKind,
    ContactPerson,
    CounterpartyAction,
    CustomField,
    CustomFieldType,
    Deal,
    DealStatus,
    DocumentTemplate,
    FieldMode,
    ImportJob,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Lead,
    LeadStatus,
    Note,
    Notification,
    PaymentTerm,
    PrintedDocument,
    ProcessingStatus,
    Project,
    PublicAccess,
    SalesPlan,
    Task,
    TaskStatus,
    TemplateEntity,
    WebForm,
)
from tests.conftest import employee_id

# English words that may stand in the Russian interface: proper names and
# abbreviations people read as they are.
ALLOWED = {
    "Sdelka", "CRM", "Skype", "ID", "Email", "E-mail", "CSV", "PDF", "HTML", "URL",
    "API", "INN", "OK",
    # the test users' names and logins (conftest.ROLE_USERS: username.title())
    "Admin", "Manager", "Head", "Auditor", "admin", "manager", "head", "auditor",
}

# Help that names a document template's placeholders, which are code.
CODE_HELP = ("Строки графика платежей:",)

_TEXT_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label", "data-placeholder")
# Not read as interface text: code, and what a user wrote as code (a document
# template's HTML, a web form's embed snippet).
_HIDDEN = ("script", "style", "template", "textarea", "pre", "code")


class _Visible(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, button
    captions and the placeholder, title and alt attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self._hidden += 1
        attrs = dict(attrs)
        for name in _TEXT_ATTRIBUTES:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data.strip())


def visible_texts(html):
    parser = _Visible()
    parser.feed(html)
    return parser.texts


def _enum_values():
    values = set()
    for item in vars(models).values():
        if isinstance(item, type) and issubclass(item, enum.Enum) and item is not enum.Enum:
            for member in item:
                if isinstance(member.value, str) and re.search("[A-Za-z]", member.value):
                    values.add(member.value)
    return values


def _fab_english():
    """FAB's own English msgids (from its code and templates), without
    placeholders: FAB's Russian catalogue lacks many of its newer ones."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    keywords = dict(DEFAULT_KEYWORDS, lazy_gettext=None, _l=None)
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for message in extract_from_dir(os.path.dirname(flask_appbuilder.__file__), method_map,
                                    keywords=keywords):
        msgid = message[2] if isinstance(message[2], str) else message[2][0]
        if "%" not in msgid and "{" not in msgid and re.search("[A-Za-z]{2}", msgid):
            found.add(msgid.strip())
    return found


def _word(text):
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(text) + r"(?![A-Za-z0-9_])")


# "UTC": every time on a screen is the office's, and says nothing of its zone.
RAW_WORDS = sorted(_enum_values() | {"None", "True", "False", "UTC"})
FAB_ENGLISH = sorted(_fab_english() - ALLOWED, key=len, reverse=True)
_RAW = re.compile("|".join(_word(w).pattern for w in RAW_WORDS))
_FAB = re.compile("|".join(_word(w).pattern for w in FAB_ENGLISH))
# A text of Latin words only ("Entity Id", "Cancel"): a label nobody translated.
# Abbreviations in capitals (RUB, VIP) are read as they are.
_LATIN_ONLY = re.compile(r"(?![A-Z]+$)[A-Za-z][A-Za-z ]*[A-Za-z]")
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\d\d:\d\d:\d\d\.\d+")
# What other tests typed (tests.conftest.unique tags it with 8 hex digits):
# a client named "api 3423590a new" is data, not a raw code. The crawl's own
# records carry no such tag, so the screens' words are still read.
_OTHER_TESTS = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])")


_FILTERS = re.compile(r"new AdminFilters\((.*?)\);", re.S)
_TAB = re.compile(r'class="sdelka-related-tab" data-src="([^"]+)"')
_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def filter_texts(html):
    """The search filters' labels and operators, which FAB writes as JSON
    into a script (keys are column names, HTML snippets are the inputs)."""
    texts = []
    for call in _FILTERS.findall(html):
        for literal in _JSON_STRING.findall(call):
            text = json.loads(f'"{literal}"')
            if "<" not in text and not re.fullmatch(r"[a-z_.0-9#]+", text):
                texts.append(text)
    return texts


def problems(html):
    """What a Russian reader should not see on this page."""
    found = set()
    if "<app.models" in html or "&lt;app.models" in html:
        found.add("<app.models repr>")
    for text in visible_texts(html) + filter_texts(html):
        # A document template's placeholders in its help: code, not words.
        text = _PLACEHOLDER.sub(" ", text).strip()
        if not text or text in ALLOWED or text.startswith(CODE_HELP):
            continue
        if _LATIN_ONLY.fullmatch(text):
            found.add(f"English {text[:80]!r}")
            continue
        if _OTHER_TESTS.search(text):
            continue
        for pattern, kind in ((_RAW, "raw"), (_FAB, "English")):
            for match in pattern.finditer(text):
                found.add(f"{kind} {match.group(0)!r} in {text[:80]!r}")
        if _ISO_TIME.search(text):
            found.add(f"ISO time in {text[:80]!r}")
    return found


def test_the_checker_sees_what_it_should():
    page = ('<html><script>var x = "None";</script><p>open → won</p><td>None</td>'
            '<input placeholder="Search"><span>Клиент</span><b>List Groups</b></html>')
    found = problems(page)
    assert any("'open'" in f for f in found) and any("'won'" in f for f in found)
    assert any("'None'" in f for f in found)
    assert any("List Groups" in f for f in found)
    assert not any("var x" in f for f in found)
    assert problems("<p>Клиенты: просмотр</p><p>Сделка CRM</p>") == set()
    assert problems("<td>api 3423590a new</td>") == set()  # another test's data


# --- seed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(app):
    """One record of each register with every enum set away from its default;
    {model: id}."""
    from sqlalchemy.orm import Session

    from app import db

    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        manager = employee_id(session, "manager")
        stamp = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456)
        client = Client(name="Обходов Пётр", kind=ClientKind.COMPANY, responsible_id=manager,
                        public_access=PublicAccess.WRITE, created_at=stamp, updated_at=stamp)
        session.add(client)
        session.flush()
        contact = ContactPerson(client_id=client.id, name="Контактов Иван")
        deal = Deal(title="Сделка обхода", client_id=client.id, responsible_id=manager,
                    status=DealStatus.WON, amount=Decimal("1500.5"), closed_at=stamp)
        session.add_all([contact, deal])
        session.flush()
        status = session.scalars(select(TaskStatus).order_by(TaskStatus.id)).first()
        form = WebForm(name="Форма обхода", key="crawlformkey0001", field_name=FieldMode.OFF,
                       field_phone=FieldMode.OPTIONAL, field_email=FieldMode.REQUIRED)
        session.add(form)
        session.flush()
        invoice = Invoice(client_id=client.id, responsible_id=manager,
                          status=InvoiceStatus.ISSUED, payment_term=PaymentTerm.ON_RECEIPT,
                          number="CRAWL0000001")
        session.add(invoice)
        session.flush()
        records = [
            Application(client_id=client.id, responsible_id=manager, amount=Decimal("1000"),
                        status=ProcessingStatus.IN_PROCESSING),
            Lead(title="Лид обхода", responsible_id=manager, status=LeadStatus.CONVERTED,
                 client_id=client.id, deal_id=deal.id, web_form_id=form.id, closed_at=stamp),
            Note(client_id=client.id, text="Заметка обхода", created_at=stamp),
            Project(client_id=client.id, name="Проект обхода", responsible_id=manager),
            CounterpartyAction(client_id=client.id, responsible_id=manager, planned_at=stamp,
                               result="Созвонились"),
            Task(description="Задача обхода", assignee_id=manager, status_id=status.id,
                 planned_at=stamp, client_id=client.id),
            InvoiceLine(invoice_id=invoice.id, description="Позиция обхода",
                        quantity=Decimal("2"), price=Decimal("10")),
            DocumentTemplate(name="Шаблон обхода", entity=TemplateEntity.DEAL, body="<p>x</p>"),
            Notification(user_id=manager, text="Уведомление обхода", created_at=stamp),
            SalesPlan(manager_id=manager, month=datetime.date(2039, 3, 1), deals=1, calls=2,
                      revenue=Decimal("100")),
            CustomField(entity="client", code="crawl_choice", label_ru="Поле обхода",
                        type=CustomFieldType.CHOICE, choices="Один\nДва"),
            PrintedDocument(template_name="Шаблон обхода", entity=TemplateEntity.DEAL,
                            entity_id=deal.id, client_id=client.id, author_id=manager,
                            created_at=stamp, file_name="obhod.pdf", size=3, content=b"pdf"),
            ImportJob(user_id=manager, entity="clients", file_name="obhod.csv",
                      stored_path="/nonexistent/obhod.csv", status="done", created_at=stamp,
                      started_at=stamp, finished_at=stamp, total_rows=1, created=1),
        ]
        session.add_all(records)
        session.commit()
        # Changes, so the history shows an enum's and a yes/no's old and new
        # values ("open → won" was shown raw).
        deal.status = DealStatus.LOST
        client.public_access = PublicAccess.READ
        client.kind = ClientKind.SOLE_PROPRIETOR
        contact.mailing_opt_out = True
        session.commit()
        ids = {type(r): r.id for r in [client, contact, deal, form, invoice, *records]}
    yield ids
    # The app is shared by the whole run: the records go, so no other test
    # counts them (statistics, exports' custom-field columns).
    with Session(engine) as session:
        for model, pk in reversed(list(ids.items())):
            session.delete(session.get(model, pk))
            session.flush()
        session.commit()


def _pages(app, seeded):
    """Every menu link, and for every FAB model screen its list, add form, and
    the record page and edit form of its first record."""
    from app import db

    urls = set()
    with app.test_request_context():
        for item in app.appbuilder.menu.get_list():
            for child in (item.childs or [item]):
                if child.name != "-":
                    try:
                        urls.add(child.get_url())
                    except Exception:  # noqa: BLE001  (a menu link needing arguments)
                        pass
        for view in app.appbuilder.baseviews:
            datamodel = getattr(view, "datamodel", None)
            if datamodel is None or not hasattr(view, "list_columns"):
                continue
            base = view.route_base
            urls.add(f"{base}/list/")
            if "add" in dir(view):
                urls.add(f"{base}/add")
            model = datamodel.obj
            pk = seeded.get(model)
            if pk is None:
                first = db.session.scalar(select(model).limit(1))
                pk = None if first is None else datamodel.get_pk_value(first)
            if pk is not None:
                urls.add(f"{base}/show/{pk}")
                urls.add(f"{base}/edit/{pk}")
        db.session.remove()
    task_id, deal_id = seeded[Task], seeded[Deal]
    # Pages outside the menu: the bell, one's profile, the task work form,
    # the import start, printing from a record.
    urls.update({"/notifications/", "/employees/userinfo/", "/profile/form",
                 "/changepassword/form", f"/tasks/work/{task_id}", "/import/",
                 "/import/clients/", f"/documents/print/deal/{deal_id}"})
    return sorted(u for u in urls if u and u.startswith("/") and "logout" not in u)


def test_times_in_the_office_zone_to_the_minute(as_role, seeded, session):
    """09:30:15.123456 UTC is 12:30 in Moscow: the printed list and the record
    page alike (the history and «Напечатано ранее» showed UTC)."""
    client_id = session.scalar(select(Client.id).where(Client.name == "Обходов Пётр"))
    page = as_role("manager").get(f"/clients/show/{client_id}").text
    printed = page[page.index('id="printed-documents"'):]
    assert "01.03.2026 12:30" in printed[:printed.index("</table>")]
    assert "09:30" not in page


def test_errors_and_sign_in_speak_russian(app, client):
    assert "Страница не найдена" in client.get("/no-such-page/").text or \
        "не найден" in client.get("/no-such-page/").text
    page = client.post("/login/", {"username": "nobody", "password": "wrong"}).text
    assert "Неверный логин или пароль" in page and "аторизации" not in page


def test_labels_follow_the_chosen_language(as_role, seeded):
    client = as_role("admin")
    # The search form's labels and filter names, kept per list and language
    # (views/custom_fields.EscapedSearchWidget._words).
    russian = client.get("/clients/list/").text
    assert json.dumps("Содержит") in russian and json.dumps("Contains") not in russian
    client.get("/lang/en")
    try:
        page = client.get("/clients/list/").text
        assert json.dumps("Contains") in page and json.dumps("Содержит") not in page
        listed = visible_texts(page)
        assert "Sole proprietor" in listed and "sole_proprietor" not in listed
        assert "Head of sales" in client.get("/roles/list/").text
        assert "Clients: menu item, list, record page" in client.get(
            f"/roles/show/{_role_id(client.app, 'Admin')}").text
    finally:
        client.get("/lang/ru")
    assert json.dumps("Содержит") in client.get("/clients/list/").text


def _role_id(app, name):
    with app.app_context():
        return app.appbuilder.sm.find_role(name).id


def test_select2_speaks_russian(as_role):
    page = as_role("manager").get("/clients/add").text
    assert "$.fn.select2.defaults.set('language'" in page
    assert json.dumps("Ничего не найдено") in page  # tojson writes \\u escapes
    assert json.dumps("Введите ещё символов:") in page


@pytest.mark.parametrize("username", ["admin", "manager"])
def test_no_raw_values_or_english_on_any_screen(app, as_role, seeded, username):
    client = as_role(username)
    report, read = {}, set()
    pages = list(_pages(app, seeded))
    for url in pages:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue  # not this role's screen (403 page, a redirect) or a file
        read.add(url)
        found = problems(response.text)
        if found:
            report[url] = sorted(found)
        # A record page's tabs, fetched when opened (views/related_tabs.py).
        pages += [html.unescape(tab) for tab in _TAB.findall(response.text)
                  if html.unescape(tab) not in pages]
    lines = [f"{url}: {'; '.join(found)}" for url, found in sorted(report.items())]
    assert not lines, "\n" + "\n".join(lines)
    # The crawl did read the screens (a broken sign-in would pass it empty).
    assert {"/clients/list/", f"/clients/show/{seeded[Client]}", f"/deals/edit/{seeded[Deal]}",
            "/notifications/", f"/tasks/work/{seeded[Task]}", "/profile/form",
            f"/clients/related/{seeded[Client]}/TaskView"} <= read
    assert len(read) > (150 if username == "admin" else 60), len(read)
