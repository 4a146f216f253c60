"""Stamps of the watched tables (the dictionaries, departments, employees,
roles, custom fields and saved views: migrations 0033 to 0035): a table's stamp
changes with every write to it, from whichever worker, server or SQL, so
what is made from its rows may be kept while the stamp stays.

A request's stamps are read once, with its signed-in user
(``SdelkaSecurityManager.load_user`` selects ``aggregated()``), or by
``of_request`` where no user was loaded."""
import threading

from flask import g
from sqlalchemy import String, cast, func, select

from app.models import TableStamp

_kept = {}
_lock = threading.Lock()


def aggregated():
    """A scalar subquery of every stamp as one text, for ``parse``."""
    return select(func.aggregate_strings(
        TableStamp.name + ":" + cast(TableStamp.stamp, String), ",")).scalar_subquery()


def parse(text):
    """{table: stamp} of ``aggregated()``'s text."""
    pairs = (part.rpartition(":") for part in (text or "").split(",") if part)
    return {name: int(stamp) for name, _, stamp in pairs}


def of_request(session):
    """This request's stamps, by table name."""
    if "table_stamps" not in g:
        g.table_stamps = dict(session.execute(select(TableStamp.name, TableStamp.stamp)).all())
    return g.table_stamps


def kept(session, table, what, build):
    """``build()``, made from ``table``'s rows (``what`` names it among the
    things made from them), again only when the table's stamp changed since
    it was last made in this process. ``build`` returns plain data, safe to
    share between requests and threads; read after the request's stamp, it
    is at least as new as the stamp it is kept with."""
    stamp = of_request(session).get(table)
    found = _kept.get((table, what))
    if stamp is not None and found is not None and found[0] == stamp:
        return found[1]
    value = build()
    if stamp is not None:
        with _lock:
            _kept[(table, what)] = (stamp, value)
    return value
