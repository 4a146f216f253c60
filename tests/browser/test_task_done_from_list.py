"""«Выполнено» on the task list in Chromium: a manager closes a task with a
click (and another from the keyboard), lands on the same list page with
«Задача выполнена», and the row keeps no button."""
import datetime

import pytest
from sqlalchemy import select

from app.models import Client, StatusKind, Task, TaskStatus
from tests.browser.conftest import sign_in
from tests.conftest import employee_id, unique

pytestmark = pytest.mark.browser

LIST = "/tasks/list/?_oc_TaskView=planned_at&_od_TaskView=desc"


def test_manager_closes_a_task_from_the_list(live_server, page, session):
    manager = employee_id(session, "manager")
    working = session.scalar(select(TaskStatus).where(TaskStatus.name == "В работе"))
    made = []
    for _ in range(2):
        client = Client(name=unique("Списочный"), responsible_id=manager)
        task = Task(client=client, description=unique("Закрыть"), assignee_id=manager,
                    author_id=manager, status=working,
                    planned_at=datetime.datetime(2099, 2, 1, 9, 0))
        session.add_all([client, task])
        made.append(task)
    session.commit()
    clicked, typed = (task.id for task in made)

    sign_in(page, live_server, "manager")
    page.goto(live_server + LIST)
    button = page.locator(f"#task-done-{clicked}")
    assert button.inner_text().strip() == "Выполнено"
    assert button.get_attribute("title").startswith("Отметить задачу выполненной")
    button.click()
    page.wait_for_selector(".alert-success:has-text('Задача выполнена')")
    assert page.url == live_server + LIST  # the same page, sort kept
    row = page.locator(f"tr:has(a[href^='/tasks/show/{clicked}?']), "
                       f"tr:has(a[href='/tasks/show/{clicked}'])")
    assert row.count() == 1 and row.locator("button.task-done").count() == 0

    # From the keyboard: focus and Enter.
    page.focus(f"#task-done-{typed}")
    page.keyboard.press("Enter")
    page.wait_for_selector(".alert-success:has-text('Задача выполнена')")
    assert page.locator(f"#task-done-{typed}").count() == 0

    session.expire_all()
    for task_id in (clicked, typed):
        task = session.get(Task, task_id)
        assert task.status.kind == StatusKind.DONE and task.finished_at is not None


def test_manager_closes_a_task_with_its_result(live_server, page, session):
    manager = employee_id(session, "manager")
    working = session.scalar(select(TaskStatus).where(TaskStatus.name == "В работе"))
    client = Client(name=unique("С результатом"), responsible_id=manager)
    task = Task(client=client, description=unique("Созвониться"), assignee_id=manager,
                author_id=manager, status=working,
                planned_at=datetime.datetime(2099, 3, 1, 9, 0))
    session.add_all([client, task])
    session.commit()

    sign_in(page, live_server, "manager")
    page.goto(live_server + LIST)
    page.click(f"#task-result-{task.id}")
    box = page.locator(f"form[action='/tasks/done/{task.id}'] textarea[name=result]")
    box.fill("Клиент согласен, договор в пятницу")
    page.locator(f"form[action='/tasks/done/{task.id}'] details button").click()
    page.wait_for_selector(".alert-success:has-text('Задача выполнена')")
    session.expire_all()
    closed = session.get(Task, task.id)
    assert closed.status.kind == StatusKind.DONE
    assert closed.result == "Клиент согласен, договор в пятницу"
