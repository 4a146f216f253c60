"""Dates, times and amounts as a Russian office types and picks them, in
Chromium: a task planned for tomorrow 11:00 by
typing and by picking in the calendar (Russian months, Monday first, a time
part), an application with «300 000,00» and «14,5», a deal; each saved and
shown back on its record page in Russian form. Typed text is kept, never
rewritten to today or emptied."""
import datetime
import os
import re
import zoneinfo

import pytest
from sqlalchemy import select

from app.models import Application, Deal, Task
from tests.browser.conftest import choose_client, sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser

NBSP = "\u00a0"
MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")
MONTHS = ("Январь", "Февраль", "Март", "Апрель", "Май", "Июнь", "Июль", "Август",
          "Сентябрь", "Октябрь", "Ноябрь", "Декабрь")


def _tomorrow():
    return datetime.datetime.now(MOSCOW).date() + datetime.timedelta(days=1)


def _utc(local):
    return local.replace(tzinfo=MOSCOW).astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)


def _save_task(page, session, description):
    page.fill("textarea[name=description], input[name=description]", description)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.rollback()
    task = session.scalar(select(Task).where(Task.description == description))
    assert task is not None
    return task


def test_a_task_is_planned_for_tomorrow_by_typing(live_server, page, session):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/add")
    day = _tomorrow()
    typed = f"{day:%d.%m.%Y} 11:00"
    page.fill("#planned_at", typed)
    page.press("#planned_at", "Tab")
    assert page.input_value("#planned_at") == typed  # not today, not emptied
    # ISO is read too, and written back the Russian way.
    page.fill("#deadline", f"{day:%Y-%m-%d} 18:30")
    page.press("#deadline", "Tab")
    assert page.input_value("#deadline") == f"{day:%d.%m.%Y} 18:30"
    task = _save_task(page, session, unique("Позвонить завтра"))
    assert task.planned_at == _utc(datetime.datetime.combine(day, datetime.time(11)))
    assert task.deadline == _utc(datetime.datetime.combine(day, datetime.time(18, 30)))
    page.goto(live_server + f"/tasks/show/{task.id}")
    text = page.inner_text("body")
    assert typed in text and f"{day:%d.%m.%Y} 18:30" in text


def test_a_task_is_planned_for_tomorrow_by_picking_in_the_russian_calendar(live_server, page,
                                                                           session):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/add")
    day = _tomorrow()
    page.click("#planned_at ~ .input-group-btn .sdelka-date-toggle")
    calendar = page.locator(".flatpickr-calendar.open")
    calendar.wait_for()
    weekdays = calendar.locator(".flatpickr-weekday").all_inner_texts()
    assert [w.strip() for w in weekdays][:2] == ["Пн", "Вт"]  # Monday first
    month = calendar.locator("select.flatpickr-monthDropdown-months option:checked")
    assert month.inner_text().strip() in MONTHS
    assert calendar.locator(".flatpickr-time").is_visible()  # a time part
    shown = page.evaluate("document.querySelector('#planned_at')._flatpickr.currentMonth")
    if shown != day.month - 1:
        calendar.locator(".flatpickr-next-month").click()
    assert month.inner_text().strip() == MONTHS[day.month - 1]
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)",
                     has_text=re.compile(rf"^{day.day}$")).click()
    calendar.locator("input.flatpickr-hour").fill("11")
    calendar.locator("input.flatpickr-hour").press("Tab")
    calendar.locator("input.flatpickr-minute").fill("00")
    calendar.locator("input.flatpickr-minute").press("Tab")
    _shot(page, "task_calendar.png")
    page.keyboard.press("Escape")
    assert page.input_value("#planned_at") == f"{day:%d.%m.%Y} 11:00"
    task = _save_task(page, session, unique("Выбрано в календаре"))
    assert task.planned_at == _utc(datetime.datetime.combine(day, datetime.time(11)))


def test_what_cannot_be_read_is_kept_and_refused_with_a_message(live_server, page, session):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/tasks/add")
    page.fill("#deadline", "32.13.2026")
    page.press("#deadline", "Tab")
    assert page.input_value("#deadline") == "32.13.2026"
    description = unique("Не сохранится")
    page.fill("textarea[name=description], input[name=description]", description)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-danger")
    assert "Введите дату и время в виде ДД.ММ.ГГГГ ЧЧ:ММ" in page.inner_text("body")
    assert page.input_value("#deadline") == "32.13.2026"
    session.rollback()
    assert session.scalar(select(Task).where(Task.description == description)) is None


def test_an_application_takes_russian_amount_rate_and_date(live_server, page, session,
                                                           own_client):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/applications/add")
    choose_client(page, own_client)
    page.fill("#date", "20.05.2025")
    page.press("#date", "Tab")
    assert page.input_value("#date") == "20.05.2025"
    page.fill("input[name=amount]", "300 000,00")
    page.fill("input[name=rate_percent]", "14,5")
    offer = unique("Русские суммы")
    page.fill("input[name=offer]", offer)
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.rollback()
    application = session.scalar(select(Application).where(Application.offer == offer))
    assert application is not None
    assert str(application.amount) == "300000.00" and application.rate_percent == 14.5
    assert application.date == datetime.date(2025, 5, 20)
    page.goto(live_server + f"/applications/show/{application.id}")
    text = page.inner_text("body")
    assert f"300{NBSP}000,00" in text and "14,5" in text and "20.05.2025" in text


def test_a_deal_takes_a_russian_amount_and_date(live_server, page, session, own_client):
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/deals/add")
    choose_client(page, own_client)
    title = unique("Сделка по-русски")
    page.fill("input[name=title]", title)
    page.fill("input[name=amount]", f"1{NBSP}250{NBSP}000,50")
    page.fill("#expected_close", "04.12.2026")
    page.press("#expected_close", "Tab")
    page.click("button[type=submit]")
    page.wait_for_selector(".alert-success")
    session.rollback()
    deal = session.scalar(select(Deal).where(Deal.title == title))
    assert deal is not None and str(deal.amount) == "1250000.50"
    assert deal.expected_close == datetime.date(2026, 12, 4)
    page.goto(live_server + f"/deals/show/{deal.id}")
    text = page.inner_text("body")
    assert f"1{NBSP}250{NBSP}000,50" in text and "04.12.2026" in text
