"""Roles in Russian: role names shown by their label
(the names stored in the database stay as they are: permissions and
``sync_roles`` find roles by them), and permissions grouped by screen with
Russian words — «Клиенты: список, просмотр, добавление, изменение, удаление,
экспорт, доступ ко всем» instead of about 200 lines like "can export on
ClientView".

A permission is FAB's (permission, view menu) pair. The view menu is a
screen class (``ClientView``), its REST resource (``ClientApi``) or its
menu item (``Clients``): all three are put under the screen's menu label."""
from flask import current_app
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from app.permissions import ADMIN, HEAD_OF_SALES, MANAGER, READ_ONLY

ROLE_LABELS = {
    ADMIN: _l("Administrator"),
    HEAD_OF_SALES: _l("Head of sales"),
    MANAGER: _l("Sales manager"),
    READ_ONLY: _l("Read-only access"),
    "Public": _l("Not signed in"),
}


def role_label(name):
    return ROLE_LABELS.get(name, name)


PERMISSION_WORDS = {
    "menu_access": _l("menu item"),
    "can_list": _l("list"),
    "can_show": _l("record page"),
    "can_add": _l("adding"),
    "can_edit": _l("changing"),
    "can_delete": _l("deleting"),
    "can_export": _l("export"),
    "can_upload": _l("import"),
    "can_access_all": _l("access to all"),
    "can_assign_colleagues": _l("giving records to colleagues"),
    "can_download": _l("downloading files"),
    "can_print": _l("printing"),
    "can_erase": _l("erasing personal data"),
    "can_pdf": _l("PDF of the report"),
    "can_bulk_assign": _l("bulk assignment"),
    "can_convert": _l("conversion to a deal"),
    "can_next_step": _l("next step"),
    "can_work": _l("processing"),
    "can_create": _l("an invoice and a contract from a deal"),
    "can_send": _l("sending by e-mail"),
    "can_read": _l("reading"),
    "can_remove": _l("removal with values"),
    "can_get": _l("reading through the API"),
    "can_post": _l("adding through the API"),
    "can_put": _l("changing through the API"),
    "can_info": _l("form data through the API"),
    "can_this_form_get": _l("opening the form"),
    "can_this_form_post": _l("saving the form"),
    "can_userinfo": _l("own data"),
    "userinfoedit": _l("changing own data"),
    "resetmypassword": _l("changing own password"),
    "resetpasswords": _l("changing passwords"),
    "copyrole": _l("copying roles"),
}
API_DELETE = _l("deleting through the API")
# The order words stand in within a screen.
_ORDER = list(PERMISSION_WORDS)

# Screens without a menu item of their own.
SCREENS = {
    "SdelkaIndexView": _l("Home page"),
    "LocaleView": _l("Interface language"),
    "UtilView": _l("Service pages"),
    "MenuApi": _l("Menu"),
    "OpenApi": _l("API description"),
    "SwaggerView": _l("API description"),
    "SecurityApi": _l("Sign-in"),
    "AuthDBView": _l("Sign-in"),
    "ProfileView": _l("Own profile"),
    "ChangePasswordView": _l("Own profile"),
    "ResetPasswordView": _l("Employees"),
    "UserApi": _l("Employees"),
    "RoleApi": _l("Roles"),
    "GroupApi": _l("Employee groups"),
    "PermissionApi": _l("Roles"),
    "ViewMenuApi": _l("Roles"),
    "PermissionViewApi": _l("Roles"),
    "NotificationView": _l("Notifications"),
    "TaskWorkView": _l("Tasks"),
    "ImportView": _l("Imports"),
    "ImportJobView": _l("Imports"),
    "SavedViewsView": _l("Saved list views"),
    "DealDocumentView": _l("Invoices and contracts from deals, e-mail"),
    "SubjectDataView": _l("Subject data"),
}


