"""«Выполнено» on the task list: a POST that closes the task by the work
form's rule (services/tasks.finish), under the edit form's row rule."""
import datetime
import re

import pytest
from sqlalchemy import select

from app.models import Client, StatusKind, Task, TaskStatus
from tests.conftest import employee_id, unique

# Far ahead: the newest planned tasks head the list (planned_at, descending).
PLANNED = datetime.datetime(2099, 1, 1, 9, 0)
LIST = "/tasks/list/?_oc_TaskView=planned_at&_od_TaskView=desc&psize_TaskView=25"


def _status(session, name):
    return session.scalar(select(TaskStatus).where(TaskStatus.name == name))


def _done_status(session):
    return session.scalar(select(TaskStatus).where(
        TaskStatus.is_active.is_(True), TaskStatus.kind == StatusKind.DONE)
        .order_by(TaskStatus.sort_order, TaskStatus.id))


@pytest.fixture
def make_task(session):
    def make(owner_id, status="В работе", **kw):
        client = Client(name=unique("Выполняемый"), responsible_id=owner_id)
        task = Task(client=client, description=unique("Позвонить"), assignee_id=owner_id,
                    author_id=owner_id, status=_status(session, status), planned_at=PLANNED,
                    **kw)
        session.add_all([client, task])
        session.commit()
        return task
    return make


def _row(page, task_id):
    """The list row of the task (its «Выполнено» form names the task's id)."""
    rows = re.findall(r"<tr.*?</tr>", page, re.S)
    return next((row for row in rows if f"/tasks/show/{task_id}?" in row
                 or f"/tasks/show/{task_id}\"" in row), None)


def test_manager_closes_own_task_and_returns_to_the_same_page(as_role, session, make_task):
    task = make_task(employee_id(session, "manager"))
    manager = as_role("manager")
    page = manager.get(LIST).text
    row = _row(page, task.id)
    assert row is not None and f'action="/tasks/done/{task.id}"' in row
    assert 'method="post"' in row and 'name="csrf_token"' in row and "Выполнено" in row
    assert 'title="Отметить задачу выполненной: статус' in row

    response = manager.post(f"/tasks/done/{task.id}", {"next": LIST}, follow=False)
    assert response.status_code == 302 and response.headers["Location"].endswith(LIST)
    page = manager.get(response.headers["Location"]).text
    assert "Задача выполнена" in page
    row = _row(page, task.id)
    assert row is not None and "/tasks/done/" not in row  # done: no button

    session.expire_all()
    done = session.get(Task, task.id)
    assert done.status_id == _done_status(session).id
    assert done.finished_at is not None and done.started_at == done.finished_at
    assert abs(done.finished_at - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
               ) < datetime.timedelta(minutes=5)  # stored in UTC


def test_referrer_is_the_way_back_and_outside_urls_are_not(as_role, session, make_task):
    manager = as_role("manager")
    task = make_task(employee_id(session, "manager"))
    response = manager.post(f"/tasks/done/{task.id}", follow=False,
                            headers={"Referer": "http://localhost" + LIST})
    assert response.headers["Location"].endswith(LIST)
    task = make_task(employee_id(session, "manager"))
    response = manager.post(f"/tasks/done/{task.id}", {"next": "https://evil.example/x"},
                            follow=False)
    assert "evil.example" not in response.headers["Location"]


def test_keeps_the_start_it_had(as_role, session, make_task):
    started = datetime.datetime(2026, 1, 10, 7, 0)
    task = make_task(employee_id(session, "manager"), started_at=started)
    as_role("manager").post(f"/tasks/done/{task.id}", {"next": LIST})
    session.expire_all()
    done = session.get(Task, task.id)
    assert done.started_at == started and done.finished_at > started


def test_refused_close_tells_why(as_role, session, make_task):
    # Started in the future: the work form's rule refuses an end before it.
    task = make_task(employee_id(session, "manager"),
                     started_at=datetime.datetime(2099, 1, 1, 7, 0))
    page = as_role("manager").post(f"/tasks/done/{task.id}", {"next": LIST}).text
    assert "Задача не закрыта: Окончание не может быть раньше начала" in page
    session.expire_all()
    assert session.get(Task, task.id).status.name == "В работе"


def test_manager_cannot_close_another_managers_task(as_role, session, make_task,
                                                    other_manager):
    task = make_task(other_manager)
    manager = as_role("manager")
    assert _row(manager.get(LIST).text, task.id) is None  # not even listed
    response = manager.post(f"/tasks/done/{task.id}", {"next": LIST}, follow=False)
    assert response.status_code in (403, 404)
    session.expire_all()
    unchanged = session.get(Task, task.id)
    assert unchanged.status.name == "В работе" and unchanged.finished_at is None


