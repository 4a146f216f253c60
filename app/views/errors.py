"""Error pages in the app's layout and language instead of Werkzeug's."""
from flask import g, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

MESSAGES = {
    403: _l("Access denied: your role does not allow this page or action."),
    404: _l("Page not found."),
    413: _l("The file is too large. Split it into smaller files or ask the administrator "
            "to raise the limit."),
    429: _l("Too many attempts. Wait a minute and try again."),
}


def register(app):
    def handler(error):
        code = getattr(error, "code", 500)
        if "user" not in g:
            # Raised before FAB's own before_request (e.g. a too large upload
            # refused while the CSRF check reads the form): the menu needs it.
            g.user = current_user._get_current_object()
        return render_template(
            "sdelka/error.html", code=code, message=MESSAGES[code],
            base_template=app.appbuilder.base_template, appbuilder=app.appbuilder,
        ), code

    for code in MESSAGES:
        app.register_error_handler(code, handler)
