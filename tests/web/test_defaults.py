"""Defaults and checks a user expects: a new client
starts at the first funnel stage and a new task in the first open status,
on the screens and over the API alike; a phone or INN another client has
is saved with a warning that links to that client."""
import json

from sqlalchemy import select

from app.models import Client, Employee, FunnelStage, StatusKind, Task, TaskStatus
from app.services import deals, tasks
from tests.conftest import PASSWORD, unique


def _add_client(browser, **fields):
    return browser.post("/clients/add", {"kind": "person", "public_access": "private",
                                         **fields})


def _first_stage(session):
    return session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order, FunnelStage.id)).first()


def test_a_new_client_starts_at_the_first_funnel_stage(as_role, session):
    name = unique("Стадия")
    _add_client(as_role("manager"), name=name)
    client = session.scalar(select(Client).where(Client.name == name))
    assert client.funnel_stage_id == _first_stage(session).id == deals.first_stage(session).id
    # One chosen by the user stays.
    last = session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order.desc(), FunnelStage.id.desc())).first()
    other = unique("Стадия своя")
    _add_client(as_role("manager"), name=other, funnel_stage=last.id)
    assert session.scalar(select(Client).where(Client.name == other)).funnel_stage_id == last.id


def test_a_new_task_starts_in_the_first_open_status(as_role, session, app):
    client = Client(name=unique("Статус"))
    session.add(client)
    session.commit()
    text = unique("Без статуса")
    as_role("admin").post("/tasks/add", {"client": client.id, "description": text,
                                         "planned_at": "04.12.2026 11:00"})
    task = session.scalar(select(Task).where(Task.description == text))
    first = tasks.first_status(session)
    assert first.kind == StatusKind.OPEN and task.status_id == first.id
    assert first.id == session.scalars(select(TaskStatus.id).where(
        TaskStatus.kind == StatusKind.OPEN, TaskStatus.is_active.is_(True))
        .order_by(TaskStatus.sort_order, TaskStatus.id)).first()
    # Over the API: the same rule path.
    api = app.test_client()
    token = api.post("/api/v1/security/login", json={
        "username": "admin", "password": PASSWORD, "provider": "db"}).json
    text = unique("API без статуса")
    created = api.post("/api/v1/task/", json={"client": client.id, "description": text},
                       headers={"Authorization": f"Bearer {token['access_token']}"})
    assert created.status_code == 201, created.text
    session.expire_all()
    assert session.scalar(select(Task).where(Task.description == text)).status_id == first.id


def test_a_known_phone_or_inn_is_saved_with_a_warning_and_a_link(as_role, session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    head = session.scalar(select(Employee.id).where(Employee.username == "head"))
    known = Client(name=unique("Известный"), phone="+79161112233", inn="7707083893",
                   responsible_id=manager)
    hidden = Client(name=unique("Чужой"), phone="+79164445566", responsible_id=head)
    session.add_all([known, hidden])
    session.commit()
    name = unique("Дубль")
    page = _add_client(as_role("manager"), kind="company", name=name,
                       phone="8 (916) 111-22-33", inn="7707083893")
    assert session.scalar(select(Client).where(Client.name == name)) is not None
    assert f'Телефон также у клиента <a href="/clients/show/{known.id}">{known.name}</a>' \
        in page.text
    assert f'ИНН также у клиента <a href="/clients/show/{known.id}">' in page.text
    # A client the manager may not see is named by its number only.
    other = unique("Дубль чужого")
    page = _add_client(as_role("manager"), name=other, phone="+7 916 444-55-66")
    assert f"другого менеджера (№ {hidden.id})" in page.text and hidden.name not in page.text
    # No warning for a client alone with its phone.
    alone = _add_client(as_role("manager"), name=unique("Один"), phone="+7 916 999-00-11")
    assert "также у клиента" not in alone.text


def test_results_carry_their_action_type_for_the_form(as_role, session):
    page = as_role("manager").get("/counterparty-actions/add").text
    start = page.index('id="action_result"')
    tag = page[page.rindex("<select", 0, start):page.index(">", start)]
    types = json.loads(tag.split("data-action-types='")[1].split("'")[0]) if "='" in tag \
        else json.loads(tag.split('data-action-types="')[1].split('"')[0]
                        .replace("&#34;", '"').replace("&quot;", '"'))
    from app.models import ActionResult
    for result in session.scalars(select(ActionResult).where(ActionResult.is_active.is_(True))):
        assert types[str(result.id)] == result.action_type_id
