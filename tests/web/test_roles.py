"""Each role reaches exactly the staff screens it should, on the server."""
import re

import pytest
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Role, ViewMenu
from sqlalchemy import select, update

from app import db
from app.models import Employee, PermissionStamp
from app.security import ALL_CLIENTS, MANAGER, ROLES
from tests.conftest import ROLE_USERS, make_app, statements_sent, unique

DENIED = "Доступ запрещён"
SCREENS = {
    "/company/list/": {"admin", "head", "auditor"},
    "/company/edit/1": {"admin"},
    "/departments/list/": {"admin", "head", "manager", "auditor"},
    "/departments/add": {"admin"},
    "/employees/list/": {"admin", "head", "auditor"},
    "/employees/add": {"admin"},
    "/roles/list/": {"admin"},
    "/employees/userinfo/": {"admin", "head", "manager", "auditor"},
    "/profile/form": {"admin", "head", "manager", "auditor"},
    "/changepassword/form": {"admin", "head", "manager", "auditor"},
}


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_screens_by_role(as_role, role):
    client = as_role(role)
    client.get("/company/list/")  # makes sure the single company row exists
    for url, allowed in SCREENS.items():
        response = client.get(url, follow_redirects=True)
        if role in allowed:
            assert response.status_code == 200, (role, url)
        else:
            assert response.status_code == 403, (role, url)
            assert DENIED in response.text


def test_roles_exist_and_admin_can_edit_them(as_role, session):
    names = {r.name for r in session.query(Role)}
    assert set(ROLES) <= names
    page = as_role("admin").get("/roles/list/").text
    # Shown by their Russian labels; the stored names stay.
    for label in ("Администратор", "Руководитель отдела продаж", "Менеджер по продажам",
                  "Только просмотр"):
        assert label in page
    assert "can export on" not in page


def test_permission_editor_groups_by_screen_in_russian(as_role, session):
    admin = as_role("admin")
    manager_role = session.scalar(select(Role).where(Role.name == "Head of sales"))
    shown = admin.get(f"/roles/show/{manager_role.id}").text
    clients = re.search(r"Клиенты: ([^<]*)", shown).group(1)
    for word in ("список", "просмотр", "добавление", "изменение", "удаление", "экспорт",
                 "доступ ко всем"):
        assert word in clients
    form = admin.get(f"/roles/edit/{manager_role.id}").text
    assert "can list on" not in form and 'id="permissions"' in form
    # Saving from the check boxes keeps exactly the ticked permissions.
    ids = [int(i) for i in re.findall(r'name="permissions" value="(\d+)"', form)][:2]
    name = unique("Роль")
    admin.post("/roles/add", {"name": name, "permissions": ids})
    session.expire_all()
    role = session.scalar(select(Role).where(Role.name == name))
    assert sorted(pv.id for pv in role.permissions) == sorted(ids)
    session.delete(role)
    session.commit()


def test_all_clients_permission_by_role(app):
    sm = app.appbuilder.sm
    with app.app_context():
        granted = {
            role: any(pv.permission.name == ALL_CLIENTS[0]
                      and pv.view_menu.name == ALL_CLIENTS[1]
                      for pv in sm.find_role(role).permissions)
            for role in ROLES
        }
    assert granted == {"Admin": True, "Head of sales": True, "Manager": False,
                       "Read-only": True}


def test_permission_sets_read_as_names_equal_fabs(app):
    """The security manager reads a user's permissions as name pairs in one
    query; FAB's own way builds objects per role. Same set for every role."""
    sm = app.appbuilder.sm
    with app.app_context():
        for username in ROLE_USERS:
            user = sm.find_user(username=username)
            ours = sm.get_user_permissions(user)
            assert ours == SecurityManager.get_user_permissions(sm, user)
            assert ("can_list", "TaskView") in ours


def test_access_answers_are_kept_for_the_request_and_its_user(app, monkeypatch):
    """A request of a signed-in user asks FAB once per permission while its
    user stays; signing in or out within the request asks again, and a
    request without a signed-in user (the API's tokens) asks every time."""
    from flask import g
    from flask_appbuilder.security.manager import BaseSecurityManager
    from flask_login import current_user, login_user, logout_user

    sm = app.appbuilder.sm
    asked = []
    fabs = BaseSecurityManager.has_access

    def counted(self, permission, view):
        asked.append((permission, view))
        return fabs(self, permission, view)

    monkeypatch.setattr(BaseSecurityManager, "has_access", counted)
    with app.test_request_context("/"):
        g.user = current_user  # as FAB's before_request sets it
        assert not any(sm.has_access("can_list", "ClientView") for _ in range(3))
        assert len(asked) == 3
        login_user(sm.find_user(username="manager"))
        assert all(sm.has_access("can_list", "ClientView") for _ in range(5))
        assert not any(sm.has_access("can_add", "RoleModelView") for _ in range(5))
        assert len(asked) == 5
        login_user(sm.find_user(username="admin"))
        assert sm.has_access("can_add", "RoleModelView")
        assert len(asked) == 6
        logout_user()
        assert not sm.has_access("can_list", "ClientView")
        assert len(asked) == 7


