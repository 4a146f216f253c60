"""«Колонки» on the register lists (views/list_columns.py): the chosen
columns in the list page and its CSV export, per role; unknown names
ignored; the choice of one request never reaching another's; saved views
keeping it."""
import csv
import html
import io
import re
import threading
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from app.models import Client, Deal, Employee, SavedView
from app.services import saved_views
from app.views.search import QUICK_ARG
from tests.conftest import unique

LIST, EXPORT, ARG = "/deals/list/", "/deals/export/", "_cols_DealView"
ROLES = ["admin", "head", "manager", "auditor"]


def headers(page):
    """The texts of the list table's column headers (no action columns)."""
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert head, "the list has no table"
    cells = [re.sub(r"<[^>]+>|\s+", " ", cell).strip()
             for cell in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)]
    return [html.unescape(cell) for cell in cells if cell]


def csv_rows(response):
    assert response.status_code == 200, response.status_code
    text = response.data.decode("utf-8-sig")
    response.close()
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


@pytest.fixture
def deal(session):
    """A deal of the manager's with a client whose name is seen only in the
    «Клиент» column: (title, client name, word to find it by)."""
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    word = unique("Колонки").split()[1]
    client = Client(name=f"Клиент {word}", responsible_id=manager)
    item = Deal(title=f"Сделка {word}", client=client, responsible_id=manager, amount=1234)
    session.add(item)
    session.commit()
    return item.title, client.name, word


def _find(word):
    return f"{QUICK_ARG}={word}"


@pytest.mark.parametrize("role", ROLES)
def test_chosen_columns_in_the_list_and_its_export(as_role, deal, role):
    title, client_name, word = deal
    http = as_role(role)
    full = http.get(f"{LIST}?{_find(word)}").text
    assert headers(full)[:3] == ["ID", "Название", "Клиент"]
    assert title in full and client_name in full
    assert 'id="column-chooser"' in full and f'name="{ARG}" value="client"' in full

    page = http.get(f"{LIST}?{_find(word)}&{ARG}=amount,title").text
    assert headers(page) == ["Название", "Сумма"]  # the list's own order
    assert title in page and client_name not in page
    # Ticked are the shown ones; the filter stays in the chooser's form.
    assert re.search(r'value="title"\s+class="column-choice"[^>]*\s+checked', page)
    assert not re.search(r'value="client"\s+class="column-choice"[^>]*\s+checked', page)
    assert f'name="{QUICK_ARG}" value="{word}"' in page
    assert 'id="column-chooser-reset"' in page

    rows = csv_rows(http.get(f"{EXPORT}?{_find(word)}&{ARG}=amount,title"))
    assert rows == [["Название", "Сумма"], [title, "1234,00"]]
    full_rows = csv_rows(http.get(f"{EXPORT}?{_find(word)}"))
    assert "Клиент" in full_rows[0] and client_name in full_rows[1]


@pytest.mark.parametrize("role", ["manager", "auditor"])
def test_unknown_names_are_ignored(as_role, deal, role):
    title, client_name, word = deal
    http = as_role(role)
    everything = headers(http.get(f"{LIST}?{_find(word)}").text)
    for value in ("bogus", "password,../etc", "<script>", ",,,", "client.password",
                  "responsible.password", "cf_nosuch", "x" * 3000):
        response = http.get(f"{LIST}?{_find(word)}&{ARG}={value}")
        assert response.status_code == 200, value
        assert headers(response.text) == everything, value
        rows = csv_rows(http.get(f"{EXPORT}?{_find(word)}&{ARG}={value}"))
        assert "Клиент" in rows[0] and len(rows) == 2, value
    # Known names among unknown ones are kept; another list's argument is not this one's.
    page = http.get(f"{LIST}?{_find(word)}&{ARG}=bogus,client,password").text
    assert headers(page) == ["Клиент"] and client_name in page and title not in page
    assert headers(http.get(f"{LIST}?{_find(word)}&_cols_ClientView=name").text) == everything


def test_the_forms_ticks_become_one_argument_that_paging_and_sorting_keep(as_role, deal):
    _title, _client_name, word = deal
    http = as_role("manager")
    response = http.get(f"{LIST}?{_find(word)}&{ARG}=title&{ARG}=amount&{ARG}=nosuch",
                        follow_redirects=False)
    assert response.status_code == 302
    parts = urlsplit(response.headers["Location"])
    assert parts.path == LIST
    assert dict(parse_qsl(parts.query)) == {QUICK_ARG: word, ARG: "title,amount"}
    page = http.get(response.headers["Location"]).text
    assert headers(page) == ["Название", "Сумма"]
    # The sort links carry the choice on (FAB's links keep one value per argument).
    sort_links = re.findall(r'<th><a href=([^>\s]+)', page)
    assert sort_links and all(f"{ARG}=title" in html.unescape(link).replace("%2C", ",")
                              for link in sort_links)
    # The export link too.
    link = re.search(r'id="csv-export-utf8" href="([^"]+)"|href="([^"]+)" id="csv-export-utf8"',
                     page)
    assert link and ARG in html.unescape(link.group(1) or link.group(2))


