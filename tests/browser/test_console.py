"""The admin's console in Chromium: a task status's colour edited in its
list cell (Flask-Admin's x-editable, the CSRF token sent by its script)
colours the status's rows in the task list; a refused value is answered
in the cell. The console looks like the CRM: FAB's navbar colours, brand,
fonts and link colour, and its brand leads back to the CRM."""
import os

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


# What the console's page shares with FAB's (static/css/console.css).
LOOK = """() => {
  const style = element => getComputedStyle(element);
  const navbar = document.querySelector('.navbar');
  const brand = navbar.querySelector('.navbar-brand');
  const brandLink = brand.querySelector('a') || brand;
  return {navbar: style(navbar).backgroundColor, border: style(navbar).borderBottomColor,
          brand: brand.innerText.trim(), brandColour: style(brandLink).color,
          brandSize: style(brand).fontSize, font: style(document.body).fontFamily,
          size: style(document.body).fontSize, text: style(document.body).color,
          brandHref: new URL(brandLink.href).pathname};
}"""


def test_console_looks_like_the_crm(page, live_server, tmp_path):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/task-statuses/list/")
    crm = page.evaluate(LOOK)
    page.goto(f"{live_server}/console/dictionaries/task_status/")
    console = page.evaluate(LOOK)
    shot = os.environ.get("CONSOLE_SCREENSHOT") or str(tmp_path / "console.png")
    page.screenshot(path=shot)
    assert console == crm
    assert console["brand"] == "Сделка CRM" and console["navbar"] == "rgb(34, 34, 34)"
    page.click(".navbar-brand a")
    page.wait_for_url(lambda url: "/console/" not in url)
    assert page.locator(".navbar-inverse").count() == 1
