"""The client's timeline in Chromium: a manager adds a quick note and a quick
task from the client's page and sees both on the timeline; the funnel stage
is changed from the same page."""
import datetime

import pytest
from sqlalchemy import select

from app.models import Client, Note, Task
from tests.browser.conftest import sign_in
from tests.conftest import employee_id

pytestmark = pytest.mark.browser


def test_manager_adds_a_quick_note_and_task(live_server, page, session, own_client):
    client_id = session.scalar(select(Client.id).where(Client.name == own_client))
    manager_id = employee_id(session, "manager")
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("#timeline-tab")
    page.wait_for_selector("#quick-note-text", state="visible")

    page.fill("#quick-note-text", "Обещал прислать реквизиты")
    page.click("#quick-note button[type=submit]")
    page.wait_for_selector(".alert-success:has-text('Запись добавлена')")
    entry = page.locator("#timeline-entries .timeline-note").first
    entry.wait_for(state="visible")  # the timeline tab is open again
    assert "Обещал прислать реквизиты" in entry.inner_text()

    page.fill("#quick-task-description", "Проверить реквизиты")
    page.fill("#quick-task-planned_at", "10.03.2026 12:00")
    page.keyboard.press("Escape")  # the date picker
    page.click("#quick-task button[type=submit]")
    page.wait_for_selector(".alert-success:has-text('Запись добавлена')")
    task_entry = page.locator("#timeline-entries .timeline-task:has-text('Проверить реквизиты')")
    task_entry.wait_for(state="visible")
    assert "10.03.2026 12:00" in task_entry.inner_text()

    session.expire_all()
    note = session.scalar(select(Note).where(Note.client_id == client_id))
    task = session.scalar(select(Task).where(Task.client_id == client_id))
    assert note.text == "Обещал прислать реквизиты" and note.author_id == manager_id
    assert task.assignee_id == manager_id  # oneself by default
    assert task.planned_at == datetime.datetime(2026, 3, 10, 9, 0)  # UTC


def test_refused_quick_note_keeps_the_page_and_says_why(live_server, page, session,
                                                        own_client):
    client_id = session.scalar(select(Client.id).where(Client.name == own_client))
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("#timeline-tab")
    page.fill("#quick-task-description", "Без даты")
    page.fill("#quick-task-planned_at", "")
    page.keyboard.press("Escape")
    page.click("#quick-task button[type=submit]")
    page.wait_for_selector(".alert-danger:has-text('Не сохранено')")
    page.click("#timeline-tab")
    assert page.input_value("#quick-task-description") == "Без даты"


def test_manager_changes_the_funnel_stage_on_the_client_page(live_server, page, session,
                                                              own_client):
    client_id = session.scalar(select(Client.id).where(Client.name == own_client))
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/clients/show/{client_id}")
    page.click("a[href='#Home']")
    page.select_option("#client-stage-select", label="Встреча")
    page.click("#client-stage button[type=submit]")
    page.wait_for_selector(".alert-success:has-text('Стадия воронки изменена: Встреча')")
    assert page.locator("#client-stage-select option:checked").inner_text() == "Встреча"
