"""Register screens: CRUD per role and row-level access for managers."""
import datetime
import gc
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import (
    Application,
    Client,
    Deal,
    Employee,
    Note,
    ProcessingStatus,
    PublicAccess,
    Task,
)
from tests.conftest import employee, employee_id, statements_sent, unique

REGISTER_LISTS = ["/clients/list/", "/contacts/list/", "/applications/list/", "/leads/list/",
                  "/deals/list/", "/tasks/list/", "/notes/list/", "/projects/list/",
                  "/counterparty-actions/list/", "/invoices/list/"]


@pytest.fixture
def world(session):
    """Clients of the manager and of the head of sales, with every kind of
    sharing, each with an application, a deal, a task and a note."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("мир")
    specs = {
        "own": dict(responsible_id=manager),
        "other": dict(responsible_id=head),
        "participant": dict(responsible_id=head),
        "public_read": dict(responsible_id=head, public_access=PublicAccess.READ),
        "public_write": dict(responsible_id=head, public_access=PublicAccess.WRITE),
    }
    clients = {}
    for key, fields in specs.items():
        client = Client(name=f"{tag} {key}", phone="+79160000000", **fields)
        if key == "participant":
            client.participants.append(session.get(Employee, manager))
        session.add(client)
        session.flush()
        session.add_all([
            Application(client=client, amount=Decimal("1000"), offer=f"{tag} {key}",
                        responsible_id=fields["responsible_id"]),
            Deal(client=client, title=f"{tag} {key}", responsible_id=fields["responsible_id"]),
            Task(client=client, description=f"{tag} {key}", assignee_id=head, author_id=head),
            Note(client=client, text=f"{tag} {key}"),
        ])
        clients[key] = client
    session.commit()
    return tag, {k: c.id for k, c in clients.items()}


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_every_register_list_opens_for_every_role(as_role, role):
    client = as_role(role)
    for url in REGISTER_LISTS:
        assert client.get(url).status_code == 200, (role, url)


LISTS = {"/clients/list/": "ClientView", "/applications/list/": "ApplicationView",
         "/deals/list/": "DealView", "/notes/list/": "NoteView", "/tasks/list/": "TaskView"}


def test_manager_sees_own_participant_and_public_clients_only(as_role, world):
    tag, _ = world
    manager = as_role("manager")
    for url, view in LISTS.items():
        text = manager.get(f"{url}?psize_{view}=100").text
        for key in ("own", "participant", "public_read", "public_write"):
            assert f"{tag} {key}" in text, (url, key)
        assert f"{tag} other" not in text, url


def test_head_and_auditor_see_everything(as_role, world):
    tag, _ = world
    for role in ("head", "auditor", "admin"):
        text = as_role(role).get("/deals/list/").text
        assert f"{tag} other" in text and f"{tag} own" in text, role


def test_hidden_client_is_not_shown_edited_or_deleted(as_role, world, session):
    _, ids = world
    manager = as_role("manager")
    other = ids["other"]
    assert manager.get(f"/clients/show/{other}").status_code == 404
    assert manager.get(f"/clients/edit/{other}").status_code == 403
    assert manager.post(f"/clients/delete/{other}").status_code == 403
    assert session.get(Client, other) is not None
    application = session.scalar(select(Application.id).where(Application.client_id == other))
    assert manager.get(f"/applications/show/{application}").status_code == 404


def test_public_read_client_is_read_only_for_others(as_role, world):
    _, ids = world
    manager = as_role("manager")
    assert manager.get(f"/clients/show/{ids['public_read']}").status_code == 200
    assert manager.get(f"/clients/edit/{ids['public_read']}").status_code == 403
    assert manager.get(f"/clients/edit/{ids['public_write']}").status_code == 200
    assert manager.get(f"/clients/edit/{ids['participant']}").status_code == 200


def test_client_lookup_finds_only_visible_clients(as_role, world):
    tag, ids = world
    page = as_role("manager").get("/applications/add").text
    assert 'class="form-control lookup"' in page and f"{tag} own" not in page
    found = as_role("manager").get("/clients/lookup", query_string={"q": tag}).json
    names = {row["text"].split(" (")[0] for row in found["results"]}
    assert f"{tag} own" in names and f"{tag} public_read" in names
    assert f"{tag} other" not in names
    everything = as_role("head").get("/clients/lookup", query_string={"q": tag}).json
    assert len(everything["results"]) == 5
    by_phone = as_role("head").get("/clients/lookup", query_string={"q": "8 916 000"}).json
    assert by_phone["results"]


def test_lookup_needs_the_list_permission(client):
    assert client.get("/clients/lookup?q=a").status_code == 302
    assert client.get("/deals/lookup").status_code == 302


LINKS = {"/tasks/add": ["client", "deal"], "/notes/add": ["client", "deal"],
         "/counterparty-actions/add": ["client", "contact", "lead", "deal", "based_on"],
         "/invoices/add": ["client", "recipient", "deal"], "/invoice-lines/add": ["invoice"]}


def test_links_to_registers_are_looked_up_never_listed(as_role, world):
    # A drop-down of every visible deal would hold 30 001 options for the
    # head of sales at the bench's size.
    tag, _ = world
    for url, fields in LINKS.items():
        page = as_role("head").get(url).text
        for field in fields:
            assert f'class="form-control lookup" id="{field}"' in page, (url, field)
        assert f"{tag} own" not in page, url
    page = as_role("head").get("/tasks/add").text
    assert 'id="deal" name="deal" data-url="/deals/lookup" data-client-field="client"' in page


def test_deal_lookup_offers_the_chosen_clients_visible_deals(as_role, world, session):
    tag, ids = world
    manager = as_role("manager")

    def titles(**query):
        return [row["text"] for row in manager.get("/deals/lookup", query_string=query).json[
            "results"]]

    assert titles(client=ids["own"]) == [f"№ {_deal(session, ids['own'])} {tag} own"]
    assert titles(client=ids["other"]) == []
    found = titles(q=tag)
    assert f"№ {_deal(session, ids['participant'])} {tag} participant" in found
    assert not [t for t in found if t.endswith(f"{tag} other")]
    # A number finds the deal of that number, a client's name its deals.
    assert titles(q=f"№{_deal(session, ids['own'])}") == titles(client=ids["own"])
    assert titles(q=f"{tag} public_read") == [
        f"№ {_deal(session, ids['public_read'])} {tag} public_read"]
    assert titles(q="%%%") == []
    assert len(as_role("head").get("/deals/lookup", query_string={"q": tag}).json[
        "results"]) == 5


def _deal(session, client_id):
    return session.scalar(select(Deal.id).where(Deal.client_id == client_id))


def test_a_task_links_only_a_deal_its_author_may_see(as_role, world, session):
    tag, ids = world
    manager = as_role("manager")
    form = {"client": ids["own"], "description": f"{tag} link",
            "planned_at": "04.12.2026 11:00", "deal": _deal(session, ids["other"])}
    refused = manager.post("/tasks/add", data=form)
    assert refused.status_code == 200 and "Выберите значение из списка" in refused.text
    assert session.scalar(select(Task).where(Task.description == f"{tag} link")) is None
    form["deal"] = _deal(session, ids["own"])
    assert "Запись добавлена" in manager.post("/tasks/add", data=form).text
    session.rollback()
    saved = session.scalar(select(Task).where(Task.description == f"{tag} link"))
    assert saved.deal_id == _deal(session, ids["own"])
    shown = manager.get(f"/tasks/edit/{saved.id}").text
    assert f'<option value="{saved.deal_id}" selected>№ {saved.deal_id} {tag} own</option>' \
        in shown


def test_edit_form_shows_the_current_client(as_role, world, session):
    tag, ids = world
    app_id = session.scalar(select(Application.id).where(Application.client_id == ids["own"]))
    page = as_role("manager").get(f"/applications/edit/{app_id}").text
    assert f'<option value="{ids["own"]}" selected>{tag} own' in page


def test_manager_cannot_attach_a_record_to_a_hidden_client(as_role, world, session):
    _, ids = world
    offer = unique("подлог")
    page = as_role("manager").post("/applications/add", {
        "client": str(ids["other"]), "date": "2026-11-20", "amount": "500",
        "status": "in_processing", "offer": offer}).text
    assert "Выберите клиента из списка" in page
    assert session.scalar(select(Application).where(Application.offer == offer)) is None


def test_manager_cannot_attach_to_a_read_only_public_client(as_role, world, session):
    _, ids = world
    offer = unique("только чтение")
    page = as_role("manager").post("/applications/add", {
        "client": str(ids["public_read"]), "date": "2026-11-20", "amount": "500",
        "status": "in_processing", "offer": offer}).text
    assert "Вы не можете изменять записи этого клиента" in page
    assert session.scalar(select(Application).where(Application.offer == offer)) is None


def test_manager_adds_a_client_and_becomes_responsible(as_role, session):
    name = unique("Петров")
    page = as_role("manager").post("/clients/add", {
        "kind": "person", "last_name": name, "first_name": "Пётр",
        "phone": "8 (916) 555-44-33", "public_access": "private"}).text
    client = session.scalar(select(Client).where(Client.last_name == name))
    assert client is not None, page
    assert client.name == f"{name} Пётр"
    assert client.phone == "+79165554433"
    assert client.responsible_id == employee_id(session, "manager")
    assert f"{name} Пётр" in as_role("manager").get("/clients/list/").text


def test_client_validation_messages(as_role, session):
    name = unique("ООО Ошибка")
    page = as_role("admin").post("/clients/add", {
        "kind": "company", "name": name, "inn": "7707083894", "phone": "12",
        "public_access": "private"}).text
    assert "Неверное контрольное число ИНН" in page
    assert session.scalar(select(Client).where(Client.name == name)) is None
    page = as_role("admin").post("/clients/add", {"kind": "person",
                                                  "public_access": "private"}).text
    assert "Укажите название или ФИО клиента" in page


def test_auditor_cannot_write(as_role, world, session):
    _, ids = world
    auditor = as_role("auditor")
    assert auditor.get("/clients/add").status_code == 403
    assert auditor.get(f"/clients/edit/{ids['own']}").status_code == 403
    assert auditor.post(f"/clients/delete/{ids['own']}").status_code == 403
    assert session.get(Client, ids["own"]) is not None


def test_admin_creates_edits_and_deletes_an_application(as_role, world, session):
    _, ids = world
    admin = as_role("admin")
    offer = unique("Оффер")
    admin.post("/applications/add", {"client": str(ids["own"]), "date": "2026-11-20",
                                     "amount": "150000.50", "status": "in_processing",
                                     "offer": offer})
    app_id = session.scalar(select(Application.id).where(Application.offer == offer))
    assert app_id
    admin.post(f"/applications/edit/{app_id}", {
        "client": str(ids["own"]), "date": "2026-11-21", "amount": "150000.50",
        "status": "completed", "offer": offer})
    row = session.get(Application, app_id)
    assert row.status is ProcessingStatus.COMPLETED and row.date == datetime.date(2026, 11, 21)
    admin.post(f"/applications/delete/{app_id}")
    session.expire_all()
    assert session.get(Application, app_id) is None


def test_applications_list_columns_and_quick_filters(as_role, world, session):
    tag, ids = world
    app_id = session.scalar(select(Application.id).where(Application.client_id == ids["own"]))
    session.get(Application, app_id).status = ProcessingStatus.REFUSED
    session.commit()
    admin = as_role("admin")
    page = admin.get("/applications/list/").text
    for header in ("ID", "Оффер", "ФИО", "Телефон", "Сумма", "Регион", "Дата",
                   "Цель кредита", "Статус"):
        assert header in page, header
    for label in ("Завершены", "Отказы", "В обработке"):  # the list's quick filters
        assert label in page
    refused = admin.get("/applications/list/?_flt_0_status=refused&psize_ApplicationView=100")
    assert f"{tag} own" in refused.text and f"{tag} other" not in refused.text
    for column in ("id", "offer", "client.name", "amount", "date", "status"):
        response = admin.get(f"/applications/list/?_oc_ApplicationView={column}"
                             "&_od_ApplicationView=asc")
        assert response.status_code == 200, column


def test_client_page_shows_related_tabs_with_preset_add(as_role, world):
    tag, ids = world
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{ids['own']}").text
    for tab in ("Заявки", "Сделки", "Задачи", "Заметки", "Проекты", "Контактные лица"):
        assert tab in page, tab
    assert f"{tag} own" in page
    # Each tab's list is fetched when it is opened; its «add» is for this client.
    tab = f"/clients/related/{ids['own']}/ApplicationView"
    assert f'data-src="{tab}"' in page
    assert f"_flt_0_client={ids['own']}" in manager.get(tab).text


def test_client_page_tabs_test_each_row_not_every_visible_client(app, as_role, world):
    """A tab holds one client's records: counting them from the set of every
    client a manager may see (a UNION of three look-ups) costs ~1 ms a tab at
    200 000 clients; each of them is tested instead."""
    _, ids = world
    manager = as_role("manager")
    tabs = re.findall(r'data-src="([^"]*/related/[^"]+)"',
                      manager.get(f"/clients/show/{ids['participant']}").text)
    assert len(tabs) >= 6, tabs
    with statements_sent(app) as statements:
        assert all(manager.get(tab).status_code == 200 for tab in tabs)
    # Each tab counts by taking its rows' ids up to the list's limit.
    counts = [s for s in statements if re.search(r"^SELECT \w+\.id AS \w+ \nFROM", s)
              and "LIMIT" in s]
    assert len(counts) >= len(tabs), statements
    assert not [s for s in statements if "UNION ALL" in s], [
        s for s in statements if "UNION ALL" in s]


def test_list_count_stops_at_the_limit(as_role, session, monkeypatch):
    from app.views import datamodel

    tag = unique("счёт")
    session.add_all([Client(name=f"{tag} {i}") for i in range(5)])
    session.commit()
    monkeypatch.setattr(datamodel, "COUNT_LIMIT", 3)
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 0)
    page = as_role("admin").get("/clients/list/").text
    assert "Количество записей:</strong> более 3" in page
    # Above every client the shared database holds by now (other tests').
    total = session.scalar(select(func.count()).select_from(Client))
    monkeypatch.setattr(datamodel, "COUNT_LIMIT", total + 10)
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 5)
    page = as_role("admin").get("/clients/list/").text
    assert "более" not in page.split("Количество записей:</strong>")[1][:30]


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_few_rows_are_counted_sorted_and_paged_from_their_ids(as_role, session, role):
    """Under the count's limit the page sorts the rows the count found."""
    tag = unique("страницы").split()[-1]
    owner = employee_id(session, "manager")
    session.add_all([Client(name=f"{tag} {i:02d}", responsible_id=owner) for i in range(30)]
                    + [Client(name=f"{tag} чужой", responsible_id=employee_id(session, "head"))])
    session.commit()
    user = as_role(role)
    expected = [f"{tag} {i:02d}" for i in reversed(range(30))]
    if role == "admin":
        expected.insert(0, f"{tag} чужой")
    args = {"_flt_0_quick": tag, "_oc_ClientView": "name", "_od_ClientView": "desc",
            "psize_ClientView": 25}
    first = user.get("/clients/list/", query_string=args).text
    second = user.get("/clients/list/", query_string={**args, "page_ClientView": 1}).text

    def names(page):
        return re.findall(rf"{tag} (?:\d\d|чужой)", page)

    assert f"Количество записей:</strong> {len(expected)}" in first
    assert list(dict.fromkeys(names(first) + names(second))) == expected


