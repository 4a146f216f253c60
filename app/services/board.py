"""The deals board («Воронка»): the open deals in one column per funnel
stage, in the admin's order, each with its count and sum in the base
currency and its newest cards; the rest of a column comes on scroll.

Everything here reads the index ix_deal_board (status, stage_id, id,
responsible, client, currency, amount): the sums walk the open deals in
stage order without a sort and without the table, a column's cards are a
range read backwards. Row access is the list's rule (services/access.py),
in its "driving" form: the visible clients are gathered once, then tested
per index entry. Moving a card is services/deals.move, the record page's
rule path."""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select

from app.models import Client, Currency, Deal, DealStatus, Department, Employee, FunnelStage, Task
from app.services import access, localtime, trees
from app.services.followup import is_open

PAGE = 20
# Deals without a stage (made before the funnel had one): a column first.
NO_STAGE = 0


@dataclass(frozen=True)
class Filters:
    """What the board shows: all open deals visible to the user, or those of
    one employee, of a department's employees, created in a period of
    local days (first, last), or of one client."""

    responsible_id: int = None
    department_id: int = None
    period: tuple = None
    client_id: int = None


@dataclass
class Column:
    stage_id: int
    name: str
    probability: int
    count: int = 0
    total: Decimal = Decimal(0)
    cards: list = field(default_factory=list)


@dataclass
class Card:
    id: int
    title: str
    amount: Decimal
    currency: str
    probability: int
    client_id: int
    client: str
    responsible: str
    task_id: int = None
    task: str = None
    task_at: datetime.datetime = None
    overdue: bool = False
    client_link: bool = True  # may the user open the client


def _where(session, user_id, filters, tz_name, driving):
    """The conditions on Deal every query of the board shares. ``driving``:
    the row rule's form for counting (the visible clients gathered once),
    else the per-row form for a column's first cards (the walk stops at
    the page)."""
    conditions = [Deal.status == DealStatus.OPEN]
    if user_id is not None:
        conditions.append(access.clause(Deal, user_id, driving=driving))
    if filters.responsible_id is not None:
        conditions.append(Deal.responsible_id == filters.responsible_id)
    if filters.department_id is not None:
        branch = trees.branch_ids(session, Department, filters.department_id)
        conditions.append(Deal.responsible_id.in_(
            select(Employee.id).where(Employee.department_id.in_(branch))))
    if filters.period is not None:
        first, last = filters.period
        conditions += [Deal.created_at >= localtime.midnight_utc(first, tz_name),
                       Deal.created_at < localtime.midnight_utc(
                           last + datetime.timedelta(days=1), tz_name)]
    if filters.client_id is not None:
        conditions.append(Deal.client_id == filters.client_id)
    return conditions


def _stage_condition(stage_id):
    return Deal.stage_id.is_(None) if stage_id == NO_STAGE else Deal.stage_id == stage_id


def base_currency(session):
    """The code of the base currency («RUB» unless the admin chose another)."""
    return session.scalar(select(Currency.code).where(Currency.is_base.is_(True))) or "RUB"


def _totals(session, where):
    """{stage id or NO_STAGE: (count, sum in the base currency)}. Grouped by
    the stage alone, the index's order, so there is no sort: one sum of all
    amounts and one per currency whose rate is not 1, corrected here."""
    rates = {cid: Decimal(rate) for cid, rate in session.execute(
        select(Currency.id, Currency.rate)) if Decimal(rate) != 1}
    foreign = list(rates)
    totals = {}
    for stage_id, count, amount, *sums in session.execute(
            select(Deal.stage_id, func.count(), func.sum(Deal.amount),
                   *[func.sum(case((Deal.currency_id == cid, Deal.amount))) for cid in foreign])
            .where(*where).group_by(Deal.stage_id)):
        total = Decimal(amount or 0) + sum(
            (Decimal(part) * (rates[cid] - 1) for cid, part in zip(foreign, sums) if part),
            Decimal(0))
        totals[NO_STAGE if stage_id is None else stage_id] = (
            count, total.quantize(Decimal("0.01")))
    return totals


