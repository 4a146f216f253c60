"""Statistics on a known dataset in a database of its own: exact counts and
sums, every status kind, and the period's edges at midnight Moscow time
(21:00 UTC the day before)."""
import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Application,
    Client,
    Currency,
    Deal,
    DealStatus,
    Department,
    Employee,
    FunnelStage,
    ProcessingStatus,
    SalesPlan,
    StatusKind,
    Task,
    TaskStatus,
    TaskType,
)
from app.services import localtime, stats
from app.services.errors import Refused
from app.services.seed import seed_dictionaries
from tests.conftest import migrated_engine

TZ = "Europe/Moscow"
MARCH = stats.Period(datetime.date(2033, 3, 1), datetime.date(2033, 3, 31))
T = datetime.datetime
# Local midnight of 1 March and of 1 April, in UTC.
START, END = T(2033, 2, 28, 21, 0), T(2033, 3, 31, 21, 0)
BEFORE, LAST = START - datetime.timedelta(seconds=1), END - datetime.timedelta(seconds=1)
MID = T(2033, 3, 15, 9, 0)


@pytest.fixture(scope="module")
def data(database_url, tmp_path_factory):
    with migrated_engine(database_url, tmp_path_factory.mktemp("stats")) as engine, \
            Session(engine) as session:
        seed_dictionaries(session)
        session.commit()
        ids = _fill(session)
        yield session, ids


def _status(session, kind):
    return session.scalar(select(TaskStatus).where(TaskStatus.kind == kind)
                          .order_by(TaskStatus.id))


def _fill(session):
    top = Department(name="Продажи")
    sub = Department(name="Регионы", parent=top)
    a, b, c = (Employee(username=u, first_name=u.upper(), last_name="Статов", email=f"{u}@x.ru",
                        active=True) for u in ("a", "b", "c"))
    a.department, b.department = top, sub
    session.add_all([top, sub, a, b, c])
    session.flush()
    done, open_, refused, junk = (_status(session, k) for k in
                                  (StatusKind.DONE, StatusKind.OPEN, StatusKind.REFUSED,
                                   StatusKind.JUNK))
    call = session.scalar(select(TaskType).where(TaskType.name == "Звонок"))
    meeting = session.scalar(select(TaskType).where(TaskType.name == "Встреча"))

    def task(who, when, status, type_=None):
        session.add(Task(assignee_id=who.id, planned_at=when, status=status, type=type_))

    task(a, START, open_)          # 00:00 on 1 March: in
    task(a, BEFORE, done)          # 23:59:59 on 28 February: out
    task(a, LAST, done, call)      # 23:59:59 on 31 March: in
    task(a, END, done)             # 00:00 on 1 April: out
    task(a, MID, done, call)
    task(a, MID, done, meeting)
    task(a, MID, refused)
    task(a, MID, junk)
    task(a, MID, None)             # no status yet: in processing
    task(b, MID, open_)
    task(b, MID, open_, call)
    task(b, MID, refused)
    task(c, MID, done)
    session.add(Task(assignee_id=None, planned_at=MID, status=open_))

    client = Client(name="Клиент", responsible_id=a.id, created_at=BEFORE)
    session.add(client)
    session.flush()

    def application(who, day, status, amount):
        session.add(Application(client_id=client.id, responsible_id=who.id,
                                date=datetime.date(2033, 3, day) if isinstance(day, int) else day,
                                status=status, amount=Decimal(amount)))

    application(a, 1, ProcessingStatus.COMPLETED, "1000.50")
    application(a, 31, ProcessingStatus.COMPLETED, "2000")
    application(a, datetime.date(2033, 4, 1), ProcessingStatus.COMPLETED, "5000")
    application(a, datetime.date(2033, 2, 28), ProcessingStatus.COMPLETED, "7000")
    application(a, 25, ProcessingStatus.REFUSED, "700")
    application(a, 26, ProcessingStatus.IN_PROCESSING, "300")
    application(a, 26, ProcessingStatus.COMPLETED, "50")
    application(b, 10, ProcessingStatus.COMPLETED, "400")

    usd = Currency(name="Тестовый доллар", code="XTS", rate=Decimal("90"))
    session.add(usd)
    stages = session.scalars(select(FunnelStage).order_by(FunnelStage.sort_order,
                                                          FunnelStage.id)).all()

    def deal(who, status, amount, closed, created=MID, currency=None, stage=None):
        session.add(Deal(title="Сделка", client_id=client.id, responsible_id=who.id,
                         status=status, amount=Decimal(amount), closed_at=closed,
                         created_at=created, currency=currency, stage=stage))

    deal(a, DealStatus.WON, "10000", START, stage=stages[4])
    deal(a, DealStatus.WON, "999", BEFORE, created=BEFORE, stage=stages[4])
    deal(a, DealStatus.LOST, "5000", MID, stage=stages[1])
    deal(a, DealStatus.WON, "100", MID, currency=usd, stage=stages[3])
    deal(b, DealStatus.WON, "500", T(2033, 3, 20, 12), stage=stages[0])
    deal(b, DealStatus.OPEN, "250.25", None, created=LAST, stage=stages[0])

    # Clients created in March by stage: 4, 3, 0, 2, 1 and one without.
    for index, count in enumerate((4, 3, 0, 2, 1)):
        for i in range(count):
            session.add(Client(name=f"К{index}{i}", responsible_id=(a if i % 2 else b).id,
                               funnel_stage=stages[index], created_at=MID))
    session.add(Client(name="Без стадии", responsible_id=c.id, created_at=LAST))
    session.add(Client(name="Февраль", responsible_id=a.id, funnel_stage=stages[0],
                       created_at=BEFORE))
    session.add(SalesPlan(manager_id=a.id, month=datetime.date(2033, 3, 1), deals=4,
                          revenue=Decimal("44001"), calls=4))
    session.add(SalesPlan(manager_id=b.id, month=datetime.date(2033, 4, 1), deals=1,
                          revenue=Decimal("1"), calls=1))
    session.commit()
    return {"a": a.id, "b": b.id, "c": c.id, "top": top.id, "sub": sub.id,
            "stages": [s.id for s in stages]}


