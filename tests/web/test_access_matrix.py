"""Row-level access, every role × every register × every channel.

One manager ("owner") holds a record of every register on a private client.
Each role then tries every way in — list, record page, edit and delete
(GET and POST), the REST API (get, list, put, delete, _info), CSV export,
the client look-up, printing, the calendar and the note's file — and gets
the record exactly when the role may see it; every refusal leaves the
database as it was. A second manager ("other") also tries to link records
of their own to the owner's, through the API and the screens, and to
forge the fields the server sets.

The data live in a database of their own, so a list holds only them."""
import datetime
import os
import uuid
from decimal import Decimal

import flask_migrate
import pytest
from sqlalchemy import func, select

from app import db
from app.models import (
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    Invoice,
    InvoiceLine,
    Lead,
    MarketSegment,
    Note,
    Project,
    PublicAccess,
    Task,
)
from app.security import ADMIN, ALL_CLIENTS, HEAD_OF_SALES, MANAGER, READ_ONLY, sync_roles
from app.services.seed import seed_dictionaries
from tests.conftest import PASSWORD, _postgres_schema, make_app
from tests.conftest import Client as Browser

SECRET = "СЕКРЕТ" + uuid.uuid4().hex[:6]

# register: (model, screen route, API resource, printable entity, the record's text)
REGISTERS = {
    "client": (Client, "/clients", "client", "client", "клиент"),
    "contact": (ContactPerson, "/contacts", "contact", None, "контакт"),
    "application": (Application, "/applications", "application", "application", "заявка"),
    "deal": (Deal, "/deals", "deal", "deal", "сделка"),
    "lead": (Lead, "/leads", "lead", None, "лид"),
    "task": (Task, "/tasks", "task", "task", "задача"),
    "note": (Note, "/notes", "note", None, "заметка"),
    "project": (Project, "/projects", "project", None, "проект"),
    "action": (CounterpartyAction, "/counterparty-actions", "counterparty_action", None,
               "действие"),
    "invoice": (Invoice, "/invoices", "invoice", "invoice", "счёт"),
    "line": (InvoiceLine, "/invoice-lines", "invoice_line", None, "строка"),
}
# role: (may read the owner's records, may change them)
ROLES = {
    "admin": (True, True),
    "head": (True, True),
    "every": (True, True),  # a manager with access to all clients
    "auditor": (True, False),
    "other": (False, False),  # a manager limited to own clients
}


def marker(register):
    return f"{SECRET} {REGISTERS[register][4]}"


def _users(sm):
    every = sm.add_role("All clients")
    sm.add_permission_role(every, sm.find_permission_view_menu(*ALL_CLIENTS))
    manager = sm.find_role(MANAGER)
    roles = {"admin": [sm.find_role(ADMIN)], "head": [sm.find_role(HEAD_OF_SALES)],
             "auditor": [sm.find_role(READ_ONLY)], "owner": [manager], "other": [manager],
             "every": [manager, every]}
    return {name: sm.add_user(username=name, first_name=name.title(), last_name="Тестов",
                              email=f"{name}@example.com", role=role,
                              password=PASSWORD).id
            for name, role in roles.items()}