def test_manager_count_from_own_records_or_every_visible_one(as_role, session, monkeypatch):
    """Enough of a manager's own records pass: "more than", uncounted.
    Too few: the count takes in every client they may see, exactly."""
    from app.views import datamodel

    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("своисчёт").split()[-1]
    session.add_all([Client(name=f"{tag} свой {i}", responsible_id=manager) for i in range(5)]
                    + [Client(name=f"{tag} общий {i}", responsible_id=head,
                              public_access=PublicAccess.READ) for i in range(2)]
                    + [Client(name=f"{tag} чужой", responsible_id=head)])
    session.commit()
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 0)
    user = as_role("manager")

    def count(limit, name):
        monkeypatch.setattr(datamodel, "COUNT_LIMIT", limit)
        page = user.get(f"/clients/list/?_flt_0_name={name}").text
        return page.split("Количество записей:</strong>")[1].split("<")[0].strip()

    assert count(3, tag) == "более 3"
    assert count(10, tag) == "7"
    assert count(3, f"{tag} общий") == "2"
    monkeypatch.setattr(datamodel, "OWN_SAMPLE", 2)  # the latest two own ones only
    assert count(3, tag) == "более 3"  # counted among all visible: 7


def test_manager_search_counts_without_sampling_own_records(app, as_role, session,
                                                          monkeypatch):
    """A quick search leaves few rows: the count goes straight to the rows
    the manager may see (no sample of their own records first), exact under
    the limit, "more than" past it."""
    from app.views import datamodel

    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("поисксчёт").split()[-1]
    session.add_all([Client(name=f"{tag} свой {i}", responsible_id=manager) for i in range(4)]
                    + [Client(name=f"{tag} общий", responsible_id=head,
                              public_access=PublicAccess.READ),
                       Client(name=f"{tag} чужой", responsible_id=head)])
    session.commit()
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 0)
    user = as_role("manager")

    def count(limit, typed):
        monkeypatch.setattr(datamodel, "COUNT_LIMIT", limit)
        with statements_sent(app) as sent:
            page = user.get(f"/clients/list/?_flt_0_quick={typed}").text
        sampled = [s for s in sent if "LIMIT" in s and s.count("client.responsible_id") >= 2
                   and "count(*)" in s]
        assert not sampled, sampled
        return page.split("Количество записей:</strong>")[1].split("<")[0].strip()

    assert count(10, tag) == "5"
    # Too short for an index: the visible clients are tested on their own
    # indexes and counted up to SELECTIVE_LIMIT, past it "more than".
    # (An indexed term counts exactly up to SELECTIVE_LIMIT on PostgreSQL.)
    monkeypatch.setattr(datamodel, "SELECTIVE_LIMIT", 3)
    assert count(3, tag[:2]) == "более 3"


