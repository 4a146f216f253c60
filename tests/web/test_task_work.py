"""The "work on task" screen and its rules."""
import datetime
import re

import pytest
from sqlalchemy import select

from app.models import Client, Department, Employee, Note, Task, TaskStatus, TaskType
from app.services import assignment, tasks
from app.services.errors import Refused
from tests.conftest import unique


def _status(session, name):
    return session.scalar(select(TaskStatus).where(TaskStatus.name == name))


@pytest.fixture
def own_task(session):
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    client = Client(name=unique("Задачный"), responsible_id=manager.id)
    task = Task(client=client, description=unique("Позвонить"), assignee_id=manager.id,
                author_id=manager.id, status=_status(session, "В работе"))
    session.add_all([client, task])
    session.commit()
    return task


def _form(session, **extra):
    data = {"status": str(_status(session, "Завершена").id),
            "started_at": "2026-11-20T10:00", "finished_at": "2026-11-20T11:30",
            "type": str(session.scalar(select(TaskType.id).where(TaskType.name == "Встреча"))),
            "assignee": "", "note": "Клиент согласен"}
    data.update(extra)
    return data


def test_manager_completes_own_task_with_dates_and_note(as_role, session, own_task):
    manager = as_role("manager")
    page = manager.get(f"/tasks/work/{own_task.id}").text
    assert "Работать над задачей" in page and "История клиента" in page
    manager.post(f"/tasks/work/{own_task.id}", _form(session))
    session.expire_all()
    task = session.get(Task, own_task.id)
    assert task.status.name == "Завершена" and task.type.name == "Встреча"
    # Typed in Moscow time, kept in UTC, shown in Moscow time again.
    assert task.started_at == datetime.datetime(2026, 11, 20, 7, 0)
    assert task.finished_at == datetime.datetime(2026, 11, 20, 8, 30)
    assert 'value="2026-11-20T10:00"' in manager.get(f"/tasks/work/{own_task.id}").text
    assert "Клиент согласен" in task.note
    assert session.scalar(select(Note).where(Note.client_id == task.client_id,
                                             Note.text == "Клиент согласен"))
    page = manager.get(f"/tasks/work/{own_task.id}").text
    timeline = page.split('id="timeline"')[1]
    assert "Заметка: Клиент согласен" in timeline and "Завершена" in timeline


@pytest.mark.parametrize("extra, message", [
    ({"started_at": "", "finished_at": ""}, "Для этого статуса нужны дата и время начала"),
    ({"finished_at": "2026-11-20T09:00"}, "Окончание не может быть раньше начала"),
])
def test_dates_are_required_and_ordered(as_role, session, own_task, extra, message):
    page = as_role("manager").post(f"/tasks/work/{own_task.id}", _form(session, **extra)).text
    assert message in page
    session.expire_all()
    assert session.get(Task, own_task.id).status.name == "В работе"


def test_status_without_dates_ignores_them(as_role, session, own_task):
    as_role("manager").post(f"/tasks/work/{own_task.id}", _form(
        session, status=str(_status(session, "Недозвон").id), started_at="", finished_at=""))
    session.expire_all()
    assert session.get(Task, own_task.id).status.name == "Недозвон"


def test_inactive_or_foreign_assignee_is_refused(session):
    head = session.scalar(select(Employee).where(Employee.username == "head"))
    sales = Department(name=unique("Продажи"))
    session.add(sales)
    session.flush()
    colleague = Employee(username=unique("c").replace(" ", ""), first_name="К",
                         last_name="Коллега", email=f"{unique('c')}@x.ru".replace(" ", ""),
                         active=False)
    session.add(colleague)
    colleague.department = sales
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    manager.department = sales
    session.commit()
    try:
        allowed = tasks.assignable(session, manager.id, assignment.COLLEAGUES)
        assert colleague not in allowed and manager in allowed and head not in allowed
        task = Task(description="x")
        with pytest.raises(Refused) as refused:
            tasks.process(session, task, status=_status(session, "Недозвон"), type_=None,
                          assignee=head, started_at=None, finished_at=None, note="",
                          author_id=manager.id, allowed_assignees=allowed)
        assert "assignee" in refused.value.errors
        assert len(tasks.assignable(session, head.id, assignment.ANYONE)) >= 4
    finally:
        manager.department = None
        session.commit()


