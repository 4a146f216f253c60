"""«Воронка» in Chromium, as a manager works it: a card dragged to the next
stage lands there with the new probability; dropped on «Проиграна» it asks
for the reason and, refused without one, goes back; from the keyboard a
card moves with → and closes through the dialog; a long column loads the
rest when scrolled to its end."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Client, Deal, DealStatus, FunnelStage
from app.services import board
from tests.browser.conftest import sign_in
from tests.conftest import employee_id, unique

pytestmark = pytest.mark.browser


def _stages(session):
    return session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order, FunnelStage.id)).all()


def _column(stage):
    return f'.board-column[data-stage="{stage.id}"]'


def test_a_manager_moves_cards_by_mouse_and_keyboard(live_server, page, session):
    manager = employee_id(session, "manager")
    stages = _stages(session)
    client = Client(name=unique("Доска"), responsible_id=manager)
    dragged, lost = (Deal(title=unique(t), client=client, stage=stages[0], amount=Decimal(a),
                          probability=stages[0].probability, responsible_id=manager)
                     for t, a in (("Перетаскиваемая", "1000"), ("Проигрываемая", "2000")))
    session.add_all([client, dragged, lost])
    session.commit()

    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/deals/board/?client={client.id}")
    first, second, third = (_column(s) for s in stages[:3])
    assert page.locator(f"{first} .board-count").inner_text() == "2"
    assert page.locator(f"{first} .board-sum").inner_text() == "3\u00a0000,00"

    # The mouse: onto the next stage.
    page.drag_and_drop(f"#deal-card-{dragged.id}", f"{second} .board-cards")
    page.wait_for_selector(f"#board-message.alert-success:has-text('«{stages[1].name}»')")
    assert page.locator(f"{second} #deal-card-{dragged.id}").count() == 1
    assert f"{stages[1].probability} %" in page.locator(f"#deal-card-{dragged.id}").inner_text()
    assert page.locator(f"{first} .board-count").inner_text() == "1"
    assert page.locator(f"{second} .board-sum").inner_text() == "1\u00a0000,00"

    # Onto «Проиграна»: the reason is asked; none given, the card comes back.
    page.drag_and_drop(f"#deal-card-{lost.id}", ".board-drop-lost")
    page.wait_for_selector("#board-move", state="visible")
    assert page.locator("#board-move-reason").is_visible()
    page.click("#board-move-submit")
    page.wait_for_selector("#board-message.alert-danger:has-text('причин')")
    assert page.locator(f"{first} #deal-card-{lost.id}").is_visible()

    # The keyboard: → to the next stage, Enter for the dialog.
    page.wait_for_selector("#board-move", state="hidden")
    page.focus(f"#deal-card-{dragged.id}")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(f"#board-message.alert-success:has-text('«{stages[2].name}»')")
    assert page.locator(f"{third} #deal-card-{dragged.id}").count() == 1
    assert page.evaluate("document.activeElement.id") == f"deal-card-{dragged.id}"
    page.focus(f"#deal-card-{lost.id}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#board-move", state="visible")
    page.select_option("#board-move-target", "status:lost")
    page.select_option("#board-move-reason", index=1)
    page.focus("#board-move-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#board-message.alert-success:has-text('проиграна')")
    assert page.locator(f"#deal-card-{lost.id}").count() == 0
    assert page.locator(f"{first} .board-count").inner_text() == "0"

    session.expire_all()
    moved = session.get(Deal, dragged.id)
    assert moved.stage_id == stages[2].id and moved.probability == stages[2].probability
    assert session.get(Deal, lost.id).status == DealStatus.LOST


def test_a_long_column_loads_the_rest_on_scroll(live_server, page, session):
    manager = employee_id(session, "manager")
    stage = _stages(session)[1]
    client = Client(name=unique("Длинная доска"), responsible_id=manager)
    session.add_all([client] + [Deal(title=f"Прокрутка {i}", client=client, stage=stage,
                                     amount=i, responsible_id=manager)
                                for i in range(board.PAGE + 7)])
    session.commit()
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/deals/board/?client={client.id}")
    cards = page.locator(f"{_column(stage)} .board-card")
    assert cards.count() == board.PAGE
    page.locator(f"{_column(stage)} .board-cards").evaluate("list => list.scrollTop = 1e6")
    page.wait_for_function(
        f"document.querySelectorAll('{_column(stage)} .board-card').length === {board.PAGE + 7}")
    assert page.locator(f"{_column(stage)} .board-more").is_hidden()
