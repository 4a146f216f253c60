"""Foreign keys hold on both databases: SQLite checks them only when each
connection asks (app/__init__.py asks), PostgreSQL always."""
import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.models import Client, Note
from tests.conftest import unique


def test_a_row_cannot_point_at_a_missing_one(session):
    session.add(Client(name=unique("Сирота"), responsible_id=10**9))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_deleting_a_row_runs_its_on_delete_rules(session):
    client = Client(name=unique("Удаляемый"))
    session.add(client)
    session.flush()
    session.add(Note(client_id=client.id, text="заметка"))
    session.commit()
    # Plain SQL, not the ORM: the database itself removes the client's notes.
    session.execute(delete(Client).where(Client.id == client.id))
    session.commit()
    assert session.scalar(select(Note.id).where(Note.client_id == client.id)) is None
