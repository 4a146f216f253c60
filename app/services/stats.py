"""Statistics: task figures, the
applications of the last days, figures per employee, the sales funnel and
plan against fact.

Every function takes a session, a ``Period`` (local days) and a ``Scope``
(whose figures) and runs grouped queries: the database returns one row per
group, never the records themselves. Tasks, clients and applications are
counted from per-day roll-ups that triggers keep exact (services/rollups.py),
the hours at a period's edges from the records. The web screens, the
exports and the scheduled jobs call the same functions.

What counts where (the lists linked from the dashboard filter the same way):

- a task belongs to the day it is planned for (``planned_at``) and to its
  assignee; its status kind splits it into completed (done), in processing
  (open, or no status yet), client refusals (refused) and junk;
- an application belongs to its date and its responsible employee;
- a won deal counts on the day it was closed (``closed_at``); amounts of
  deals in another currency are converted at the currency's rate;
- profit earned = won deals + completed applications of the period;
- the funnel counts clients and deals created in the period by their
  current stage.
"""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from app.models import (
    ApplicationDay,
    Client,
    ClientDay,
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
    TaskDay,
    TaskStatus,
    TaskType,
)
from app.services import localtime, rollups, trees
from app.services.errors import Refused

PERIOD_KINDS = ("today", "week", "month", "quarter", "custom")
MAX_DAYS = 2 * 366
ZERO = Decimal("0.00")


# --- Period and scope ----------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local calendar days from ``start`` to ``end``, both included."""

    start: datetime.date
    end: datetime.date
    kind: str = "custom"

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def utc_bounds(self, tz_name):
        """[since, until) in naive UTC: local midnight of the first day and of
        the day after the last one, as stored timestamps are compared."""
        return localtime.midnight_utc(self.start, tz_name), localtime.midnight_utc(
            self.end + datetime.timedelta(days=1), tz_name)




def month_start(day):
    return day.replace(day=1)


def month_end(day):
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def make_period(kind, today, start=None, end=None):
    """The period of a choice on the dashboard; ``start``/``end`` (dates)
    only for "custom". Raises Refused with a message for the user."""
    if kind == "today":
        return Period(today, today, kind)
    if kind == "week":
        return Period(today - datetime.timedelta(days=6), today, kind)
    if kind == "month":
        return Period(month_start(today), month_end(today), kind)
    if kind == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return Period(first, month_end(first.replace(month=first.month + 2)), kind)
    if kind != "custom":
        raise Refused(_l("Unknown period"))
    if start is None or end is None:
        raise Refused(_l("Enter both dates of the period"))
    if end < start:
        raise Refused(_l("The period cannot end before it starts"))
    if (end - start).days + 1 > MAX_DAYS:
        raise Refused(_l("A period is at most %(n)d days long", n=MAX_DAYS))
    return Period(start, end, kind)


@dataclass(frozen=True)
class Scope:
    """Whose figures: everyone (``employee_ids`` None), one manager, or the
    employees of a department and its sub-departments."""

    employee_ids: frozenset | None = None
    manager_id: int | None = None
    department_id: int | None = None

    def where(self, column):
        """SQL condition on an employee column (None: no condition)."""
        return None if self.employee_ids is None else column.in_(sorted(self.employee_ids))


def make_scope(session, *, manager_id=None, department_id=None):
    if manager_id:
        if session.get(Employee, manager_id) is None:
            raise Refused(_l("No such employee"))
        return Scope(frozenset({manager_id}), manager_id=manager_id)
    if department_id:
        if session.get(Department, department_id) is None:
            raise Refused(_l("No such department"))
        branch = trees.branch_ids(session, Department, department_id)
        ids = session.scalars(select(Employee.id).where(Employee.department_id.in_(branch)))
        return Scope(frozenset(ids), department_id=department_id)
    return Scope()


def _where(query, *conditions):
    return query.where(*(c for c in conditions if c is not None))


# --- Tasks -----------------------------------------------------------------------


@dataclass
class TaskFigures:
    total: int = 0
    done: int = 0
    open: int = 0  # in processing
    refused: int = 0  # client refusals
    junk: int = 0


def _status_kind(kind):
    """Ids of the task statuses of a kind: a short dictionary, read inside
    the statement that counts."""
    return select(TaskStatus.id).where(TaskStatus.kind == kind)


def _rolled_up(since, until, rolled, raw):
    """One query of [since, until): its whole UTC days from a roll-up
    (``rolled(days)``: a query), the hours left at its edges from the records
    (``raw(start, end)``: queries), with the same columns."""
    days, edges = rollups.split(since, until)
    parts = [rolled(days)] if days else []
    for start, end in edges:
        parts += raw(start, end)
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