def _records(session, owner, other, folder):
    client = Client(name=marker("client"), responsible_id=owner)
    theirs = Client(name="Свой клиент", responsible_id=other)
    public = Client(name="Общий клиент", responsible_id=owner,
                    public_access=PublicAccess.WRITE)
    session.add_all([client, theirs, public])
    session.flush()
    deal = Deal(title=marker("deal"), client=client, responsible_id=owner)
    invoice = Invoice(client=client, responsible_id=owner, number="СЧ-" + SECRET[-6:],
                      order_number=marker("invoice"))
    # As views/files.py stores an upload: the column names the file on disk.
    disk_name = uuid.uuid4().hex
    file_name = disk_name + "_sep_договор.txt"
    with open(os.path.join(folder, disk_name), "w", encoding="utf-8") as fh:
        fh.write(marker("note"))
    rows = {
        "client": client,
        "contact": ContactPerson(name=marker("contact"), client=client),
        "application": Application(client=client, responsible_id=owner, amount=Decimal(100),
                                   offer=marker("application")),
        "deal": deal,
        "lead": Lead(title=marker("lead"), client=client, responsible_id=owner),
        "task": Task(client=client, deal=deal, assignee_id=owner, author_id=owner,
                     description=marker("task"),
                     planned_at=datetime.datetime(2026, 12, 10, 9, 0)),
        "note": Note(client=client, deal=deal, author_id=owner, text=marker("note"),
                     file=file_name),
        "project": Project(client=client, name=marker("project"), responsible_id=owner),
        "action": CounterpartyAction(client=client, deal=deal, responsible_id=owner,
                                     result=marker("action"),
                                     planned_at=datetime.datetime(2026, 12, 10, 9, 0)),
        "invoice": invoice,
        "line": InvoiceLine(invoice=invoice, description=marker("line"),
                            quantity=Decimal(1), price=Decimal(10)),
    }
    session.add_all(rows.values())
    session.commit()
    ids = {name: row.id for name, row in rows.items()}
    ids.update(theirs=theirs.id, public=public.id, file=file_name)
    return ids


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    if database_url.startswith("sqlite"):
        url, drop = "sqlite:///" + str(tmp_path_factory.mktemp("matrix") / "m.db"), None
    else:
        url, drop = _postgres_schema()
    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        sync_roles(app.appbuilder.sm)
        seed_dictionaries(db.session)
        db.session.commit()
        users = _users(app.appbuilder.sm)
        ids = _records(db.session, users["owner"], users["other"], app.config["UPLOAD_FOLDER"])
    browsers = {}

    def browser(name):
        if name not in browsers:
            browsers[name] = Browser(app)
            assert "/logout" in browsers[name].login(name).text, name
        return browsers[name]

    yield app, users, ids, browser
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if drop:
        drop()


def _state(app):
    """Every register's rows, as they are stored: a refusal changes none."""
    with app.app_context():
        db.session.expire_all()
        return {name: sorted(tuple(row) for row in db.session.execute(
            select(model.__table__)).all()) for name, (model, *_rest) in REGISTERS.items()}


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


CASES = [(role, register) for role in ROLES for register in REGISTERS]


@pytest.mark.parametrize("role,register", CASES)
def test_read_channels(world, role, register):
    app, _, ids, browser = world
    model, route, resource, printable, _ = REGISTERS[register]
    may_read, may_write = ROLES[role]
    http, pk, text = browser(role), ids[register], marker(register)
    refused = (302, 403, 404)

    listing = http.get(f"{route}/list/")
    assert listing.status_code == 200
    assert (f"{route}/show/{pk}\"" in listing.text) is may_read

    show = http.get(f"{route}/show/{pk}")
    assert (show.status_code == 200) is may_read, show.status_code
    if not may_read:
        assert show.status_code in refused and text not in show.text

    edit = http.get(f"{route}/edit/{pk}")
    if may_write:
        assert edit.status_code == 200
    else:
        assert edit.status_code in refused and text not in edit.text

    api = http.get(f"/api/v1/{resource}/{pk}")
    assert api.status_code == (200 if may_read else 404)
    listed = http.get(f"/api/v1/{resource}/?q=(page_size:100)").json
    assert (pk in listed["ids"]) is may_read

    export = http.get(f"{route}/export/")
    assert export.status_code == 200
    if not may_read:
        assert SECRET not in export.data.decode("utf-8-sig"), "another's record exported"
    elif register in ("client", "contact", "deal", "lead", "task", "note", "project",
                      "action", "line"):
        assert text in export.data.decode("utf-8-sig")

    if printable:
        page = http.get(f"/documents/print/{printable}/{pk}")
        assert (page.status_code == 200) is may_read, page.status_code

    assert SECRET not in http.get(f"/api/v1/{resource}/_info").text or may_read


@pytest.mark.parametrize("role", ROLES)
def test_side_doors(world, role):
    """Look-up, calendar and the note's file follow the read rule too."""
    app, _, ids, browser = world
    may_read = ROLES[role][0]
    http = browser(role)
    found = http.get(f"/clients/lookup?q={SECRET}").json["results"]
    assert (ids["client"] in {row["id"] for row in found}) is may_read
    calendar = http.get(f"/calendar/?client={ids['client']}")
    assert calendar.status_code == 200
    assert (marker("client") in calendar.text) is may_read
    download = http.get(f"/notes/download/{ids['file']}")
    assert (download.status_code == 200) is may_read, download.status_code


