"""The «История» tab of every register's record page: the record's own
changes with Russian field names and values as the screens show them (enum
labels, dictionary names, dates and times in the office's zone)."""
import datetime
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import (
    Application,
    Client,
    ContactPerson,
    Deal,
    DealStatus,
    FunnelStage,
    Invoice,
    InvoiceStatus,
    Lead,
    LeadStatus,
    Note,
    ProcessingStatus,
    Project,
    Task,
)
from app.services import history
from tests.conftest import employee_id, unique, with_history


def _history_rows(page):
    """The rows of the page's history table, each as text with one space."""
    table = page.split('id="history"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>.*?</tr>", table.split("<tbody>", 1)[1], re.S)]


def _stage(session, name):
    return session.scalar(select(FunnelStage).where(FunnelStage.name == name))


def _deal(session, client):
    deal = Deal(title=unique("Сделка"), client=client, stage=_stage(session, "Звонок"),
                amount=Decimal("300000"))
    return deal, [("stage", _stage(session, "Встреча")), ("status", DealStatus.WON)], [
        "Стадия Звонок Встреча", "Статус Открыта Выиграна"]


def _lead(session, client):
    return Lead(title=unique("Лид"), client=client), [
        ("status", LeadStatus.IN_WORK), ("amount", Decimal("1500.5"))], [
        "Статус Новый В работе", "Сумма 1 500,50"]


def _task(session, client):
    return Task(client=client, description="Позвонить",
                planned_at=datetime.datetime(2026, 3, 1, 7, 0)), [
        ("planned_at", datetime.datetime(2026, 3, 2, 9, 30))], [
        "Запланировано 01.03.2026 10:00 02.03.2026 12:30"]


def _invoice(session, client):
    return Invoice(client=client), [("status", InvoiceStatus.ISSUED)], [
        "Статус Черновик Выставлен"]


def _application(session, client):
    return Application(client=client, amount=Decimal("10")), [
        ("status", ProcessingStatus.COMPLETED)], ["Статус В обработке Завершена"]


def _contact(session, client):
    return ContactPerson(client=client, name="Иван", position="Бухгалтер"), [
        ("position", "Директор")], ["Должность Бухгалтер Директор"]


def _project(session, client):
    return Project(client=client, name=unique("Проект")), [
        ("is_closed", True), ("end_date", datetime.date(2026, 4, 30))], [
        "Закрыт Нет Да", "Окончание 30.04.2026"]


REGISTERS = {
    "deals": (_deal, "Сделка", "изменена"),
    "leads": (_lead, "Лид", "изменён"),
    "tasks": (_task, "Задача", "изменена"),
    "invoices": (_invoice, "Счёт", "изменён"),
    "applications": (_application, "Заявка", "изменена"),
    "contacts": (_contact, "Контактное лицо", "изменено"),
    "projects": (_project, "Проект", "изменён"),
}


@pytest.mark.parametrize("route", REGISTERS)
def test_each_registers_history_tab_shows_a_change_in_russian(as_role, session, route):
    make, entity_label, changed = REGISTERS[route]
    admin_id = employee_id(session, "admin")
    client = Client(name=unique("История"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    record, changes, expected = make(session, client)
    token = history.acting_user_id.set(admin_id)
    try:
        session.add(record)
        session.commit()
        for field, value in changes:
            setattr(record, field, value)
        session.commit()
    finally:
        history.acting_user_id.reset(token)

    for username in ("admin", "manager"):
        page = with_history(as_role(username), f"/{route}/show/{record.id}")
        assert 'href="#History"' in page and ">История<" in page
        rows = _history_rows(page)
        for text in expected:
            assert any(text in row and f"{entity_label} №{record.id}: {changed}" in row
                       and "Тестов Admin" in row for row in rows), (text, rows)
        assert any(f"{entity_label} №{record.id}: созда" in row for row in rows), rows
        shown = " ".join(rows)
        for raw in ("None", "True", "False", "won", "in_work", "issued", "completed",
                    "_id", "2026-03"):
            assert raw not in shown, (raw, rows)


def test_history_tab_of_a_record_one_may_not_read_is_not_shown(as_role, session):
    other = Client(name=unique("Чужой"))
    session.add(other)
    session.commit()
    project = Project(client_id=other.id, name=unique("Чужой проект"))
    session.add(project)
    session.commit()
    manager = as_role("manager")
    response = manager.get(f"/projects/show/{project.id}")
    assert project.name not in response.text
    # Nor is its tab, asked for by its address; nor a client's.
    for path in (f"/projects/history/{project.id}", f"/clients/history/{other.id}",
                 "/clients/history/0", f"/clients/history/{2**31}"):
        assert manager.get(path).status_code == 404, path
    # A register without a history (notes) has no such tab, even for one's own.
    note = Note(client_id=other.id, text=unique("Заметка"))
    other.responsible_id = employee_id(session, "manager")
    session.add(note)
    session.commit()
    assert manager.get(f"/notes/show/{note.id}").status_code == 200
    assert manager.get(f"/notes/history/{note.id}").status_code == 404


def test_the_history_tab_is_fetched_when_opened(as_role, session):
    """A record page holds the tab's placeholder, not its rows (a client
    with 600 changes made every visit 89 ms and 210 KB); the tab's address
    answers the rows alone, under the record's show permission."""
    client = Client(name=unique("Лениво"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    client.city = "Тверь"
    session.commit()
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{client.id}").text
    pane = page.split('id="History"', 1)[1]
    assert 'id="history"' not in page and "Тверь" not in pane.split("</div>")[0]
    source = re.search(r'data-src="([^"]+)"', pane).group(1)
    assert source == f"/clients/history/{client.id}"
    tab = manager.get(source)
    assert tab.status_code == 200 and "<html" not in tab.text
    assert 'id="history"' in tab.text and "Тверь" in tab.text and "Город" in tab.text


def test_bookkeeping_of_the_jobs_is_not_a_change(session):
    task = Task(description="Напомнить", planned_at=datetime.datetime(2026, 3, 1, 7, 0))
    session.add(task)
    session.commit()
    task.reminder_sent_for = task.overdue_marked_for = datetime.datetime(2026, 3, 1, 7, 0)
    session.commit()
    assert [row.action for row in history.for_record(session, "task", task.id)] == ["create"]
