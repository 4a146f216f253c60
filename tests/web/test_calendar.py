"""The managers' calendar screen."""
import datetime

from sqlalchemy import select

from app.models import Client, Employee, Task, TaskStatus
from tests.conftest import new_user, unique

DAY = datetime.date(2032, 5, 10)


def _tasks(session, username, count, status=None, hour=9):
    user = session.scalar(select(Employee).where(Employee.username == username))
    client = Client(name=unique("Календарный"), responsible_id=user.id)
    session.add(client)
    rows = [Task(client=client, description=unique("встреча"), assignee_id=user.id,
                 author_id=user.id, status=status,
                 planned_at=datetime.datetime.combine(DAY, datetime.time(hour)))
            for _ in range(count)]
    session.add_all(rows)
    session.commit()
    return user, rows


def _row(page, manager_name):
    return page.split(f'<th style="white-space:nowrap">{manager_name}</th>')[1].split("</tr>")[0]


def _cell(page, manager_name):
    row = _row(page, manager_name)
    return [int(c.split('data-count="')[1].split('"')[0]) for c in row.split("<td")[1:]]


def test_head_sees_every_manager_with_counts_and_intensity(as_role, session):
    manager, _ = _tasks(session, "manager", 3)
    head, _ = _tasks(session, "head", 1)
    page = as_role("head").get(f"/calendar/?start={DAY.isoformat()}&days=7").text
    assert "Календарь" in page
    assert _cell(page, manager.full_name)[0] >= 3 and _cell(page, head.full_name)[0] >= 1
    assert "rgba(51,122,183,1.00)" in page  # the busiest cell is the darkest


def test_a_managers_name_and_links_are_written_as_text(app, as_role, session):
    """The grid's rows are drawn in Python (views/calendar._rows): what an
    employee's name holds is escaped there, and the links' ampersands too."""
    login, user_id = new_user(app, prefix="calendar", first_name="<b>Иван</b>",
                              last_name='"Петров" & Co')
    page = as_role("head").get(f"/calendar/?start={DAY.isoformat()}&days=2").text
    assert "<b>Иван</b>" not in page
    name = "&#34;Петров&#34; &amp; Co &lt;b&gt;Иван&lt;/b&gt;"
    link = _row(page, name).split('href="')[1].split('"')[0]
    assert f"&amp;manager={user_id}&amp;" in link and "&manager" not in link
    assert _cell(page, name) == [0, 0]


def test_manager_sees_only_own_row(as_role, session):
    _tasks(session, "head", 2)
    page = as_role("manager").get(f"/calendar/?start={DAY.isoformat()}&days=3").text
    head = session.scalar(select(Employee).where(Employee.username == "head"))
    assert f'nowrap">{head.full_name}<' not in page and 'nowrap">Тестов Manager<' in page


def test_a_cell_opens_that_managers_tasks_of_that_day(as_role, session):
    manager, rows = _tasks(session, "manager", 2, hour=23)  # 02:00 next day in Moscow
    page = as_role("head").get(f"/calendar/?start={DAY.isoformat()}&days=3").text
    cells = _cell(page, manager.full_name)
    assert cells[1] >= 2  # counted on the Moscow day after
    link = _row(page, manager.full_name).split('href="')[2].split('"')[0].replace("&amp;", "&")
    listing = as_role("head").get(link).text
    for task in rows:
        assert f"/tasks/show/{task.id}" in listing


def test_filter_by_status(as_role, session):
    done = session.scalar(select(TaskStatus).where(TaskStatus.name == "Завершена"))
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    day = datetime.date(2033, 1, 17)
    at = datetime.datetime.combine(day, datetime.time(10))
    session.add_all([Task(description="готово", assignee_id=manager.id, status=done,
                          planned_at=at),
                     Task(description="в работе", assignee_id=manager.id, planned_at=at)])
    session.commit()
    url = f"/calendar/?start={day.isoformat()}&days=1"
    assert _cell(as_role("head").get(url).text, manager.full_name) == [2]
    assert _cell(as_role("head").get(f"{url}&status={done.id}").text,
                 manager.full_name) == [1]


def test_bad_parameters_fall_back_to_defaults(as_role):
    response = as_role("manager").get("/calendar/?start=вчера&days=100000")
    assert response.status_code == 200
    assert response.text.count('class="text-center cell"') == 92


def test_new_task_from_a_cell_presets_manager_and_date(as_role, session):
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    day = datetime.date(2034, 2, 6)
    page = as_role("head").get(f"/calendar/?start={day.isoformat()}&days=1").text
    link = _row(page, manager.full_name).split('href="')[1].split('"')[0].replace("&amp;", "&")
    listing = as_role("head").get(link).text
    add_link = listing.split('id="new-task-for-day"')[1].split('href="/tasks/add')[1] \
        .split('"')[0].replace("&amp;", "&")
    form = as_role("head").get("/tasks/add" + add_link).text
    assert 'name="assignee"' not in form, add_link  # fixed to the cell's manager
    assert 'value="06.02.2034 09:00"' in form
    description = unique("из календаря")
    as_role("head").post("/tasks/add" + add_link, {
        "planned_at": "2034-02-06 09:00:00", "description": description,
        "reminder_minutes": "60"})
    task = session.scalar(select(Task).where(Task.description == description))
    assert task.assignee_id == manager.id
    # 09:00 in Moscow is 06:00 UTC, and the task counts in the cell of that day.
    assert task.planned_at == datetime.datetime(2034, 2, 6, 6, 0)
    page = as_role("head").get(f"/calendar/?start={day.isoformat()}&days=1").text
    assert _cell(page, manager.full_name) == [1]


def test_filter_by_manager_and_client(as_role, session):
    manager, rows = _tasks(session, "manager", 2, hour=12)
    head, _ = _tasks(session, "head", 1, hour=12)
    client_id = rows[0].client_id
    page = as_role("head").get(f"/calendar/?start={DAY.isoformat()}&days=1"
                               f"&manager={manager.id}&client={client_id}").text
    assert f'nowrap">{head.full_name}<' not in page
    assert _cell(page, manager.full_name) == [2]
    assert f'<option value="{client_id}" selected>' in page