@pytest.mark.parametrize("role", [role for role, (_, write) in ROLES.items() if not write])
@pytest.mark.parametrize("register", REGISTERS)
def test_refused_writes_change_nothing(world, role, register):
    app, _, ids, browser = world
    _, route, resource, _, _ = REGISTERS[register]
    http, pk = browser(role), ids[register]
    before = _state(app)
    answers = [
        http.post(f"{route}/edit/{pk}", {"comment": "взлом", "name": "взлом"}, follow=False),
        http.post(f"{route}/delete/{pk}", follow=False),
        http.http.put(f"/api/v1/{resource}/{pk}", json={}),
        http.http.delete(f"/api/v1/{resource}/{pk}"),
    ]
    assert all(answer.status_code in (302, 403, 404) for answer in answers), \
        [answer.status_code for answer in answers]
    assert _state(app) == before


# What "other" may not link a record of their own to: (register, body, field).
LINKS = [
    ("task", lambda i: {"client": i["client"]}, "client"),
    ("task", lambda i: {"client": i["theirs"], "deal": i["deal"]}, "deal"),
    ("task", lambda i: {"client": i["theirs"], "application": i["application"]},
     "application"),
    ("note", lambda i: {"client": i["theirs"], "deal": i["deal"], "text": "x"}, "deal"),
    ("invoice", lambda i: {"client": i["theirs"], "recipient": i["client"]}, "recipient"),
    ("invoice", lambda i: {"client": i["theirs"], "deal": i["deal"]}, "deal"),
    ("action", lambda i: {"client": i["theirs"], "contact": i["contact"]}, "contact"),
    ("action", lambda i: {"client": i["theirs"], "lead": i["lead"]}, "lead"),
    ("action", lambda i: {"client": i["theirs"], "based_on": i["action"]}, "based_on"),
    ("lead", lambda i: {"title": "x", "client": i["client"]}, "client"),
    ("lead", lambda i: {"title": "x", "client": i["theirs"], "deal": i["deal"]}, "deal"),
    ("application", lambda i: {"client": i["client"], "amount": "5"}, "client"),
    ("contact", lambda i: {"client": i["client"], "name": "x"}, "client"),
    ("deal", lambda i: {"client": i["client"], "title": "x"}, "client"),
    ("project", lambda i: {"client": i["client"], "name": "x"}, "client"),
    ("line", lambda i: {"invoice": i["invoice"], "description": "x", "quantity": "1",
                        "price": "1"}, "invoice"),
]


@pytest.mark.parametrize("register,body,field", LINKS)
def test_api_refuses_links_to_hidden_records(world, register, body, field):
    app, _, ids, browser = world
    model, _, resource, _, _ = REGISTERS[register]
    before = _count(app, model)
    answer = browser("other").http.post(f"/api/v1/{resource}/", json=body(ids))
    # 422: a field the register's screen does not offer either.
    assert answer.status_code in (403, 422), answer.json
    assert field in answer.json["message"]
    assert _count(app, model) == before


@pytest.mark.parametrize("register,body,field", [
    case for case in LINKS if case[0] in ("task", "note", "action", "invoice")
    and case[2] != "application"])
def test_screens_refuse_links_to_hidden_records(world, register, body, field):
    app, _, ids, browser = world
    model, route, _, _, _ = REGISTERS[register]
    before = _count(app, model)
    data = {key: str(value) for key, value in body(ids).items()}
    page = browser("other").post(f"{route}/add", data)
    assert _count(app, model) == before
    # The form offers only visible records (a hidden one is not a valid
    # choice); what gets past it meets the same check as the API.
    assert page.status_code == 200 and "alert alert-danger" in page.text, field


def test_manager_links_own_records(world):
    """The same links to one's own client are accepted."""
    app, users, ids, browser = world
    answer = browser("other").http.post("/api/v1/task/", json={"client": ids["theirs"],
                                                              "description": "свой"})
    assert answer.status_code == 201, answer.json
    assert answer.json["result"]["author"]["id"] == users["other"]


def test_server_set_fields_are_ignored(world):
    app, users, ids, browser = world
    answer = browser("other").http.post("/api/v1/note/", json={
        "client": ids["theirs"], "text": "подделка", "author": users["admin"],
        "created_at": "2020-01-01T00:00:00"})
    assert answer.status_code == 201, answer.json
    with app.app_context():
        note = db.session.get(Note, answer.json["id"])
        assert note.author_id == users["other"]
        assert note.created_at.year >= 2026