def columns(session, user_id, filters=Filters(), tz_name="Europe/Moscow", now=None,
            with_cards=True):
    """The board: [Column] with counts, sums and (``with_cards``) each
    column's first cards. ``user_id``: whose rows are visible (None: all)."""
    # One employee's or one client's deals are few: testing each of them
    # costs less than gathering every visible client first (a manager's
    # board of a colleague at 300 000 deals on SQLite: 100 against 140 ms).
    few = filters.responsible_id is not None or filters.client_id is not None
    totals = _totals(session, _where(session, user_id, filters, tz_name, driving=not few))
    stages = session.execute(
        select(FunnelStage.id, FunnelStage.name, FunnelStage.probability, FunnelStage.is_active)
        .order_by(FunnelStage.sort_order, FunnelStage.id)).all()
    board = [Column(NO_STAGE, "", 0)] if NO_STAGE in totals else []
    # An inactive stage keeps its column while deals are still in it.
    board += [Column(s.id, s.name, s.probability) for s in stages
              if s.is_active or s.id in totals]
    where = _where(session, user_id, filters, tz_name, driving=False)
    pages = {}
    for column in board:
        column.count, column.total = totals.get(column.stage_id, (0, Decimal(0)))
        if column.count and with_cards:
            pages[column.stage_id] = _page(session, where, column.stage_id, None, PAGE)
    described = {card.id: card for card in describe(
        session, [i for ids in pages.values() for i in ids], now=now, user_id=user_id)}
    for column in board:
        column.cards = [described[i] for i in pages.get(column.stage_id, ()) if i in described]
    return board


def _page(session, where, stage_id, before_id, limit):
    query = select(Deal.id).where(*where, _stage_condition(stage_id))
    if before_id is not None:
        query = query.where(Deal.id < before_id)
    return list(session.scalars(query.order_by(Deal.id.desc()).limit(limit)))


def cards(session, user_id, stage_id, filters=Filters(), tz_name="Europe/Moscow",
          before_id=None, limit=PAGE, now=None):
    """The column's cards newest first, after the card ``before_id``."""
    where = _where(session, user_id, filters, tz_name, driving=False)
    return describe(session, _page(session, where, stage_id, before_id, limit), now=now,
                    user_id=user_id)


def describe(session, ids, now=None, user_id=None):
    """[Card] of the deals ``ids``, in that order: their client (linked when
    ``user_id`` may open it), responsible and next open task (the earliest
    planned)."""
    if not ids:
        return []
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    rows = session.execute(
        select(Deal.id, Deal.title, Deal.amount, Deal.probability, Deal.client_id,
               Client.name.label("client"), Currency.code, Employee.first_name, Employee.last_name)
        .join(Client, Client.id == Deal.client_id)
        .outerjoin(Currency, Currency.id == Deal.currency_id)
        .outerjoin(Employee, Employee.id == Deal.responsible_id)
        .where(Deal.id.in_(ids))).all()
    found = {}
    for row in rows:
        responsible = " ".join(filter(None, (row.first_name, row.last_name)))
        found[row.id] = Card(row.id, row.title, row.amount, row.code or "", row.probability,
                             row.client_id, row.client, responsible)
    for task in session.execute(
            select(Task.deal_id, Task.id, Task.description, Task.planned_at, Task.deadline)
            .where(Task.deal_id.in_(ids), is_open())
            .order_by(Task.deal_id, Task.planned_at.desc(), Task.id.desc())):
        # Walked latest first: the earliest planned is the last one kept.
        card = found[task.deal_id]
        card.task_id, card.task, card.task_at = task.id, task.description or "", task.planned_at
        card.overdue = task.deadline is not None and task.deadline < now
    visible = access.readable_ids(session, Client, {c.client_id for c in found.values()},
                                  user_id)
    for card in found.values():
        card.client_link = card.client_id in visible
    return [found[i] for i in ids if i in found]