def test_hidden_task_and_read_only_role_are_refused(as_role, session):
    head = session.scalar(select(Employee.id).where(Employee.username == "head"))
    client = Client(name=unique("Чужой"), responsible_id=head)
    task = Task(client=client, description="чужая", assignee_id=head, author_id=head)
    session.add_all([client, task])
    session.commit()
    assert as_role("manager").get(f"/tasks/work/{task.id}").status_code == 404
    assert as_role("auditor").get(f"/tasks/work/{task.id}").status_code == 403
    assert as_role("head").get(f"/tasks/work/{task.id}").status_code == 200


def test_task_page_links_to_the_work_screen(as_role, own_task):
    page = as_role("manager").get(f"/tasks/show/{own_task.id}").text
    assert f"/tasks/work/{own_task.id}" in page


@pytest.mark.parametrize("may_assign_colleagues", [False, True])
def test_the_work_form_gives_a_task_to_a_colleague_only_with_the_permission(
        app, session, may_assign_colleagues):
    """The rule of every other form (services/assignment.py): a manager
    restricted to own records gives a task to a colleague of the department
    only with «can assign colleagues»."""
    from app.models import Employee as Person
    from app.security import ASSIGN_COLLEAGUES, MANAGER
    from tests.conftest import new_user, signed_in

    department = Department(name=unique("Отдел"))
    session.add(department)
    session.commit()
    login, me = new_user(app, prefix="worker", department_id=department.id)
    _, mate = new_user(app, prefix="mate", department_id=department.id)
    if may_assign_colleagues:
        with app.app_context():
            sm = app.appbuilder.sm
            role = sm.add_role(unique("Назначает коллегам"))
            sm.add_permission_role(role, sm.find_permission_view_menu(*ASSIGN_COLLEAGUES))
            user = sm.get_user_by_id(me)
            user.roles = [sm.find_role(MANAGER), role]
            sm.update_user(user)
    client = Client(name=unique("Задачный"), responsible_id=me)
    task = Task(client=client, description=unique("Позвонить"), assignee_id=me, author_id=me,
                status=_status(session, "В работе"))
    session.add_all([client, task])
    session.commit()

    worker = signed_in(app, login)
    page = worker.get(f"/tasks/work/{task.id}").text
    offered = re.search(r'<select[^>]*name="assignee"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert set(re.findall(r'value="(\d+)"', offered)) == (
        {str(me), str(mate)} if may_assign_colleagues else {str(me)})
    worker.post(f"/tasks/work/{task.id}", _form(session, assignee=str(mate)))
    session.expire_all()
    assert session.get(Task, task.id).assignee_id == (mate if may_assign_colleagues else me)
    assert session.get(Person, mate).active


def test_a_manager_gives_a_new_task_to_nobody_else_by_form_or_api(app, as_role, session):
    """The task form and the API take the assignee by the rule of records:
    a manager without «can assign colleagues» gives a task to themselves."""
    from tests.conftest import jwt_headers

    head = session.scalar(select(Employee.id).where(Employee.username == "head"))
    me = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    manager = as_role("manager")
    page = manager.get("/tasks/add").text
    offered = re.search(r'<select[^>]*name="assignee"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert set(re.findall(r'value="(\d+)"', offered)) == {str(me)}
    description = unique("Чужому")
    manager.post("/tasks/add", {"description": description, "assignee": str(head),
                                "planned_at": "10.12.2031 10:00"})
    assert session.scalar(select(Task.id).where(Task.description == description)) is None
    answer = app.test_client().post("/api/v1/task/", headers=jwt_headers(app, "manager"),
                                    json={"description": description, "assignee": head,
                                          "planned_at": "2031-12-10T10:00:00"})
    assert answer.status_code == 403, answer.json
    session.expire_all()
    assert session.scalar(select(Task.id).where(Task.description == description)) is None
    mine = unique("Себе")
    manager.post("/tasks/add", {"description": mine, "assignee": str(me),
                                "planned_at": "10.12.2031 10:00"})
    assert session.scalar(select(Task.assignee_id).where(Task.description == mine)) == me