def test_add_from_a_client_tab_presets_the_client(as_role, world, session):
    tag, ids = world
    manager = as_role("manager")
    url = f"/applications/add?_flt_0_client={ids['own']}"
    form = manager.get(url).text
    assert 'name="client"' not in form  # the client comes from the tab
    offer = unique("из вкладки")
    manager.post(url, {"date": "2026-11-20", "amount": "700", "status": "in_processing",
                       "offer": offer})
    row = session.scalar(select(Application).where(Application.offer == offer))
    assert row is not None and row.client_id == ids["own"]
    # The same trick cannot reach a client the manager may not change.
    offer = unique("чужая вкладка")
    manager.post(f"/applications/add?_flt_0_client={ids['public_read']}", {
        "date": "2026-11-20", "amount": "700", "status": "in_processing", "offer": offer})
    assert session.scalar(select(Application).where(Application.offer == offer)) is None


def test_applications_sort_by_every_column(as_role, world):
    admin = as_role("admin")
    for column in ("id", "offer", "client.name", "client.phone", "amount", "client.region",
                   "date", "loan_purpose", "status"):
        response = admin.get(f"/applications/list/?_oc_ApplicationView={column}"
                             "&_od_ApplicationView=desc")
        assert response.status_code == 200, column
        assert "fa-chevron" in response.text, column


