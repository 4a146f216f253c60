"""«Воронка»: the deals board. Columns in the funnel's order with counts and
sums in the base currency, cards with the client, responsible and next
task, the rest of a column on scroll, filters, row access per role, and
moving a card through the deal's own rule (probability follows, a loss
needs its reason, a refusal leaves the deal as it was)."""
import datetime
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import (
    Client,
    Currency,
    Deal,
    DealStatus,
    Department,
    Employee,
    FunnelStage,
    RefusalReason,
    Task,
)
from app.services import board
from tests.conftest import employee_id, unique

BOARD = "/deals/board/"


def _stages(session):
    return session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order, FunnelStage.id)).all()


def _column_of(html, stage_id):
    """The HTML of one column of the board page."""
    match = re.search(rf'<section class="board-column" data-stage="{stage_id}".*?</section>',
                      html, re.S)
    assert match, f"no column for stage {stage_id}"
    return match.group(0)


def _count(column_html):
    return int(re.search(r'board-count"[^>]*>(\d+)<', column_html).group(1))


def _sum(column_html):
    return re.search(r'board-sum">([^<]*)<', column_html).group(1)


@pytest.fixture
def funnel_client(session):
    """A client of the test manager with deals at the first two stages, one
    in dollars, one won and one lost (not on the board), and tasks."""
    manager = employee_id(session, "manager")
    first, second = _stages(session)[:2]
    usd = session.scalar(select(Currency).where(Currency.code == "USD"))
    client = Client(name=unique("Воронка"), responsible_id=manager)
    deals = [
        Deal(title=unique("Окна"), client=client, amount=Decimal("300000.00"), stage=first,
             probability=first.probability, responsible_id=manager),
        Deal(title=unique("Двери"), client=client, amount=Decimal("1000.50"), stage=first,
             probability=first.probability, currency=usd, responsible_id=manager),
        Deal(title=unique("Крыша"), client=client, amount=Decimal("5000"), stage=second,
             probability=second.probability, responsible_id=manager),
        Deal(title=unique("Выигранная"), client=client, amount=Decimal("7"), stage=second,
             status=DealStatus.WON, probability=100, responsible_id=manager),
        Deal(title=unique("Проигранная"), client=client, amount=Decimal("9"), stage=second,
             status=DealStatus.LOST, probability=0, responsible_id=manager,
             loss_reason=session.scalars(select(RefusalReason)).first()),
    ]
    session.add_all([client, *deals])
    session.flush()
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    session.add_all([
        # The earliest planned open task is the card's; this one is overdue.
        Task(client=client, deal=deals[0], description="Позвонить про окна",
             planned_at=now - datetime.timedelta(days=2),
             deadline=now - datetime.timedelta(days=1), assignee_id=manager),
        Task(client=client, deal=deals[0], description="Позже",
             planned_at=now + datetime.timedelta(days=5), assignee_id=manager),
        Task(client=client, deal=deals[2], description="Встреча по крыше",
             planned_at=now + datetime.timedelta(days=1), assignee_id=manager),
    ])
    session.commit()
    return client, deals, usd.rate


def test_columns_follow_the_funnel_with_counts_sums_and_cards(as_role, session,
                                                               funnel_client):
    client, deals, usd_rate = funnel_client
    stages = _stages(session)
    page = as_role("admin").get(f"{BOARD}?client={client.id}")
    assert page.status_code == 200
    html = page.text
    # Every active stage, in the admin's order.
    shown = [int(s) for s in re.findall(r'<section class="board-column" data-stage="(\d+)"',
                                        html)]
    assert shown == [s.id for s in stages]
    first, second = (_column_of(html, s.id) for s in stages[:2])
    assert _count(first) == 2 and _count(second) == 1
    expected = (Decimal("300000.00") + Decimal("1000.50") * usd_rate).quantize(Decimal("0.01"))
    assert _sum(first).replace("\u00a0", " ") == f"{expected:,.2f}".replace(",", " ").replace(
        ".", ",")
    assert _sum(second).replace("\u00a0", " ") == "5 000,00"
    # The cards: title, client, amount, responsible, next task, overdue in red.
    card = re.search(rf'<li class="board-card" id="deal-card-{deals[0].id}".*?</li>',
                     first, re.S).group(0)
    assert deals[0].title in card and client.name in card
    assert "300\u00a0000,00" in card and "Тестов" in card
    assert "Позвонить про окна" in card and "Позже" not in card
    assert "board-overdue" in card and "просрочена" in card
    roof = re.search(rf'id="deal-card-{deals[2].id}".*?</li>', second, re.S).group(0)
    assert "Встреча по крыше" in roof and "board-overdue" not in roof
    # Closed deals are not on the board.
    assert deals[3].title not in html and deals[4].title not in html
    # Russian throughout, the menu links the board.
    assert "Воронка" in html and "Перевести" in html and "Выиграна" in html
    assert 'href="/deals/board/"' in html


