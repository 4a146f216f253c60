"""The admin's console in Chromium: a task status's colour edited in its
list cell (Flask-Admin's x-editable, the CSRF token sent by its script)
colours the status's rows in the task list; a refused value is answered
in the cell."""
import pytest
from sqlalchemy import select

from app.models import Task, TaskStatus
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser


def _cell(page, status, field):
    return page.locator(f"a[name='{field}'][data-pk='{status.id}']")


def _edit(page, status, field, value):
    _cell(page, status, field).click()
    box = page.locator(".editable-popup input, .editable-container input").first
    box.fill(value)
    with page.expect_response(lambda r: "/ajax/update/" in r.url) as answer:
        box.press("Enter")
    return answer.value


def test_colour_edited_in_place_colours_the_task_rows(page, live_server, session):
    status = TaskStatus(name=unique("Пауза"), color="#eeeeee")
    session.add(status)
    session.commit()
    session.add(Task(status=status, description=unique("Перезвонить")))
    session.commit()
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/console/dictionaries/task_status/?search={status.name}")
    assert _edit(page, status, "color", "#123456").status == 200
    page.wait_for_selector(".editable-popup, .editable-container", state="detached")
    assert _cell(page, status, "color").inner_text() == "#123456"
    session.expire_all()
    assert session.scalar(select(TaskStatus.color).where(TaskStatus.id == status.id)) == "#123456"

    answer = _edit(page, status, "color", "синий")
    assert answer.status == 500
    page.wait_for_selector(".editable-error-block:has-text('Цвет записывается как #RRGGBB')")
    session.expire_all()
    assert session.scalar(select(TaskStatus.color).where(TaskStatus.id == status.id)) == "#123456"

    page.goto(f"{live_server}/tasks/list/?_flt_0_status={status.id}")
    row = page.locator("tr[style*='#123456']").first
    assert row.evaluate("tr => getComputedStyle(tr).backgroundColor") == "rgb(18, 52, 86)"
