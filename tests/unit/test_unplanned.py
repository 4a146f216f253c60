"""Deals and clients without a planned task (services/followup.py):
which rows the lists hold, and the plans that keep them index look-ups per
row on both databases, whatever ANALYZE says about tasks without a deal."""
import datetime
import json

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from app.jobs.followup import COUNT_LIMIT
from app.models import (
    Application,
    Client,
    Deal,
    DealStatus,
    ProcessingStatus,
    StatusKind,
    Task,
    TaskStatus,
    utcnow,
)
from app.services import followup
from tests.conftest import migrated_engine, unique


def _status(session, kind):
    return session.scalar(select(TaskStatus.id).where(TaskStatus.kind == kind)
                          .order_by(TaskStatus.id))


def test_what_counts_as_planned_and_in_work(session):
    now = utcnow().replace(microsecond=0)
    hour = datetime.timedelta(hours=1)
    open_, done = _status(session, StatusKind.OPEN), _status(session, StatusKind.DONE)

    def client(applications=(), deals=()):
        row = Client(name=unique("Клиент"))
        session.add(row)
        session.flush()
        session.add_all([Application(client_id=row.id, amount=1, status=s)
                         for s in applications])
        made = [Deal(title=unique("Сделка"), client_id=row.id, status=s) for s in deals]
        session.add_all(made)
        session.flush()
        return row, made

    def task(client_row, deal=None, at=now + hour, status=open_):
        session.add(Task(client_id=client_row.id, deal_id=deal and deal.id, planned_at=at,
                         status_id=status))

    processing, _ = client([ProcessingStatus.IN_PROCESSING])
    finished, _ = client([ProcessingStatus.COMPLETED, ProcessingStatus.REFUSED])
    done_only, (deal_done,) = client(deals=[DealStatus.OPEN])
    task(done_only, deal_done, status=done)
    past, (deal_past,) = client(deals=[DealStatus.OPEN])
    task(past, deal_past, at=now - hour)
    no_status, (deal_no_status,) = client(deals=[DealStatus.OPEN])
    task(no_status, deal_no_status, status=None)
    right_now, (deal_now,) = client(deals=[DealStatus.OPEN])
    task(right_now, deal_now, at=now)
    planned, _ = client([ProcessingStatus.IN_PROCESSING])
    task(planned)
    client_task, (deal_client_task,) = client(deals=[DealStatus.OPEN])
    task(client_task)  # the client's task, not the deal's
    closed, (won, lost) = client(deals=[DealStatus.WON, DealStatus.LOST])
    session.commit()

    deals = set(session.scalars(select(Deal.id).where(Deal.id.in_(
        followup.unplanned_deals_query(session, now).with_only_columns(Deal.id)))))
    clients = set(session.scalars(select(Client.id).where(Client.id.in_(
        followup.unplanned_clients_query(session, now).with_only_columns(Client.id)))))
    assert {deal_done.id, deal_past.id, deal_client_task.id} <= deals
    assert not {deal_no_status.id, deal_now.id, won.id, lost.id} & deals
    assert {processing.id, done_only.id, past.id} <= clients
    assert not {finished.id, no_status.id, right_now.id, planned.id, client_task.id,
                closed.id} & clients


def test_count_of_stops_at_the_limit(session):
    query = followup.unplanned_deals_query(session, utcnow())
    everything = followup.count_of(session, query)
    assert followup.count_of(session, query, 1) == min(everything, 1)
    assert followup.count_of(session, query, everything + 5) == everything


# --- plans -----------------------------------------------------------------------------

NOW = datetime.datetime(2025, 6, 16, 6, 0)
CLIENTS, TASKS = 400, 12_000


@pytest.fixture
def skewed(database_url, tmp_path):
    """A database of its own where no task has a deal and most are planned
    after NOW, analysed: the statistics that made SQLite walk the planned
    index once per deal."""
    with migrated_engine(database_url, tmp_path) as engine:
        with engine.begin() as conn:
            statuses = [conn.execute(insert(TaskStatus).values(name=name, kind=kind)
                                     .returning(TaskStatus.id)).scalar_one()
                        for name, kind in (("В работе", StatusKind.OPEN),
                                           ("Завершена", StatusKind.DONE))]
            conn.execute(insert(Client), [{"id": i, "name": f"Клиент {i}"}
                                          for i in range(1, CLIENTS + 1)])
            conn.execute(insert(Deal), [{"id": i, "title": f"Сделка {i}", "client_id": i}
                                        for i in range(1, CLIENTS + 1)])
            conn.execute(insert(Application), [{"client_id": i, "amount": 1}
                                               for i in range(1, CLIENTS + 1, 2)])
            conn.execute(insert(Task), [
                {"client_id": 1 + i % CLIENTS, "status_id": statuses[i % 2],
                 "planned_at": NOW + datetime.timedelta(hours=i % 1000 - 300)}
                for i in range(TASKS)])
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        yield engine


def _statements(engine, run):
    """The SQL statements (with parameters) ``run`` sends."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [(s, p) for s, p in seen if "FROM task" in s]


def _plan(engine, statement, parameters, *settings):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return [row[3] for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
        for setting in settings:
            conn.exec_driver_sql(f"SET LOCAL {setting}")
        return conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                    parameters).scalar()[0]["Plan"]


def _nodes(plan):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


@pytest.mark.parametrize("which", ["deals", "clients"])
def test_each_row_is_looked_up_by_index(skewed, which):
    with Session(skewed) as session:
        query = (followup.unplanned_deals_query if which == "deals"
                 else followup.unplanned_clients_query)(session, NOW)
        statements = _statements(skewed, lambda: (
            session.scalars(query.limit(50).offset(100)).all(),
            followup.count_of(session, query, COUNT_LIMIT)))
        assert followup.count_of(session, query, 10) == 10
    assert len(statements) == 2
    task_index = "ix_task_deal_planned" if which == "deals" else "ix_task_client_planned"
    for statement, parameters in statements:
        plan = _plan(skewed, statement, parameters)
        if skewed.dialect.name == "sqlite":
            on_task = [line for line in plan if " task " in f"{line} "]
            assert on_task and all(f"COVERING INDEX {task_index} (" in line
                                   for line in on_task), plan
            assert not any("TEMP B-TREE" in line for line in plan), plan
            if which == "deals":
                assert any("ix_deal_status_id (status=?)" in line for line in plan), plan
            else:
                assert any(line.startswith("SCAN client") for line in plan), plan
                for index in ("ix_application_client_status", "ix_deal_client_status"):
                    assert any(f"COVERING INDEX {index} (client_id=? AND status=?)" in line
                               for line in plan), plan
        else:
            nodes = list(_nodes(plan))
            on_task = [n for n in nodes if n.get("Relation Name") == "task"]
            assert on_task and all(n.get("Index Name") == task_index for n in on_task), plan
            # A look-up under OR stays one per row, never a hash of every
            # application in processing, even where index reads look dear
            # (as at a million rows, where an EXISTS was hashed).
            dear = _plan(skewed, statement, parameters, "random_page_cost = 1000")
            assert "hashed SubPlan" not in json.dumps(dear), dear
