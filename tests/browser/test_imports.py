import os
import tempfile

import pytest
from sqlalchemy import func, select

from app.models import Client
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser

ALMA = "Дата;Фамилия;Имя;Отчество;регион;город;сумма;телефон;дата рождения;статус;комментарии"


def _upload(page, live_server, rows):
    """An AlmaCRM file of ``rows`` (cp1251) uploaded from the clients' list,
    up to its mapping screen."""
    path = os.path.join(tempfile.mkdtemp(), "alma.csv")
    with open(path, "w", encoding="cp1251", newline="") as fh:
        fh.write("\r\n".join([ALMA, *rows]) + "\r\n")
    page.goto(live_server + "/clients/list/")
    page.click("#csv-import")
    page.set_input_files("input[name=file]", path)
    page.click("#import-upload button[type=submit]")
    page.wait_for_selector("#import-mapping")


def test_manager_imports_an_alma_file_in_the_background_and_exports_it(
        app, live_server, page, session):
    surname = unique("Браузеров").replace(" ", "")
    rows = [f"15.01.2026;{surname};Иван{i};;Москва;Москва;1 000;+7905{i:07d};;В обработке;"
            for i in range(300)]
    app.config.update(IMPORT_BACKGROUND_BYTES=1000)  # this file goes to the background
    try:
        sign_in(page, live_server, "manager")
        _upload(page, live_server, rows)
        assert page.locator("#map_0").input_value() == "date"
        page.click("#import-dry")
        page.wait_for_selector("#import-now")  # the page polled and reloaded
        assert page.locator("#count-created").inner_text() == "300"
        page.click("#import-now")
        page.wait_for_selector("#import-done")
    finally:
        app.config.update(IMPORT_BACKGROUND_BYTES=1024 * 1024)
    assert session.scalar(select(func.count()).select_from(Client)
                          .where(Client.last_name == surname)) == 300
    session.rollback()
    page.goto(live_server + f"/clients/list/?_flt_0_name={surname}")
    page.click("#csv-export")
    with page.expect_download() as download:
        page.click("#csv-export-cp1251")
    data = open(download.value.path(), "rb").read().decode("cp1251")
    assert len([line for line in data.splitlines() if surname in line]) == 300
    from tests.import_screens import purge

    purge(session, Client.last_name == surname)


def test_a_status_unknown_to_the_crm_is_given_its_meaning_on_the_mapping_screen(
        app, live_server, page, session):
    """«Ждёт звонка» is no status of the CRM: the check lists it, the user
    says it means «В обработке» and every row goes in with that status."""
    from app.models import Application, ProcessingStatus

    surname = unique("Звонков").replace(" ", "")
    rows = [f"15.01.2026;{surname};Иван{i};;Москва;Москва;1 000;+7906{i:07d};;Ждёт звонка;"
            for i in range(3)] + [f"16.01.2026;{surname};Пётр;;Москва;Москва;2 000;"
                                  f"+79069999999;;Отказ;"]
    sign_in(page, live_server, "admin")
    _upload(page, live_server, rows)
    page.click("#import-dry")
    page.wait_for_selector("#import-unknown")
    assert page.locator("#count-errors").inner_text() == "3"
    page.click("#import-unknown a")
    page.wait_for_selector("#import-values")
    assert page.locator("#import-values .import-value-text").all_inner_texts() == ["Ждёт звонка"]
    assert page.locator("#import-values .import-value-rows").all_inner_texts() == ["3"]
    page.select_option('#import-values select[data-text="Ждёт звонка"]', label="В обработке")
    page.click("#import-run")
    page.wait_for_selector("#import-done")
    assert page.locator("#count-created").inner_text() == "4"
    statuses = session.scalars(select(Application.status).join(
        Client, Application.client_id == Client.id).where(Client.last_name == surname)).all()
    session.rollback()
    assert sorted(statuses) == sorted([ProcessingStatus.IN_PROCESSING] * 3
                                      + [ProcessingStatus.REFUSED])
    from tests.import_screens import purge

    purge(session, Client.last_name == surname)


def test_a_manager_undoes_an_import_after_a_colleague_edited_one_of_its_clients(
        app, live_server, page, session):
    """The report offers «Отменить импорт»; the confirmation lists the client
    edited since, unticked; the undo keeps it and removes the others."""
    from app.models import Application

    surname = unique("Отменкин").replace(" ", "")
    rows = [f"15.01.2026;{surname};Иван{i};;Москва;Москва;1 000;+7907{i:07d};;В обработке;"
            for i in range(3)]
    sign_in(page, live_server, "manager")
    _upload(page, live_server, rows)
    page.click("#import-run")
    page.wait_for_selector("#import-done")
    ids = session.scalars(select(Client.id).where(Client.last_name == surname)
                          .order_by(Client.id)).all()
    session.get(Client, ids[0]).city = "Тверь"  # a colleague's edit since
    session.commit()
    page.click("#import-undo-link")
    page.wait_for_selector("#undo-conflicts")
    assert "Клиенты — 3" in page.locator("#undo-counts").inner_text()
    listed = page.locator("#undo-conflicts").inner_text()
    assert "изменена после импорта" in listed and f"{surname} Иван0" in listed
    assert not page.locator('#undo-conflicts input[name="confirm"]').is_checked()
    page.click("#undo-submit")
    page.wait_for_selector("#import-undone")
    assert "удалено записей: 4" in page.locator("#import-undone").inner_text()
    assert "Отменён" in page.locator("#import-status").inner_text()
    left = session.scalars(select(Client.id).where(Client.last_name == surname)).all()
    assert left == [ids[0]]
    assert session.scalar(select(func.count()).select_from(Application).where(
        Application.client_id == ids[0])) == 1
    session.rollback()
    from tests.import_screens import purge

    purge(session, Client.last_name == surname)
