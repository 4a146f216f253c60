"""Quick deadlines on the task forms: «Сегодня», «Завтра», «3 дня», «Неделя»
beside «Срок» on the add and edit pages of every role that adds tasks, each
a button that never submits, carrying the office's today (APP_TIMEZONE, not
the browser's clock) at the end of the working day (TASK_DAY_ENDS) as the
field is typed, «ДД.ММ.ГГГГ ЧЧ:ММ». The calendar's «Новая задача на этот
день» opens the same form. The click itself is in
tests/browser/test_quick_deadlines.py."""
import datetime
import html
import re

import pytest
from sqlalchemy import select

from app.models import Client, Employee, Task
from app.services import localtime
from tests.conftest import unique

LABELS = {"Сегодня": 0, "Завтра": 1, "3 дня": 3, "Неделя": 7}


def _buttons(page):
    """{label: (the tag's attributes, …)} of the quick-deadline buttons."""
    found = re.findall(r'<button type="button" class="btn btn-default sdelka-quick-deadline"'
                       r'([^>]*)>([^<]*)</button>', page)
    return {label: attrs for attrs, label in found}


def _expected(today, days, end="18:00"):
    return f"{today + datetime.timedelta(days=days):%d.%m.%Y} {end}"


def _check(page, today, end="18:00"):
    group = re.search(r'<div [^>]*class="btn-group btn-group-xs sdelka-quick-deadlines"[^>]*>',
                      page)
    assert group, "no quick deadlines on the page"
    assert 'data-for="deadline"' in group.group(0)
    assert f'data-today="{today.isoformat()}"' in group.group(0)
    assert f'data-day-end="{end}"' in group.group(0)
    assert 'aria-label="Быстрый срок"' in group.group(0)
    buttons = _buttons(page)
    assert list(buttons) == list(LABELS)
    for label, days in LABELS.items():
        value = _expected(today, days, end)
        attrs = html.unescape(buttons[label])
        assert f'data-value="{value}"' in attrs, (label, attrs)
        assert f'data-days="{days}"' in attrs
        assert re.search(rf'title="Срок: [^"]*конец рабочего дня \({value}\)"', attrs), attrs
        assert "tabindex" not in attrs  # reached with Tab
    # Only beside «Срок»: «Запланировано» has none.
    assert page.count("sdelka-quick-deadlines") == 1


@pytest.fixture
def office_today(app):
    return localtime.today(app.config["APP_TIMEZONE"])


def _own_task(session, username):
    person = session.scalar(select(Employee.id).where(Employee.username == username))
    client = Client(name=unique("Срок"), responsible_id=person)
    session.add(client)
    session.flush()
    deadline = localtime.to_utc(datetime.datetime(2026, 12, 4, 11, 0), "Europe/Moscow")
    task = Task(client_id=client.id, assignee_id=person, author_id=person,
                description=unique("Быстрый срок"), deadline=deadline)
    session.add(task)
    session.commit()
    return task


@pytest.mark.parametrize("role", ["admin", "head", "manager"])
def test_the_add_and_edit_pages_offer_the_quick_deadlines(as_role, session, app, role,
                                                          office_today):
    browser = as_role(role)
    page = browser.get("/tasks/add")
    assert page.status_code == 200
    _check(page.text, office_today)
    task = _own_task(session, role)
    page = browser.get(f"/tasks/edit/{task.id}")
    assert page.status_code == 200
    _check(page.text, office_today)
    # The stored deadline is shown as it was: the buttons only offer values.
    typed = localtime.to_local(task.deadline, app.config["APP_TIMEZONE"])
    assert re.search(rf'<input[^>]*name="deadline"[^>]*value="{typed:%d.%m.%Y %H:%M}"',
                     page.text)


def test_the_calendar_day_form_offers_them_too(as_role, office_today):
    page = as_role("manager").get("/tasks/add?day=2026-12-04").text
    assert 'value="04.12.2026 09:00"' in page  # the day's form …
    _check(page, office_today)  # … with deadlines from today, not from that day


def test_the_day_end_is_a_setting(as_role, app, monkeypatch, office_today):
    assert app.config["TASK_DAY_ENDS"] == "18:00"
    monkeypatch.setitem(app.config, "TASK_DAY_ENDS", "17:30")
    _check(as_role("manager").get("/tasks/add").text, office_today, end="17:30")


def test_today_is_the_office_s_not_utc(as_role, app, monkeypatch):
    """At 22:30 UTC on 10 March it is already 11 March in Moscow."""
    monkeypatch.setitem(app.config, "APP_TIMEZONE", "Europe/Moscow")
    at = datetime.datetime(2026, 3, 10, 22, 30, tzinfo=datetime.timezone.utc)
    office_today = localtime.today
    monkeypatch.setattr(localtime, "today", lambda tz_name, now=None: office_today(tz_name, at))
    page = as_role("manager").get("/tasks/add").text
    _check(page, datetime.date(2026, 3, 11))
    assert 'data-value="12.03.2026 18:00"' in page  # «Завтра»


def test_a_chosen_deadline_is_saved_as_typed(as_role, session, app, office_today):
    """What a button writes is what the form already takes: saved in UTC."""
    value = _expected(office_today, 1)
    client = Client(name=unique("Срок сохранён"))
    session.add(client)
    session.commit()
    text = unique("Завтра к вечеру")
    as_role("admin").post("/tasks/add", {"client": client.id, "description": text,
                                         "planned_at": f"{office_today:%d.%m.%Y} 09:00",
                                         "deadline": value})
    task = session.scalar(select(Task).where(Task.description == text))
    local = datetime.datetime.combine(office_today + datetime.timedelta(days=1),
                                      datetime.time(18))
    assert task.deadline == localtime.to_utc(local, app.config["APP_TIMEZONE"])


def test_the_auditor_gets_no_task_form(as_role):
    page = as_role("auditor").get("/tasks/add")
    assert "sdelka-quick-deadline" not in page.text


def test_a_bad_day_end_stops_the_start(database_url):
    from tests.conftest import make_app

    with pytest.raises(ValueError, match="TASK_DAY_ENDS"):
        make_app(database_url, TASK_DAY_ENDS="шесть вечера")
