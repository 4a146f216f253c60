"""Saved list views («Виды»): a list's filters, sort, page size and chosen
columns («Колонки», views/list_columns.py) under a title, a user's own or
shared by an administrator.

A view keeps only the list's own URL arguments, rebuilt from what the
list accepts (``ListArgs``): the address is built from the list's route
when the view is opened, so a stored text can never send anyone
elsewhere. Rows stay those the list shows the user: the row rule is the
list's, not the view's."""
import collections
import dataclasses
import re
from urllib.parse import parse_qsl, urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from app.models import SavedView
from app.services import table_stamps
from app.services.errors import Refused

TITLE_LENGTH = 100
QUERY_LENGTH = 4000
COLUMNS_LENGTH = 2000  # the names of a list's columns, custom fields too
MAX_PAGE_SIZE = 100  # views/requestargs.MAX_PAGE_SIZE: the largest the pager offers
_FILTER = re.compile(r"_flt_([0-9])_(.+)")  # FAB reads one digit
_PAGE_SIZE = re.compile(r"[0-9]{1,3}")


@dataclasses.dataclass(frozen=True)
class ListArgs:
    """What a list accepts in its URL: its view's name (FAB's argument
    suffix), the columns it filters by and the columns it sorts by (and a
    prefix of sortable columns, a register's custom fields), and the
    columns it may show (``_cols_<view>=a,b``)."""
    view_name: str
    filter_columns: frozenset
    order_columns: frozenset
    order_prefix: str = None
    columns: frozenset = frozenset()


def list_query(raw, args):
    """The list's own arguments of the query string ``raw`` as a query
    string: filters on its columns, its sort, page size and chosen columns
    (those it may show, in one argument). Paging, other lists' and unknown
    arguments are dropped; empty filters too."""
    kept, shown = [], []
    suffix = args.view_name
    for key, value in parse_qsl(raw or "", keep_blank_values=False):
        value = value.strip()
        if not value or len(value) > (COLUMNS_LENGTH if key.startswith("_cols_") else 200):
            continue
        match = _FILTER.fullmatch(key)
        if match and match.group(2) in args.filter_columns:
            kept.append((key, value))
        elif key == f"_oc_{suffix}" and (value in args.order_columns or (
                args.order_prefix and value.startswith(args.order_prefix))):
            kept.append((key, value))
        elif key == f"_od_{suffix}" and value in ("asc", "desc"):
            kept.append((key, value))
        elif (key == f"psize_{suffix}" and _PAGE_SIZE.fullmatch(value)
              and 0 < int(value) <= MAX_PAGE_SIZE):
            kept.append((key, value))
        elif key == f"_cols_{suffix}":
            for name in value.split(","):
                name = name.strip()
                if name in args.columns and name not in shown:
                    shown.append(name)
    if shown:
        kept.append((f"_cols_{suffix}", ",".join(shown)))
    return urlencode(kept)[:QUERY_LENGTH]


# A saved view as the list's «Виды» menu reads it, shared between requests.
Kept = collections.namedtuple("Kept", "id user_id view_name title query shared")


def visible(session, user_id, view_name):
    """The user's own views of the list, then the shared ones, by title.
    Every list page asks: all the saved views are kept in the process while
    their table's stamp stays (migration 0035), a statement fewer a page."""
    every = table_stamps.kept(session, SavedView.__tablename__, "views",
                              lambda: _every(session))
    return [view for view in every
            if view.view_name == view_name and (view.user_id == user_id or view.shared)]


def _every(session):
    return tuple(Kept(*row) for row in session.execute(
        select(SavedView.id, SavedView.user_id, SavedView.view_name, SavedView.title,
               SavedView.query, SavedView.shared)
        .order_by(SavedView.shared, SavedView.title, SavedView.id)))


def may_open(view, user_id):
    return view.shared or view.user_id == user_id


def may_change(view, user_id, is_admin):
    """One's own view that is not shared; a shared one is the
    administrators' (they set it up for everyone)."""
    if view.shared:
        return is_admin
    return view.user_id == user_id


def _title(title):
    title = " ".join((title or "").split())
    if not title:
        raise Refused(_l("Name the view"), "title")
    if len(title) > TITLE_LENGTH:
        raise Refused(_l("The name is longer than %(n)s characters", n=TITLE_LENGTH), "title")
    return title


def save(session, user_id, args, title, raw_query, shared=False, is_admin=False):
    """A new view of the list ``args`` for the user; the caller commits.
    Refuses an empty or repeated title (per user and list) and sharing by
    anyone but an administrator."""
    title = _title(title)
    if shared and not is_admin:
        raise Refused(_l("Only an administrator may share a view"), "shared")
    taken = session.scalar(select(SavedView.id).where(
        SavedView.user_id == user_id, SavedView.view_name == args.view_name,
        SavedView.title == title))
    if taken is not None:
        raise Refused(_l("You already have a view named «%(title)s» of this list", title=title),
                      "title")
    if shared and session.scalar(select(SavedView.id).where(and_(
            SavedView.view_name == args.view_name, SavedView.shared.is_(True),
            SavedView.title == title))) is not None:
        raise Refused(_l("There is already a shared view named «%(title)s» of this list",
                         title=title), "title")
    view = SavedView(user_id=user_id, view_name=args.view_name, title=title,
                     query=list_query(raw_query, args), shared=bool(shared))
    session.add(view)
    session.flush()
    return view


def delete(session, view, user_id, is_admin):
    if not may_change(view, user_id, is_admin):
        raise Refused(_l("You may not change this view"))
    session.delete(view)
    session.flush()


def share(session, view, shared, user_id, is_admin):
    """Mark the view shared or not: an administrator's, of their own views
    and of the shared ones."""
    if not is_admin or not (view.user_id == user_id or view.shared):
        raise Refused(_l("Only an administrator may share a view"), "shared")
    view.shared = bool(shared)
    session.flush()
