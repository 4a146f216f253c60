"""The administrator's console (/console/, Flask-Admin): only the Admin role
of FAB's session enters; dictionaries edited in their cells pass the FAB
screens' rules and land in the history; every POST carries the CSRF token;
the uploads folder is browsed without a way out of it."""
import os
import re

import pytest
from sqlalchemy import select

from app.models import Client, ClientStatus, HistoryEntry, TaskStatus, TaskType
from tests.conftest import unique

DICTIONARY = "/console/dictionaries/task_status/"
JOURNALS = ["/console/journals/history/", "/console/journals/imports/",
            "/console/journals/jobs/", "/console/journals/notifications/",
            "/console/journals/sign-in/", "/console/journals/sign-in-failures/"]
URLS = ["/console/", DICTIONARY, "/console/dictionaries/funnel_stage/", "/console/files/",
        *JOURNALS]
ENGLISH = re.compile(r"\b(List|Create|Delete|Home|Edit|Search|Filter|Add|Save|Cancel|Actions|"
                     r"With selected|Size|Name|Download|Refresh|Console|Record|Yes|No|Back|"
                     r"Files)\b")


def _add(session, obj):
    session.add(obj)
    session.commit()
    return obj


def _update(client, pk, csrf=True, **cells):
    return client.post(f"{DICTIONARY}ajax/update/", {"list_form_pk": str(pk), **cells},
                       follow=False, csrf=csrf)


def _fresh(session, obj):
    session.expire_all()
    return session.get(type(obj), obj.id)


# --- who enters ----------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
def test_admin_enters(as_role, url):
    assert as_role("admin").get(url).status_code == 200


@pytest.mark.parametrize("username", ["head", "manager", "auditor"])
def test_other_roles_are_refused_everywhere(as_role, session, app, username):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    with open(os.path.join(app.config["UPLOAD_FOLDER"], "refused.txt"), "w") as f:
        f.write("x")
    c = as_role(username)
    for url in [*URLS, "/console/files/download/refused.txt"]:
        assert c.get(url).status_code == 403, url
    assert _update(c, status.id, color="#000000").status_code == 403
    assert c.post(f"{DICTIONARY}delete/", {"id": str(status.id)}, follow=False).status_code == 403
    assert c.post("/console/files/delete/", {"path": "refused.txt"},
                  follow=False).status_code == 403
    assert _fresh(session, status).color == "#eeeeee"
    assert os.path.exists(os.path.join(app.config["UPLOAD_FOLDER"], "refused.txt"))


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


def test_menu_item_for_the_admin_only(as_role):
    page = as_role("admin").get("/", follow_redirects=True).text
    assert "Консоль администратора" in page and 'href="/console/"' in page
    for username in ("head", "manager", "auditor"):
        assert "/console/" not in as_role(username).get("/", follow_redirects=True).text


def test_console_speaks_russian(as_role):
    c = as_role("admin")
    for url in URLS:
        page = c.get(url).text
        body = page[page.find("<body"):]
        text = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
        assert not ENGLISH.findall(text), (url, ENGLISH.findall(text))
    page = c.get(DICTIONARY).text
    assert "Статусы задач" in page and "Вернуться в CRM" in page and "Сделка CRM" in page


# --- cells edited in place -----------------------------------------------------------


