"""«Сохранить и создать новую» in Chromium: a manager enters two tasks for
one client from the client's tab (``?_flt_0_client=``), the first with the
button, and lands on a fresh form of the same client, then saves the second
with plain «Сохранить»."""
import pytest
from sqlalchemy import select

from app.models import Client, Task
from tests.browser.conftest import sign_in
from tests.conftest import employee_id, unique

pytestmark = pytest.mark.browser

DESCRIPTION = "textarea[name=description], input[name=description]"


def test_a_task_then_a_fresh_form_for_the_same_client(live_server, page, session):
    manager = employee_id(session, "manager")
    client = Client(name=unique("Много задач"), responsible_id=manager)
    session.add(client)
    session.commit()
    sign_in(page, live_server, "manager")
    url = f"{live_server}/tasks/add?_flt_0_client={client.id}"
    page.goto(url)
    first = unique("Позвонить")
    page.fill(DESCRIPTION, first)
    button = page.locator("button[type=submit]", has_text="Сохранить и создать новую")
    assert button.count() == 1
    button.click()
    page.wait_for_selector(".alert-success")
    assert page.url == url  # the same client's fresh form
    assert "Запись добавлена" in page.inner_text(".alert-success")
    assert page.input_value(DESCRIPTION) == ""
    assert not page.locator("[name=client]").count()  # the client is not picked again
    second = unique("Отправить письмо")
    page.fill(DESCRIPTION, second)
    page.locator("button[type=submit]", has_text="Сохранить").first.click()
    page.wait_for_selector(".alert-success")
    assert "/tasks/add" not in page.url
    session.rollback()
    tasks = session.scalars(select(Task).where(Task.description.in_([first, second]))).all()
    assert sorted(t.description for t in tasks) == sorted([first, second])
    assert {t.client_id for t in tasks} == {client.id}
