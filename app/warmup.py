"""What a server does once before it takes requests, so that no user's
request pays it.

A fresh worker compiled each template the first time a page used it and
read each language's catalogue on the first page in that language: the
first client list of a worker cost 180–210 ms of processor against 30 ms
later, its first client page 150 ms against 35, and the other requests
of that worker waited behind it. At 50 sessions on two workers those
first pages were a good part of the slowest hundredth (bench/load.py).
Done in gunicorn's master before the workers fork (gunicorn.conf.py), the
compiled templates are shared by every worker, as the rest of the
preloaded app is."""
from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask_babel import force_locale, get_translations
from jinja2 import TemplateError

from app.models import utcnow


def warm_up(app):
    env = app.jinja_env
    names = env.list_templates()
    # Jinja keeps compiled templates in an LRU cache: all of them must fit.
    if env.cache is not None and getattr(env.cache, "capacity", len(names)) < len(names):
        env.cache = {}
    for name in names:
        try:
            env.get_template(name)
        except TemplateError:
            pass  # a part of printed documents: the printing sandbox compiles it
    with app.test_request_context():
        for code in app.config.get("LANGUAGES") or (app.config["BABEL_DEFAULT_LOCALE"],):
            with force_locale(code):
                get_translations()
            # Babel's locale data (month names, number symbols) loads on first use.
            format_datetime(utcnow(), locale=code)
            format_decimal(300000.5, locale=code)
    return len(names)
