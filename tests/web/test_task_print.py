"""Printing the task list to PDF."""
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Client, ContactPerson, Region, Task, TaskStatus, TaskType
from tests.conftest import employee, statements_sent, unique

DAY = datetime.datetime(2035, 3, 14, 7, 30)  # 10:30 in Moscow


def _text(response):
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _status(session, name):
    return session.scalar(select(TaskStatus).where(TaskStatus.name == name))


@pytest.fixture
def printed(session):
    """A manager's client with contacts and a completed task, and the head's
    client the manager may not see, each with an open task on DAY."""
    manager, head = employee(session, "manager"), employee(session, "head")
    region = session.scalar(select(Region).limit(1))
    tag = unique("печать").split()[1]
    mine = Client(name=f"Ромашкина Анна {tag}", responsible_id=manager.id, region=region,
                  city="Тула", address="ул. Ленина, д. 5", phone="+79161234567")
    theirs = Client(name=f"Васильков Пётр {tag}", responsible_id=head.id)
    session.add_all([mine, theirs])
    session.flush()
    session.add(ContactPerson(client_id=mine.id, name="Иванов Сергей", position="директор",
                              phone="+74951112233"))
    call = session.scalar(select(TaskType).where(TaskType.name == "Звонок"))
    done, in_work = _status(session, "Завершена"), _status(session, "В работе")
    session.add_all([
        Task(client=mine, type=call, assignee_id=manager.id, author_id=manager.id,
             status=done, planned_at=DAY - datetime.timedelta(days=9),
             finished_at=DAY - datetime.timedelta(days=9), result="Договорились о встрече"),
        Task(client=mine, assignee_id=manager.id, author_id=manager.id,
             status=in_work, planned_at=DAY,
             description=f"Обсудить договор {tag}"),
        Task(client=theirs, assignee_id=head.id, author_id=head.id,
             status=in_work, planned_at=DAY,
             description=f"Чужая задача {tag}"),
    ])
    session.commit()
    return {"tag": tag, "mine": mine, "theirs": theirs}


def test_head_prints_the_filtered_list_with_client_details(as_role, printed):
    head = as_role("head")
    text = _text(head.get("/tasks/print?_flt_1_planned_at=2035-03-14%2000:00:00"
                          "&_flt_2_planned_at=2035-03-15%2000:00:00"))
    tag = printed["tag"]
    assert f"Ромашкина Анна {tag}" in text and f"Васильков Пётр {tag}" in text
    assert "Тула, ул. Ленина, д. 5" in text
    assert "+7 916 123-45-67" in text
    assert "Иванов Сергей, директор" in text
    assert "Договорились о встрече" in text  # the client's last completed task
    assert f"Обсудить договор {tag}" in text
    assert "14.03.2035" in text and "10:30" in text  # Moscow time
    assert "Список задач" in text
    # The stamp in office time too (the machine's clock is UTC).
    now = datetime.datetime.now(ZoneInfo("Europe/Moscow"))
    stamps = {(now + datetime.timedelta(minutes=d)).strftime("%d.%m.%Y %H:%M") for d in (-1, 0)}
    assert any(f"Напечатано {stamp}" in text for stamp in stamps), text[-400:]


def test_filters_are_respected(as_role, printed, session):
    head = as_role("head")
    assignee = employee(session, "manager").id
    text = _text(head.get(f"/tasks/print?_flt_0_assignee={assignee}"
                          "&_flt_1_planned_at=2035-03-14%2000:00:00"))
    assert f"Ромашкина Анна {printed['tag']}" in text
    assert f"Васильков Пётр {printed['tag']}" not in text


def test_manager_prints_only_visible_tasks(as_role, printed):
    text = _text(as_role("manager").get("/tasks/print?_flt_1_planned_at=2035-03-14%2000:00:00"))
    assert f"Ромашкина Анна {printed['tag']}" in text
    assert f"Васильков Пётр {printed['tag']}" not in text
    assert f"Чужая задача {printed['tag']}" not in text


def test_read_only_may_print(as_role, printed):
    text = _text(as_role("auditor").get("/tasks/print?_flt_1_planned_at=2035-03-14%2000:00:00"))
    assert f"Васильков Пётр {printed['tag']}" in text


def test_print_needs_the_list_permission(client, app):
    response = client.get("/tasks/print")
    assert response.status_code in (302, 401, 403)
    assert "login" in response.headers.get("Location", "login")


def test_list_page_has_the_print_button_with_its_filters(as_role):
    page = as_role("manager").get("/tasks/list/?_flt_1_planned_at=2035-03-14%2000:00:00").text
    assert 'id="print-task-list"' in page
    assert "/tasks/print?_flt_1_planned_at=2035-03-14" in page
    assert "Печать списка задач" in page


def test_cap_and_message(as_role, printed, app):
    app.config["TASK_PRINT_LIMIT"] = 1
    try:
        text = _text(as_role("head").get("/tasks/print?_flt_1_planned_at=2035-03-14%2000:00:00"))
    finally:
        app.config["TASK_PRINT_LIMIT"] = 300
    assert "Напечатаны только первые 1" in text


def test_queries_do_not_grow_with_the_tasks(as_role, printed, app, session):
    """Contacts and last completed tasks are loaded per page, not per task."""

    head = as_role("head")
    url = "/tasks/print?_flt_1_planned_at=2035-03-14%2000:00:00"

    def count():
        with statements_sent(app) as statements:
            _text(head.get(url))
        return len(statements)

    before = count()
    manager = employee(session, "manager")
    for i in range(15):
        client = Client(name=unique("Ещё клиент"), responsible_id=manager.id)
        session.add(client)
        session.add(ContactPerson(client=client, name=f"Контакт {i}"))
        session.add(Task(client=client, assignee_id=manager.id, planned_at=DAY,
                         description="ещё"))
    session.commit()
    assert count() <= before + 2


@pytest.mark.parametrize("args", ["_oc_TaskView=nosuch&_od_TaskView=asc",
                                  "_flt_0_assignee=abc", "_flt_1_planned_at=вчера"])
def test_bad_list_arguments_never_give_a_500(as_role, args):
    response = as_role("head").get("/tasks/print?" + args)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response.headers["Location"].endswith("/tasks/list/")
