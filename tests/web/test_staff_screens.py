"""Departments, employees and company requisites through the screens."""
import re

from sqlalchemy import select

from app.models import Company, Department, Employee
from tests.conftest import Client, unique

VALID_COMPANY = {
    "name": "ООО «Ромашка»",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "bank_name": "ПАО Сбербанк",
    "bik": "044525225",
    "corr_account": "30101810400000000225",
    "settlement_account": "40702810938000012345",
    "postcode": "117997",
    "director_name": "Иванов Иван Иванович",
    "director_position": "Генеральный директор",
    "legal_address": "г. Москва, ул. Вавилова, д. 19",
    "actual_address": "г. Москва, ул. Вавилова, д. 19",
    "okved": "64.19",
    "oktmo": "45397000",
}


def _department(session, name, parent=None, head=None):
    dep = Department(name=name, parent=parent, head=head)
    session.add(dep)
    session.commit()
    return dep


# --- company ---------------------------------------------------------------


def test_admin_edits_company_requisites(as_role, session):
    admin = as_role("admin")
    admin.get("/company/list/")
    data = dict(VALID_COMPANY, settlement_account="4070 2810 9380 0001 2345")
    page = admin.post("/company/edit/1", data).text
    assert "Счёт не соответствует" not in page, page
    session.expire_all()
    company = session.get(Company, 1)
    assert company.inn == "7707083893"
    assert company.settlement_account == "40702810938000012345"
    shown = admin.get("/company/show/1").text
    assert "ООО «Ромашка»" in shown and "Расчётный счёт" in shown
    # The record page leads to the form (it was reachable only by its address).
    assert 'id="edit-company" href="/company/edit/1"' in shown


def test_invalid_requisites_get_a_message_per_field(as_role, session):
    admin = as_role("admin")
    admin.get("/company/list/")
    before = session.get(Company, 1).inn
    bad = dict(VALID_COMPANY, inn="7707083894", bik="123456789",
               corr_account="30101810500000000225", okved="abc")
    page = admin.post("/company/edit/1", bad).text
    assert "Неверное контрольное число ИНН" in page
    assert "БИК российского банка начинается с 04" in page
    assert "Коды ОКВЭД записываются" in page
    session.expire_all()
    assert session.get(Company, 1).inn == before


def test_account_must_match_bik(as_role):
    admin = as_role("admin")
    admin.get("/company/list/")
    page = admin.post("/company/edit/1",
                      dict(VALID_COMPANY, settlement_account="40702810138000012345")).text
    assert "Счёт не соответствует БИК банка" in page


def test_manager_cannot_edit_company(as_role, session):
    manager = as_role("manager")
    response = manager.post("/company/edit/1", dict(VALID_COMPANY, name="Взлом"))
    assert response.status_code == 403
    assert session.get(Company, 1) is None or session.get(Company, 1).name != "Взлом"


def test_head_of_sales_reads_but_cannot_edit_company(as_role):
    head = as_role("head")
    page = head.get("/company/list/", follow_redirects=True)
    assert page.status_code == 200 and "edit-company" not in page.text
    assert head.post("/company/edit/1", VALID_COMPANY).status_code == 403


# --- departments -------------------------------------------------------------


def test_admin_adds_renames_and_deletes_a_department(as_role, session):
    admin = as_role("admin")
    name = unique("Отдел продаж")
    admin.post("/departments/add", {"name": name})
    dep_id = session.scalar(select(Department.id).where(Department.name == name))
    assert dep_id is not None
    assert name in admin.get("/departments/list/").text
    admin.post(f"/departments/edit/{dep_id}", {"name": name + " (Москва)"})
    assert session.get(Department, dep_id).name == name + " (Москва)"
    admin.post(f"/departments/delete/{dep_id}")
    session.expire_all()
    assert session.get(Department, dep_id) is None


def test_department_delete_refused_while_it_has_employees_or_children(as_role, session):
    admin = as_role("admin")
    parent = _department(session, unique("Родитель"))
    _department(session, unique("Дочерний"), parent=parent)
    page = admin.post(f"/departments/delete/{parent.id}").text
    assert "Отдел нельзя удалить, пока в нём есть" in page
    assert "Отделы: 1" in page
    session.expire_all()
    assert session.get(Department, parent.id) is not None

    staffed = _department(session, unique("С сотрудниками"))
    employee = session.scalar(select(Employee).where(Employee.username == "manager"))
    employee.department = staffed
    session.commit()
    try:
        page = admin.post(f"/departments/delete/{staffed.id}").text
        assert "Сотрудники: 1" in page
        assert session.get(Department, staffed.id) is not None
    finally:
        employee.department = None
        session.commit()


def test_department_nesting_limited_to_three_levels(as_role, session):
    admin = as_role("admin")
    top = _department(session, unique("Уровень 1"))
    mid = _department(session, unique("Уровень 2"), parent=top)
    low = _department(session, unique("Уровень 3"), parent=mid)
    name = unique("Уровень 4")
    page = admin.post("/departments/add", {"name": name, "parent": str(low.id)}).text
    assert "Вложенность — не больше 3 уровней" in page
    assert session.scalar(select(Department).where(Department.name == name)) is None