LISTS = {
    "/clients/list/": "ClientView", "/contacts/list/": "ContactPersonView",
    "/applications/list/": "ApplicationView", "/leads/list/": "LeadView",
    LIST: "DealView", "/tasks/list/": "TaskView", "/notes/list/": "NoteView",
    "/projects/list/": "ProjectView", "/counterparty-actions/list/": "CounterpartyActionView",
    "/invoices/list/": "InvoiceView", "/acts/list/": "ActView", "/upds/list/": "UpdView",
}


@pytest.mark.parametrize("url", sorted(LISTS))
def test_every_register_list_chooses_its_columns(app, as_role, url):
    http = as_role("admin")
    name = LISTS[url]
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == name)
    full = http.get(url).text
    assert 'id="column-chooser"' in full and "Колонки" in full
    for column in view.list_columns:
        assert f'name="_cols_{name}" value="{column}"' in full, column
    last = view.list_columns[-1]
    page = http.get(f"{url}?_cols_{name}={last}")
    assert page.status_code == 200
    if "<thead>" in full:  # the list has rows (an empty list draws no table)
        assert headers(page.text) == [headers(full)[-1]], url
    # Every column of the list exports, each one alone too.
    export = url.replace("/list/", "/export/")
    rows = csv_rows(http.get(f"{export}?_cols_{name}={','.join(view.list_columns)}"))
    assert len(rows[0]) == len(view.list_columns)
    for column in view.list_columns:
        assert len(csv_rows(http.get(f"{export}?_cols_{name}={column}"))[0]) == 1, column


def test_a_custom_field_column_is_chosen_like_the_others(as_role, define, deal):
    title, _client_name, word = deal
    field = define(entity="deal", in_list=True, type="text")
    http = as_role("manager")
    name = f"cf_{field.code}"
    page = http.get(f"{LIST}?{_find(word)}").text
    assert f'value="{name}"' in page and field.label_ru in headers(page)
    page = http.get(f"{LIST}?{_find(word)}&{ARG}=title").text
    assert field.label_ru not in headers(page)
    page = http.get(f"{LIST}?{_find(word)}&{ARG}=title,{name}").text
    assert headers(page) == ["Название", field.label_ru]
    rows = csv_rows(http.get(f"{EXPORT}?{_find(word)}&{ARG}=title,{name}"))
    assert rows[0] == ["Название", field.label_ru] and rows[1][0] == title


def test_requests_at_once_keep_their_own_columns(app, as_role, deal):
    title, client_name, word = deal
    users = [as_role("manager"), as_role("auditor")]
    for user in users:
        user.get(LIST)  # signed in before the race
    wanted = {0: "title", 1: "client"}
    wrong = []

    def read(n, user):
        for _ in range(15):
            page = user.get(f"{LIST}?{_find(word)}&{ARG}={wanted[n]}").text
            shown = headers(page)
            if shown != (["Название"] if n == 0 else ["Клиент"]):
                wrong.append((n, shown))
            rows = csv_rows(user.get(f"{EXPORT}?{_find(word)}&{ARG}={wanted[n]}"))
            if rows[1] != ([title] if n == 0 else [client_name]):
                wrong.append((n, rows))

    threads = [threading.Thread(target=read, args=(n, user)) for n, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    # The view itself is untouched.
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "DealView")
    assert view.list_columns[:3] == ["id", "title", "client"]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_a_saved_view_keeps_the_columns(as_role, session, deal, role):
    title, client_name, word = deal
    http = as_role(role)
    name = unique("С колонками")
    query = f"{_find(word)}&{ARG}=amount,bogus,title&{ARG}=client"
    response = http.post("/saved-views/save", {"view": "DealView", "title": name,
                                               "query": query}, follow=False)
    assert response.status_code == 302
    session.expire_all()
    saved = session.scalar(select(SavedView).where(SavedView.title == name))
    assert dict(parse_qsl(saved.query)) == {QUICK_ARG: word, ARG: "amount,title,client"}
    opened = http.get(f"/saved-views/open/{saved.id}")
    assert opened.status_code == 302
    page = http.get(opened.headers["Location"]).text
    assert headers(page) == ["Название", "Клиент", "Сумма"]
    assert title in page and client_name in page
    # The list's page hands «Сохранить вид» its columns.
    assert re.search(r'name="query" value="[^"]*_cols_DealView=amount(,|%2C)title', page)


def test_saved_views_keep_only_the_lists_columns():
    args = saved_views.ListArgs("DealView", frozenset({"title"}), frozenset(),
                                columns=frozenset({"title", "client"}))
    kept = saved_views.list_query(
        "_cols_DealView=client,secret&_cols_DealView=title,client&_cols_ClientView=name", args)
    assert parse_qsl(kept) == [("_cols_DealView", "client,title")]
    assert saved_views.list_query("_cols_DealView=secret", args) == ""