def _row(rows, employee_id):
    return next(r for r in rows if r.employee_id == employee_id)


def test_period_edges_are_local_midnights():
    assert MARCH.utc_bounds(TZ) == (START, END)
    today = datetime.date(2033, 5, 17)
    assert stats.make_period("today", today) == stats.Period(today, today, "today")
    assert stats.make_period("week", today).start == datetime.date(2033, 5, 11)
    assert stats.make_period("month", today) == stats.Period(
        datetime.date(2033, 5, 1), datetime.date(2033, 5, 31), "month")
    assert stats.make_period("quarter", today) == stats.Period(
        datetime.date(2033, 4, 1), datetime.date(2033, 6, 30), "quarter")
    assert stats.make_period("quarter", datetime.date(2033, 12, 31)).end == \
        datetime.date(2033, 12, 31)
    for args in ((None, today), (today, today - datetime.timedelta(days=1)),
                 (today, today + datetime.timedelta(days=800))):
        with pytest.raises(Refused):
            stats.make_period("custom", today, *args)
    with pytest.raises(Refused):
        stats.make_period("decade", today)
    assert localtime.today(TZ, datetime.datetime(2033, 3, 31, 21, 0,
                                                   tzinfo=datetime.timezone.utc)) == \
        datetime.date(2033, 4, 1)


def test_task_figures_by_kind_with_edges(data):
    session, ids = data
    totals = stats.task_totals(session, MARCH, stats.Scope(), TZ)
    # a: 7 (3 done, 2 open, 1 refused, 1 junk), b: 3, c: 1, nobody: 1.
    assert vars(totals) == {"total": 12, "done": 4, "open": 5, "refused": 2, "junk": 1}
    mine = stats.task_totals(session, MARCH, stats.make_scope(session, manager_id=ids["a"]), TZ)
    assert vars(mine) == {"total": 7, "done": 3, "open": 2, "refused": 1, "junk": 1}
    # The department takes its sub-department: a and b, not c.
    department = stats.make_scope(session, department_id=ids["top"])
    assert department.employee_ids == {ids["a"], ids["b"]}
    assert stats.task_totals(session, MARCH, department, TZ).total == 10
    sub = stats.make_scope(session, department_id=ids["sub"])
    assert stats.task_totals(session, MARCH, sub, TZ).total == 3
    one_day = stats.Period(datetime.date(2033, 3, 31), datetime.date(2033, 3, 31))
    assert stats.task_totals(session, one_day, stats.Scope(), TZ).total == 1
    with pytest.raises(Refused):
        stats.make_scope(session, manager_id=999999)