def test_cell_edit_saves_and_lands_in_history(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    response = _update(as_role("admin"), status.id, color="#123456")
    assert response.status_code == 200, response.text
    assert _fresh(session, status).color == "#123456"
    entry = session.scalar(select(HistoryEntry).where(
        HistoryEntry.entity == "task_status", HistoryEntry.entity_id == status.id,
        HistoryEntry.action == "update"))
    assert (entry.field, entry.old_value, entry.new_value) == ("color", "#eeeeee", "#123456")
    assert entry.user.username == "admin"


def test_sort_order_and_active_flag_in_place(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee", sort_order=5))
    c = as_role("admin")
    assert _update(c, status.id, sort_order="2").status_code == 200
    assert _update(c, status.id, is_active="").status_code == 200
    status = _fresh(session, status)
    assert (status.sort_order, status.is_active) == (2, False)


def test_bad_colour_is_refused_in_the_cell(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    response = _update(as_role("admin"), status.id, color="red")
    assert response.status_code == 500
    assert "Цвет записывается как #RRGGBB" in response.text
    assert _fresh(session, status).color == "#eeeeee"


def test_fourth_level_is_refused_in_the_cell(as_role, session):
    top = _add(session, TaskType(name=unique("Уровень 1")))
    second = _add(session, TaskType(name=unique("Уровень 2"), parent=top))
    third = _add(session, TaskType(name=unique("Уровень 3"), parent=second))
    lone = _add(session, TaskType(name=unique("Отдельный")))
    response = as_role("admin").post("/console/dictionaries/task_type/ajax/update/",
                                     {"list_form_pk": str(lone.id), "parent": str(third.id)},
                                     follow=False)
    assert response.status_code == 500
    assert "Вложенность — не больше 3 уровней" in response.text
    assert _fresh(session, lone).parent_id is None


def test_update_without_csrf_token_is_refused(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    c = as_role("admin")
    response = _update(c, status.id, csrf=False, color="#654321")
    assert response.status_code == 400
    response = _update(c, status.id, csrf_token="forged", color="#654321")
    assert response.status_code == 400
    assert _fresh(session, status).color == "#eeeeee"


def test_value_in_use_is_not_deleted(as_role, session):
    status = _add(session, ClientStatus(name=unique("Ключевой")))
    _add(session, Client(name=unique("ООО Ромашка"), status=status))
    c = as_role("admin")
    page = c.post("/console/dictionaries/client_status/delete/", {"id": str(status.id)}).text
    assert "Запись используется: Клиенты: 1" in page
    assert session.get(ClientStatus, status.id) is not None
    unused = _add(session, ClientStatus(name=unique("Разовый")))
    c.post("/console/dictionaries/client_status/delete/", {"id": str(unused.id)})
    assert session.scalar(select(ClientStatus.id).where(ClientStatus.id == unused.id)) is None


def test_delete_without_csrf_token_is_refused(as_role, session):
    unused = _add(session, ClientStatus(name=unique("Разовый")))
    response = as_role("admin").post("/console/dictionaries/client_status/delete/",
                                     {"id": str(unused.id)}, follow=False, csrf=False)
    assert response.status_code == 400
    assert session.get(ClientStatus, unused.id) is not None


def test_no_second_rule_path_for_new_values(as_role):
    c = as_role("admin")
    assert c.get(f"{DICTIONARY}new/").status_code in (302, 403, 404)
    assert "/new/" not in c.get(DICTIONARY).text


# --- files ---------------------------------------------------------------------------


def test_files_listed_downloaded_deleted(as_role, app):
    folder = app.config["UPLOAD_FOLDER"]
    name = unique("note").replace(" ", "-") + ".txt"
    with open(os.path.join(folder, name), "w") as f:
        f.write("заметка")
    c = as_role("admin")
    assert name in c.get("/console/files/").text
    response = c.get(f"/console/files/download/{name}")
    assert response.status_code == 200 and response.data == "заметка".encode()
    assert c.post("/console/files/delete/", {"path": name}, csrf=False,
                  follow=False).status_code == 400
    assert os.path.exists(os.path.join(folder, name))
    c.post("/console/files/delete/", {"path": name})
    assert not os.path.exists(os.path.join(folder, name))


def test_no_way_out_of_the_uploads_folder(as_role, app, tmp_path):
    outside = os.path.join(os.path.dirname(os.path.normpath(app.config["UPLOAD_FOLDER"])),
                           unique("secret").replace(" ", "-"))
    with open(outside, "w") as f:
        f.write("секрет")
    try:
        c = as_role("admin")
        base = os.path.basename(outside)
        for url in (f"/console/files/download/../{base}", f"/console/files/download/..%2F{base}",
                    "/console/files/b/..", f"/console/files/download/{outside}"):
            response = c.get(url, follow_redirects=True)
            assert response.status_code == 404, url
            assert "секрет".encode() not in response.data
        c.post("/console/files/delete/", {"path": f"../{base}"})
        assert os.path.exists(outside)
    finally:
        os.remove(outside)


def test_no_uploads_renames_or_folders(as_role):
    c = as_role("admin")
    page = c.get("/console/files/").text
    assert "/upload/" not in page and "/mkdir/" not in page and "/rename/" not in page
    for url in ("/console/files/upload/", "/console/files/mkdir/", "/console/files/rename/"):
        assert c.get(url).status_code in (302, 404), url


def test_rate_typed_with_a_decimal_comma(as_role, session):
    from app.models import Tax

    tax = _add(session, Tax(name=unique("НДС"), rate=5))
    c = as_role("admin")
    response = c.post("/console/dictionaries/tax/ajax/update/",
                      {"list_form_pk": str(tax.id), "rate": "7,5"}, follow=False)
    assert response.status_code == 200, response.text
    assert str(_fresh(session, tax).rate) == "7.50"
    response = c.post("/console/dictionaries/tax/ajax/update/",
                      {"list_form_pk": str(tax.id), "rate": "120"}, follow=False)
    assert response.status_code == 500
    assert "Ставка налога — от 0 до 100 процентов" in response.text
    assert str(_fresh(session, tax).rate) == "7.50"


def test_a_records_file_is_not_deleted_here(as_role, app, session):
    import uuid

    from app.models import Note

    folder = app.config["UPLOAD_FOLDER"]
    hex_name = uuid.uuid4().hex
    with open(os.path.join(folder, hex_name), "w") as f:
        f.write("договор")
    client = _add(session, Client(name=unique("ООО Файл")))
    note = _add(session, Note(client=client, text="Договор", file=f"{hex_name}_sep_Договор.txt"))
    c = as_role("admin")
    page = c.get("/console/files/").text
    row = page[page.find(hex_name):][:600]
    assert f"Заметки, № {note.id}" in row
    page = c.post("/console/files/delete/", {"path": hex_name}).text
    assert f"Файл принадлежит записи «Заметки, № {note.id}»" in page
    assert os.path.exists(os.path.join(folder, hex_name))
    # Nor through the list's bulk action.
    c.post("/console/files/action/", {"action": "delete", "rowid": hex_name})
    assert os.path.exists(os.path.join(folder, hex_name))


def test_download_is_always_an_attachment(as_role, app):
    name = unique("page").replace(" ", "-") + ".html"
    with open(os.path.join(app.config["UPLOAD_FOLDER"], name), "w") as f:
        f.write("<script>alert(1)</script>")
    response = as_role("admin").get(f"/console/files/download/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- journals ------------------------------------------------------------------------


def test_history_journal_shows_a_cell_change_in_russian(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    c = as_role("admin")
    _update(c, status.id, color="#abcdef")
    page = c.get("/console/journals/history/").text
    assert "Статусы задач" in page and "#abcdef" in page and "изменён" in page and "Цвет" in page
    assert c.post("/console/journals/history/delete/", {"id": "1"},
                  follow=False).status_code in (302, 404)
    assert "/edit/" not in page and "/new/" not in page


def test_unlock_an_employee(as_role, session):
    import datetime

    from tests.conftest import employee

    locked = employee(session, "auditor")
    locked.locked_until = datetime.datetime(2100, 1, 1)
    locked.fail_login_count = 3
    session.commit()
    c = as_role("admin")
    page = c.get("/console/journals/sign-in/").text
    assert "Разблокировать" in page and "01.01.2100" in page
    page = c.post("/console/journals/sign-in/action/",
                  {"action": "unlock", "rowid": str(locked.id)}).text
    assert "Разблокирован 1 сотрудник" in page
    session.expire_all()
    locked = employee(session, "auditor")
    assert (locked.locked_until, locked.fail_login_count) == (None, 0)


def test_base_currency_keeps_rate_one(as_role, session):
    from app.models import Currency

    base = session.scalar(select(Currency).where(Currency.is_base.is_(True)))
    response = as_role("admin").post("/console/dictionaries/currency/ajax/update/",
                                     {"list_form_pk": str(base.id), "rate": "2"}, follow=False)
    assert response.status_code == 500
    assert "Курс базовой валюты равен 1" in response.text
    session.expire_all()
    assert session.get(Currency, base.id).rate == 1


def test_flags_read_yes_or_no(as_role):
    page = as_role("admin").get(DICTIONARY).text
    assert "is_active: true" not in page and ">Да</a>" in page
