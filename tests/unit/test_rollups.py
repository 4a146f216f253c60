"""The statistics roll-ups (task_day, client_day, application_day) stay
exact whatever writes the records: the ORM, multi-row and set-based Core
statements, a rolled-back transaction, concurrent transactions on
PostgreSQL; a rebuild repairs them; a period splits into whole UTC days
and edge hours."""
import datetime
import threading
from decimal import Decimal

import pytest
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.models import (
    Application,
    ApplicationDay,
    Client,
    ClientDay,
    Employee,
    FunnelStage,
    ProcessingStatus,
    Task,
    TaskDay,
    TaskStatus,
)
from app.services import history, rollups
from app.services.seed import seed_dictionaries
from tests.conftest import migrated_engine

T = datetime.datetime
D = datetime.date


@pytest.fixture(scope="module")
def engine(database_url, tmp_path_factory):
    # Nobody acts here: an earlier request's user is not in this database.
    token = history.acting_user_id.set(None)
    with migrated_engine(database_url, tmp_path_factory.mktemp("rollups")) as engine:
        with Session(engine) as session:
            seed_dictionaries(session)
            session.add_all([Employee(username=u, first_name=u, last_name="Сводов",
                                      email=f"{u}@x.ru", active=True) for u in ("r1", "r2")])
            session.add(Client(name="Свод"))
            session.commit()
        yield engine
    history.acting_user_id.reset(token)


@pytest.fixture
def ids(engine):
    with Session(engine) as session:
        people = session.scalars(select(Employee.id).where(Employee.username.in_(["r1", "r2"]))
                                 .order_by(Employee.username)).all()
        statuses = session.scalars(select(TaskStatus.id).order_by(TaskStatus.id)).all()
        stages = session.scalars(select(FunnelStage.id).order_by(FunnelStage.id)).all()
        client = session.scalar(select(Client.id).where(Client.name == "Свод"))
    return {"a": people[0], "b": people[1], "s1": statuses[0], "s2": statuses[1],
            "stage1": stages[0], "stage2": stages[1], "client": client}


def _exact(engine):
    with engine.connect() as conn:
        assert rollups.check(conn) == {}


def _tasks(engine, day, assignee, status):
    with engine.connect() as conn:
        return _tasks_in(conn, day, assignee, status)


def _tasks_in(conn, day, assignee, status):
    return conn.scalar(select(func.coalesce(func.sum(TaskDay.n), 0)).where(
        TaskDay.day == day, TaskDay.assignee_id == assignee, TaskDay.status_id == status))


def test_split_into_whole_utc_days_and_edge_hours():
    # March in Moscow: 21:00 UTC on 28 February to 21:00 UTC on 31 March.
    days, edges = rollups.split(T(2033, 2, 28, 21), T(2033, 3, 31, 21))
    assert days == (D(2033, 3, 1), D(2033, 3, 31))
    assert edges == [(T(2033, 2, 28, 21), T(2033, 3, 1)), (T(2033, 3, 31), T(2033, 3, 31, 21))]
    # UTC midnights: no edges at all.
    assert rollups.split(T(2033, 3, 1), T(2033, 3, 3)) == ((D(2033, 3, 1), D(2033, 3, 3)), [])
    # One local day holds no whole UTC day: the tasks answer alone.
    assert rollups.split(T(2033, 3, 4, 21), T(2033, 3, 5, 21)) == (
        None, [(T(2033, 3, 4, 21), T(2033, 3, 5, 21))])
    # A zone west of UTC: the edge hours are at the other ends of the days.
    days, edges = rollups.split(T(2033, 3, 1, 5), T(2033, 3, 3, 5))
    assert days == (D(2033, 3, 2), D(2033, 3, 3))
    assert edges == [(T(2033, 3, 1, 5), T(2033, 3, 2)), (T(2033, 3, 3), T(2033, 3, 3, 5))]


def test_orm_writes_keep_tasks_exact(engine, ids):
    a, b, s1, s2 = ids["a"], ids["b"], ids["s1"], ids["s2"]
    day, next_day = D(2040, 1, 10), D(2040, 1, 11)
    with Session(engine) as session:
        late = Task(assignee_id=a, status_id=s1, planned_at=T(2040, 1, 10, 23, 59, 59))
        session.add_all([late, Task(assignee_id=a, status_id=s1, planned_at=T(2040, 1, 10)),
                         Task(assignee_id=None, status_id=None, planned_at=T(2040, 1, 10, 12))])
        session.commit()
        assert _tasks(engine, day, a, s1) == 2 and _tasks(engine, day, 0, 0) == 1
        late.planned_at = T(2040, 1, 11)  # one second later: the next UTC day
        session.commit()
        assert (_tasks(engine, day, a, s1), _tasks(engine, next_day, a, s1)) == (1, 1)
        late.status_id, late.assignee_id = s2, b
        session.commit()
        assert (_tasks(engine, next_day, a, s1), _tasks(engine, next_day, b, s2)) == (0, 1)
        session.add(Task(assignee_id=b, status_id=s2, planned_at=T(2040, 1, 11, 8)))
        session.flush()
        session.rollback()  # nothing of it stays
        assert _tasks(engine, next_day, b, s2) == 1
        session.delete(late)
        session.commit()
        assert _tasks(engine, next_day, b, s2) == 0
    _exact(engine)