def test_task_rows_take_their_status_colour_and_overdue_is_marked(as_role, session):
    import datetime

    from app.models import TaskStatus

    done = session.scalar(select(TaskStatus).where(TaskStatus.name == "Завершена"))
    in_work = session.scalar(select(TaskStatus).where(TaskStatus.name == "В работе"))
    past = datetime.datetime(2020, 1, 1, 9, 0)
    tag = unique("цвет")
    late = Task(description=f"{tag} late", status=in_work, deadline=past)
    finished = Task(description=f"{tag} done", status=done, deadline=past)
    session.add_all([late, finished])
    session.commit()
    page = as_role("head").get("/tasks/list/?psize_TaskView=100").text
    assert f'style="background-color: {done.color}"' in page

    def row_of(task):
        return page[page.rfind("<tr", 0, page.index(f"/tasks/show/{task.id}")):][:300]

    assert "task-overdue" in row_of(late)
    assert "task-overdue" not in row_of(finished)


def test_list_page_counts_only_its_own_rows(as_role, app):
    """The search form's drop-downs need their rows, never a count."""
    head = as_role("head")
    with statements_sent(app) as statements:
        page = head.get("/tasks/list/")
    assert page.status_code == 200
    assert not [s for s in statements if "count(" in s.lower() and "FROM notification" not in s]
    # A list counts by taking its rows' ids up to its limit.
    counts = [s for s in statements if re.search(r"^SELECT \w+\.id AS \w+ \nFROM", s)
              and "LIMIT" in s]
    assert len(counts) == 1 and "FROM task" in counts[0], counts


