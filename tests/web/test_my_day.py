"""«Мой день», the start page of a manager: own open tasks of the office's
today and the overdue ones, own open deals without a planned task or past
their expected close date; «Выполнено» from it."""
import datetime
import re

import pytest
from sqlalchemy import select

from app.models import Client, Deal, DealStatus, Task, TaskStatus, utcnow
from app.security import MANAGER, READ_ONLY
from app.services import localtime, my_day
from tests.conftest import new_user, signed_in, unique

ZONE = "Europe/Moscow"  # the suite's APP_TIMEZONE (config's default)


@pytest.fixture
def person(app):
    """person(role) -> (employee id, signed-in test client) of a new
    employee: each test's rows are the only ones on their page."""
    def make(role=MANAGER):
        login, employee_id = new_user(app, role, prefix="day")
        return employee_id, signed_in(app, login)
    return make


def _status(session, name):
    return session.scalar(select(TaskStatus).where(TaskStatus.name == name))


@pytest.fixture
def add_task(session):
    def make(owner_id, planned_at, deadline=None, status="В работе", **kw):
        client = kw.pop("client", None) or Client(name=unique("Клиент дня"),
                                                   responsible_id=owner_id)
        task = Task(client=client, description=unique("Позвонить"), assignee_id=owner_id,
                    author_id=owner_id, planned_at=planned_at, deadline=deadline,
                    status=_status(session, status), **kw)
        session.add(task)
        session.commit()
        return task
    return make


@pytest.fixture
def add_deal(session):
    def make(owner_id, **kw):
        client = Client(name=unique("Клиент сделки"), responsible_id=owner_id)
        deal = Deal(title=unique("Сделка дня"), client=client, responsible_id=owner_id,
                    amount=kw.pop("amount", 300000), **kw)
        session.add(deal)
        session.commit()
        return deal
    return make


def _section(page, key):
    part = page.split(f'id="my-day-{key}"')
    return part[1].split('id="my-day-')[0] if len(part) > 1 else None


def _today_bounds():
    now = utcnow()
    return my_day.day_bounds(my_day.office_today(now, ZONE), ZONE)


def test_manager_sees_own_tasks_and_deals_not_another_managers(person, add_task, add_deal,
                                                                session):
    me, http = person()
    other, _ = person()
    since, until = _today_bounds()
    now = utcnow()
    today = add_task(me, planned_at=min(until - datetime.timedelta(minutes=1),
                                        now + datetime.timedelta(minutes=30)))
    overdue = add_task(me, planned_at=now - datetime.timedelta(days=3),
                       deadline=now - datetime.timedelta(days=2))
    done = add_task(me, planned_at=now - datetime.timedelta(days=3),
                    deadline=now - datetime.timedelta(days=2), status="Завершена")
    theirs_today = add_task(other, planned_at=today.planned_at)
    theirs_overdue = add_task(other, planned_at=overdue.planned_at, deadline=overdue.deadline)
    unplanned = add_deal(me, amount=300000)
    planned = add_deal(me)
    add_task(me, planned_at=now + datetime.timedelta(days=5), deal=planned,
             client=planned.client)
    late = add_deal(me, expected_close=datetime.date.today() - datetime.timedelta(days=10))
    won_late = add_deal(me, expected_close=datetime.date(2020, 1, 1), status=DealStatus.WON)
    theirs = add_deal(other, expected_close=datetime.date(2020, 1, 1))

    response = http.get("/")
    assert response.status_code == 200
    page = response.text
    assert "Мой день" in page

    overdue_part = _section(page, "overdue")
    assert f'id="day-task-{overdue.id}"' in overdue_part
    assert 'class="danger"' in overdue_part and "Просрочена" in overdue_part
    assert f"/tasks/show/{overdue.id}" in overdue_part
    assert re.search(r'Просроченные задачи\s*<span class="badge">1</span>', page)
    today_part = _section(page, "today")
    assert f'id="day-task-{today.id}"' in today_part
    assert re.search(r'Задачи на сегодня\s*<span class="badge">1</span>', page)
    local = localtime.to_local(today.planned_at, ZONE)
    assert local.strftime("%d.%m.%Y %H:%M") in today_part  # office time, ДД.ММ.ГГГГ ЧЧ:ММ
    for task in (done, theirs_today, theirs_overdue):
        assert f"day-task-{task.id}" not in page

    unplanned_part = _section(page, "unplanned")
    assert f'id="day-deal-{unplanned.id}"' in unplanned_part
    assert f"/deals/show/{unplanned.id}" in unplanned_part
    assert "300\u00a0000,00" in unplanned_part
    assert f"day-deal-{planned.id}" not in unplanned_part
    late_part = _section(page, "late")
    assert f'id="day-deal-{late.id}"' in late_part
    assert late.expected_close.strftime("%d.%m.%Y") in late_part
    for deal in (won_late, theirs):
        assert f"day-deal-{deal.id}" not in page
    assert "None" not in page

    # The full lists behind the sections show the same rows.
    links = re.findall(r'<a href="([^"]+)">Открыть весь список</a>', page)
    assert len(links) == 4
    task_list = http.get(links[0].replace("&amp;", "&")).text
    assert f"/tasks/show/{overdue.id}" in task_list
    assert f"/tasks/show/{theirs_overdue.id}" not in task_list
    deal_list = http.get(links[3].replace("&amp;", "&")).text
    assert f"/deals/show/{late.id}" in deal_list
    assert f"/deals/show/{unplanned.id}" not in deal_list


