"""Roles, their default permissions, and the security manager.

The four roles of the product are ordinary database roles, so the admin can
edit them in FAB's role screen. Defaults are given only to permissions a
role has never been offered (tracked in ``role_default_applied``), so a
permission the admin took away stays away after an upgrade, while the
permissions of a newly added screen reach the roles that should have them.
"""
import functools
import logging
import time
from urllib.parse import urlparse

from flask import (
    after_this_request,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
)
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Group,
    Permission,
    PermissionView,
    ViewMenu,
    assoc_permissionview_role,
)
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import joinedload

from app.models import Employee, PermissionStamp, RoleDefaultApplied, dictionary_models
from app.permissions import (
    ADMIN,
    ALL_CLIENTS,
    ASSIGN_COLLEAGUES,
    DICTIONARY_PERMISSIONS,
    HEAD_OF_SALES,
    MANAGER,
    READ_ONLY,
    ROLES,
)
from app.services import history, notifications, ratelimits, sign_in_failures, staff, table_stamps

log = logging.getLogger(__name__)

# Exporting a list is reading it: every role that lists may export, and
# download the files of the records it may see.
READ = {"can_list", "can_show", "can_get", "can_info", "menu_access", "can_userinfo",
        "can_export", "can_download"}
# Every signed-in employee: own profile and password, the menu and API docs.
PROFILE = {
    ("can_userinfo", "EmployeeView"),
    ("userinfoedit", "EmployeeView"),
    ("resetmypassword", "EmployeeView"),
    ("can_this_form_get", "ProfileView"),
    ("can_this_form_post", "ProfileView"),
    ("can_this_form_get", "ChangePasswordView"),
    ("can_this_form_post", "ChangePasswordView"),
    ("can_get", "MenuApi"),
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
    # One's own notifications (the bell): read them, mark them read.
    ("can_list", "NotificationView"),
    ("can_read", "NotificationView"),
}
ADMIN_ONLY = {
    "RoleModelView", "UserGroupModelView", "ResetPasswordView", "GroupApi",
    "RoleApi", "UserApi", "PermissionApi", "ViewMenuApi", "PermissionViewApi",
    "List Roles", "List Groups", "Security",
    # Web-to-lead forms: their settings decide who may post leads.
    "WebFormView", "Web forms",
    "CustomFieldView", "Custom fields", "Settings", "Admin console",
    # Who opened, exported, printed or changed a person's record.
    "PersonalDataLogView", "Personal data access log",
    # Everything stored about one person (views/subject_data.py).
    "SubjectDataView",
    # Erasing a person's data, and the persons past the retention period.
    "ErasureView", "Retention expired",
}
STAFF = {"CompanyView", "Company requisites", "DepartmentView", "Departments",
         "EmployeeView", "List Users", "Company"}
MANAGER_READS = {"DepartmentView", "Departments", "Company"}
# The admin and the head of sales write document templates; the others
# print from them (and see them, to choose one).
TEMPLATES = {"DocumentTemplateView", "Templates"}
# Printing reads a record: whoever may read it may print it and download
# what was printed (the print itself is only recorded in the history).
PRINTING = {("can_print", "DocumentView"), ("can_pdf", "DocumentView"),
            ("can_list", "DocumentView"), ("can_show", "DocumentView")}
# The admin and the head of sales maintain the dictionaries; managers pick
# values from them.
DICTIONARIES = DICTIONARY_PERMISSIONS | {f"{m.__name__}Api" for m in dictionary_models()}
# The head of sales sets the monthly plans; managers read their own.
PLANS = {"SalesPlanView"}


def _head_of_sales(perm, view):
    if view in STAFF:
        return perm in READ
    return view not in ADMIN_ONLY


def _manager(perm, view):
    # Both are the admin's to give a particular manager.
    if (perm, view) in (ALL_CLIENTS, ASSIGN_COLLEAGUES):
        return False
    if view in STAFF:
        return view in MANAGER_READS and perm in READ
    if view in DICTIONARIES or view in TEMPLATES or view in PLANS:
        return perm in READ
    return view not in ADMIN_ONLY


def _read_only(perm, view):
    return ((perm in READ and view not in ADMIN_ONLY) or (perm, view) == ALL_CLIENTS
            or (perm, view) in PRINTING)


DEFAULTS = {
    ADMIN: lambda perm, view: True,
    HEAD_OF_SALES: _head_of_sales,
    MANAGER: _manager,
    READ_ONLY: _read_only,
}


def grants_by_default(role_name, perm, view):
    return (perm, view) in PROFILE or DEFAULTS[role_name](perm, view)


