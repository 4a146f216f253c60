"""Default dictionaries: complete on a fresh database, and never refilled
over what the admin changed."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import (
    ActionResult,
    ActionType,
    ClientGroup,
    ClientOrigin,
    ClientStatus,
    ClientType,
    Currency,
    FunnelStage,
    LoanPurpose,
    MailingType,
    MarketSegment,
    Product,
    RefusalReason,
    Region,
    StatusKind,
    Tag,
    TaskStatus,
    TaskType,
    Tax,
)
from app.services.seed import seed_dictionaries
from tests.conftest import migrated_engine

COUNTS = {
    TaskType: 4, TaskStatus: 10, ClientStatus: 4, ClientType: 4, ClientOrigin: 6,
    MarketSegment: 3, FunnelStage: 5, LoanPurpose: 5, Region: 89, Tax: 6, Currency: 4,
    Tag: 3, RefusalReason: 5, ActionType: 4, Product: 2, ActionResult: 12, MailingType: 3,
}


@pytest.fixture
def fresh_session(database_url, tmp_path):
    """A migrated, empty database of the same backend as ``app``."""
    with migrated_engine(database_url, tmp_path) as engine, Session(engine) as session:
        yield session


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _names(session, model):
    return list(session.scalars(select(model.name).order_by(model.sort_order, model.name)))


def test_seed_fills_every_dictionary(fresh_session):
    filled = seed_dictionaries(fresh_session)
    assert set(filled) == set(COUNTS)
    assert {model: _count(fresh_session, model) for model in COUNTS} == COUNTS
    # Client groups are the company's own; nothing to guess for them.
    assert _count(fresh_session, ClientGroup) == 0
    assert _names(fresh_session, TaskType) == ["Звонок", "Встреча", "Договор", "Письмо"]
    assert "Партнёр" in _names(fresh_session, ClientType)
    assert "Email-рассылка" in _names(fresh_session, ClientOrigin)


def test_task_statuses_follow_seed_000(fresh_session):
    seed_dictionaries(fresh_session)
    statuses = list(fresh_session.scalars(select(TaskStatus).order_by(TaskStatus.sort_order)))
    assert [s.name for s in statuses] == [
        "В работе", "Завершена", "Отказ", "Встреча", "Недозвон", "Переговоры",
        "Условный отказ", "Брак: не актуально", "Брак: не тот регион", "Брак: дубль",
    ]
    kinds = {s.name: s.kind for s in statuses}
    assert kinds["Завершена"] is StatusKind.DONE
    assert {n for n, k in kinds.items() if k is StatusKind.REFUSED} == {"Отказ", "Условный отказ"}
    assert {n for n, k in kinds.items() if k is StatusKind.JUNK} == {
        "Брак: не актуально", "Брак: не тот регион", "Брак: дубль"}
    assert {s.name for s in statuses if s.takes_dates} == {"Завершена", "Встреча", "Переговоры"}
    assert all(re.fullmatch(r"#[0-9a-f]{6}", s.color) for s in statuses)
    assert len({s.color for s in statuses[:7]}) == 7  # the non-junk ones differ


def test_funnel_stages_of_seed_004_with_probabilities(fresh_session):
    seed_dictionaries(fresh_session)
    stages = fresh_session.execute(
        select(FunnelStage.name, FunnelStage.probability).order_by(FunnelStage.sort_order)
    ).all()
    assert [tuple(s) for s in stages] == [
        ("Потенциальный клиент", 10), ("Звонок", 20), ("Коммерческое предложение", 40),
        ("Встреча", 60), ("Договор", 90),
    ]


def test_regions_are_the_89_subjects_in_order_of_code(fresh_session):
    seed_dictionaries(fresh_session)
    regions = list(fresh_session.scalars(select(Region).order_by(Region.sort_order)))
    assert len(regions) == 89
    codes = [r.code for r in regions]
    assert len(set(codes)) == 89 and codes == sorted(codes)
    assert all(re.fullmatch(r"\d\d", c) and int(c) == r.sort_order
               for c, r in zip(codes, regions))
    by_code = {r.code: r.name for r in regions}
    assert by_code["77"] == "Москва" and by_code["78"] == "Санкт-Петербург"
    assert by_code["01"] == "Республика Адыгея" and by_code["92"] == "Севастополь"


def test_money_dictionaries(fresh_session):
    seed_dictionaries(fresh_session)
    rates = {name: (rate, exempt) for name, rate, exempt in fresh_session.execute(
        select(Tax.name, Tax.rate, Tax.is_exempt))}
    assert rates == {"НДС 22 %": (22, False), "НДС 10 %": (10, False), "НДС 0 %": (0, False),
                     "НДС 5 % (УСН)": (5, False), "НДС 7 % (УСН)": (7, False),
                     "Без НДС": (0, True)}
    currencies = {c.code: c for c in fresh_session.scalars(select(Currency))}
    assert set(currencies) == {"RUB", "USD", "EUR", "CNY"}
    assert [c.code for c in currencies.values() if c.is_base] == ["RUB"]
    assert currencies["RUB"].rate == 1
    assert all(c.rate > 1 for code, c in currencies.items() if code in ("USD", "EUR", "CNY"))
    products = {p.name: p for p in fresh_session.scalars(select(Product))}
    assert products["Консультация"].price == Decimal("5000.00")
    assert products["Сопровождение сделки"].price == Decimal("15000.00")
    # A line of a product without a tax takes the company's default rate.
    assert all(p.tax is None and p.unit for p in products.values())


def test_seeding_again_changes_nothing(fresh_session):
    seed_dictionaries(fresh_session)
    before = {model: _names(fresh_session, model) for model in COUNTS}
    assert seed_dictionaries(fresh_session) == []
    assert {model: _names(fresh_session, model) for model in COUNTS} == before


def test_admin_edits_survive_and_only_empty_dictionaries_are_filled(fresh_session):
    seed_dictionaries(fresh_session)
    status = fresh_session.scalar(select(TaskStatus).where(TaskStatus.name == "Недозвон"))
    status.name = "Не дозвонились"
    fresh_session.execute(delete(RefusalReason).where(RefusalReason.name == "Дорого"))
    fresh_session.execute(delete(Tag))
    fresh_session.commit()

    assert seed_dictionaries(fresh_session) == [Tag]
    assert "Не дозвонились" in _names(fresh_session, TaskStatus)
    assert "Недозвон" not in _names(fresh_session, TaskStatus)
    assert "Дорого" not in _names(fresh_session, RefusalReason)
    assert _names(fresh_session, Tag) == ["VIP", "Новый", "Повторный"]


def test_action_results_belong_to_their_action_types(fresh_session):
    seed_dictionaries(fresh_session)
    sending = fresh_session.scalar(select(ActionType).where(
        ActionType.name == "Отправка документов"))
    assert {r.name for r in sending.results} == {
        "Договор", "Письмо", "Счёт", "Коммерческое предложение"}