def test_public_client_cannot_be_taken(world):
    """«Видят и изменяют все» lets a manager edit the client, not take it."""
    app, users, ids, browser = world
    http = browser("other")
    taken = http.http.put(f"/api/v1/client/{ids['public']}",
                          json={"responsible": users["other"]})
    assert taken.status_code == 403 and "responsible" in taken.json["message"]
    form = http.post(f"/clients/edit/{ids['public']}", {
        "kind": "person", "name": "Общий клиент", "public_access": "write",
        "responsible": str(users["other"])})
    assert form.status_code == 200
    with app.app_context():
        assert db.session.get(Client, ids["public"]).responsible_id == users["owner"]
    edited = http.http.put(f"/api/v1/client/{ids['public']}", json={"city": "Тверь"})
    assert edited.status_code == 200, edited.json
    with app.app_context():
        client = db.session.get(Client, ids["public"])
        assert client.responsible_id == users["owner"] and client.city == "Тверь"


def test_info_offers_only_visible_choices(world):
    app, users, ids, browser = world
    info = browser("other").get("/api/v1/task/_info?q=(keys:!(add_columns))").json
    values = {field["name"]: {value["id"] for value in field.get("values", [])}
              for field in info["add_columns"]}
    assert ids["client"] not in values["client"] and ids["theirs"] in values["client"]
    assert ids["deal"] not in values["deal"]
    for field in info["add_columns"]:
        assert "Project-Id-Version" not in field.get("description", "")


def test_api_answers_carry_no_employee_secrets(world):
    """Every resource, read as each role, and the OpenAPI spec."""
    app, _, ids, browser = world
    secrets = ("password", "scrypt:", "pbkdf2:", "login_count", "fail_login_count", "last_login",
               "locked_until", "@example.com")
    http = browser("admin")
    spec = http.get("/api/v1/_openapi")
    assert spec.status_code == 200
    for schema_name, schema in spec.json["components"]["schemas"].items():
        if schema_name.startswith(("UserApi", "User", "SecurityApi")):
            continue  # the admin's own user screen
        for name in ("password", "login_count", "fail_login_count", "locked_until"):
            assert name not in schema.get("properties", {}), (schema_name, name)
    resources = [path.split("/")[3] for path in spec.json["paths"]
                 if path.count("/") == 4 and path.endswith("/") and "security" not in path
                 and path.split("/")[3] not in ("user", "role", "group", "permission",
                                                "viewmenu", "permissionview", "menu")]
    assert len(resources) > 20
    for role in ("admin", "auditor", "other"):  # all clients, read-only, own only
        http = browser(role)
        for resource in resources:
            for url in (f"/api/v1/{resource}/?q=(page_size:100)", f"/api/v1/{resource}/_info"):
                answer = http.get(url)
                assert answer.status_code in (200, 403), (url, answer.status_code)
                assert not any(secret in answer.text for secret in secrets), (role, url)
        answer = http.get(f"/api/v1/client/{ids['public']}")
        assert answer.status_code == 200 and not any(s in answer.text for s in secrets)


@pytest.mark.parametrize("role", ROLES)
def test_bulk_and_based_on(world, role):
    """A bulk assignment and «Создать на основании» touch only records the
    role may change; nothing else moves."""
    app, _, ids, browser = world
    may_write = ROLES[role][1]
    http = browser(role)
    with app.app_context():
        segment = db.session.scalar(select(MarketSegment.id).limit(1))
    before = _state(app)
    http.post(f"/clients/bulk/segment?ids={ids['client']}", {"target": str(segment)})
    step = http.post("/counterparty-actions/action_post",
                     {"action": "next_step", "rowid": str(ids["action"])})
    after = _state(app)
    with app.app_context():
        db.session.expire_all()
        moved = db.session.get(Client, ids["client"]).segment_id == segment
        based = db.session.scalar(select(func.count()).where(
            CounterpartyAction.based_on_id == ids["action"]))
        if moved:  # put back for the next role
            db.session.get(Client, ids["client"]).segment_id = None
        db.session.execute(CounterpartyAction.__table__.delete().where(
            CounterpartyAction.based_on_id == ids["action"]))
        db.session.commit()
    # One next step opens a form (nothing saved) to who may change the action.
    assert based == 0
    assert (step.request.path == "/counterparty-actions/add") == may_write, step.request.path
    if may_write:
        assert moved
    elif not may_write:
        assert not moved and after == before
