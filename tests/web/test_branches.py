"""Trees outside the dictionaries: clients by group branch, departments and
employees by department branch; add forms offer only active values."""
from sqlalchemy import select

from app.models import Client, ClientGroup, ClientStatus, Department, Employee
from app.views.filters import FilterInBranch
from tests.conftest import unique


def _branch_arg(app, view_name, column):
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == view_name)
    position = next(i for i, f in enumerate(view._filters._all_filters[column])
                    if isinstance(f, FilterInBranch))
    return f"_flt_{position}_{column}"


def _chain(session, model, tag):
    top = model(name=f"{tag} 1")
    mid = model(name=f"{tag} 2", parent=top)
    low = model(name=f"{tag} 3", parent=mid)
    session.add_all([top, mid, low])
    session.commit()
    return top, mid, low


def test_clients_filtered_by_a_group_branch(app, as_role, session):
    tag = unique("группа")
    top, mid, low = _chain(session, ClientGroup, tag)
    session.add_all([Client(name=f"{tag} клиент {g.name[-1]}", group=g) for g in (top, mid, low)])
    session.add(Client(name=f"{tag} клиент без группы"))
    session.commit()
    arg = _branch_arg(app, "ClientView", "group")
    page = as_role("head").get(f"/clients/list/?{arg}={mid.id}").text
    assert f"{tag} клиент 2" in page and f"{tag} клиент 3" in page
    assert f"{tag} клиент 1" not in page and "без группы" not in page


def test_departments_and_employees_filtered_by_branch(app, as_role, session):
    tag = unique("филиал")
    top, mid, low = _chain(session, Department, tag)
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    manager.department = low
    session.commit()
    try:
        admin = as_role("admin")
        page = admin.get(f"/departments/list/?{_branch_arg(app, 'DepartmentView', 'parent')}"
                         f"={mid.id}").text
        assert f"{tag} 2" in page and f"{tag} 3" in page
        assert "Количество записей:</strong> 2" in page  # "1" shows only as a parent
        arg = _branch_arg(app, "EmployeeView", "department")
        assert "manager@example.com" in admin.get(f"/employees/list/?{arg}={top.id}").text
        other = _chain(session, Department, unique("другой"))[0]
        assert "manager@example.com" not in admin.get(
            f"/employees/list/?{arg}={other.id}").text
    finally:
        manager.department = None
        session.commit()


def test_add_form_offers_only_active_dictionary_values(as_role, session):
    active, retired = ClientStatus(name=unique("Действующий")), ClientStatus(
        name=unique("Устаревший"), is_active=False)
    session.add_all([active, retired])
    session.commit()
    page = as_role("manager").get("/clients/add").text
    assert active.name in page and retired.name not in page