def test_times_are_shown_and_typed_in_the_office_zone(as_role, session):
    """Kept in UTC, shown and edited in Moscow time (APP_TIMEZONE)."""
    tag = unique("часовой пояс")
    task = Task(description=tag, planned_at=datetime.datetime(2031, 5, 4, 6, 30))
    session.add(task)
    session.commit()
    head = as_role("head")
    assert "04.05.2031 09:30" in head.get(f"/tasks/show/{task.id}").text
    edit = head.get(f"/tasks/edit/{task.id}").text
    assert 'value="04.05.2031 09:30"' in edit
    head.post(f"/tasks/edit/{task.id}", {"planned_at": "2031-05-04 12:00:00",
                                         "description": tag, "reminder_minutes": "60"})
    session.expire_all()
    assert session.get(Task, task.id).planned_at == datetime.datetime(2031, 5, 4, 9, 0)


def test_unfiltered_manager_list_counts_own_records_on_their_index(app, as_role, session,
                                                                   monkeypatch):
    """With no filter but the row rule, every own record passes: the list
    says "more than" from the owner's index alone, without testing the rule
    row by row; with fewer own records than the limit it counts exactly."""

    from app.views import datamodel

    manager = employee_id(session, "manager")
    tag = unique("свойиндекс").split()[-1]
    session.add_all([Client(name=f"{tag} {i}", responsible_id=manager) for i in range(3)])
    session.commit()
    own = session.scalar(select(func.count()).select_from(Client).where(
        Client.responsible_id == manager))
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 0)
    monkeypatch.setattr(datamodel, "COUNT_LIMIT", own - 1)
    user = as_role("manager")
    with statements_sent(app) as statements:
        page = user.get("/clients/list/").text
    assert f"Количество записей:</strong> более {own - 1}" in page
    counts = [s for s in statements if s.startswith("SELECT count(*)")]
    assert counts and all("EXISTS" not in s and "visible_client" not in s for s in counts), counts
    # As many own records as the limit: the count goes on to every visible
    # client (the public ones of other tests too), never fewer than the own.
    monkeypatch.setattr(datamodel, "COUNT_LIMIT", own)
    visible = user.get("/clients/list/").text.split("Количество записей:</strong>")[1]
    visible = visible.split("<")[0].strip()
    assert visible == f"более {own}" or int(visible.replace("\xa0", "")) >= own, visible


