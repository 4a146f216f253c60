"""The menu, drawn once per set of permissions and language.

FAB draws the menu on every page, asking the permission of each of its
seventy items and translating each label: a tenth of a list page's CPU.
What it shows depends only on what the user may open, the language and the
address the app is served under, and the items are fixed when the app is
built; so one drawing serves every page with the same three. A change of
a role's permissions changes the set, and with it the drawing."""
from flask import current_app, g, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

# Sets of permissions seen: one per combination of roles, in practice few.
MOST_KEPT = 64
_drawn = {}


def menu_html():
    user = g.get("user")
    if user is None or not user.is_authenticated:
        return Markup(render_template("sdelka/menu.html", menu=current_app.appbuilder.menu))
    key = (current_app.appbuilder.sm.request_permissions(user), str(get_locale()),
           request.script_root)
    html = _drawn.get(key)
    if html is None:
        html = Markup(render_template("sdelka/menu.html", menu=current_app.appbuilder.menu))
        if len(_drawn) >= MOST_KEPT:
            _drawn.clear()
        _drawn[key] = html
    return html


def register(app):
    app.jinja_env.globals["menu_html"] = menu_html