def test_employee_rows_with_profit(data):
    session, ids = data
    rows = stats.employee_rows(session, MARCH, stats.Scope(), TZ, sort="profit",
                               descending=True)
    a, b, c = (_row(rows, ids[k]) for k in "abc")
    assert rows[0] is a
    assert (a.tasks.total, a.tasks.done, a.tasks.open, a.tasks.refused, a.tasks.junk) == \
        (7, 3, 2, 1, 1)
    assert (a.applications, a.applications_sum) == (3, Decimal("3050.50"))
    # 10 000 closed at 00:00 on 1 March, 100 XTS at 90; 999 (February) and the lost one out.
    assert (a.deals, a.deals_sum) == (2, Decimal("19000.00"))
    assert a.profit == Decimal("22050.50")
    assert (b.tasks.total, b.tasks.open, b.tasks.refused, b.profit) == (3, 2, 1, Decimal("900.00"))
    assert (c.tasks.total, c.tasks.done, c.profit) == (1, 1, Decimal("0.00"))
    assert _row(rows, None).tasks.total == 1
    by_name = stats.employee_rows(session, MARCH, stats.make_scope(
        session, department_id=ids["top"]), TZ)
    assert [r.employee_id for r in by_name] == [ids["a"], ids["b"]]


def test_dashboard_and_applications_per_day(data):
    session, ids = data
    board = stats.dashboard(session, MARCH, stats.Scope(), TZ, today=datetime.date(2033, 3, 27))
    assert board.totals.total == 12 and board.profit == Decimal("22950.50")
    days = dict(board.days)
    assert list(days) == [datetime.date(2033, 3, d) for d in range(21, 28)]
    assert days[datetime.date(2033, 3, 25)] == {"refused": 1}
    assert days[datetime.date(2033, 3, 26)] == {"in_processing": 1, "completed": 1}
    assert days[datetime.date(2033, 3, 21)] == {}
    # Up to the period's end when it is over.
    late = stats.dashboard(session, MARCH, stats.Scope(), TZ, today=datetime.date(2033, 6, 1))
    assert late.days[-1] == (datetime.date(2033, 3, 31), {"completed": 1})
    only_b = stats.applications_per_day(session, datetime.date(2033, 3, 31),
                                        stats.make_scope(session, manager_id=ids["b"]))
    assert all(not counts for _, counts in only_b)


def test_funnel_by_stage_with_conversion(data):
    session, ids = data
    report = stats.funnel(session, MARCH, stats.Scope(), TZ)
    assert [s.stage_id for s in report.stages] == ids["stages"]
    assert [s.name for s in report.stages][:2] == ["Потенциальный клиент", "Звонок"]
    assert [s.clients for s in report.stages] == [4, 3, 0, 2, 1]
    assert [s.clients_reached for s in report.stages] == [10, 6, 3, 3, 1]
    assert [s.clients_conversion for s in report.stages] == [
        None, Decimal("60.0"), Decimal("50.0"), Decimal("100.0"), Decimal("33.3")]
    # Deals created in March: b's two at stage 1, a's lost at 2, a's USD at 4, a's 10 000 at 5.
    assert [s.deals for s in report.stages] == [2, 1, 0, 1, 1]
    assert [s.deals_won for s in report.stages] == [1, 0, 0, 1, 1]
    assert report.stages[0].deals_sum == Decimal("750.25")
    assert report.stages[3].deals_sum == Decimal("9000.00")
    assert [s.deals_reached for s in report.stages] == [5, 3, 2, 2, 1]
    assert report.without_stage.clients == 1 and report.clients == 11
    assert report.deals_sum == Decimal("24750.25")
    own = stats.funnel(session, MARCH, stats.make_scope(session, manager_id=ids["a"]), TZ)
    assert [s.clients for s in own.stages] == [2, 1, 0, 1, 0]
    assert own.without_stage.clients == 0


def test_stage_names_as_edited_and_inactive_stages_without_data_hidden(data):
    session, ids = data
    stage = session.get(FunnelStage, ids["stages"][2])
    old = stage.name
    stage.name, stage.is_active = "КП отправлено", False
    session.commit()
    try:
        report = stats.funnel(session, MARCH, stats.Scope(), TZ)
        assert stage.id not in [s.stage_id for s in report.stages]  # no data, inactive
        stage.is_active = True
        session.commit()
        report = stats.funnel(session, MARCH, stats.Scope(), TZ)
        assert report.stages[2].name == "КП отправлено"
    finally:
        stage.name, stage.is_active = old, True
        session.commit()


def test_plan_vs_fact(data):
    session, ids = data
    rows = stats.plan_vs_fact(session, datetime.date(2033, 3, 17), stats.Scope(), TZ,
                              ["Звонок"])
    a = next(r for r in rows if r.manager_id == ids["a"])
    assert (a.plan.deals, a.deals, a.deals_pct) == (4, 2, Decimal("50.0"))
    assert (a.revenue, a.revenue_pct) == (Decimal("22050.50"), Decimal("50.1"))
    # Completed calls: two of a's (one at 23:59:59 on 31 March); b's open call does not count.
    assert (a.calls, a.calls_pct) == (2, Decimal("50.0"))
    b = next(r for r in rows if r.manager_id == ids["b"])
    assert b.plan is None and b.deals_pct is None and b.revenue == Decimal("900.00")
    assert rows[0] is a  # planned managers first
    april = stats.plan_vs_fact(session, datetime.date(2033, 4, 1),
                               stats.make_scope(session, manager_id=ids["b"]), TZ, ["Звонок"])
    assert [(r.manager_id, r.plan.deals, r.deals) for r in april] == [(ids["b"], 1, 0)]