def test_search_form_offers_a_value_added_a_moment_ago(as_role, session):
    """The list's search fields are drawn once for the same choices
    (views/custom_fields._search_field_html); a new dictionary value is a
    new choice, offered on the very next page, and a renamed one by its new name."""
    import json

    from app.models import TaskType

    manager = as_role("manager")
    before = manager.get("/tasks/list/").text
    name = unique("Вид задачи для фильтра")
    # The fields reach the page as JSON for FAB's script (Cyrillic escaped).
    offered = json.dumps(name)[1:-1]
    assert offered not in before
    kind = TaskType(name=name, is_active=True)
    session.add(kind)
    session.commit()
    assert offered in manager.get("/tasks/list/").text
    kind.name = unique("Вид задачи переименован")
    session.commit()
    page = manager.get("/tasks/list/").text
    assert offered not in page and json.dumps(kind.name)[1:-1] in page


@pytest.mark.parametrize("key", ["own", "public_read"])
def test_a_client_page_asks_each_access_question_once(app, as_role, world, key):
    """The edit link, the stage box and the timeline's boxes and entries all
    ask whether the manager may read or change the client. The page's own
    query found the client through the row rule, so only «may change» is
    asked, once, and not at all of the manager's own client; the client is
    read once, by that query; and the custom
    fields of every form on the page are read together, if at all."""
    _, ids = world
    manager = as_role("manager")
    with statements_sent(app) as sent:
        page = manager.get(f"/clients/show/{ids[key]}")
        assert page.status_code == 200
    statements = [" ".join(s.split()) for s in sent]
    asked = [s for s in statements if s.startswith("SELECT EXISTS (SELECT * FROM client")]
    # Their own client (its responsible) they may change without asking.
    assert len(asked) == (0 if key == "own" else 1), asked
    # The custom fields of the client and of the quick boxes' note and task:
    # together, if at all (kept while their table's stamp stays).
    assert len([s for s in statements if "FROM custom_field" in s]) <= 1
    read = [s for s in statements if s.startswith("SELECT client.id")]
    assert len(read) == 1, read
    # The timeline's boxes are there for the client the manager may change.
    assert ('id="quick-note"' in page.text) == (key == "own")


def test_a_record_page_reads_its_relations_with_the_record(app, as_role, session):
    """The record's many-to-one relations (region, status, type, origin,
    group, responsible) come in the statement that reads the record, not
    one statement each, and the page names every one of them."""
    from app.models import ClientGroup, ClientOrigin, ClientStatus, ClientType, Region

    tag = unique("Связи")
    values = {model: model(name=f"{tag} {model.__name__}", is_active=True)
              for model in (Region, ClientStatus, ClientType, ClientOrigin, ClientGroup)}
    client = Client(name=f"{tag} клиент", responsible_id=employee_id(session, "head"),
                    region=values[Region], status=values[ClientStatus],
                    type=values[ClientType], origin=values[ClientOrigin],
                    group=values[ClientGroup])
    session.add(client)
    session.commit()
    admin = as_role("admin")
    with statements_sent(app) as sent:
        page = admin.get(f"/clients/show/{client.id}")
        assert page.status_code == 200
    tables = "|".join(model.__tablename__ for model in values)
    alone = [s for s in sent if re.search(rf"FROM ({tables})\s+WHERE \1\.id (=|IN)", s)]
    assert not alone, alone
    for model, value in values.items():
        assert value.name in page.text, model.__name__



