"""The app's log: every line a request writes names the request and the
signed-in user, and every request ends with one line of its own (method,
path, status, time, client address: gunicorn's access log is off). The id
is the proxy's ``X-Request-ID`` when it sends a sane one (nginx:
``proxy_set_header X-Request-ID $request_id``), else a new one, and goes
back in the response, so a user's report, the proxy's log and the app's log
of every server meet on it."""
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
FORMAT = "%(asctime)s %(levelname)s [%(request_id)s %(user)s] %(name)s: %(message)s"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
requests_log = logging.getLogger("app.requests")


class RequestFields(logging.Filter):
    """Adds ``request_id`` and ``user`` (the login, "-" when none) to a record."""

    def filter(self, record):
        record.request_id, record.user = "-", "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.user = g.get("log_user", "-")
        return True


def _begin():
    given = request.headers.get(HEADER, "")
    g.request_id = given if _SANE.fullmatch(given) else uuid.uuid4().hex[:16]
    g.request_started = time.perf_counter()


def _remember_user():
    # Read once, as the request starts: a log line must never load from the
    # database (after a commit the user's fields are expired; in an import
    # thread the user is detached).
    user = g.get("user")
    if user is not None and user.is_authenticated:
        g.log_user = user.username


def _end(response):
    response.headers[HEADER] = g.get("request_id", "-")
    started = g.get("request_started")
    if started is not None:
        requests_log.info("%s %s %s %.0f ms %s", request.method,
                          request.full_path.rstrip("?"), response.status_code,
                          (time.perf_counter() - started) * 1000, request.remote_addr)
    return response


def init_app(app):
    """Log the ``app.*`` loggers with the request's fields to stderr (where
    gunicorn's own log goes) at LOG_LEVEL, once per process. They still
    propagate: the root logger has no handler under gunicorn, and tests
    read them there."""
    logger = logging.getLogger("app")
    if not any(isinstance(f, RequestFields) for h in logger.handlers for f in h.filters):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RequestFields())
        logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_begin)
    app.after_request(_end)


def name_users(app):
    """After FAB's own before_request (it sets ``g.user``): the login of each
    request's user for its log lines."""
    app.before_request(_remember_user)