def test_a_colleagues_task_gets_the_button_only_where_the_manager_may_change_it(
        app, as_role, session, make_task, other_manager):
    """Own open tasks are answered from the page's rows; a colleague's
    visible task is asked about: on the manager's own client it may be
    closed, on a colleague's client open to reading only it may not."""
    from app.models import PublicAccess
    from tests.conftest import statements_sent

    me = employee_id(session, "manager")
    own = make_task(me)
    on_my_client = make_task(other_manager)
    on_my_client.client.responsible_id = me
    read_only = make_task(other_manager)
    read_only.client.public_access = PublicAccess.READ
    session.commit()
    manager = as_role("manager")
    with statements_sent(app) as sent:
        page = manager.get(LIST).text
    assert f'action="/tasks/done/{own.id}"' in _row(page, own.id)
    assert f'action="/tasks/done/{on_my_client.id}"' in _row(page, on_my_client.id)
    assert _row(page, read_only.id) is not None  # listed, but not to be closed
    assert "/tasks/done/" not in _row(page, read_only.id)
    # The colleagues' two tasks in one question; the own one in none.
    asked = [s for s in sent if re.search(r"FROM task\s+WHERE task\.id IN", s)]
    assert len(asked) == 1, asked
    assert not [s for s in sent if "FROM task_status" in s and "kind" in s]


@pytest.mark.parametrize("username", ["head", "admin"])
def test_head_and_admin_close_anyones_task(as_role, session, make_task, other_manager,
                                           username):
    task = make_task(other_manager)
    user = as_role(username)
    assert f'action="/tasks/done/{task.id}"' in _row(user.get(LIST).text, task.id)
    assert "Задача выполнена" in user.post(f"/tasks/done/{task.id}", {"next": LIST}).text
    session.expire_all()
    assert session.get(Task, task.id).status.kind == StatusKind.DONE


def test_read_only_role_gets_no_button_and_is_refused(as_role, session, make_task):
    task = make_task(employee_id(session, "manager"))
    auditor = as_role("auditor")
    assert "/tasks/done/" not in auditor.get(LIST).text
    assert auditor.post(f"/tasks/done/{task.id}", follow=False).status_code in (302, 403)
    session.expire_all()
    assert session.get(Task, task.id).status.name == "В работе"


def test_get_does_nothing(as_role, session, make_task):
    task = make_task(employee_id(session, "manager"))
    assert as_role("manager").get(f"/tasks/done/{task.id}").status_code == 405
    session.expire_all()
    assert session.get(Task, task.id).status.name == "В работе"


def test_missing_csrf_token_is_refused(app, as_role, session, make_task):
    assert app.config.get("WTF_CSRF_ENABLED", True)  # the tests keep CSRF on
    task = make_task(employee_id(session, "manager"))
    response = as_role("manager").post(f"/tasks/done/{task.id}", {"next": LIST},
                                       csrf=False, follow=False)
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Task, task.id).status.name == "В работе"


def test_done_task_has_no_button_and_is_not_closed_again(as_role, session, make_task):
    finished = datetime.datetime(2026, 2, 1, 10, 0)
    task = make_task(employee_id(session, "manager"), status=_done_status(session).name,
                     started_at=finished, finished_at=finished)
    manager = as_role("manager")
    row = _row(manager.get(LIST).text, task.id)
    assert row is not None and "/tasks/done/" not in row
    page = manager.post(f"/tasks/done/{task.id}", {"next": LIST}).text
    assert "Задача уже закрыта" in page
    session.expire_all()
    assert session.get(Task, task.id).finished_at == finished


def test_the_result_typed_beside_the_button_is_kept(as_role, session, make_task):
    kept = make_task(employee_id(session, "manager"), result="Было раньше")
    told = make_task(employee_id(session, "manager"))
    manager = as_role("manager")
    row = _row(manager.get(LIST).text, told.id)
    assert 'name="result"' in row and "С результатом…" in row
    manager.post(f"/tasks/done/{kept.id}", {"next": LIST, "result": "  "})
    manager.post(f"/tasks/done/{told.id}", {"next": LIST, "result": " Договорились о встрече "})
    session.expire_all()
    assert session.get(Task, kept.id).result == "Было раньше"  # nothing typed: it stays
    assert session.get(Task, told.id).result == "Договорились о встрече"
    assert session.get(Task, told.id).status_id == _done_status(session).id


def test_a_too_long_result_is_refused_and_the_task_stays_open(as_role, session, make_task):
    task = make_task(employee_id(session, "manager"))
    page = as_role("manager").post(f"/tasks/done/{task.id}",
                                   {"next": LIST, "result": "я" * 2001}).text
    assert "Задача не закрыта: Результат длиннее 2000 символов" in page
    session.expire_all()
    assert session.get(Task, task.id).status.name == "В работе"
