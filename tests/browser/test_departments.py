import os

import pytest
from sqlalchemy import select

from app.models import Department
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_adds_a_department(live_server, page, session):
    sign_in(page, live_server, "admin")

    page.click("text=Компания")
    page.click("text=Отделы")
    page.wait_for_url("**/departments/list/**")
    page.click("a[href*='/departments/add']")
    name = unique("Отдел из браузера")
    page.fill("input[name=name]", name)
    page.click("button[type=submit]")
    page.wait_for_selector(f"text={name}")
    assert "Добавлена запись" in page.content() or name in page.content()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "departments.png"))
    assert session.scalar(select(Department).where(Department.name == name)) is not None
