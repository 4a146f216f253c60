"""Every change of a tracked record writes history through one service."""
from decimal import Decimal

from sqlalchemy import func, select

from app.models import (
    Application,
    Client,
    Employee,
    HistoryEntry,
    ProcessingStatus,
    Region,
)
from app.services import history
from tests.conftest import unique, with_history


def _entries(session, entity, entity_id, since=0):
    """History of one record after entry ``since``: SQLite gives a deleted
    record's id to the next one, whose history then follows the old one's."""
    return session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == entity, HistoryEntry.entity_id == entity_id,
        HistoryEntry.id > since).order_by(HistoryEntry.id)).all()


def test_create_update_delete_are_recorded_with_the_acting_user(session):
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    since = session.scalar(select(func.max(HistoryEntry.id))) or 0
    token = history.acting_user_id.set(manager.id)
    try:
        region = Region(name=unique("Регион"))
        client = Client(name=unique("История"), phone="+79160000001")
        session.add_all([region, client])
        session.commit()
        client.phone = "+79160000002"
        client.region = region
        client.participants.append(manager)
        session.commit()
        application = Application(client=client, amount=Decimal("10"))
        session.add(application)
        session.commit()
        application.status = ProcessingStatus.COMPLETED
        session.commit()
        app_id = application.id
        session.delete(application)
        session.commit()
    finally:
        history.acting_user_id.reset(token)

    rows = _entries(session, "client", client.id)
    assert [r.action for r in rows] == ["create", "update", "update", "update"]
    changes = {r.field: (r.old_value, r.new_value) for r in rows[1:]}
    assert changes["phone"] == ("+79160000001", "+79160000002")
    assert changes["region"] == (None, region.name)
    assert changes["participants"][1] == str(manager)
    assert all(r.user_id == manager.id for r in rows)
    app_rows = _entries(session, "application", app_id, since)
    assert [(r.action, r.field) for r in app_rows] == [
        ("create", None), ("update", "status"), ("delete", None)]
    assert app_rows[1].old_value == "in_processing" and app_rows[1].new_value == "completed"
    assert all(r.client_id == client.id for r in app_rows)


def test_a_rolled_back_change_leaves_no_history(session):
    client = Client(name=unique("Откат"))
    session.add(client)
    session.flush()
    session.rollback()
    assert session.scalar(select(HistoryEntry).where(
        HistoryEntry.new_value == client.name)) is None


def test_edit_through_the_screen_shows_on_the_client_page(as_role, session):
    manager_id = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    client = Client(name=unique("Карточка"), phone="+79160000003", responsible_id=manager_id)
    session.add(client)
    session.commit()
    manager = as_role("manager")
    manager.post(f"/clients/edit/{client.id}", {
        "kind": "person", "name": client.name, "phone": "+7 916 000-00-04",
        "public_access": "private", "responsible": str(manager_id), "city": "Тула"})
    page = with_history(manager, f"/clients/show/{client.id}")
    assert "История" in page
    history_part = page.split('id="history"')[1]
    assert "+79160000004" in history_part and "Тула" in history_part
    assert "Город" in history_part and "Телефон" in history_part
    assert "Тестов Manager" in history_part  # who changed it
    # Newest first: the edit comes before the creation.
    assert history_part.index("изменён") < history_part.index("создан")
