"""A save the rules refuse shows the form again with what was typed and
the reason: FAB redirected to the list and the text
was lost."""
import re

from sqlalchemy import func, select

from app.models import Client, Deal, Employee, SalesPlan
from tests.conftest import unique


def _value(page, name):
    match = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>([^<]*)', page)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else match.group(1)


def test_a_refused_new_deal_keeps_what_was_typed(as_role, session):
    client = Client(name=unique("Отказ"))
    session.add(client)
    session.commit()
    title, comment = unique("Сделка без причины"), unique("Долгий комментарий")
    page = as_role("admin").post("/deals/add", data={
        "title": title, "client": client.id, "amount": "300 000,00", "status": "lost",
        "comment": comment})
    assert page.status_code == 200 and "/deals/add" in page.request.path
    assert "alert-danger" in page.text and "причин" in page.text.lower()
    assert _value(page.text, "title") == title
    assert _value(page.text, "amount") == "300 000,00"
    assert comment in page.text
    assert f'<option value="{client.id}" selected>' in page.text
    # The reason also stands at its field.
    assert re.search(r'id="loss_reason".*?</select>\s*<span class="help-block">[^<]*</span>'
                     r'\s*<div class="alert alert-danger">\s*Для проигранной', page.text, re.S)
    assert session.scalar(select(func.count()).select_from(Deal)
                          .where(Deal.title == title)) == 0


def test_a_refused_edit_keeps_what_was_typed(as_role, session):
    deal = Deal(title=unique("Правка"), client=Client(name=unique("Правка")))
    session.add(deal)
    session.commit()
    comment = unique("Новый комментарий")
    page = as_role("admin").post(f"/deals/edit/{deal.id}", data={
        "title": deal.title, "client": deal.client_id, "status": "lost", "comment": comment})
    assert f"/deals/edit/{deal.id}" in page.request.path
    assert "alert-danger" in page.text and comment in page.text
    session.expire_all()
    assert session.get(Deal, deal.id).comment != comment


def test_a_refused_plan_keeps_what_was_typed(as_role, session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    month = "01.03.2031"
    session.add(SalesPlan(manager_id=manager, month=__import__("datetime").date(2031, 3, 1),
                          deals=1))
    session.commit()
    comment = unique("План на март")
    page = as_role("admin").post("/plans/add", data={
        "manager": manager, "month": month, "deals": "7", "comment": comment})
    assert "alert-danger" in page.text and comment in page.text
    assert _value(page.text, "deals") == "7"


def test_a_refused_delete_returns_to_the_page_it_came_from(as_role, session):
    from app.models import Department
    head = Department(name=unique("Отдел со штатом"))
    session.add(head)
    session.flush()
    employee = session.scalar(select(Employee).where(Employee.username == "manager"))
    previous, employee.department_id = employee.department_id, head.id
    session.commit()
    try:
        page = as_role("admin").post(f"/departments/delete/{head.id}", headers={
            "Referer": f"http://localhost/departments/show/{head.id}"})
        assert page.request.path == f"/departments/show/{head.id}"
        assert "alert-danger" in page.text
    finally:
        employee.department_id = previous
        session.commit()