def sync_roles(sm):
    """Create missing roles and permissions; grant defaults to new ones."""
    session = sm.session
    for name in ROLES + (sm.auth_role_public,):
        sm.add_role(name)
    _sync_permissions(sm, also=(ALL_CLIENTS, ASSIGN_COLLEAGUES))
    roles = dict(session.execute(select(sm.role_model.name, sm.role_model.id)
                                 .where(sm.role_model.name.in_(ROLES))).all())
    links = assoc_permissionview_role
    granted = set(session.execute(select(links.c.role_id, links.c.permission_view_id)).all())
    applied = set(session.scalars(select(RoleDefaultApplied.permission_view_id)))
    new = [row for row in session.execute(
        select(PermissionView.id, Permission.name, ViewMenu.name)
        .join(Permission, Permission.id == PermissionView.permission_id)
        .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)).tuples()
        if row[0] not in applied]
    grants = [{"role_id": role_id, "permission_view_id": pv}
              for pv, perm, view in new for name, role_id in roles.items()
              if grants_by_default(name, perm, view) and (role_id, pv) not in granted]
    if grants:
        session.execute(insert(links), grants)
    if new:
        session.execute(insert(RoleDefaultApplied),
                        [{"permission_view_id": pv} for pv, _perm, _view in new])
    session.commit()


def _fab_permissions(appbuilder):
    """What FAB's ``add_permissions(update_perms=True)`` writes, as names:
    each view's base permissions under its class permission name (which it
    keeps to exactly those) and ``menu_access`` on every menu entry."""
    views = {view.class_permission_name: set(view.base_permissions or ())
             for view in appbuilder.baseviews}
    menus = {item.name for category in appbuilder.menu.get_list()
             for item in (category, *category.childs) if item.name != "-"}
    return views, {("menu_access", name) for name in menus}


def _sync_permissions(sm, also=()):
    """FAB's permission sync in a dozen statements, and the pairs ``also``
    created (for the roles' defaults to grant). FAB writes and commits each
    permission, view and grant one by one and reloads the Admin role's 500
    grants after each: some 6 500 statements (15-25 s) on an empty database
    and 750 on an up-to-date one, at every start of the app.

    The result is FAB's: missing permissions, views and their pairs are
    created; the Admin role holds every pair of the views and menus; a pair
    a view no longer has is deleted when no role holds it, and its
    permission with it when no other pair uses it (FAB takes such a pair
    from no role, so the Admin's grant keeps it: ``flask fab
    security-cleanup`` is the admin's way to remove them)."""
    session = sm.session
    views, menus = _fab_permissions(sm.appbuilder)
    owed = {(perm, view) for view, perms in views.items() for perm in perms} | menus
    wanted = owed | set(also)
    for model, names in ((Permission, {perm for perm, _view in wanted}),
                         (ViewMenu, {view for _perm, view in wanted} | set(views))):
        missing = names - set(session.scalars(select(model.name)))
        if missing:
            session.execute(insert(model), [{"name": name} for name in sorted(missing)])
    perm_ids = dict(session.execute(select(Permission.name, Permission.id)).all())
    view_ids = dict(session.execute(select(ViewMenu.name, ViewMenu.id)).all())
    pairs = _pairs(session)
    missing = {(perm_ids[perm], view_ids[view]) for perm, view in wanted} - set(pairs)
    if missing:
        session.execute(insert(PermissionView), [
            {"permission_id": perm_id, "view_menu_id": view_id}
            for perm_id, view_id in sorted(missing)])
        pairs = _pairs(session)
    kept = {view_ids[view]: {perm_ids[perm] for perm in perms} for view, perms in views.items()}
    _drop_unheld(session, {pv: perm_id for (perm_id, view_id), pv in pairs.items()
                           if perm_id is not None and view_id in kept
                           and perm_id not in kept[view_id]})
    admin = session.scalar(select(sm.role_model.id).where(
        sm.role_model.name == sm.auth_role_admin))
    if admin is not None and sm.auth_role_admin not in sm.builtin_roles:
        links = assoc_permissionview_role
        held = set(session.scalars(select(links.c.permission_view_id)
                                   .where(links.c.role_id == admin)))
        grants = {pairs[perm_ids[perm], view_ids[view]] for perm, view in owed} - held
        if grants:
            session.execute(insert(links), [{"role_id": admin, "permission_view_id": pv}
                                            for pv in sorted(grants)])
    session.commit()


def _pairs(session):
    return {(perm_id, view_id): pv for pv, perm_id, view_id in session.execute(
        select(PermissionView.id, PermissionView.permission_id, PermissionView.view_menu_id))}