def test_office_day_boundaries(person, add_task):
    me, http = person()
    since, until = _today_bounds()
    minute = datetime.timedelta(minutes=1)
    first = add_task(me, planned_at=since)
    last = add_task(me, planned_at=until - minute)
    before = add_task(me, planned_at=since - minute)
    after = add_task(me, planned_at=until)
    today_part = _section(http.get("/").text, "today")
    assert f"day-task-{first.id}" in today_part and f"day-task-{last.id}" in today_part
    assert f"day-task-{before.id}" not in today_part
    assert f"day-task-{after.id}" not in today_part


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Kolkata", "America/New_York"])
def test_the_day_is_the_offices_not_utcs(app, session, person, add_task, zone):
    """At 22:30 UTC it is already tomorrow in Moscow and Kolkata, still
    today in New York: the service takes the office's day."""
    me, _ = person()
    now = datetime.datetime(2031, 3, 10, 22, 30)
    local_today = localtime.to_local(now, zone).date()
    since, until = my_day.day_bounds(local_today, zone)
    assert since == localtime.midnight_utc(local_today, zone)
    inside = add_task(me, planned_at=since + datetime.timedelta(minutes=5))
    outside = add_task(me, planned_at=since - datetime.timedelta(minutes=5))
    found = session.scalars(my_day.today_tasks_query(
        [s.id for s in session.scalars(select(TaskStatus))], me, now, zone)).all()
    assert inside in found and outside not in found


def test_done_from_my_day(person, add_task, session):
    me, http = person()
    now = utcnow()
    task = add_task(me, planned_at=now - datetime.timedelta(days=1),
                    deadline=now - datetime.timedelta(hours=1))
    page = http.get("/").text
    row = _section(page, "overdue")
    assert f'action="/tasks/done/{task.id}"' in row and 'name="csrf_token"' in row
    response = http.post(f"/tasks/done/{task.id}", {"next": "/"}, follow=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    page = http.get("/").text
    assert "Задача выполнена" in page
    assert f"day-task-{task.id}" not in page
    session.expire_all()
    assert session.get(Task, task.id).status.kind.value == "done"


def test_many_rows_are_capped_and_counted(person, add_task):
    me, http = person()
    now = utcnow()
    for n in range(my_day.ROWS + 2):
        add_task(me, planned_at=now - datetime.timedelta(days=2, minutes=n),
                 deadline=now - datetime.timedelta(days=1))
    part = _section(http.get("/").text, "overdue")
    assert len(re.findall(r'id="day-task-\d+"', part)) == my_day.ROWS
    assert f'<span class="badge">{my_day.ROWS + 2}</span>' in http.get("/").text


def test_read_only_sees_no_done_button_and_admin_goes_to_statistics(person, add_task,
                                                                       as_role):
    me, http = person(READ_ONLY)
    now = utcnow()
    add_task(me, planned_at=now - datetime.timedelta(days=1),
             deadline=now - datetime.timedelta(hours=1))
    page = http.get("/").text
    assert "Мой день" in page and "/tasks/done/" not in page
    assert as_role("admin").get("/").status_code == 302
    assert as_role("head").get("/").status_code == 302


def test_signed_out_visitor_gets_the_sign_in_page(client):
    page = client.get("/").text
    assert "Мой день" not in page and "/login/" in page
