"""A client's tabs in Chromium: a tab's list arrives when the tab is opened,
its pager turns pages inside the tab, a reload comes back to the same tab,
and a record is deleted from a tab with the confirmation dialog."""
import pytest
from sqlalchemy import select

from app.models import Client, Task
from tests.browser.conftest import sign_in
from tests.conftest import employee_id

pytestmark = pytest.mark.browser


@pytest.fixture
def tasks_of(session, own_client):
    """The manager's own client with 27 tasks: (client id, task ids)."""
    client_id = session.scalar(select(Client.id).where(Client.name == own_client))
    manager = employee_id(session, "manager")
    tasks = [Task(client_id=client_id, description=f"Звонок {i:02d}", assignee_id=manager,
                  author_id=manager) for i in range(27)]
    session.add_all(tasks)
    session.commit()
    return client_id, [task.id for task in tasks]


def rows(page, pane):
    return page.locator(f"#{pane} a[href^='/tasks/show/']")


def test_a_tab_loads_when_opened_and_pages_in_place(live_server, page, tasks_of):
    client_id, _ = tasks_of
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("a[href='#Home']")
    assert rows(page, "TaskView").count() == 0  # not fetched yet
    page.click("a[href='#TaskView']")
    rows(page, "TaskView").first.wait_for(state="visible")
    assert rows(page, "TaskView").count() == 25
    shown = page.url
    page.click("#TaskView .pagination a:text-is('2')")
    page.wait_for_function(
        "document.querySelectorAll(\"#TaskView a[href^='/tasks/show/']\").length == 2")
    assert page.url == shown  # the page stayed; the tab turned
    assert page.locator("#TaskView").is_visible()
    page.reload()  # FAB's keep-tab opens the same tab, fetched again
    rows(page, "TaskView").first.wait_for(state="visible")
    assert rows(page, "TaskView").count() == 25


def test_a_task_is_deleted_from_the_clients_tab(live_server, page, session, tasks_of):
    client_id, task_ids = tasks_of
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("a[href='#TaskView']")
    delete = page.locator("#TaskView [data-delete-url]").first
    delete.wait_for(state="visible")
    url = delete.get_attribute("data-delete-url")
    deleted = int(url.rstrip("/").rsplit("/", 1)[1])
    delete.click()
    dialog = page.locator("#modal-confirm:visible")
    dialog.wait_for(state="visible")
    assert "Удалить эту запись?" in dialog.inner_text()
    dialog.locator("#modal-confirm-ok").click()
    page.wait_for_selector(".alert-success")
    session.expire_all()
    left = set(session.scalars(select(Task.id).where(Task.client_id == client_id)))
    assert left == set(task_ids) - {deleted}


def test_the_history_tab_arrives_when_opened(live_server, page, session, tasks_of):
    client_id, _ = tasks_of
    client = session.get(Client, client_id)
    client.city = "Кострома"
    session.commit()
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("a[href='#Home']")
    assert page.locator("#History #history").count() == 0  # not fetched yet
    page.click("a[href='#History']")
    row = page.locator("#History #history tr", has_text="Кострома")
    row.first.wait_for(state="visible")
    assert "Город" in row.first.inner_text()
