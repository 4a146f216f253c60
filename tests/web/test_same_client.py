"""A record of a client links only to that client's deal (or contact,
application, lead), on the screens and in the API alike, for every role."""
import pytest
from sqlalchemy import func, select

from app.models import Application, Client, CounterpartyAction, Deal, Task
from app.services import actions
from app.services.errors import Refused
from tests.conftest import employee_id, jwt_headers, unique


@pytest.fixture
def two_clients(session):
    """Two clients of the manager, each with a deal and an application."""
    manager = employee_id(session, "manager")
    tag = unique("свой")
    first, second = (Client(name=f"{tag} {n}", responsible_id=manager) for n in (1, 2))
    session.add_all([first, second])
    session.flush()
    deals = [Deal(title=f"{tag} сделка {c.name}", client_id=c.id, responsible_id=manager)
             for c in (first, second)]
    applications = [Application(client_id=c.id, amount=1000, responsible_id=manager)
                    for c in (first, second)]
    session.add_all(deals + applications)
    session.commit()
    return tag, (first.id, second.id), [d.id for d in deals], [a.id for a in applications]


def _tasks(session, tag):
    return session.scalar(select(func.count()).select_from(Task)
                          .where(Task.description.like(f"{tag}%")))


def test_the_api_refuses_a_task_on_another_clients_deal(app, session, two_clients):
    tag, clients, deals, _ = two_clients
    http, headers = app.test_client(), jwt_headers(app, "manager")
    refused = http.post("/api/v1/task/", headers=headers, json={
        "client": clients[0], "deal": deals[1], "description": f"{tag} чужая"})
    assert refused.status_code == 422, refused.json
    assert "другому клиенту" in str(refused.json["message"]["deal"])
    good = http.post("/api/v1/task/", headers=headers, json={
        "client": clients[0], "deal": deals[0], "description": f"{tag} своя"})
    assert good.status_code == 201, good.json
    # Moving a stored task to the other client leaves its link behind.
    moved = http.put(f"/api/v1/task/{good.json['id']}", headers=headers,
                     json={"client": clients[1]})
    assert moved.status_code == 422, moved.json
    session.expire_all()
    assert session.get(Task, good.json["id"]).client_id == clients[0]
    assert _tasks(session, tag) == 1


@pytest.mark.parametrize("role", ["manager", "head", "admin"])
def test_the_task_form_refuses_another_clients_deal_and_keeps_what_was_typed(
        as_role, session, two_clients, role):
    tag, clients, deals, _ = two_clients
    page = as_role(role).post("/tasks/add", {
        "client": str(clients[0]), "deal": str(deals[1]),
        "description": f"{tag} задача {role}", "planned_at": "05.12.2026 11:00"}).text
    assert "Относится к другому клиенту" in page
    assert f"{tag} задача {role}" in page
    assert _tasks(session, tag) == 0


def test_an_action_on_another_clients_deal_is_refused(as_role, session, two_clients):
    tag, clients, deals, _ = two_clients
    page = as_role("manager").post("/counterparty-actions/add", {
        "client": str(clients[0]), "deal": str(deals[1]), "result": f"{tag} звонок"}).text
    assert "Относится к другому клиенту" in page
    assert session.scalar(select(func.count()).select_from(CounterpartyAction).where(
        CounterpartyAction.result == f"{tag} звонок")) == 0


def test_an_action_without_anyone_is_refused_at_the_client_field(session):
    with pytest.raises(Refused) as refused:
        actions.prepare(session, CounterpartyAction(result="ни с кем"))
    assert refused.value.field == "client"