def test_department_cannot_become_its_own_parent(as_role, session):
    admin = as_role("admin")
    top = _department(session, unique("Верх"))
    child = _department(session, unique("Низ"), parent=top)
    page = admin.post(f"/departments/edit/{top.id}",
                      {"name": top.name, "parent": str(child.id)}).text
    assert "Элемент не может быть вложен сам в себя" in page
    session.expire_all()
    assert session.get(Department, top.id).parent_id is None


def test_manager_reads_departments_but_cannot_add(as_role, session):
    manager = as_role("manager")
    assert manager.get("/departments/list/").status_code == 200
    name = unique("Отдел менеджера")
    assert manager.post("/departments/add", {"name": name}).status_code == 403
    assert session.scalar(select(Department).where(Department.name == name)) is None


# --- employees ---------------------------------------------------------------


def _add_employee(admin, app, **extra):
    login = unique("emp").replace(" ", "")
    sm = app.appbuilder.sm
    with app.app_context():
        role_id = sm.find_role("Manager").id
    data = {"username": login, "last_name": "Сидоров", "first_name": "Пётр",
            "middle_name": "Ильич", "email": f"{login}@example.com",
            "phone": "8 916 123-45-67", "position": "Менеджер", "roles": str(role_id)}
    data.update(extra)
    return login, admin.post("/employees/add", data).text


def test_admin_adds_employee_and_sees_password_once(app, as_role, session):
    admin = as_role("admin")
    login, page = _add_employee(admin, app)
    match = re.search(r"Пароль: (\S+) — передайте", page)
    assert match, page
    password = match.group(1).replace("&amp;", "&")
    employee = session.scalar(select(Employee).where(Employee.username == login))
    assert employee.phone == "+79161234567"
    assert employee.full_name == "Сидоров Пётр Ильич"
    assert password not in (employee.password or "")
    # Never shown again: not on the list, not on the record.
    assert password not in admin.get("/employees/list/").text
    assert password not in admin.get(f"/employees/show/{employee.id}").text
    # The employee signs in with it.
    assert "/logout" in Client(app).login(login, password).text


def test_employee_with_bad_phone_or_email_is_not_created(app, as_role, session):
    admin = as_role("admin")
    login, page = _add_employee(admin, app, phone="12", email="not-an-email")
    assert "Это не номер телефона" in page or "Такого номера телефона не бывает" in page
    assert "Это не адрес электронной почты" in page
    assert session.scalar(select(Employee).where(Employee.username == login)) is None


def test_deactivating_an_employee_blocks_login(app, as_role, session):
    admin = as_role("admin")
    login, page = _add_employee(admin, app)
    password = re.search(r"Пароль: (\S+) — передайте", page).group(1).replace("&amp;", "&")
    employee = session.scalar(select(Employee).where(Employee.username == login))
    form = {"username": login, "last_name": "Сидоров", "first_name": "Пётр",
            "email": employee.email, "roles": str(employee.roles[0].id)}  # active unticked
    admin.post(f"/employees/edit/{employee.id}", form)
    session.expire_all()
    assert session.get(Employee, employee.id).active is False
    assert "/logout" not in Client(app).login(login, password).text


def test_employee_who_owns_records_cannot_be_deleted(app, as_role, session):
    admin = as_role("admin")
    login, _ = _add_employee(admin, app)
    employee = session.scalar(select(Employee).where(Employee.username == login))
    headed = _department(session, unique("Отдел с руководителем"), head=employee)
    page = admin.post(f"/employees/delete/{employee.id}").text
    assert "За сотрудником закреплены записи (Отделы: 1)" in page
    assert session.get(Employee, employee.id) is not None
    headed.head = None
    session.commit()
    employee_id = employee.id
    admin.post(f"/employees/delete/{employee_id}")
    session.expire_all()
    assert session.get(Employee, employee_id) is None


def test_admin_cannot_delete_self(as_role, session):
    admin = as_role("admin")
    me = session.scalar(select(Employee).where(Employee.username == "admin"))
    page = admin.post(f"/employees/delete/{me.id}").text
    assert "Нельзя удалить самого себя" in page
    assert session.get(Employee, me.id) is not None


def test_head_of_sales_lists_employees_but_cannot_add(app, as_role, session):
    head = as_role("head")
    # Other tests add employees who may sort before the test users.
    assert "manager" in head.get("/employees/list/?psize_EmployeeView=1000").text
    login, _ = _add_employee(head, app)
    assert session.scalar(select(Employee).where(Employee.username == login)) is None


def test_delete_by_get_is_refused(as_role, session):
    admin = as_role("admin")
    dep = _department(session, unique("Не удалять"))
    admin.get(f"/departments/delete/{dep.id}", follow_redirects=True)
    session.expire_all()
    assert session.get(Department, dep.id) is not None
