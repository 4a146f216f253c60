"""Each register is created, listed, filtered, edited and deleted through its
screens by a role allowed to, and refused to the read-only role."""
import pytest
from sqlalchemy import select

from app.models import (
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    Employee,
    Invoice,
    Lead,
    Note,
    Project,
    Task,
)
from tests.conftest import unique


@pytest.fixture
def base_client(session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    client = Client(name=unique("CRUD-клиент"), responsible_id=manager)
    session.add(client)
    session.commit()
    return client.id


# url prefix, model, text field used to find the row, extra form fields
ENTITIES = [
    ("/contacts", ContactPerson, "name", {"position": "Бухгалтер"}),
    ("/leads", Lead, "title", {"status": "new"}),
    ("/deals", Deal, "title", {"status": "open", "amount": "1000", "probability": "10"}),
    ("/tasks", Task, "description", {"planned_at": "2036-11-25 10:00:00",
                                     "reminder_minutes": "60"}),
    ("/notes", Note, "text", {}),
    ("/projects", Project, "name", {}),
    ("/counterparty-actions", CounterpartyAction, "result", {}),
    # Tasks and invoices are dated ahead of the other tests' (today's): the
    # list shows the latest dates first, 25 to a page.
    ("/invoices", Invoice, "terms", {"status": "draft", "issue_date": "2036-11-20"}),
]


@pytest.mark.parametrize("role", ["manager", "head"])
@pytest.mark.parametrize("prefix, model, field, extra", ENTITIES,
                         ids=[e[0].strip("/") for e in ENTITIES])
def test_crud_through_the_screens(as_role, session, base_client, role, prefix, model,
                                  field, extra):
    user = as_role(role)
    value = unique("запись")
    data = {"client": str(base_client), field: value, **extra}
    page = user.post(f"{prefix}/add", data).text
    row_id = session.scalar(select(model.id).where(getattr(model, field) == value))
    assert row_id, page[-3000:]
    listing = user.get(f"{prefix}/list/").text
    assert f"{prefix}/show/{row_id}\"" in listing
    changed = value + " изменено"
    user.post(f"{prefix}/edit/{row_id}", {**data, field: changed})
    session.expire_all()
    assert getattr(session.get(model, row_id), field) == changed
    user.post(f"{prefix}/delete/{row_id}")
    session.expire_all()
    assert session.get(model, row_id) is None


@pytest.mark.parametrize("prefix", [e[0] for e in ENTITIES] + ["/clients", "/applications"])
def test_read_only_role_is_refused_every_write(as_role, prefix):
    auditor = as_role("auditor")
    assert auditor.get(f"{prefix}/add").status_code == 403
    assert auditor.post(f"{prefix}/add", {"name": "x"}).status_code == 403
