import os

import pytest
from sqlalchemy import select

from app.models import Application, Client, Employee
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser


def test_manager_finds_a_client_by_typing_and_saves_an_application(live_server, page,
                                                                     session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    name = unique("Браузеров")
    session.add(Client(name=name, phone="+79161234567", responsible_id=manager))
    session.commit()

    sign_in(page, live_server, "manager")

    page.goto(live_server + "/applications/add")
    page.click("#client + .select2 .select2-selection")
    page.fill(".select2-search__field", name[:12])
    page.wait_for_selector(f".select2-results__option:has-text('{name}')")
    page.click(f".select2-results__option:has-text('{name}')")
    offer = unique("Оффер из браузера")
    page.fill("input[name=offer]", offer)
    page.fill("input[name=amount]", "300000")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "application.png"),
                        full_page=True)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    application = session.scalar(select(Application).where(Application.offer == offer))
    assert application is not None and application.client.name == name


def test_manager_deletes_an_application_from_the_list_after_confirming(live_server, page,
                                                                        session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    client = Client(name=unique("Удаляев"), phone="+79161234568", responsible_id=manager)
    application = Application(client=client, offer=unique("Удаляемый оффер"),
                              responsible_id=manager)
    session.add(application)
    session.commit()
    application_id, offer = application.id, application.offer

    sign_in(page, live_server, "manager")

    page.goto(live_server + f"/applications/list/?_flt_0_offer={offer}")
    page.click(f"[data-delete-url$='/delete/{application_id}']")
    page.click("#modal-confirm-ok")
    page.wait_for_selector(".alert-success")
    session.expire_all()
    assert session.get(Application, application_id) is None