def _screen_labels():
    """View menu name -> the screen's label, built once per app."""
    app = current_app._get_current_object()
    labels = app.extensions.get("sdelka_screen_labels")
    if labels is not None:
        return labels
    labels = dict(SCREENS)
    by_model = {}
    appbuilder = app.appbuilder
    for item in appbuilder.menu.get_list():
        for entry in [item, *(item.childs or [])]:
            if entry.name == "-":
                continue
            labels.setdefault(entry.name, entry.label or entry.name)
            view = getattr(entry, "baseview", None)
            if view is not None:
                labels.setdefault(view.class_permission_name, entry.label or entry.name)
                datamodel = getattr(view, "datamodel", None)
                if datamodel is not None:
                    by_model.setdefault(datamodel.obj, entry.label or entry.name)
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is None:
            continue
        label = by_model.get(datamodel.obj, getattr(datamodel.obj, "__label__", None))
        if label is not None:
            labels.setdefault(view.class_permission_name, label)
    app.extensions["sdelka_screen_labels"] = labels
    return labels


def permission_groups(permission_views):
    """[(screen label, [(permission view, word), …]), …] by screen label."""
    labels = _screen_labels()
    groups = {}
    for pv in permission_views:
        if pv.permission is None or pv.view_menu is None:
            continue
        screen = str(labels.get(pv.view_menu.name, pv.view_menu.name))
        name = pv.permission.name
        if name == "can_delete" and pv.view_menu.name.endswith("Api"):
            word = API_DELETE
        else:
            word = PERMISSION_WORDS.get(name, name)
        groups.setdefault(screen, []).append((pv, word))
    order = {name: i for i, name in enumerate(_ORDER)}
    return [(screen, sorted(items, key=lambda i: (order.get(i[0].permission.name, 99),
                                                  str(i[1]))))
            for screen, items in sorted(groups.items())]


def permissions_text(permission_views):
    """One line per screen: «Клиенты: список, просмотр, добавление»."""
    lines = [f"{escape(screen)}: {escape(', '.join(dict.fromkeys(str(w) for _, w in items)))}"
             for screen, items in permission_groups(permission_views)]
    return Markup("<br>".join(lines))


def permissions_count(permission_views):
    screens = permission_groups(permission_views)
    return gettext("%(screens)s screens, %(permissions)s permissions",
                   screens=len(screens), permissions=len(list(permission_views)))


class GroupedPermissionsWidget:
    """Check boxes of a role's permissions, a row per screen."""

    def __call__(self, field, **kwargs):
        chosen = {pv.id for pv in (field.data or [])}
        rows = []
        for screen, items in permission_groups(obj for _, obj in field._get_object_list()):
            boxes = "".join(
                f'<label class="checkbox-inline" style="margin-left:0;margin-right:12px">'
                f'<input type="checkbox" name="{escape(field.name)}" value="{pv.id}"'
                f'{" checked" if pv.id in chosen else ""}> {escape(word)}</label>'
                for pv, word in items)
            rows.append(f"<tr><th style=\"width:25%\">{escape(screen)}</th><td>{boxes}</td></tr>")
        return Markup('<table class="table table-condensed table-bordered" id="permissions">'
                      + "".join(rows) + "</table>")


def _permissions_field():
    sm = current_app.appbuilder.sm

    def query():
        return sm.session.query(sm.permissionview_model)

    return QuerySelectMultipleField(_l("Permissions"), query_func=query,
                                       get_pk_func=lambda pv: pv.id,
                                       widget=GroupedPermissionsWidget())


# FAB's class names: they are the screens' permission names (security.ADMIN_ONLY)
# and endpoints, in databases that already hold them.
class RoleModelView(fab_views.RoleModelView):
    list_widget = ListWidget
    show_widget = ShowWidget
    label_columns = {"name": _l("Name"), "permissions": _l("Permissions"),
                     "user": _l("Employees"), "groups": _l("Groups")}
    search_columns = ["name", "user"]
    formatters_columns = {"name": role_label, "permissions": permissions_count}
    list_columns = ["name", "permissions"]

    def __init__(self, **kwargs):
        # The field needs the app (its query); views are built inside it.
        self.add_form_extra_fields = {"permissions": _permissions_field()}
        self.edit_form_extra_fields = {"permissions": _permissions_field()}
        super().__init__(**kwargs)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets, actions, show_fieldsets)
        args = widgets["show"].template_args
        args["formatters_columns"] = dict(args["formatters_columns"],
                                          permissions=permissions_text)
        return widgets


class UserGroupModelView(fab_views.UserGroupModelView):
    label_columns = {"name": _l("Name"), "label": _l("Label"),
                     "description": _l("Description"), "users": _l("Employees"),
                     "roles": _l("Roles")}
