"""Bulk «Создать задачу» in Chromium: a manager ticks two rows of the client
list, picks the action from «Действия», fills the form (the calendar's
date input, a quick deadline) and gets «Создано задач: 2»."""
import pytest
from sqlalchemy import select

from app.models import Client, Task
from tests.browser.conftest import sign_in
from tests.conftest import employee_id, unique

pytestmark = pytest.mark.browser


def test_manager_creates_tasks_for_two_selected_clients(live_server, page, session):
    manager = employee_id(session, "manager")
    tag = unique("Обзвон")
    clients = [Client(name=f"{tag} {i}", responsible_id=manager) for i in range(3)]
    session.add_all(clients)
    session.commit()
    chosen = clients[:2]

    sign_in(page, live_server, "manager")
    page.goto(live_server + "/clients/list/?_flt_0_name=" + tag.replace(" ", "+"))
    actions = page.locator("ul:has(a.bulk_task_menu_item)").locator("xpath=..")
    # Nothing ticked: FAB's alert, in Russian.
    actions.locator("button.dropdown-toggle").click()
    page.click("a.bulk_task_menu_item")
    page.wait_for_selector("#modal-alert .modal-text:has-text('Не выбрано ни одной строки')")
    page.click("#modal-alert [data-dismiss='modal']")
    page.wait_for_selector("#modal-alert", state="hidden")
    for client in chosen:
        page.check(f"input.action_check[value='{client.id}']")
    actions.locator("button.dropdown-toggle").click()
    page.click("a.bulk_task_menu_item")

    page.wait_for_selector("#bulk-change")
    # The quick deadlines answer once the page's scripts ran (a busy machine
    # showed the form before them).
    page.wait_for_load_state("load")
    assert "Выбрано записей, которые вы можете изменить: 2" in page.inner_text("#bulk-count")
    page.select_option("#type", label="Звонок")
    page.fill("#description", "Пригласить на выставку")
    assert page.input_value("#planned_at")  # now, in the office's time
    page.click(".sdelka-quick-deadlines[data-for='deadline'] button[data-days='7']")
    assert page.input_value("#deadline")
    page.click("#bulk-apply")

    page.wait_for_selector(".alert-success:has-text('Создано задач: 2')")
    made = session.scalars(select(Task).where(
        Task.client_id.in_([c.id for c in clients]))).all()
    assert sorted(t.client_id for t in made) == sorted(c.id for c in chosen)
    assert all(t.assignee_id == manager and t.description == "Пригласить на выставку"
               and t.deadline is not None for t in made)
