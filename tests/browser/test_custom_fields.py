"""Custom fields in Chromium: the admin adds a money field to
clients in Настройки; a manager fills it on a client, sees it on the record
page and finds the client with the list's filter on it."""
import os

import pytest
from sqlalchemy import delete, select

from app.models import Client, CustomField, CustomValue, Employee
from tests.browser.conftest import sign_in
from tests.conftest import unique
from tests.import_screens import purge

pytestmark = pytest.mark.browser

LABEL = "Ежемесячный доход"


def _shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)


def _choose(page, select_id, text):
    """Picks an option of a Select2 drop-down as a user does."""
    page.click(f"#{select_id} + .select2 .select2-selection")
    page.click(f".select2-results__option:text-is('{text}')")


@pytest.fixture
def clients(session):
    """Three of the manager's clients; they, the field and its values are
    removed afterwards (the database is shared by the whole run)."""
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    tag = unique("Доходов")
    rows = {key: Client(name=f"{tag} {first}", last_name=f"{tag}", first_name=first,
                        responsible_id=manager)
            for key, first in (("rich", "Богатый"), ("modest", "Скромный"),
                               ("empty", "Неизвестный"))}
    session.add_all(rows.values())
    session.commit()
    yield {key: (row.id, row.name) for key, row in rows.items()}
    session.rollback()
    fields = select(CustomField.id).where(CustomField.label_ru == LABEL)
    session.execute(delete(CustomValue).where(CustomValue.field_id.in_(fields)))
    session.execute(delete(CustomField).where(CustomField.label_ru == LABEL))
    session.commit()
    purge(session, Client.last_name == tag)


def _fill_income(page, live_server, client, amount):
    """Opens the client from the list (searched by name) with its pencil."""
    client_id, name = client
    page.goto(f"{live_server}/clients/list/?_flt_2_name={name}")
    page.click(f"a[href$='/clients/edit/{client_id}']")
    page.get_by_label(LABEL).fill(amount)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")


def test_admin_adds_an_income_field_and_a_manager_fills_and_filters_by_it(
        live_server, page, session, clients):
    sign_in(page, live_server, "admin")
    page.click("a.dropdown-toggle:has-text('Настройки')")
    page.click("a:has-text('Пользовательские поля')")
    page.click("a[href*='/custom-fields/add']")
    _choose(page, "entity", "Клиенты")
    page.fill("input[name=label_ru]", LABEL)
    _choose(page, "type", "Деньги")
    page.check("input[name=in_list]")
    page.check("input[name=in_filters]")
    _shot(page, "custom-field-add.png")
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.locator(f"td:text-is('{LABEL}')").count() == 1
    page.goto(live_server + "/logout/")

    sign_in(page, live_server, "manager")
    rich_id, rich = clients["rich"]
    _fill_income(page, live_server, clients["rich"], "150 000")
    _fill_income(page, live_server, clients["modest"], "90 000")
    page.goto(f"{live_server}/clients/show/{rich_id}")
    additional = page.locator("#custom-fields + .table-responsive")
    assert "Дополнительно" in page.locator("#custom-fields").inner_text()
    assert additional.locator(f"th:text-is('{LABEL}') + td").inner_text() == "150\u00a0000,00"
    _shot(page, "custom-field-show.png")

    page.goto(live_server + "/clients/list/")
    page.click("#accordion1 .accordion-toggle")
    # Bootstrap marks the panel "in" once it has slid open; a click on the
    # filter menu while it still moves could be lost.
    page.wait_for_selector("#accordion1_href.collapse.in")
    page.click("#filter_form .dropdown-toggle")
    page.click(f"#filter_form a.filter:has-text('{LABEL}')")
    page.wait_for_selector("#filter_form table.filters tr select.filter-op", state="attached")
    row = page.locator("#filter_form table.filters tr").last
    greater = row.locator("select.filter-op option").nth(1).inner_text()
    row.locator(".select2-selection").first.click()
    page.click(f".select2-results__option:text-is('{greater}')")
    row.locator("input.filter_val").fill("100 000")
    _shot(page, "custom-field-filter.png")
    page.click("#filter_form button[type=submit]")
    page.wait_for_load_state()
    listed = page.locator("table").last.inner_text()
    _shot(page, "custom-field-filtered.png")
    assert rich in listed and "150\u00a0000,00" in listed
    assert clients["modest"][1] not in listed and clients["empty"][1] not in listed
