"""A module's data is gone before the next module (tests/fresh_data.py):
rows added, changed and deleted, and what the triggers wrote for them
(roll-ups, search words), on both databases."""
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from app.models import Client, ClientDay, Deal, TaskStatus
from app.services import history
from app.services.seed import seed_dictionaries
from tests.conftest import migrated_engine
from tests.fresh_data import Baseline


def _counts(engine):
    tables = [Client.__table__, ClientDay.__table__, Deal.__table__, TaskStatus.__table__]
    with engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in tables}


def test_restore_puts_back_the_setup_rows_and_nothing_else(database_url, tmp_path):
    token = history.acting_user_id.set(None)
    try:
        with migrated_engine(database_url, tmp_path) as engine:
            with Session(engine) as session:
                seed_dictionaries(session)
                session.add(Client(name="Исходный"))
                session.commit()
            baseline = Baseline(engine)
            baseline.take()
            before = _counts(engine)
            assert before["client_day"] == 1  # the trigger's roll-up of the client

            with Session(engine) as session:
                session.add_all([Client(name="Чужой модуль"), Client(name="Ещё один")])
                session.execute(update(Client).where(Client.name == "Исходный")
                                .values(name="Переименован"))
                session.execute(delete(TaskStatus).where(TaskStatus.id == session.scalar(
                    select(func.max(TaskStatus.id)))))
                session.commit()
                last_id = session.scalar(select(func.max(Client.id)))
            assert _counts(engine) != before

            baseline.restore()
            assert _counts(engine) == before
            with Session(engine) as session:
                assert session.scalars(select(Client.name)).all() == ["Исходный"]
                fresh = Client(name="Следующий")
                session.add(fresh)
                session.commit()
                if engine.dialect.name == "postgresql":
                    assert fresh.id > last_id  # the sequence went on counting
                # The search index follows the restored rows, not the removed ones.
                found = session.scalar(select(func.count()).select_from(Client).where(
                    Client.search.contains("чужой")))
                assert found == 0
            baseline.restore()  # a second time, with nothing but one insert to undo
            assert _counts(engine) == before
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM client")) == 1
    finally:
        history.acting_user_id.reset(token)
