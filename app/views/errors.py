"""Error pages in the app's layout and language instead of Werkzeug's, and
for every error not handled elsewhere: the user reads what went wrong in
Russian, never an SQL statement or its parameters; the API gets JSON.

A request whose write found the SQLite database locked for longer than
SQLITE_BUSY_TIMEOUT is answered 503 "the server is busy" with Retry-After,
whether the error reached Flask or was swallowed on the way (FAB's add,
edit and delete catch it, flash it and redirect as if the user had typed
something wrong)."""
import logging
import sqlite3

from flask import g, has_request_context, jsonify, render_template, request, session
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, default_exceptions

from app import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("The request is not valid. Go back and try again."),
    403: _l("Access denied: your role does not allow this page or action."),
    404: _l("Page not found."),
    405: _l("This page cannot be opened this way."),
    413: _l("The file is too large. Split it into smaller files or ask the administrator "
            "to raise the limit."),
    429: _l("Too many attempts. Wait a minute and try again."),
    500: _l("Something went wrong on the server. The error has been logged; try again "
            "later or tell the administrator."),
}
OTHER = _l("The request cannot be processed.")
# FAB flashes str() of any error saving a record raised: for a database
# error, the statement and its parameters.
NOT_SAVED = _l("The record was not saved: the database refused the values. Check them and "
               "try again.")
# A CSRFError is a 400 whose cause the user can fix.
CSRF = _l("The form is out of date or came from another page. Reload the page and "
          "try again.")
BUSY = _l("The server is busy, try again in a few seconds.")
# Seconds the busy page asks a client to wait (Retry-After).
BUSY_RETRY_AFTER = 5


def refuse(code, message):
    """Abort the request with ``code`` and a message of our own (already
    translated) instead of the generic one of MESSAGES."""
    error = default_exceptions[code]()
    error.sdelka_message = message
    raise error


def register(app):
    def handler(error):
        if is_busy(error):
            g.pop(_BUSY, None)  # answered here
            return _busy(app, error)
        if isinstance(error, HTTPException):
            code = error.code
            if code is None or code < 400:
                return error  # a redirect or the like: not an error
            if code >= 500:
                _forget(app, error)
            message = (getattr(error, "sdelka_message", None)
                       or (CSRF if isinstance(error, CSRFError) else None)
                       or MESSAGES.get(code, OTHER))
        else:
            code, message = 500, MESSAGES[500]
            _forget(app, error)
        response = _render(app, code, message)
        if isinstance(error, HTTPException):
            # e.g. Allow of a 405, WWW-Authenticate of a 401.
            for name, value in error.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
        return response

    for code in MESSAGES:
        app.register_error_handler(code, handler)
    # Everything else: other HTTP errors keep their code, any other
    # exception is a 500 with the page above.
    app.register_error_handler(Exception, handler)
    app.after_request(_hide_sql_in_messages)
    app.after_request(lambda response: _answer_swallowed_busy(app, response))


# --- the database is busy --------------------------------------------------------

_BUSY = "sdelka_database_busy"


def is_busy(error):
    """True for SQLite's "database is locked" (SQLITE_BUSY: another
    connection kept the write lock past the busy timeout), also when
    wrapped (SQLAlchemy's OperationalError, FAB's DatabaseException)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.OperationalError):
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None:
                return code & 0xFF == sqlite3.SQLITE_BUSY
            return "database is locked" in str(error)
        error = (getattr(error, "orig", None) or error.__cause__ or error.__context__
                 or getattr(error, "exception", None))
    return False


@event.listens_for(Engine, "handle_error")
def _note_busy(context):
    """Remember in the request that a statement found the database busy,
    and how many flashed messages were waiting before it (the ones after
    are the failure's)."""
    if has_request_context() and is_busy(context.original_exception) and _BUSY not in g:
        setattr(g, _BUSY, len(session.get("_flashes") or ()))


@event.listens_for(Session, "after_commit")
def _forget_busy(session_):
    # A commit after the failure means the work got through (e.g. a retry).
    if has_request_context():
        g.pop(_BUSY, None)


def _answer_swallowed_busy(app, response):
    """A busy database error that a handler caught instead of raising
    (FAB's form save flashes it and redirects; FAB's API answers 500 or
    422 with its SQL) still gets the busy answer, without that flash."""
    flashes_before = g.pop(_BUSY, None)
    if flashes_before is None or response.status_code == 503:
        return response
    if "_flashes" in session:
        session["_flashes"] = session["_flashes"][:flashes_before]
    return _busy(app, None)


def _busy(app, error):
    """The 503 page (JSON under /api/): nothing was lost but this request;
    the client may try again in a few seconds."""
    log.warning("Database busy on %s %s: answered 503%s", request.method, request.path,
                f" ({error.__class__.__name__})" if error is not None else "")
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the page must still be answered
        log.exception("Rollback after a busy database failed")
    response = _render(app, 503, BUSY)
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def _hide_sql_in_messages(response):
    """A flashed database error (FAB's add and edit flash ``str(e)``) is
    logged and replaced by a message without its SQL."""
    flashes = session.get("_flashes") if "_flashes" in session else None
    if flashes and any("[SQL:" in str(message) for _, message in flashes):
        kept = []
        for category, message in flashes:
            if "[SQL:" in str(message):
                log.error("Database error shown to a user replaced: %s", message)
                category, message = "danger", str(NOT_SAVED)
            kept.append((category, message))
        session["_flashes"] = kept
    return response


def _forget(app, error):
    """Log the error with its traceback and roll the request's work back:
    the session of a failed flush refuses every later statement, the
    menu's permission look-ups included."""
    log.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the page must still be answered
        log.exception("Rollback after an error failed")


def _render(app, code, message):
    if request.path.startswith("/api/"):
        response = jsonify(message=str(message))
        response.status_code = code
        return response
    try:
        if "user" not in g:
            # Raised before FAB's own before_request (e.g. a too large upload
            # refused while the CSRF check reads the form): the menu needs it.
            g.user = current_user._get_current_object()
        html = render_template(
            "sdelka/error.html", code=code, message=message,
            base_template=app.appbuilder.base_template, appbuilder=app.appbuilder,
        )
    except Exception:  # noqa: BLE001 - e.g. the database is gone: plain text
        log.exception("The error page could not be rendered")
        html = (f'<!doctype html><meta charset="utf-8"><title>{code}</title>'
                f"<p>{code}. {escape(str(message))}</p>"
                f'<p><a href="/">{escape(gettext("Back to the main page"))}</a></p>')
    return app.response_class(html, status=code, mimetype="text/html")
