"""Link fields in Chromium: a task's deal is picked among the chosen
client's deals, and forgotten when another client is chosen."""
import pytest
from sqlalchemy import select

from app.models import Client, Deal, Employee, Task
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser


def _pick(page, field, typed, option):
    page.click(f"#{field} + .select2 .select2-selection")
    if typed:
        page.fill(".select2-search__field", typed)
    page.wait_for_selector(f".select2-results__option:has-text('{option}')")
    page.click(f".select2-results__option:has-text('{option}')")


def test_a_task_is_linked_to_a_deal_of_its_client(live_server, page, session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    tag = unique("Связь")
    ours, theirs = (Client(name=f"{tag} {who}", phone="+79161234567", responsible_id=manager)
                    for who in ("первый", "второй"))
    session.add_all([ours, theirs])
    session.flush()
    session.add_all([Deal(client=ours, title=f"{tag} поставка", responsible_id=manager),
                     Deal(client=ours, title=f"{tag} сервис", responsible_id=manager),
                     Deal(client=theirs, title=f"{tag} чужая", responsible_id=manager)])
    session.commit()
    sign_in(page, live_server, "manager")

    page.goto(live_server + "/tasks/add")
    _pick(page, "client", tag + " первый", f"{tag} первый")
    page.click("#deal + .select2 .select2-selection")
    page.wait_for_selector(f".select2-results__option:has-text('{tag} сервис')")
    offered = page.locator(".select2-results__option").all_inner_texts()
    assert sorted(t.split(" ", 2)[2] for t in offered) == [f"{tag} поставка", f"{tag} сервис"]
    page.click(f".select2-results__option:has-text('{tag} поставка')")
    # Another client: the deal of the first one is forgotten.
    _pick(page, "client", tag + " второй", f"{tag} второй")
    assert page.input_value("#deal") == ""
    _pick(page, "client", tag + " первый", f"{tag} первый")
    _pick(page, "deal", "", f"{tag} сервис")
    description = unique("Обсудить сервис")
    page.fill("form [name=description]", description)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.expire_all()
    task = session.scalar(select(Task).where(Task.description == description))
    assert task.client.name == f"{tag} первый" and task.deal.title == f"{tag} сервис"
