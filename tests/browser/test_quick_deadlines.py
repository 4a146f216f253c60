"""Quick deadlines in Chromium: a manager adds a task, clicks «Завтра» and
«Срок» reads tomorrow's office date at the end of the working day; saved,
the deadline is that moment in UTC. The buttons work from the keyboard, keep
what else is typed, never submit the form, and move the Russian calendar
to the chosen day."""
import datetime

import pytest
from sqlalchemy import select

from app.models import Client, Task
from app.services import localtime
from tests.browser.conftest import choose_client, sign_in
from tests.conftest import employee_id, unique

pytestmark = pytest.mark.browser


def _office_day(app, days):
    return localtime.today(app.config["APP_TIMEZONE"]) + datetime.timedelta(days=days)


def test_tomorrow_fills_the_deadline_and_is_saved_in_utc(app, live_server, page, session,
                                                         own_client):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/add")
    description = unique("Перезвонить завтра")
    page.fill("textarea[name=description], input[name=description]", description)
    choose_client(page, own_client)
    planned = page.input_value("#planned_at")
    page.click("button.sdelka-quick-deadline:has-text('Завтра')")
    day = _office_day(app, 1)
    assert page.input_value("#deadline") == f"{day:%d.%m.%Y} 18:00"
    # Nothing was submitted, nothing else changed.
    assert "/tasks/add" in page.url
    assert page.input_value("textarea[name=description], input[name=description]") \
        == description
    assert page.input_value("#planned_at") == planned
    # The picker follows: opened, it shows the chosen day.
    assert page.evaluate("document.querySelector('#deadline')._flatpickr.selectedDates"
                         ".map(d => [d.getFullYear(), d.getMonth() + 1, d.getDate(),"
                         " d.getHours(), d.getMinutes()])") \
        == [[day.year, day.month, day.day, 18, 0]]
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.rollback()
    task = session.scalar(select(Task).where(Task.description == description))
    assert task is not None and task.client.name == own_client
    local = datetime.datetime.combine(day, datetime.time(18))
    assert task.deadline == localtime.to_utc(local, app.config["APP_TIMEZONE"])


def test_the_buttons_work_from_the_keyboard(app, live_server, page):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/add")
    page.fill("#deadline", "01.01.2027 10:00")
    # Tab from «Срок» passes the calendar button (not in the tab order) to «Сегодня».
    page.focus("#deadline")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Сегодня"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "3 дня"
    page.keyboard.press("Enter")
    assert page.input_value("#deadline") == f"{_office_day(app, 3):%d.%m.%Y} 18:00"
    page.focus("button.sdelka-quick-deadline:has-text('Неделя')")
    page.keyboard.press("Space")
    assert page.input_value("#deadline") == f"{_office_day(app, 7):%d.%m.%Y} 18:00"
    assert "/tasks/add" in page.url and not page.locator(".alert").count()


def test_the_edit_form_has_them_too(app, live_server, page, session, own_client):
    manager = employee_id(session, "manager")
    client = session.scalar(select(Client).where(Client.name == own_client))
    task = Task(client_id=client.id, assignee_id=manager, author_id=manager,
                description=unique("Сдвинуть срок"))
    session.add(task)
    session.commit()
    sign_in(page, live_server, "manager")
    page.goto(live_server + f"/tasks/edit/{task.id}")
    page.click("button.sdelka-quick-deadline:has-text('Сегодня')")
    day = _office_day(app, 0)
    assert page.input_value("#deadline") == f"{day:%d.%m.%Y} 18:00"
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.expire_all()
    task = session.get(Task, task.id)
    local = datetime.datetime.combine(day, datetime.time(18))
    assert task.deadline == localtime.to_utc(local, app.config["APP_TIMEZONE"])
