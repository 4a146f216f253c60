"""The REST API follows the same roles and row-level rules as the screens."""
import uuid

import pytest
from sqlalchemy import func, select

from app.models import Client, Employee, PublicAccess
from tests.conftest import jwt_headers, unique


@pytest.fixture
def clients(session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    head = session.scalar(select(Employee.id).where(Employee.username == "head"))
    tag = unique("api")
    rows = {
        "own": Client(name=f"{tag} own", responsible_id=manager),
        "other": Client(name=f"{tag} other", responsible_id=head),
        "public_read": Client(name=f"{tag} read", responsible_id=head,
                              public_access=PublicAccess.READ),
    }
    session.add_all(rows.values())
    session.commit()
    return tag, {k: v.id for k, v in rows.items()}


def test_openapi_lists_every_register(as_role):
    spec = as_role("admin").get("/api/v1/_openapi").json
    for resource in ("client", "application", "lead", "deal", "task", "note", "project",
                     "contact", "counterparty_action", "invoice", "invoice_line"):
        assert f"/api/v1/{resource}/" in spec["paths"], resource


def test_api_needs_authentication(client):
    assert client.get("/api/v1/client/").status_code == 401


def test_manager_lists_only_visible_clients_with_a_jwt(app, clients):
    tag, ids = clients
    headers = jwt_headers(app, "manager")
    http = app.test_client()
    names = {row["name"] for row in http.get(
        f"/api/v1/client/?q=(filters:!((col:name,opr:sw,value:'{tag}')),page_size:100)",
        headers=headers).json["result"]}
    assert names == {f"{tag} own", f"{tag} read"}
    assert http.get(f"/api/v1/client/{ids['other']}", headers=headers).status_code == 404
    assert http.put(f"/api/v1/client/{ids['public_read']}", json={"city": "Омск"},
                    headers=headers).status_code == 403
    assert http.delete(f"/api/v1/client/{ids['other']}", headers=headers).status_code == 404
    response = http.put(f"/api/v1/client/{ids['own']}", json={"city": "Омск"}, headers=headers)
    assert response.status_code == 200, response.json


def test_manager_creates_via_api_with_validation(app, clients, session):
    tag, ids = clients
    http, headers = app.test_client(), jwt_headers(app, "manager")
    bad = http.post("/api/v1/client/", json={"name": f"{tag} bad", "phone": "12"},
                    headers=headers)
    assert bad.status_code == 422 and "phone" in bad.json["message"]
    good = http.post("/api/v1/client/", json={"name": f"{tag} new", "phone": "8 916 111-22-33"},
                     headers=headers)
    assert good.status_code == 201, good.json
    created = session.get(Client, good.json["id"])
    assert created.phone == "+79161112233"
    assert created.responsible.username == "manager"
    hidden = http.post("/api/v1/application/", json={"client": ids["other"], "amount": 5},
                       headers=headers)
    assert hidden.status_code == 403


def test_read_only_role_reads_but_cannot_write(app, clients):
    tag, ids = clients
    http, headers = app.test_client(), jwt_headers(app, "auditor")
    assert http.get(f"/api/v1/client/{ids['other']}", headers=headers).status_code == 200
    assert http.post("/api/v1/client/", json={"name": "x"}, headers=headers).status_code == 403
    assert http.delete(f"/api/v1/client/{ids['own']}", headers=headers).status_code == 403


def test_browser_session_is_accepted(as_role, clients):
    _, ids = clients
    response = as_role("manager").get(f"/api/v1/client/{ids['own']}")
    assert response.status_code == 200 and response.json["result"]["name"].endswith("own")


def test_dictionaries_over_the_api(app, session):
    from app.models import Client, ClientStatus

    status = ClientStatus(name=unique("API-статус"))
    session.add(status)
    session.flush()
    session.add(Client(name=unique("со статусом"), status_id=status.id))
    session.commit()
    http = app.test_client()
    manager, admin = jwt_headers(app, "manager"), jwt_headers(app, "admin")
    listing = http.get("/api/v1/task_status/?q=(page_size:100)", headers=manager).json
    assert "Завершена" in {row["name"] for row in listing["result"]}
    assert http.post("/api/v1/tag/", json={"name": "x"}, headers=manager).status_code == 403
    created = http.post("/api/v1/tag/", json={"name": unique("тег")}, headers=admin)
    assert created.status_code == 201, created.json
    refused = http.delete(f"/api/v1/client_status/{status.id}", headers=admin)
    assert refused.status_code == 422 and "Клиенты: 1" in refused.json["message"]
    second_base = http.post("/api/v1/currency/", json={
        "name": "Вторая", "code": "XTS", "rate": 1, "is_base": True}, headers=admin)
    assert second_base.status_code == 422


def test_api_applies_the_screens_name_rule(app, session):
    """One rule for a client's name on every channel: the full name when
    the name is empty, a refusal naming the field when both are."""
    http, headers = app.test_client(), jwt_headers(app, "manager")
    last = unique("Иванов").replace(" ", "")
    made = http.post("/api/v1/client/", json={"last_name": last, "first_name": "Иван"},
                     headers=headers)
    assert made.status_code == 201, made.json
    assert made.json["result"]["name"] == f"{last} Иван"
    refused = http.post("/api/v1/client/", json={"city": "Омск"}, headers=headers)
    assert refused.status_code == 422 and "name" in refused.json["message"]


@pytest.mark.parametrize("body", [
    {"amount": "Infinity"}, {"amount": "٣٠٠"}, {"amount": "1e10"},
    {"client": 99999999999999999999}, {"stage": "abc"}, {"title": "Я" * 300},
    {"title": "нуль\x00"},
])
def test_lead_conversion_refuses_bad_values(app, session, body):
    from app.models import Deal, Lead

    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    lead = Lead(title=unique("лид"), responsible_id=manager)
    session.add(lead)
    session.commit()
    deals = session.scalar(select(func.count()).select_from(Deal))
    answer = app.test_client().post(f"/api/v1/lead/{lead.id}/convert", json=body,
                                    headers=jwt_headers(app, "manager"))
    assert answer.status_code == 422, answer.json
    assert session.scalar(select(func.count()).select_from(Deal)) == deals


def test_a_database_refusal_shows_no_sql(app):
    """A value the database refuses (here a second currency with the same
    code) is a Russian 422 without the statement or its parameters."""
    http, headers = app.test_client(), jwt_headers(app, "admin")
    code = "Q" + uuid.uuid4().hex[:2].upper()
    first = http.post("/api/v1/currency/", json={"name": "Первая", "code": code, "rate": 1},
                      headers=headers)
    assert first.status_code == 201, first.json
    second = http.post("/api/v1/currency/", json={"name": "Вторая", "code": code, "rate": 1},
                       headers=headers)
    assert second.status_code == 422
    assert "INSERT" not in second.text and "[SQL" not in second.text and code not in second.text
    assert "Запись не сохранена" in second.json["message"]
