"""Forms that follow what was chosen, in Chromium: the
client form shows the sections of the client's kind, and «Результат»
offers only the chosen action's results."""
import pytest
from sqlalchemy import select

from app.models import ActionType
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _choose(page, select_id, value):
    # The selects are select2's: set the value as its change handler reads it.
    page.evaluate("([id, value]) => $('#' + id).val(value).trigger('change')",
                  [select_id, value])


def test_the_client_form_shows_the_sections_of_the_kind(live_server, page):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/clients/add")
    passport, inn = page.locator("#passport_series"), page.locator("#ogrn")
    _choose(page, "kind", "person")
    assert passport.is_visible() and not inn.is_visible()
    _choose(page, "kind", "company")
    assert inn.is_visible() and not passport.is_visible()
    _choose(page, "kind", "sole_proprietor")
    assert inn.is_visible() and passport.is_visible()


def test_results_follow_the_chosen_action(live_server, page, session):
    call = session.scalar(select(ActionType).where(ActionType.name == "Звонок"))
    sending = session.scalar(select(ActionType).where(ActionType.name == "Отправка документов"))
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/counterparty-actions/add")

    def offered():
        return {t.strip() for t in page.locator("#action_result option").all_inner_texts()
                if t.strip() and t.strip() != "__None"}

    assert offered() == set()
    _choose(page, "action_type", str(call.id))
    assert offered() == {r.name for r in call.results if r.is_active}
    _choose(page, "action_type", str(sending.id))
    assert offered() == {r.name for r in sending.results if r.is_active}


def test_a_date_filter_of_a_list_gets_the_russian_calendar(live_server, page):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/list/")
    page.evaluate("() => $('a.filter[name=planned_at]').first().click()")
    field = page.locator("input.sdelka-date[name^='_flt_']").first
    field.wait_for(state="attached")
    assert page.evaluate(
        "() => !!document.querySelector(\"input.sdelka-date[name^='_flt_']\")._flatpickr")
    assert field.get_attribute("placeholder") == "ДД.ММ.ГГГГ ЧЧ:ММ"
