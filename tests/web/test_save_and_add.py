"""«Сохранить и создать новую» beside «Сохранить» on the add pages of the
registers (views/save_and_add.py): a saved record leads to a fresh add form
of the same register, with the query string the form was opened with (the
client of a client's tab, the calendar's day) and the «added» flash; a
refused save shows the form again as typed; plain «Сохранить» redirects as
before. The click in Chromium is in tests/browser/test_save_and_add.py."""
import re

import pytest
from sqlalchemy import func, select

from app.models import Client, Deal, Employee, Task
from app.views.registers import REGISTER_VIEWS
from app.views.save_and_add import SAVE_AND_ADD
from tests.conftest import unique

BUTTON = re.compile(r'<button type="submit" class="btn btn-sm btn-default sdelka-save-and-add"'
                    rf'\s+name="{SAVE_AND_ADD}" value="1">Сохранить и создать новую')


def _value(page, name):
    match = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>([^<]*)', page)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else match.group(1).strip()


def _own_client(session, username):
    person = session.scalar(select(Employee.id).where(Employee.username == username))
    client = Client(name=unique("Несколько задач"), responsible_id=person)
    session.add(client)
    session.commit()
    return client


def _tasks(session, text):
    session.expire_all()
    return session.scalars(select(Task).where(Task.description == text)).all()


def _clients(session, name):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Client).where(Client.name == name))


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_every_register_s_add_page_offers_the_button(as_role, role):
    browser = as_role(role)
    for view in REGISTER_VIEWS:
        url = f"{view.route_base}/add"
        if view.__name__ == "InvoiceLineView":
            continue  # opened from an invoice only (below for tasks and clients)
        page = browser.get(url)
        assert page.status_code == 200, url
        assert BUTTON.search(page.text), url
        # «Сохранить» stays first: Enter in a field saves as before.
        assert page.text.index(">Сохранить\n") < page.text.index("Сохранить и создать новую")


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_tasks_for_one_client_one_after_another(as_role, session, role):
    client = _own_client(session, role)
    browser = as_role(role)
    url = f"/tasks/add?_flt_0_client={client.id}"
    form = browser.get(url).text
    assert BUTTON.search(form) and 'name="client"' not in form  # the client from the tab
    text = unique("Первая задача")
    response = browser.post(url, {"description": text, "planned_at": "04.12.2026 09:00",
                                  SAVE_AND_ADD: "1"}, follow=False)
    assert response.status_code == 302
    assert response.headers["Location"] == url
    [task] = _tasks(session, text)
    assert task.client_id == client.id
    page = browser.get(url).text
    assert "Запись добавлена" in page and "alert-success" in page
    assert BUTTON.search(page) and 'name="client"' not in page  # still that client
    assert text not in page  # an empty form
    assert _value(page, "description") == ""
    # The next one goes to the same client with no client picked.
    second = unique("Вторая задача")
    page = browser.post(url, {"description": second, "planned_at": "04.12.2026 10:00",
                              SAVE_AND_ADD: "1"})
    assert page.request.path == "/tasks/add"
    assert page.request.query_string.decode() == f"_flt_0_client={client.id}"
    assert [t.client_id for t in _tasks(session, second)] == [client.id]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_the_calendar_day_is_kept(as_role, session, role):
    client = _own_client(session, role)
    browser = as_role(role)
    url = "/tasks/add?day=2026-12-04"
    text = unique("Задача дня")
    response = browser.post(url, {"client": client.id, "description": text,
                                  "planned_at": "04.12.2026 11:00", SAVE_AND_ADD: "1"},
                            follow=False)
    assert response.status_code == 302 and response.headers["Location"] == url
    page = browser.get(url).text
    assert "Запись добавлена" in page
    assert _value(page, "planned_at") == "04.12.2026 09:00"  # the day's fresh form
    assert _value(page, "description") == ""


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_clients_one_after_another(as_role, session, role):
    browser = as_role(role)
    browser.token()  # its page is not in FAB's page history in between
    browser.get("/clients/list/")  # where plain «Сохранить» returns
    name = unique("Клиент подряд")
    response = browser.post("/clients/add", {"kind": "company", "name": name,
                                              "public_access": "private", SAVE_AND_ADD: "1"},
                            follow=False)
    assert response.status_code == 302 and response.headers["Location"] == "/clients/add"
    assert _clients(session, name) == 1
    page = browser.get("/clients/add").text
    assert "Запись добавлена" in page and BUTTON.search(page)
    assert _value(page, "name") == ""
    # Plain «Сохранить» after a few of them returns where it did: the list.
    name = unique("Последний клиент")
    response = browser.post("/clients/add", {"kind": "company", "name": name,
                                              "public_access": "private"}, follow=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://localhost/clients/list/")
    assert _clients(session, name) == 1


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_plain_save_redirects_as_before(as_role, session, role):
    client = _own_client(session, role)
    browser = as_role(role)
    browser.token()
    browser.get(f"/clients/show/{client.id}")  # the client's tab: FAB returns there
    url = f"/tasks/add?_flt_0_client={client.id}"
    browser.get(url)
    text = unique("Одна задача")
    response = browser.post(url, {"description": text, "planned_at": "04.12.2026 09:00"},
                            follow=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://localhost/clients/show/{client.id}"
    assert len(_tasks(session, text)) == 1


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_refused_save_shows_the_form_again(as_role, session, role):
    browser = as_role(role)
    # Neither a name nor a full name: the client's rule.
    city = unique("Город")
    page = browser.post("/clients/add", {"kind": "person", "public_access": "private",
                                         "city": city, SAVE_AND_ADD: "1"}, follow=False)
    assert page.status_code == 200 and BUTTON.search(page.text)
    assert "Укажите название или ФИО клиента" in page.text
    assert _value(page.text, "city") == city
    # A required field missing: the form's own check.
    text = unique("Без срока")
    page = browser.post("/tasks/add", {"description": text, "planned_at": "",
                                       SAVE_AND_ADD: "1"}, follow=False)
    assert page.status_code == 200 and BUTTON.search(page.text)
    assert _value(page.text, "description") == text
    # A service rule's refusal (KeepTypedMixin): a lost deal with no reason.
    client = _own_client(session, role)
    title = unique("Сделка без причины")
    page = browser.post("/deals/add", {"title": title, "client": client.id, "amount": "700",
                                       "status": "lost", SAVE_AND_ADD: "1"}, follow=False)
    assert page.status_code == 200
    assert "alert-danger" in page.text and "Запись добавлена" not in page.text
    assert _value(page.text, "title") == title and BUTTON.search(page.text)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Deal)
                          .where(Deal.title == title)) == 0


def test_an_invoice_line_from_its_invoice(as_role, session):
    """The lines' own add page (opened from an invoice) has it too."""
    from app.models import Invoice

    client = _own_client(session, "admin")
    invoice = Invoice(client_id=client.id, number=unique("С-"))
    session.add(invoice)
    session.commit()
    page = as_role("admin").get(f"/invoice-lines/add?_flt_0_invoice={invoice.id}")
    assert page.status_code == 200 and BUTTON.search(page.text)