def test_read_only_role_has_no_write_permission(app):
    with app.app_context():
        role = app.appbuilder.sm.find_role("Read-only")
        writes = [str(pv) for pv in role.permissions
                  if pv.permission.name in ("can_add", "can_edit", "can_delete")]
    assert writes == []


def test_read_only_cannot_post(as_role, session):
    client = as_role("auditor")
    response = client.post("/departments/add", {"name": "Запрещённый"}, follow=False)
    assert response.status_code == 403
    from app.models import Department
    assert session.query(Department).filter_by(name="Запрещённый").count() == 0


def test_admin_edits_to_a_role_survive_a_resync(app):
    from app.security import sync_roles

    sm = app.appbuilder.sm
    with app.app_context():
        role = sm.find_role("Manager")
        pv = sm.find_permission_view_menu("can_list", "DepartmentView")
        role.permissions.remove(pv)
        sm.session.commit()
        try:
            sync_roles(sm)
            assert pv not in sm.find_role("Manager").permissions
        finally:
            sm.find_role("Manager").permissions.append(pv)
            sm.session.commit()


def test_menu_shows_only_allowed_items(as_role):
    manager_page = as_role("manager").get("/").text
    assert "Отделы" in manager_page
    assert "Реквизиты компании" not in manager_page
    admin_page = as_role("admin").get("/", follow_redirects=True).text
    assert "Реквизиты компании" in admin_page and "Сотрудники" in admin_page


def test_menu_follows_a_change_of_a_roles_permissions_at_once(as_role, app):
    """The menu is drawn once per set of permissions (views/menu.py): a
    role's change draws it anew on the next page, however recently a page
    with the old set was drawn."""
    sm = app.appbuilder.sm
    manager = as_role("manager")
    assert "Отделы" in manager.get("/").text
    with app.app_context():
        role = sm.find_role("Manager")
        role.permissions.remove(sm.find_permission_view_menu("menu_access", "Departments"))
        sm.session.commit()
    try:
        page = manager.get("/").text
        assert "Отделы" not in page and "Клиенты" in page
        assert "Реквизиты компании" in as_role("admin").get("/", follow_redirects=True).text
    finally:
        with app.app_context():
            role = sm.find_role("Manager")
            role.permissions.append(sm.find_permission_view_menu("menu_access", "Departments"))
            sm.session.commit()
    assert "Отделы" in manager.get("/").text


def _grants(app):
    """Every (role, permission, view) and every (permission, view) pair, by name."""
    from flask_appbuilder.security.sqla.models import (
        Permission,
        PermissionView,
        ViewMenu,
        assoc_permissionview_role,
    )

    from app import db

    pairs = (select(Permission.name, ViewMenu.name)
             .join(PermissionView, PermissionView.permission_id == Permission.id)
             .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id))
    links = assoc_permissionview_role
    with app.app_context():
        held = set(db.session.execute(
            pairs.add_columns(Role.name)
            .join(links, links.c.permission_view_id == PermissionView.id)
            .join(Role, Role.id == links.c.role_id)).all())
        return set(db.session.execute(pairs).all()), {(r, p, v) for p, v, r in held}


def test_the_sync_writes_what_fabs_own_sync_writes(tmp_path):
    """FAB's add_permissions(update_perms=True), one write at a time, is the
    reference for the permissions and the Admin's grants; the other roles
    hold exactly their defaults (app/security.py)."""
    import flask_migrate

    from app import db
    from app.security import ADMIN, ASSIGN_COLLEAGUES, grants_by_default, sync_roles
    from tests.conftest import make_app

    ours, fabs = (make_app(f"sqlite:///{tmp_path}/{name}.db") for name in ("ours", "fabs"))
    with ours.app_context():
        flask_migrate.upgrade()
        sync_roles(ours.appbuilder.sm)
    with fabs.app_context():
        flask_migrate.upgrade()
        sm = fabs.appbuilder.sm
        for name in ROLES + (sm.auth_role_public,):
            sm.add_role(name)
        fabs.appbuilder.add_permissions(update_perms=True)
        for pair in (ALL_CLIENTS, ASSIGN_COLLEAGUES):
            sm.add_permission_view_menu(*pair)
            sm.add_permission_role(sm.find_role(ADMIN), sm.find_permission_view_menu(*pair))
        db.session.remove()
    our_pairs, our_grants = _grants(ours)
    fab_pairs, fab_grants = _grants(fabs)
    assert our_pairs == fab_pairs and len(our_pairs) > 400
    assert {g for g in our_grants if g[0] == ADMIN} == fab_grants
    for role in ROLES:
        assert {(p, v) for r, p, v in our_grants if r == role} == {
            (p, v) for p, v in our_pairs if grants_by_default(role, p, v)}, role