def test_set_based_statements_keep_tasks_exact(engine, ids):
    a, b, s1 = ids["a"], ids["b"], ids["s1"]
    day = D(2040, 2, 1)
    with engine.begin() as conn:
        conn.execute(insert(Task), [{"assignee_id": a if i % 3 else b, "status_id": s1,
                                     "planned_at": T(2040, 2, 1, i % 24)} for i in range(30)])
    assert (_tasks(engine, day, a, s1), _tasks(engine, day, b, s1)) == (20, 10)
    february = Task.planned_at.between(T(2040, 2, 1), T(2040, 2, 1, 23, 59))
    with engine.begin() as conn:
        # One statement moves tasks both ways between the same two cells.
        conn.execute(update(Task).where(february).values(
            assignee_id=case((Task.assignee_id == a, b), else_=a)))
    assert (_tasks(engine, day, a, s1), _tasks(engine, day, b, s1)) == (10, 20)
    with engine.begin() as conn:
        conn.execute(update(Task).where(february).values(description="no key changes"))
        conn.execute(delete(Task).where(february, Task.assignee_id == b))
    assert (_tasks(engine, day, a, s1), _tasks(engine, day, b, s1)) == (10, 0)
    _exact(engine)


def test_clients_and_application_amounts_in_kopecks(engine, ids):
    a, stage1, stage2 = ids["a"], ids["stage1"], ids["stage2"]
    day = D(2040, 3, 5)
    with Session(engine) as session:
        client = Client(name="Свод 2", responsible_id=a, funnel_stage_id=stage1,
                        created_at=T(2040, 3, 5, 22))
        # 0.29 is no exact binary fraction: SQLite stores the amount as REAL.
        applications = [Application(client_id=ids["client"], responsible_id=a, date=day,
                                    amount=Decimal(amount), status=ProcessingStatus.COMPLETED)
                        for amount in ("0.29", "1000.50", "0.01")]
        session.add_all([client, *applications])
        session.commit()
        applications[1].amount = Decimal("999.99")
        applications[2].status = ProcessingStatus.REFUSED
        client.funnel_stage_id = stage2
        session.commit()
        with engine.connect() as conn:
            completed = conn.execute(select(ApplicationDay.n, ApplicationDay.kopecks).where(
                ApplicationDay.day == day, ApplicationDay.responsible_id == a,
                ApplicationDay.status == "completed")).one()
            stages = dict(conn.execute(select(ClientDay.stage_id, ClientDay.n).where(
                ClientDay.day == day, ClientDay.responsible_id == a)).all())
        assert tuple(completed) == (2, 100028)
        assert stages == {stage1: 0, stage2: 1}
        session.delete(applications[0])
        session.commit()
    _exact(engine)


def test_rebuild_repairs_what_bypassed_the_triggers(engine, ids):
    with engine.begin() as conn:
        conn.execute(insert(Task), [{"assignee_id": ids["a"], "status_id": ids["s1"],
                                     "planned_at": T(2040, 4, 1, 9)}])
        conn.execute(delete(TaskDay).where(TaskDay.day == D(2040, 4, 1)))
        conn.execute(update(ClientDay).values(n=ClientDay.n + 1))
        assert set(rollups.check(conn)) == {"task_day", "client_day"}
        rollups.rebuild(conn)
    _exact(engine)
    assert _tasks(engine, D(2040, 4, 1), ids["a"], ids["s1"]) == 1


def _pending_rows(conn):
    """What waits for a fold: the pending sums (PostgreSQL), the rows above
    the marks (SQLite, where the marks must be gone after the block)."""
    if conn.dialect.name == "postgresql":
        return sum(conn.scalar(select(func.count()).select_from(rollups._pending(model)))
                   for model in (TaskDay, ClientDay, ApplicationDay))
    marks = dict(conn.execute(select(rollups.MARKS.c.source, rollups.MARKS.c.last_id)).all())
    return sum(conn.scalar(select(func.count()).where(model.id > marks[model.__tablename__]))
               for model in (Task, Client, Application) if model.__tablename__ in marks)


