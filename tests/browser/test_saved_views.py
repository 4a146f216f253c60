"""Saved list views in Chromium: a manager filters the deals, saves the
view, goes elsewhere, picks it from «Виды» and has the filter back; then
deletes it; chooses the list's columns with the keyboard and keeps them
in a view. Also «Мой день» with its «Выполнено»."""
import datetime
import uuid

import pytest
from sqlalchemy import select

from app.models import Client, Deal, SavedView, Task, TaskStatus, utcnow
from tests.browser.conftest import sign_in
from tests.conftest import employee_id

pytestmark = pytest.mark.browser


def test_save_a_filtered_list_and_pick_it_from_views(live_server, page, session):
    manager = employee_id(session, "manager")
    word = "Вид" + uuid.uuid4().hex[:6]
    client = Client(name=f"ООО «Лес {uuid.uuid4().hex[:6]}»", responsible_id=manager)
    found = Deal(title=f"Сделка {word}", client=client, responsible_id=manager, amount=5000)
    other = Deal(title=f"Другая {uuid.uuid4().hex[:6]}", client=client, responsible_id=manager,
                 amount=7000)
    session.add_all([found, other])
    session.commit()
    title = f"Мои {word}"

    sign_in(page, live_server, "manager")
    page.goto(live_server + "/deals/list/")
    page.fill("#quick-search", word)
    page.press("#quick-search", "Enter")
    page.wait_for_selector(f"text={found.title}")
    assert other.title not in page.content()

    page.click("#saved-view-save-toggle")
    page.fill("#saved-view-title", title)
    page.click("#saved-view-save")
    page.wait_for_selector(f"text=Вид «{title}» сохранён")

    page.goto(live_server + "/deals/list/")
    page.wait_for_selector(f"text={other.title}")
    assert page.input_value("#quick-search") == ""
    page.click("#saved-views-menu")
    page.click(f".saved-view-open:has-text('{title}')")
    page.wait_for_selector(f"text={found.title}")
    assert page.input_value("#quick-search") == word
    assert other.title not in page.content()
    assert "_flt_0_quick=" in page.url and "/deals/list/" in page.url

    saved = session.scalar(select(SavedView.id).where(SavedView.title == title))
    page.click("#saved-views-manage-toggle")
    page.click(f"#saved-view-delete-{saved}")
    page.wait_for_selector(f"text=Вид «{title}» удалён")
    page.click("#saved-views-menu")
    assert page.locator(f".saved-view-open:has-text('{title}')").count() == 0


def test_choose_columns_with_the_keyboard_and_keep_them_in_a_view(live_server, page, session):
    """«Колонки» without the mouse: open the chooser, untick «Клиент», show;
    the view saved then brings the same columns back."""
    manager = employee_id(session, "manager")
    word = "Кол" + uuid.uuid4().hex[:6]
    client = Client(name=f"ООО «Поле {word}»", responsible_id=manager)
    deal = Deal(title=f"Сделка {word}", client=client, responsible_id=manager, amount=4200)
    session.add(deal)
    session.commit()
    title = f"Без клиента {word}"
    headers = "table thead th"

    sign_in(page, live_server, "manager")
    page.goto(live_server + "/deals/list/?_flt_0_quick=" + word)
    page.wait_for_selector(f"text={deal.title}")
    assert page.locator(headers, has_text="Клиент").count() == 1
    assert client.name in page.content()
    page.focus("#column-chooser-toggle")
    page.keyboard.press("Enter")  # <details> opens
    page.wait_for_selector("#column-choice-client", state="visible")
    page.focus("#column-choice-client")
    page.keyboard.press("Space")
    assert not page.is_checked("#column-choice-client")
    page.focus("#column-chooser-apply")
    page.keyboard.press("Enter")
    page.wait_for_url("**_cols_DealView=*")
    assert "client" not in page.url.split("_cols_DealView=")[1].split("&")[0].split(",")
    page.wait_for_selector(f"text={deal.title}")
    assert page.locator(headers, has_text="Клиент").count() == 0
    assert page.locator(headers, has_text="Название").count() == 1
    assert client.name not in page.content()

    page.click("#saved-view-save-toggle")
    page.fill("#saved-view-title", title)
    page.click("#saved-view-save")
    page.wait_for_selector(f"text=Вид «{title}» сохранён")
    page.goto(live_server + "/deals/list/")
    page.wait_for_selector("#saved-views-menu")
    page.click("#saved-views-menu")
    page.click(f".saved-view-open:has-text('{title}')")
    page.wait_for_selector(f"text={deal.title}")
    assert page.locator(headers, has_text="Клиент").count() == 0
    assert "_cols_DealView=" in page.url and client.name not in page.content()
    # FAB's «Добавить фильтр» form keeps the columns.
    page.click("#accordion1 .accordion-toggle")
    page.wait_for_selector("#accordion1_href.collapse.in")
    page.click("#filter_form .dropdown-toggle")
    page.click("#filter_form a.filter[name=title]")
    page.locator("#filter_form table.filters input.filter_val").last.fill(deal.title)
    page.click("#filter_form button[type=submit]")
    page.wait_for_url("**_flt_*_title=*")
    assert "_cols_DealView=" in page.url
    page.wait_for_selector(f"text={deal.title}")
    assert page.locator(headers, has_text="Клиент").count() == 0
    # «Все колонки» brings every column back.
    page.click("#column-chooser-toggle")
    page.click("#column-chooser-reset")
    page.wait_for_selector(f"text={client.name}")
    assert "_cols_DealView" not in page.url


def test_my_day_closes_a_task(live_server, page, session):
    manager = employee_id(session, "manager")
    now = utcnow()
    status = session.scalar(select(TaskStatus).where(TaskStatus.name == "В работе"))
    task = Task(client=Client(name=f"Клиент дня {uuid.uuid4().hex[:6]}",
                              responsible_id=manager),
                description=f"Перезвонить {uuid.uuid4().hex[:6]}", assignee_id=manager,
                author_id=manager, status=status,
                planned_at=datetime.datetime(2100, 1, 1, 9, 0),  # heads the overdue list
                deadline=now - datetime.timedelta(minutes=10))
    session.add(task)
    session.commit()
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/")
    row = page.locator(f"#day-task-{task.id}")
    row.wait_for()
    assert "Просрочена" in row.inner_text()
    row.locator(".task-done").click()
    page.wait_for_selector("text=Задача выполнена")
    assert page.url.rstrip("/") == live_server
    assert page.locator(f"#day-task-{task.id}").count() == 0
