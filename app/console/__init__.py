"""The administrator's console (/console/), built with Flask-Admin.

FAB's generated screens edit one record per form; the console edits a
dictionary's cells in place in its list and manages the uploaded files.
It has no sign-in of its own: FAB's session and user table decide who
comes in, and only the Admin role does (views.AdminOnly). Flask-Admin's
own texts come from its "admin" translation domain, which flask_babel
reads with the app's locale selector, so the console speaks the
language the rest of the CRM speaks."""
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

# A FAB menu name (and so a permission name: security.ADMIN_ONLY).
MENU_NAME = "Admin console"
URL = "/console"


def register(appbuilder):
    from flask import current_app

    from app.console import journals, views

    app = current_app._get_current_object()
    admin = Admin(
        app, name=app.config.get("APP_NAME") or "Sdelka CRM", url=URL, endpoint="console",
        index_view=views.ConsoleIndexView(name=_l("Admin console"), url=URL, endpoint="console"),
        theme=Bootstrap4Theme(base_template="console/base.html", fluid=True),
    )
    views.add_views(admin, app)
    journals.add_views(admin)
    appbuilder.add_link(
        MENU_NAME, href=f"{URL}/", label=_l("Admin console"), icon="fa-wrench",
        category="Settings",
    )
    return admin