def test_deferred_writes_count_once_folded(engine, ids):
    """A bulk write's changes wait for a fold and count exactly once folded,
    whatever the statements did meanwhile (updates and deletes of rows
    folded or not, a savepoint rolled back)."""
    a, b, s1, s2 = ids["a"], ids["b"], ids["s1"], ids["s2"]
    day = D(2040, 7, 1)
    with engine.begin() as conn:
        with rollups.deferred(conn) as fold:
            conn.execute(insert(Task), [{"assignee_id": a, "status_id": s1,
                                         "planned_at": T(2040, 7, 1, h)} for h in range(6)])
            gone = conn.execute(insert(Task).returning(Task.id), [{
                "assignee_id": a, "status_id": s2, "planned_at": T(2040, 7, 1, 12)}]).scalar()
            conn.execute(delete(Task).where(Task.id == gone))
            conn.execute(insert(Application), [{
                "client_id": ids["client"], "responsible_id": a, "date": day,
                "amount": Decimal("10.10"), "status": "completed",
                "created_at": T(2040, 7, 1), "updated_at": T(2040, 7, 1)}] * 3)
            in_july = Task.planned_at.between(T(2040, 7, 1), T(2040, 7, 1, 23))
            conn.execute(update(Task).where(in_july, Task.planned_at < T(2040, 7, 1, 2))
                         .values(assignee_id=b))
            # Not counted yet, not even by this transaction.
            assert _tasks_in(conn, day, a, s1) == 0 and _pending_rows(conn) > 0
            fold()
            assert (_tasks_in(conn, day, a, s1), _tasks_in(conn, day, b, s1)) == (4, 2)
            assert _tasks_in(conn, day, a, s2) == 0
            assert _pending_rows(conn) == 0
            savepoint = conn.begin_nested()
            conn.execute(update(Task).where(in_july).values(status_id=s2))
            savepoint.rollback()  # its pending rows go with it
            conn.execute(delete(Task).where(in_july, Task.assignee_id == b))
        assert _pending_rows(conn) == 0
        assert conn.dialect.name == "postgresql" or conn.scalar(
            select(func.count()).select_from(rollups.MARKS)) == 0
        assert (_tasks_in(conn, day, a, s1), _tasks_in(conn, day, b, s1)) == (4, 0)
        amounts = conn.execute(select(ApplicationDay.n, ApplicationDay.kopecks).where(
            ApplicationDay.day == day, ApplicationDay.status == "completed")).one()
        assert tuple(amounts) == (3, 3030)
        # After the block the triggers count at once again.
        conn.execute(insert(Task), [{"assignee_id": b, "status_id": s1,
                                     "planned_at": T(2040, 7, 1, 9)}])
        assert _tasks_in(conn, day, b, s1) == 1
    _exact(engine)


def test_an_error_in_a_deferred_write_leaves_nothing_pending(engine, ids):
    row = {"assignee_id": ids["a"], "status_id": ids["s1"], "planned_at": T(2040, 8, 1, 9)}
    with engine.begin() as conn:
        with pytest.raises(RuntimeError), rollups.deferred(conn):
            conn.execute(insert(Task), [row])
            raise RuntimeError("the file ended too early")
        assert _pending_rows(conn) == 0 and _tasks_in(conn, D(2040, 8, 1), ids["a"],
                                                      ids["s1"]) == 1
        conn.execute(insert(Task), [row])  # counted at once: the setting is off
        assert _tasks_in(conn, D(2040, 8, 1), ids["a"], ids["s1"]) == 2
    _exact(engine)


def test_a_deferred_write_rolled_back_leaves_the_triggers_counting(engine, ids):
    """As an import that is only checked: the deferral inside a savepoint
    that is rolled back; the triggers then count as before it."""
    row = {"assignee_id": ids["b"], "status_id": ids["s2"], "planned_at": T(2040, 9, 1, 9)}
    with engine.begin() as conn:
        savepoint = conn.begin_nested()
        with rollups.deferred(conn):
            conn.execute(insert(Task), [row, row])
        assert _tasks_in(conn, D(2040, 9, 1), ids["b"], ids["s2"]) == 2
        savepoint.rollback()
        assert _tasks_in(conn, D(2040, 9, 1), ids["b"], ids["s2"]) == 0
        conn.execute(insert(Task), [row])
        assert _tasks_in(conn, D(2040, 9, 1), ids["b"], ids["s2"]) == 1
    _exact(engine)


def test_concurrent_writers_count_exactly(engine, ids, database_url):
    """PostgreSQL: a second transaction adding to the same day waits for the
    first one's roll-up row and then adds to it; both count."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    day, a, s2 = D(2040, 5, 1), ids["a"], ids["s2"]
    row = {"assignee_id": a, "status_id": s2, "planned_at": T(2040, 5, 1, 10)}
    errors = []

    def second():
        try:
            with engine.begin() as conn:
                conn.execute(insert(Task), [row, row])
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    with engine.begin() as conn:
        conn.execute(insert(Task), [row])
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)  # it waits on the row this transaction holds
        assert thread.is_alive()
    thread.join(10)
    assert not errors and _tasks(engine, day, a, s2) == 3
    _exact(engine)


def test_commands_check_and_rebuild(app):
    from app import db
    from app.cli import sdelka_cli

    runner = app.test_cli_runner()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(insert(Task), [{"planned_at": T(2040, 6, 1, 12)}])
            conn.execute(delete(TaskDay).where(TaskDay.day == D(2040, 6, 1)))
        broken = runner.invoke(sdelka_cli, ["check-rollups"])
        assert broken.exit_code == 1 and "task_day 1" in broken.output
        assert runner.invoke(sdelka_cli, ["rebuild-rollups"]).exit_code == 0
        fixed = runner.invoke(sdelka_cli, ["check-rollups"])
        assert fixed.exit_code == 0 and "match" in fixed.output
        with db.engine.begin() as conn:
            conn.execute(delete(Task).where(Task.planned_at == T(2040, 6, 1, 12)))