def _task_rows(since, until, scope):
    """(who, status, n) of the tasks planned in [since, until); 0 is nobody
    and no status."""
    def rolled(days):
        # Summed per assignee and status first: the status kinds are then
        # sorted out on a few hundred rows, not on every day's.
        return _where(select(TaskDay.assignee_id.label("who"),
                             TaskDay.status_id.label("status"), func.sum(TaskDay.n).label("n"))
                      .where(rollups.within(TaskDay, days))
                      .group_by(TaskDay.assignee_id, TaskDay.status_id),
                      scope.where(TaskDay.assignee_id))

    def raw(start, end):
        query = select(func.coalesce(Task.assignee_id, 0).label("who"),
                       func.coalesce(Task.status_id, 0).label("status"),
                       literal(1).label("n")).where(Task.planned_at >= start,
                                                    Task.planned_at < end)
        if scope.employee_ids is not None:
            return [query.where(scope.where(Task.assignee_id))]
        # Everyone as the list of employees and nobody: index-only ranges of
        # ix_task_assignee_planned_status, which PostgreSQL before 18 cannot
        # skip-scan.
        return [query.where(Task.assignee_id.in_(select(Employee.id))),
                query.where(Task.assignee_id.is_(None))]

    return _rolled_up(since, until, rolled, raw)


def task_groups(session, period, scope, tz_name):
    """{assignee id: TaskFigures} of the tasks planned in the period.

    Whole days come from the roll-up task_day, the hours of the first and
    the last UTC day from the tasks themselves (index only on
    ix_task_assignee_planned_status)."""
    since, until = period.utc_bounds(tz_name)
    rows = _task_rows(since, until, scope)

    def of(kind):
        return func.sum(case((rows.c.status.in_(_status_kind(kind)), rows.c.n), else_=0))

    query = (select(rows.c.who, func.sum(rows.c.n), of(StatusKind.DONE),
                    of(StatusKind.REFUSED), of(StatusKind.JUNK))
             .group_by(rows.c.who))
    groups = {}
    for who, total, done, refused, junk in session.execute(query):
        total, done, refused, junk = (int(v or 0) for v in (total, done, refused, junk))
        groups[who or None] = TaskFigures(total, done, total - done - refused - junk,
                                          refused, junk)
    return groups


def done_calls(session, period, scope, tz_name, call_types):
    """{assignee id: done calls planned in the period}: done tasks of the
    task types named ``call_types`` and their sub-types; an index range of
    ix_task_status_planned_type per done status, the type and the assignee
    read from the index."""
    if not call_types:
        return {}
    since, until = period.utc_bounds(tz_name)
    # Counted per status first: grouped by the assignee alone, SQLite would
    # rather walk ix_task_assignee_planned_status (already in that order)
    # through every task of the period.
    per_status = _where(
        select(Task.assignee_id.label("who"), func.count().label("n"))
        .where(Task.status_id.in_(_status_kind(StatusKind.DONE)),
               Task.planned_at >= since, Task.planned_at < until,
               Task.type_id.in_(_type_branches(call_types)))
        .group_by(Task.status_id, Task.assignee_id),
        scope.where(Task.assignee_id)).subquery()
    return {who: int(n) for who, n in session.execute(
        select(per_status.c.who, func.sum(per_status.c.n)).group_by(per_status.c.who))}


def _type_branches(names):
    """Ids of the task types named so, with everything below them."""
    branch = select(TaskType.id).where(TaskType.name.in_(list(names))).cte(recursive=True)
    below = aliased(TaskType)
    branch = branch.union(select(below.id).where(below.parent_id == branch.c.id))
    return select(branch.c.id)


def task_totals(session, period, scope, tz_name):
    return _sum_figures(task_groups(session, period, scope, tz_name).values())