def test_a_list_page_reads_dictionaries_and_employees_with_its_rows(app, as_role, session):
    """A list's dictionary values (a client's region, status) and employees
    (the responsible, a task's assignee) come in the statement that reads
    the page's rows; a task's client, a register of up to a million rows,
    comes in one statement of its own for the page. Each value is shown."""
    from app.models import ClientStatus, Region, Task, TaskStatus

    tag = unique("Список")
    region, status = Region(name=f"{tag} регион", is_active=True), \
        ClientStatus(name=f"{tag} статус", is_active=True)
    client = Client(name=f"{tag} клиент", responsible_id=employee_id(session, "head"),
                    region=region, status=status)
    session.add(client)
    session.flush()
    task_status = session.scalars(select(TaskStatus).order_by(TaskStatus.id)).first()
    session.add(Task(client_id=client.id, assignee_id=employee_id(session, "head"),
                     author_id=employee_id(session, "head"), status_id=task_status.id,
                     description=f"{tag} задача"))
    session.commit()
    head = as_role("head")
    reference = r"(region|client_status|funnel_stage|task_status|task_type|ab_user)"
    for path, shown in ((f"/clients/list/?_flt_0_quick={tag}", (region.name, status.name)),
                        (f"/tasks/list/?_flt_0_quick={tag}", (client.name,))):
        head.get(path)  # the search form's drop-downs read once
        with statements_sent(app) as sent:
            page = head.get(path)
            assert page.status_code == 200
        alone = [s for s in sent if re.search(rf"FROM {reference}\s+WHERE \1\.id (=|IN)", s)]
        assert not alone, alone
        for text in shown:
            assert text in page.text, (path, text)
    clients = [s for s in sent if re.search(r"FROM client\s+WHERE client\.id IN", s)]
    assert len(clients) == 1, clients
    assert employee(session, "head").last_name in page.text  # the assignee


def test_a_relation_filter_reads_its_value_once(app, as_role, session):
    """A list filtered by a dictionary value (tasks by status, clients by
    funnel stage) reads that value in one statement: FAB read it by the
    address's text ("3") each time the filter was applied, four times on a
    manager's list (their own rows, the count, the page). The rows are the
    value's."""
    from flask_appbuilder.models.sqla.filters import FilterRelationOneToManyEqual

    from app.models import FunnelStage, Task, TaskStatus
    from app.views.clients import ClientView
    from app.views.tasks import TaskView

    tag = unique("Отбор")
    # Ids only: an object the test held would stay in the identity map.
    first, second = session.scalars(select(TaskStatus.id).order_by(TaskStatus.id).limit(2))
    stage = session.scalars(select(FunnelStage.id).order_by(FunnelStage.id)).first()
    client = Client(name=f"{tag} клиент", responsible_id=employee_id(session, "manager"),
                    funnel_stage_id=stage)
    session.add(client)
    session.flush()
    tasks = [Task(client_id=client.id, assignee_id=employee_id(session, "manager"),
                  author_id=employee_id(session, "manager"), status_id=status,
                  description=tag) for status in (first, second)]
    session.add_all(tasks)
    session.commit()
    views = {type(v): v for v in app.appbuilder.baseviews}

    def position(view, column):
        return next(i for i, f in enumerate(views[view]._filters._all_filters[column])
                    if type(f) is FilterRelationOneToManyEqual)

    manager = as_role("manager")
    for path, table, shown, hidden in (
            (f"/tasks/list/?_flt_0_quick={tag}&_flt_{position(TaskView, 'status')}_status="
             f"{first}", "task_status", f"/tasks/show/{tasks[0].id}\"",
             f"/tasks/show/{tasks[1].id}\""),
            (f"/clients/list/?_flt_0_quick={tag}&_flt_{position(ClientView, 'funnel_stage')}"
             f"_funnel_stage={stage}", "funnel_stage", client.name, None)):
        manager.get(path)  # the search form's drop-downs read once
        with statements_sent(app) as sent:
            page = manager.get(path)
            assert page.status_code == 200
        alone = [s for s in sent if re.search(rf"FROM {table}\s+WHERE {table}\.id = ", s)]
        assert len(alone) == 1, alone
        assert shown in page.text
        assert hidden is None or hidden not in page.text
    # Once the garbage collector has run between two applications (as it
    # does in a busy server), FAB's look-up read the row again.
    with app.test_request_context(), statements_sent(app) as sent:
        datamodel = views[TaskView].datamodel
        assert datamodel.get_related_obj("status", str(first)).id == first
        gc.collect()
        assert datamodel.get_related_obj("status", str(first)).id == first
    assert len([s for s in sent if "FROM task_status" in s]) == 1, sent