def test_dashboard_counts_plans_from_its_own_figures_for_a_whole_month(data):
    session, ids = data
    month = stats.make_period("month", datetime.date(2033, 3, 5))
    board = stats.dashboard(session, month, stats.Scope(), TZ, call_types=["Звонок"])
    alone = stats.plan_vs_fact(session, month.end, stats.Scope(), TZ, ["Звонок"])
    assert [(r.manager_id, r.deals, r.revenue, r.calls) for r in board.plans] == \
        [(r.manager_id, r.deals, r.revenue, r.calls) for r in alone]
    assert next(r for r in board.plans if r.manager_id == ids["a"]).calls == 2
    # Another period: the plan's month is counted too, in the same passes.
    week = stats.Period(datetime.date(2033, 3, 25), datetime.date(2033, 3, 31))
    weekly = stats.dashboard(session, week, stats.Scope(), TZ, call_types=["Звонок"])
    assert [(r.manager_id, r.deals, r.revenue, r.calls) for r in weekly.plans] == \
        [(r.manager_id, r.deals, r.revenue, r.calls) for r in alone]
    a = next(r for r in weekly.rows if r.employee_id == ids["a"])
    # 31 and 26 March; the deals were won before the week.
    assert (a.applications, a.applications_sum, a.deals) == (2, Decimal("2050.00"), 0)
    assert next(r for r in weekly.plans if r.manager_id == ids["a"]).calls == 2


def test_plan_conflict(data):
    session, ids = data
    twin = SalesPlan(manager_id=ids["a"], month=datetime.date(2033, 3, 20))
    assert stats.plan_conflict(session, twin)
    other = SalesPlan(manager_id=ids["a"], month=datetime.date(2033, 5, 1))
    assert stats.plan_conflict(session, other) is None


def test_whole_days_and_edge_hours_count_once_and_follow_changes(data):
    """May 2033 in Moscow is 21:00 UTC on 30 April to 21:00 UTC on 31 May: the
    roll-up answers for 1–30 May (UTC), the tasks for the hours around."""
    session, ids = data
    c, may = ids["c"], stats.Period(datetime.date(2033, 5, 1), datetime.date(2033, 5, 31))
    refused = _status(session, StatusKind.REFUSED)
    moments = [T(2033, 4, 30, 20, 59, 59), T(2033, 4, 30, 21), T(2033, 4, 30, 23, 59, 59),
               T(2033, 5, 1), T(2033, 5, 31), T(2033, 5, 31, 20, 59, 59), T(2033, 5, 31, 21)]
    tasks = [Task(assignee_id=c, planned_at=m, status=refused) for m in moments]
    clients = [Client(name=f"Май {i}", responsible_id=c, created_at=m)
               for i, m in enumerate(moments)]
    session.add_all(tasks + clients)
    session.commit()
    scope = stats.make_scope(session, manager_id=c)
    try:
        assert vars(stats.task_totals(session, may, scope, TZ)) == {
            "total": 5, "done": 0, "open": 0, "refused": 5, "junk": 0}
        assert stats.funnel(session, may, scope, TZ).without_stage.clients == 5
        # Periods without a whole UTC day: the tasks alone.
        first = stats.Period(datetime.date(2033, 5, 1), datetime.date(2033, 5, 1))
        last = stats.Period(datetime.date(2033, 5, 31), datetime.date(2033, 5, 31))
        assert stats.task_totals(session, first, scope, TZ).total == 3
        assert stats.task_totals(session, last, scope, TZ).total == 2
        # An edited task, a deleted one and a status given another kind count
        # at once: the roll-up follows, and kinds are read when counting.
        tasks[3].status = None
        session.delete(tasks[1])
        session.commit()
        assert vars(stats.task_totals(session, may, scope, TZ)) == {
            "total": 4, "done": 0, "open": 1, "refused": 3, "junk": 0}
        refused.kind = StatusKind.JUNK
        session.commit()
        assert stats.task_totals(session, may, scope, TZ).junk == 3
    finally:
        refused.kind = StatusKind.REFUSED
        for record in tasks[:1] + tasks[2:] + clients:
            session.delete(record)
        session.commit()