def test_a_column_loads_the_rest_on_scroll(as_role, session):
    manager = employee_id(session, "manager")
    stage = _stages(session)[2]
    client = Client(name=unique("Длинная колонка"), responsible_id=manager)
    deals = [Deal(title=f"Сделка {i}", client=client, stage=stage, amount=i,
                  responsible_id=manager) for i in range(board.PAGE + 5)]
    session.add_all([client, *deals])
    session.commit()
    ids = sorted((d.id for d in deals), reverse=True)
    user = as_role("manager")
    html = user.get(f"{BOARD}?client={client.id}").text
    column = _column_of(html, stage.id)
    shown = [int(i) for i in re.findall(r'data-deal="(\d+)" tabindex', column)]
    assert shown == ids[:board.PAGE] and _count(column) == board.PAGE + 5
    assert 'data-more="1"' in column
    rest = user.get(f"/deals/board/cards/{stage.id}?client={client.id}&before={shown[-1]}")
    assert rest.status_code == 200 and rest.headers["X-Board-More"] == "0"
    assert [int(i) for i in re.findall(r'data-deal="(\d+)" tabindex', rest.text)] == ids[
        board.PAGE:]


def test_filters_by_responsible_department_period_and_client(as_role, session):
    department = Department(name=unique("Отдел воронки"))
    colleague = Employee(username=unique("board").replace(" ", ""), first_name="Коллега",
                         last_name="Воронкин", email=f"{unique('b').replace(' ', '')}@ex.com",
                         active=True, department=department)
    stage = _stages(session)[0]
    client = Client(name=unique("Фильтры"), responsible=colleague)
    old = Deal(title=unique("Старая"), client=client, stage=stage, amount=1,
               responsible=colleague, created_at=datetime.datetime(2020, 3, 10, 12, 0))
    new = Deal(title=unique("Новая"), client=client, stage=stage, amount=2,
               responsible=colleague, created_at=datetime.datetime(2020, 3, 20, 12, 0))
    session.add_all([department, colleague, client, old, new])
    session.commit()
    head = as_role("head")

    def titles(query):
        html = head.get(BOARD + "?" + query).text
        return {t for t in (old.title, new.title) if t in html}

    assert titles(f"responsible={colleague.id}") >= {old.title, new.title}
    assert titles(f"department={department.id}") == {old.title, new.title}
    assert titles(f"client={client.id}&since=15.03.2020&until=31.03.2020") == {new.title}
    assert titles(f"client={client.id}&until=10.03.2020") == {old.title}
    # An unreadable period is said so, and left out.
    page = head.get(f"{BOARD}?client={client.id}&since=32.13.2020")
    assert "ДД.ММ.ГГГГ" in page.text and new.title in page.text
    reversed_period = head.get(f"{BOARD}?client={client.id}&since=20.03.2020&until=10.03.2020")
    assert "Период заканчивается раньше, чем начинается" in reversed_period.text