def test_a_record_reads_its_lists_of_values_and_employees_with_it(app, as_role, session):
    """A client's tags, participants and mailing types come in the
    statement that reads the client (ListInterface.get), not a statement
    each, and every one of them is shown on its page."""
    from app.models import MailingType, Tag

    name = unique("Списки")
    tags = [Tag(name=f"{name} метка {n}", is_active=True) for n in range(2)]
    mailing = MailingType(name=f"{name} рассылка", is_active=True)
    client = Client(name=f"{name} клиент", responsible_id=employee_id(session, "head"),
                    tags=tags, mailing_types=[mailing],
                    participants=[employee(session, "manager")])
    session.add(client)
    session.commit()
    head = as_role("head")
    head.get(f"/clients/show/{client.id}")
    with statements_sent(app) as sent:
        page = head.get(f"/clients/show/{client.id}")
        assert page.status_code == 200
    alone = [s for s in sent if re.search(r"FROM (tag|mailing_type|ab_user), "
                                          r"(client_tag|client_mailing|client_participant)", s)]
    assert not alone, alone
    for text in [t.name for t in tags] + [mailing.name, employee(session, "manager").last_name]:
        assert text in page.text, text


def test_list_cells_are_drawn_without_a_context_each(app, as_role, session, monkeypatch):
    """A list's cells, and a task list's own cells and rows, are drawn by
    macros (sdelka/widgets/list.html): a scoped block per cell copied the
    page's whole context for every cell, a twentieth of a list page. A page
    of three rows derives no more contexts than a page of one."""
    from jinja2.runtime import Context

    from app.models import Task, TaskStatus

    tag = unique("Ячейки")
    head_id = employee_id(session, "head")
    status = session.scalars(select(TaskStatus).order_by(TaskStatus.id)).first()
    for n in range(3):
        client = Client(name=f"{tag} {n}", responsible_id=head_id)
        session.add(client)
        session.flush()
        session.add(Task(client_id=client.id, assignee_id=head_id, author_id=head_id,
                         status_id=status.id, description=f"{tag} {n}"))
    session.commit()
    derived = []
    original = Context.derived

    def counted(self, locals=None):
        derived.append(1)
        return original(self, locals)

    monkeypatch.setattr(Context, "derived", counted)
    head = as_role("head")
    for view, path in (("ClientView", "/clients/list/"), ("TaskView", "/tasks/list/")):
        contexts = {}
        for rows in (1, 3):
            address = f"{path}?_flt_0_quick={tag}&psize_{view}={rows}"
            head.get(address)
            derived.clear()
            page = head.get(address)
            assert page.text.count('class="action_check"') == rows, (path, rows)
            contexts[rows] = len(derived)
        assert contexts[3] == contexts[1], (path, contexts)
    assert "task-done-form" in page.text and "background-color" in page.text


def test_search_form_reads_a_dictionary_only_when_it_changed(app, as_role, session):
    """The search form's drop-downs of dictionaries and employees are drawn
    again only when a table's stamp changed (migration 0033): a second page
    reads none of their rows; a renamed employee is offered by the new name
    on the very next page."""
    import json

    from app.models import ClientGroup, Employee, TableStamp

    head = as_role("head")
    head.get("/clients/list/")
    with statements_sent(app) as statements:
        assert head.get("/clients/list/").status_code == 200
    assert not [s for s in statements if "FROM client_group" in s or "FROM market_segment" in s]

    def stamp(table):
        return session.scalar(select(TableStamp.stamp).where(TableStamp.name == table))

    before = stamp("client_group"), stamp("ab_user")
    session.add(ClientGroup(name=unique("Группа для фильтра"), is_active=True))
    session.commit()
    assert stamp("client_group") != before[0] and stamp("ab_user") == before[1]
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    manager.last_name = unique("Переименованный")
    session.commit()
    assert stamp("ab_user") != before[1]
    assert json.dumps(manager.last_name)[1:-1] in head.get("/clients/list/").text


def test_pages_read_custom_fields_and_stamps_only_with_the_user(app, as_role, session):
    """The watched tables' stamps come with the signed-in user's statement,
    and the custom field definitions are read again only when their table's
    stamp changed: a list page and a record page send neither query; a
    field the admin adds is on the very next page, and gone when it is
    switched off."""
    from app.models import CustomField, CustomFieldType

    head = as_role("head")
    client = Client(name=unique("Штампы"), responsible_id=employee_id(session, "head"))
    session.add(client)
    session.commit()
    for path in ("/clients/list/", f"/clients/show/{client.id}"):
        head.get(path)
        with statements_sent(app) as sent:
            assert head.get(path).status_code == 200
        assert not [s for s in sent if "FROM custom_field" in s or "FROM table_stamp" in s
                    and "ab_user" not in s], sent
    label = unique("Поле по штампу")
    field = CustomField(entity="client", code="stamp_" + unique("x")[-8:], label_ru=label,
                        type=CustomFieldType.TEXT, is_active=True, in_list=True)
    session.add(field)
    session.commit()
    assert label in head.get(f"/clients/show/{client.id}").text
    field.is_active = False
    session.commit()
    assert label not in head.get(f"/clients/show/{client.id}").text
