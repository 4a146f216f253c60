"""The managers' calendar in Chromium: open it, click a
cell, create a task for that manager and day, see it counted."""
import datetime

import pytest
from sqlalchemy import select

from app.models import Employee, Task
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser

DAY = datetime.date(2036, 4, 15)


def test_head_creates_a_task_from_a_calendar_cell(live_server, page, session):
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    sign_in(page, live_server, "head")
    calendar_url = f"{live_server}/calendar/?start={DAY.isoformat()}&days=3"
    page.goto(calendar_url)
    row = page.locator("#calendar tbody tr", has=page.locator(f"th:text-is('{manager.full_name}')"))
    cell = row.locator("td.cell").nth(1)  # the day after DAY
    before = int(cell.get_attribute("data-count"))
    cell.locator("a").click()

    page.click("#new-task-for-day")
    page.wait_for_selector("form#model_form, form")
    assert page.locator("select[name=assignee], input[name=assignee]").count() == 0
    planned = page.input_value("input[name=planned_at]")
    assert planned.startswith((DAY + datetime.timedelta(days=1)).strftime("%d.%m.%Y"))
    description = unique("Задача из календаря")
    page.fill("textarea[name=description], input[name=description]", description)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")

    task = session.scalar(select(Task).where(Task.description == description))
    assert task is not None and task.assignee_id == manager.id
    page.goto(calendar_url)
    row = page.locator("#calendar tbody tr", has=page.locator(f"th:text-is('{manager.full_name}')"))
    assert int(row.locator("td.cell").nth(1).get_attribute("data-count")) == before + 1