def test_a_manager_sees_the_deals_of_their_clients_only(as_role, session, funnel_client):
    client, deals, _ = funnel_client
    other = Employee(username=unique("chuzhoy").replace(" ", ""), first_name="Чужой",
                     last_name="Менеджер", email=f"{unique('c').replace(' ', '')}@ex.com",
                     active=True)
    stranger = Client(name=unique("Чужой клиент"), responsible=other)
    hidden = Deal(title=unique("Чужая сделка"), client=stranger, amount=1,
                  stage=_stages(session)[0], responsible=other)
    session.add_all([other, stranger, hidden])
    session.commit()
    manager = as_role("manager")
    html = manager.get(BOARD).text
    assert deals[0].title in html and hidden.title not in html
    first = _column_of(manager.get(f"{BOARD}?client={stranger.id}").text,
                       _stages(session)[0].id)
    assert _count(first) == 0
    # The counts are the list's row rule: as many as the service finds for them.
    expected = board.columns(session, employee_id(session, "manager"), with_cards=False)
    for column in expected:
        assert _count(_column_of(html, column.stage_id)) == column.count
    # Neither the next cards nor a move reach the other manager's deal.
    cards = manager.get(f"/deals/board/cards/{_stages(session)[0].id}?client={stranger.id}")
    assert hidden.title not in cards.text
    refused = manager.post(f"/deals/board/move/{hidden.id}",
                           {"stage": _stages(session)[1].id})
    assert refused.status_code == 403
    session.refresh(hidden)
    assert hidden.stage_id == _stages(session)[0].id


def test_moving_a_card_follows_the_deal_rule(as_role, session, funnel_client):
    client, deals, _ = funnel_client
    stages = _stages(session)
    deal = deals[2]
    manager = as_role("manager")
    url = f"/deals/board/move/{deal.id}?client={client.id}"

    moved = manager.post(url, {"stage": stages[3].id})
    assert moved.status_code == 200, moved.text
    answer = moved.get_json()
    assert answer["stage"] == stages[3].id
    assert answer["message"] == (f"Сделка на стадии «{stages[3].name}», "
                                 f"{stages[3].probability} %")
    assert f'id="deal-card-{deal.id}"' in answer["card"]
    counts = {c["stage"]: c["count"] for c in answer["columns"]}
    assert counts[stages[1].id] == 0 and counts[stages[3].id] == 1
    session.expire_all()
    assert session.get(Deal, deal.id).probability == stages[3].probability
    assert session.get(Client, client.id).funnel_stage_id == stages[3].id

    # «Проиграна» without a reason is refused; the deal stays as it was.
    refused = manager.post(url, {"status": "lost"})
    assert refused.status_code == 400
    assert "причин" in refused.get_json()["message"]
    session.expire_all()
    assert session.get(Deal, deal.id).status == DealStatus.OPEN

    reason = session.scalars(select(RefusalReason)).first()
    lost = manager.post(url, {"status": "lost", "loss_reason": reason.id})
    assert lost.status_code == 200 and lost.get_json()["stage"] is None
    assert reason.name in lost.get_json()["message"]
    session.expire_all()
    closed = session.get(Deal, deal.id)
    assert closed.status == DealStatus.LOST and closed.probability == 0
    assert closed.loss_reason_id == reason.id and closed.closed_at is not None

    won = manager.post(f"/deals/board/move/{deals[0].id}", {"status": "won"})
    assert won.status_code == 200 and "выиграна" in won.get_json()["message"]
    session.expire_all()
    assert session.get(Deal, deals[0].id).probability == 100

    # Nonsense is refused with a message, not a 500.
    for data in ({"stage": "abc"}, {"status": "maybe"}, {"stage": 10**9}, {}):
        bad = manager.post(f"/deals/board/move/{deals[1].id}", data)
        assert bad.status_code == 400, data
        assert bad.get_json()["message"] == "Выберите стадию и статус из списков"


def test_moving_needs_the_edit_right_and_a_csrf_token(as_role, session, funnel_client):
    client, deals, _ = funnel_client
    stage = _stages(session)[1]
    auditor = as_role("auditor")
    page = auditor.get(f"{BOARD}?client={client.id}")
    assert page.status_code == 200 and deals[0].title in page.text
    assert "board-move-button" not in page.text and 'draggable="true"' not in page.text
    refused = auditor.post(f"/deals/board/move/{deals[0].id}", {"stage": stage.id},
                           follow=False)
    assert refused.status_code in (302, 403)
    no_token = as_role("manager").post(f"/deals/board/move/{deals[0].id}",
                                       {"stage": stage.id}, csrf=False)
    assert no_token.status_code == 400
    session.expire_all()
    assert session.get(Deal, deals[0].id).stage_id == _stages(session)[0].id


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(BOARD, follow_redirects=False)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