def test_a_resync_writes_nothing_and_drops_a_pair_no_view_has(app):
    """A pair no view has any more goes when no role holds it (with its
    permission, used nowhere else); one a role holds stays, as in FAB."""
    from sqlalchemy import event

    from app import db
    from app.security import sync_roles

    sm = app.appbuilder.sm
    with app.app_context():
        sm.add_permission_view_menu("can_obsolete", "DepartmentView")
        sm.add_permission_view_menu("can_archaic", "DepartmentView")
        sm.add_permission_role(sm.find_role("Manager"),
                               sm.find_permission_view_menu("can_archaic", "DepartmentView"))
        sync_roles(sm)
        assert sm.find_permission_view_menu("can_obsolete", "DepartmentView") is None
        assert sm.find_permission("can_obsolete") is None
        assert sm.find_permission_view_menu("can_archaic", "DepartmentView") is not None
        writes = []

        def write(_conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith("SELECT"):
                writes.append(statement)

        event.listen(db.engine, "before_cursor_execute", write)
        try:
            sync_roles(sm)
        finally:
            event.remove(db.engine, "before_cursor_execute", write)
        assert writes == []


def test_a_grant_changed_elsewhere_counts_at_the_next_request(app, as_role, database_url):
    """Each process keeps its roles' permissions while the database's
    permission stamp stays (migration 0032): a grant taken away by another
    worker (here a second app on the same database) is refused at the
    manager's next request, and given back is allowed again."""
    manager = as_role("manager")
    assert manager.get("/departments/list/").status_code == 200  # now kept by this app
    other = make_app(database_url)
    with other.app_context():
        sm = other.appbuilder.sm
        role, grant = sm.find_role(MANAGER), sm.find_permission_view_menu(
            "can_list", "DepartmentView")
        sm.del_permission_role(role, grant)
        try:
            assert manager.get("/departments/list/").status_code == 403
        finally:
            sm.add_permission_role(role, grant)
        db.session.remove()
    assert manager.get("/departments/list/").status_code == 200


def test_the_permission_stamp_changes_with_each_kind_of_change(session):
    """Whatever changes a grant, a permission-view, a permission or a view's
    name, the stamp is new."""
    def stamp():
        return session.scalar(select(PermissionStamp.stamp))

    before = stamp()
    view = session.scalar(select(ViewMenu).where(ViewMenu.name == "DepartmentView"))
    view.name = "DepartmentView"  # no change: no new stamp
    session.flush()
    assert stamp() == before
    changes = [lambda: session.execute(update(ViewMenu).where(ViewMenu.id == view.id)
                                       .values(name="DepartmentViewRenamed")),
               lambda: session.execute(update(ViewMenu).where(ViewMenu.id == view.id)
                                       .values(name="DepartmentView"))]
    for change in changes:
        change()
        assert stamp() != before
        before = stamp()
    session.rollback()


def test_a_request_loads_the_user_with_roles_and_groups_at_once(app, as_role, session,
                                                                 database_url):
    """The user, their roles and their groups' roles come in one statement;
    a role given through a group still counts."""
    from flask_appbuilder.security.sqla.models import Group, assoc_user_group

    head = as_role("head")
    with statements_sent(app) as sent:
        assert head.get("/clients/list/").status_code == 200
    statements = [" ".join(s.split()) for s in sent]
    assert not [s for s in statements if s.startswith(("SELECT ab_role", "SELECT ab_group"))]

    # An auditor (read-only) put in a group holding the Admin role sees the
    # role screen, and loses it with the group.
    auditor = as_role("auditor")
    assert auditor.get("/roles/list/").status_code == 403
    group = Group(name=unique("группа"), label="Админы",
                  roles=[session.scalar(select(Role).where(Role.name == "Admin"))])
    session.add(group)
    session.flush()
    session.execute(assoc_user_group.insert().values(
        user_id=session.scalar(select(Employee.id).where(Employee.username == "auditor")),
        group_id=group.id))
    session.commit()
    try:
        assert auditor.get("/roles/list/").status_code == 200
    finally:
        session.delete(group)
        session.commit()
    assert auditor.get("/roles/list/").status_code == 403