def _sum_figures(figures):
    total = TaskFigures()
    for f in figures:
        for name in ("total", "done", "open", "refused", "junk"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
    return total


# --- Applications and deals ------------------------------------------------------


def applications_per_day(session, end, scope, days=7):
    """[(day, {status value: count})] for ``days`` days up to ``end``."""
    start = end - datetime.timedelta(days=days - 1)
    query = _where(
        select(ApplicationDay.day, ApplicationDay.status, func.sum(ApplicationDay.n))
        .where(rollups.within(ApplicationDay, (start, end + datetime.timedelta(days=1))))
        .group_by(ApplicationDay.day, ApplicationDay.status),
        scope.where(ApplicationDay.responsible_id))
    found = {}
    for day, status, n in session.execute(query):
        found.setdefault(day, {})[ProcessingStatus(status).value] = int(n)
    return [(start + datetime.timedelta(days=i),
             found.get(start + datetime.timedelta(days=i), {})) for i in range(days)]


def _base_amount():
    """A deal's amount in the base currency (currency rate, 1 when none)."""
    return Deal.amount * func.coalesce(Currency.rate, 1)


def _money(value):
    return Decimal(value or 0).quantize(Decimal("0.01"))


def completed_applications(session, period, scope):
    """{responsible id: (count, sum)} of applications completed in the period."""
    return _completed_applications(session, scope, [period])[0]


def won_deals(session, period, scope, tz_name):
    """{responsible id: (count, sum in the base currency)} of deals won
    (closed) in the period."""
    return _won_deals(session, scope, tz_name, [period])[0]


def _completed_applications(session, scope, periods):
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    query = _where(
        select(ApplicationDay.responsible_id)
        .where(ApplicationDay.status == ProcessingStatus.COMPLETED.value,
               rollups.within(ApplicationDay, (first, last + datetime.timedelta(days=1))))
        .group_by(ApplicationDay.responsible_id),
        scope.where(ApplicationDay.responsible_id))
    return _per_period(
        session, query, periods,
        lambda p: and_(ApplicationDay.day >= p.start, ApplicationDay.day <= p.end),
        (func.sum(ApplicationDay.n), func.sum(ApplicationDay.kopecks)),
        lambda n, kopecks: (int(n), Decimal(int(kopecks)).scaleb(-2)))


def _won_deals(session, scope, tz_name, periods):
    bounds = [p.utc_bounds(tz_name) for p in periods]
    query = _where(
        select(Deal.responsible_id)
        .outerjoin(Currency, Deal.currency_id == Currency.id)
        .where(Deal.status == DealStatus.WON, Deal.closed_at >= min(b[0] for b in bounds),
               Deal.closed_at < max(b[1] for b in bounds))
        .group_by(Deal.responsible_id),
        scope.where(Deal.responsible_id))
    inside = dict(zip(periods, bounds))
    return _per_period(
        session, query, periods,
        lambda p: and_(Deal.closed_at >= inside[p][0], Deal.closed_at < inside[p][1]),
        (func.count(), func.sum(_base_amount())),
        lambda n, total: (n, _money(total)))


def _per_period(session, query, periods, inside, aggregates, convert):
    """[{employee: convert(*aggregates)} for each period] in one pass of
    ``query`` (one row per employee, over all the periods): each aggregate
    filtered to the rows ``inside(period)``; employees with none left out."""
    columns = [a.filter(inside(p)) for p in periods for a in aggregates]
    found = [{} for _ in periods]
    for who, *values in session.execute(query.add_columns(*columns)):
        for i in range(len(periods)):
            part = values[i * len(aggregates):(i + 1) * len(aggregates)]
            if part[0]:
                found[i][who or None] = convert(*part)
    return found


# --- Per employee ---------------------------------------------------------------


@dataclass
class EmployeeRow:
    employee_id: int | None
    name: str
    tasks: TaskFigures = field(default_factory=TaskFigures)
    applications: int = 0
    applications_sum: Decimal = ZERO
    deals: int = 0
    deals_sum: Decimal = ZERO

    @property
    def profit(self):
        return self.applications_sum + self.deals_sum


SORT_KEYS = {
    "name": lambda r: (r.name or "").lower(),
    "total": lambda r: r.tasks.total,
    "done": lambda r: r.tasks.done,
    "open": lambda r: r.tasks.open,
    "refused": lambda r: r.tasks.refused,
    "junk": lambda r: r.tasks.junk,
    "deals": lambda r: r.deals_sum,
    "applications": lambda r: r.applications_sum,
    "profit": lambda r: r.profit,
}


@dataclass
class Dashboard:
    period: Period
    scope: Scope
    totals: TaskFigures
    rows: list
    days: list
    profit: Decimal
    plans: list | None = None


def employee_rows(session, period, scope, tz_name, sort="name", descending=False,
                  figures=None, people=None):
    """One row per employee in the scope (the active ones, and anyone with
    figures in the period); tasks nobody is assigned to form a row of
    their own when the scope is everyone. ``figures``: (tasks,
    applications, deals) of the period when already counted; ``people``:
    ``_people`` of (at least) their ids when already read."""
    groups, applications, deals = figures or _figures(session, period, scope, tz_name)
    ids = set(groups) | set(applications) | set(deals)
    people = people or _people(session, ids, scope)
    rows = {who: EmployeeRow(who, name) for who, (name, active) in people.items()
            if active or who in ids}
    if None in ids:
        rows[None] = EmployeeRow(None, str(_l("Nobody assigned")))
    for who, figures in groups.items():
        rows[who].tasks = figures
    for who, (n, total) in applications.items():
        rows[who].applications, rows[who].applications_sum = n, total
    for who, (n, total) in deals.items():
        rows[who].deals, rows[who].deals_sum = n, total
    key = SORT_KEYS.get(sort, SORT_KEYS["name"])
    return sorted(rows.values(), key=lambda r: (key(r), r.name), reverse=descending)


def _people(session, ids, scope):
    """{employee id: (name, active)} of the active employees in the scope
    and of ``ids``: the columns only, no user objects."""
    query = _where(select(Employee.id, Employee.last_name, Employee.first_name,
                          Employee.middle_name, Employee.username, Employee.active)
                   .where(or_(Employee.active.is_(True), Employee.id.in_(sorted(ids - {None})))),
                   scope.where(Employee.id))
    return {who: (" ".join(p for p in (last, first, middle) if p) or username, active)
            for who, last, first, middle, username, active in session.execute(query)}


def _figures(session, period, scope, tz_name, month=None):
    """(tasks, applications, deals) of the period; with ``month`` also its
    (applications, deals), counted in the same passes."""
    periods = [period] if month is None else [period, month]
    applications = _completed_applications(session, scope, periods)
    deals = _won_deals(session, scope, tz_name, periods)
    figures = (task_groups(session, period, scope, tz_name), applications[0], deals[0])
    return figures if month is None else (figures, (applications[1], deals[1]))


def dashboard(session, period, scope, tz_name, sort="name", descending=False, today=None,
              call_types=None):
    """Everything the dashboard shows; the chart's seven days end on the
    period's last day, or today if the period runs on past today. With
    ``call_types`` (task type names) also plan vs fact for the month of the
    period's end, from the same figures when the period is that month."""
    month = Period(month_start(period.end), month_end(period.end), "month")
    if call_types is None or (month.start, month.end) == (period.start, period.end):
        figures = _figures(session, period, scope, tz_name)
        monthly = figures[1:]
    else:
        figures, monthly = _figures(session, period, scope, tz_name, month)
    ids = set(figures[0]) | set(figures[1]) | set(figures[2])
    facts = None
    if call_types is not None:
        facts = _plan_facts(session, period.end, scope, tz_name, call_types, monthly)
        ids |= _plan_ids(facts)
    people = _people(session, ids, scope)
    rows = employee_rows(session, period, scope, tz_name, sort, descending, figures, people)
    today = today or localtime.today(tz_name)
    last = period.end if period.start > today else min(period.end, today)
    return Dashboard(period, scope, _sum_figures(figures[0].values()), rows,
                     applications_per_day(session, last, scope),
                     sum((r.profit for r in rows), ZERO),
                     None if facts is None else _plan_rows(facts, people))


# --- Sales funnel ---------------------------------------------------------------


@dataclass
class StageRow:
    stage_id: int | None
    name: str
    probability: int = 0
    clients: int = 0
    clients_reached: int = 0
    clients_conversion: Decimal | None = None
    deals: int = 0
    deals_sum: Decimal = ZERO
    deals_won: int = 0
    deals_reached: int = 0
    deals_conversion: Decimal | None = None


@dataclass
class Funnel:
    period: Period
    scope: Scope
    stages: list
    without_stage: StageRow

    @property
    def clients(self):
        return sum(s.clients for s in self.stages) + self.without_stage.clients

    @property
    def deals(self):
        return sum(s.deals for s in self.stages) + self.without_stage.deals

    @property
    def deals_sum(self):
        return sum((s.deals_sum for s in self.stages), self.without_stage.deals_sum)


def percent(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def funnel(session, period, scope, tz_name):
    """Clients and deals created in the period, by their current funnel
    stage in the stages' order (names as the admin edited them). "Reached"
    counts those at the stage or further; conversion is the share of the
    previous stage's reached that reached this one."""
    since, until = period.utc_bounds(tz_name)
    clients = _clients_by_stage(session, since, until, scope)
    deals = {stage: (n, _money(total), won or 0) for stage, n, total, won in session.execute(
        _where(select(Deal.stage_id, func.count(), func.sum(_base_amount()),
                      func.sum(case((Deal.status == DealStatus.WON, 1), else_=0)))
               .outerjoin(Currency, Deal.currency_id == Currency.id)
               .where(Deal.created_at >= since, Deal.created_at < until)
               .group_by(Deal.stage_id),
               scope.where(Deal.responsible_id)))}
    stages = []
    for stage in session.scalars(select(FunnelStage).order_by(FunnelStage.sort_order,
                                                               FunnelStage.id)):
        if not stage.is_active and stage.id not in clients and stage.id not in deals:
            continue
        n, total, won = deals.get(stage.id, (0, ZERO, 0))
        stages.append(StageRow(stage.id, stage.name, stage.probability,
                               clients.get(stage.id, 0), deals=n, deals_sum=total,
                               deals_won=won))
    reached_clients = reached_deals = 0
    for row in reversed(stages):
        reached_clients += row.clients
        reached_deals += row.deals
        row.clients_reached, row.deals_reached = reached_clients, reached_deals
    for previous, row in zip(stages, stages[1:]):
        row.clients_conversion = percent(row.clients_reached, previous.clients_reached)
        row.deals_conversion = percent(row.deals_reached, previous.deals_reached)
    n, total, won = deals.get(None, (0, ZERO, 0))
    without = StageRow(None, str(_l("No stage")), clients=clients.get(None, 0), deals=n,
                       deals_sum=total, deals_won=won)
    return Funnel(period, scope, stages, without)


def _clients_by_stage(session, since, until, scope):
    """{stage id or None: clients created in [since, until)}."""
    def rolled(days):
        return _where(select(ClientDay.stage_id.label("stage"), func.sum(ClientDay.n).label("n"))
                      .where(rollups.within(ClientDay, days)).group_by(ClientDay.stage_id),
                      scope.where(ClientDay.responsible_id))

    def raw(start, end):
        # Index only on ix_client_created_responsible_stage.
        return [_where(select(func.coalesce(Client.funnel_stage_id, 0).label("stage"),
                              literal(1).label("n"))
                       .where(Client.created_at >= start, Client.created_at < end),
                       scope.where(Client.responsible_id))]

    rows = _rolled_up(since, until, rolled, raw)
    return {stage or None: int(n) for stage, n in session.execute(
        select(rows.c.stage, func.sum(rows.c.n)).group_by(rows.c.stage))}


# --- Plans ------------------------------------------------------------------------


@dataclass
class PlanRow:
    manager_id: int
    name: str
    plan: SalesPlan | None
    deals: int = 0
    revenue: Decimal = ZERO
    calls: int = 0

    def _pct(self, fact, attr):
        return percent(fact, getattr(self.plan, attr)) if self.plan else None

    @property
    def deals_pct(self):
        return self._pct(self.deals, "deals")

    @property
    def revenue_pct(self):
        return self._pct(self.revenue, "revenue")

    @property
    def calls_pct(self):
        return self._pct(self.calls, "calls")


def plan_vs_fact(session, month, scope, tz_name, call_types=()):
    """Plan and fact of each manager with a plan for ``month`` (any day of
    it) or with facts in it: won deals, revenue (profit earned) and
    completed calls (done tasks of the call types, by name)."""
    facts = _plan_facts(session, month, scope, tz_name, call_types)
    return _plan_rows(facts, _people(session, _plan_ids(facts), scope))


def _plan_facts(session, month, scope, tz_name, call_types, figures=None):
    """(plans, applications, deals, calls) of the month by manager;
    ``figures``: its (applications, deals) if counted."""
    period = Period(month_start(month), month_end(month), "month")
    plans = {p.manager_id: p for p in session.scalars(_where(
        select(SalesPlan).where(SalesPlan.month == period.start),
        scope.where(SalesPlan.manager_id)))}
    applications, deals = figures or (completed_applications(session, period, scope),
                                      won_deals(session, period, scope, tz_name))
    return plans, applications, deals, done_calls(session, period, scope, tz_name, call_types)


def _plan_ids(facts):
    return set().union(*facts) - {None}


def _plan_rows(facts, people):
    plans, applications, deals, calls = facts
    rows = []
    for who in _plan_ids(facts):
        row = PlanRow(who, people.get(who, ("", False))[0], plans.get(who))
        row.deals, deals_sum = deals.get(who, (0, ZERO))
        row.revenue = deals_sum + applications.get(who, (0, ZERO))[1]
        row.calls = calls.get(who, 0)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.plan is None, r.name.lower()))


def plan_conflict(session, plan):
    """Another plan of the same manager and month, if any. A form sets the
    relationship, not the id: either may be there."""
    month = month_start(plan.month)
    manager_id = plan.manager.id if plan.manager is not None else plan.manager_id
    return session.scalar(select(SalesPlan.id).where(
        and_(SalesPlan.manager_id == manager_id, SalesPlan.month == month,
             SalesPlan.id != (plan.id or 0))))