def _drop_unheld(session, stale):
    """Delete the pairs of ``stale`` ({pair id: permission id}) no role
    holds, and their permissions that no other pair uses."""
    links = assoc_permissionview_role
    gone = set(stale) - set(session.scalars(
        select(links.c.permission_view_id).where(links.c.permission_view_id.in_(stale))))
    if not gone:
        return
    session.execute(delete(PermissionView).where(PermissionView.id.in_(gone)))
    perms = {stale[pv] for pv in gone}
    unused = perms - set(session.scalars(
        select(PermissionView.permission_id).where(PermissionView.permission_id.in_(perms))))
    if unused:
        session.execute(delete(Permission).where(Permission.id.in_(unused)))


class SdelkaSecurityManager(SecurityManager):
    user_model = Employee
    # FAB's user statistics chart loads Google Charts from the internet.
    userstatschartview = None

    def __init__(self, appbuilder):
        from app.views.roles import RoleModelView, UserGroupModelView
        from app.views.staff import ChangePasswordView, EmployeeView, ProfileView

        self.rolemodelview = RoleModelView
        self.groupmodelview = UserGroupModelView
        self.userdbmodelview = EmployeeView
        self.userinfoeditview = ProfileView
        self.resetmypasswordview = ChangePasswordView
        # (role ids and names) -> (permission stamp, their permission set)
        self._permissions_by_roles = {}
        super().__init__(appbuilder)

    # The API's sign-in, limited as FAB limits the screen's (AuthDBView).
    API_LOGIN_ENDPOINT = "SecurityApi.login"

    def create_limiter(self, app):
        """FAB's limiter; ``database://`` (the default storage) is given the
        app's database (services/ratelimits.py), unless
        RATELIMIT_STORAGE_OPTIONS names another."""
        options = {}
        if urlparse(app.config.get("RATELIMIT_STORAGE_URI") or "").scheme == ratelimits.SCHEME:
            from app import db

            options["url"] = db.engine.url
        limiter = Limiter(key_func=app.config.get("RATELIMIT_KEY_FUNC", get_remote_address),
                          storage_options=options)
        limiter.init_app(app)
        return limiter

    def register_views(self):
        """FAB limits the sign-in screen's POSTs per address but not the
        API's ``POST /api/v1/security/login``: give it the same limit, with
        its own count, and a JSON answer when it is reached."""
        super().register_views()
        app = current_app._get_current_object()
        view = app.view_functions.get(self.API_LOGIN_ENDPOINT)
        if not self.is_auth_limited or view is None:
            return
        limited = self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view)

        @functools.wraps(view)
        def login(*args, **kwargs):
            try:
                return limited(*args, **kwargs)
            except RateLimitExceeded:
                return self._too_many_sign_ins()

        app.view_functions[self.API_LOGIN_ENDPOINT] = login

    def _too_many_sign_ins(self):
        response = jsonify(message=gettext("Too many attempts. Wait a minute and try again."))
        response.status_code = 429
        current = self.limiter.current_limit
        if current is not None:
            # reset_at is already rounded up a second; rounding again said 61 of a 60 s window.
            response.headers["Retry-After"] = str(max(1, int(current.reset_at - time.time())))
        return response

    def load_user_jwt(self, _jwt_header, jwt_data):
        """An API call signed with a JWT has its user only from here, after
        ``before_request`` told the history service nobody acts."""
        user = super().load_user_jwt(_jwt_header, jwt_data)
        if user is not None:
            history.acting_user_id.set(user.id)
        return user

    def auth_user_db(self, username, password):
        """FAB's check, plus a temporary lock after repeated failures; each
        failure goes to the journal of sign-in failures."""
        user = self.find_user(username=username) if username else None
        if user is not None and staff.is_locked(user):
            log.warning("Login refused, account %s is locked", username)
            self._sign_in_failed(username, user, sign_in_failures.reason_of(user))
            return None
        authenticated = super().auth_user_db(username, password)
        if authenticated is None and username:
            # FAB also signs in by e-mail; asked for every failure alike.
            by_email = self.find_user(email=username)
            matched = user or by_email
            # Before this failure's count: the one that locks is a wrong password.
            self._sign_in_failed(username, matched, sign_in_failures.reason_of(matched))
        if authenticated is None and user is not None and user.is_active:
            staff.record_failed_login(
                user,
                current_app.config["LOGIN_LOCK_ATTEMPTS"],
                current_app.config["LOGIN_LOCK_MINUTES"],
            )
            self.session.commit()
        elif authenticated is not None and authenticated.locked_until:
            authenticated.locked_until = None
            self.session.commit()
        return authenticated

    def _sign_in_failed(self, username, user, reason):
        """Journal the failure once the answer has gone (services/sign_in_failures.py)."""
        from app import db

        address = get_remote_address() if has_request_context() else None
        later = None
        if has_request_context():
            def later(write):
                @after_this_request
                def _on_close(response):
                    response.call_on_close(write)
                    return response
        sign_in_failures.failed(db.engine, username, user, address, reason, later=later)

    def has_all_clients_access(self):
        return self.has_access(*ALL_CLIENTS)

    def load_user(self, pk):
        """FAB's, with what every request then asks the database about its
        user in the same statement: the roles and groups (and the groups'
        roles) of its permission set, the permission stamp that says whether
        the set kept in this process is current, the bell's unread count and
        the watched tables' stamps (services/table_stamps). One statement
        instead of five: under load each costs a wait for the interpreter's
        lock as well as the round trip."""
        row = self.session.execute(self._user_statement,
                                   {"user_id": int(pk)}).unique().first()
        if row is None or not row[0].is_active:
            return None
        user, g.permission_stamp, g.unread_notifications, stamps = row
        g.table_stamps = table_stamps.parse(stamps)
        g.permission_stamp_of = user.id
        return user

    @functools.cached_property
    def _user_statement(self):
        """load_user's statement, the same for every request but the id: built
        once, not for each request (2 % of a list page)."""
        model = self.user_model
        stamp = select(PermissionStamp.stamp).where(PermissionStamp.id == 1).scalar_subquery()
        return (select(model, stamp, notifications.unread_count_of(model.id),
                       table_stamps.aggregated())
                .where(model.id == bindparam("user_id"))
                .options(joinedload(model.roles),
                         joinedload(model.groups).joinedload(Group.roles)))

    # A page asks about permissions dozens of times (every menu item, every
    # button); FAB queries the database each time. Load the user's whole
    # permission set once per request instead.

    def request_permissions(self, user):
        cached = g.get("_user_permissions")
        if cached is None or cached[0] != user.id:
            cached = (user.id, self._role_permissions(user))
            g._user_permissions = cached
        return cached[1]

    def _role_permissions(self, user):
        """The permission set of the user's roles, kept in this process
        while the database's permission stamp (migration 0032) stays: a
        look-up of one row instead of every pair each request."""
        if g.get("permission_stamp_of") == user.id:  # read with the user (load_user)
            stamp = g.permission_stamp
        else:
            stamp = self.session.scalar(
                select(PermissionStamp.stamp).where(PermissionStamp.id == 1))
        roles = tuple(sorted((role.id, role.name) for role in self.get_user_roles(user)))
        kept = self._permissions_by_roles.get(roles)
        if stamp is not None and kept is not None and kept[0] == stamp:
            return kept[1]
        found = frozenset(self.get_user_permissions(user))
        if stamp is not None:
            self._permissions_by_roles[roles] = (stamp, found)
        return found

    def get_user_permissions(self, user):
        """FAB's set of (permission, view) names, the database roles' read as
        name pairs in one query: FAB builds objects for every permission of
        each role (some 500 for the Admin), half to two thirds of the time
        every page spends on them."""
        roles = self.get_user_roles(user)
        found = set()
        for role in roles:
            if role.name in self.builtin_roles:
                found |= self.get_role_permissions(role)
        ids = [role.id for role in roles if role.name not in self.builtin_roles]
        if ids:
            links = assoc_permissionview_role
            found.update(self.session.execute(
                select(Permission.name, ViewMenu.name)
                .join(PermissionView, PermissionView.permission_id == Permission.id)
                .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
                .join(links, links.c.permission_view_id == PermissionView.id)
                .where(links.c.role_id.in_(ids))).tuples())
        return found

    def has_access(self, permission_name, view_name):
        """FAB's answer, kept for the rest of the request while its signed-in
        user is the same (signing in or out within it makes another): a page asks
        twenty to forty times (menu, buttons, tabs), each 30-40 µs of the
        request's proxies and SQLAlchemy's inspection of the user, some 4 %
        of a page."""
        user = current_user._get_current_object() if has_request_context() else None
        if user is None or not user.is_authenticated or g.get("_api_key_user"):
            # Outside a request, and the API's callers (a token, a key, known
            # only once its decorator has read it): FAB's answer each time.
            return super().has_access(permission_name, view_name)
        kept = g.get("_access_answers")
        if kept is None or kept[0] is not user:
            kept = g._access_answers = (user, {})
        key = (permission_name, view_name)
        answer = kept[1].get(key)
        if answer is None:
            answer = kept[1][key] = super().has_access(permission_name, view_name)
        return answer

    def _has_view_access(self, user, permission_name, view_name):
        if not has_app_context():
            return super()._has_view_access(user, permission_name, view_name)
        return (permission_name, view_name) in self.request_permissions(user)

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        if user is None or not has_app_context():
            return super()._get_user_permission_view_menus(
                user, permission_name, view_menus_name)
        names = {view for perm, view in self.request_permissions(user)
                 if perm == permission_name}
        return names & set(view_menus_name) if view_menus_name is not None else names
