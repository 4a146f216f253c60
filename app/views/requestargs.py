"""The list parameters FAB reads from a URL without checking them, checked
once for every screen before any view runs.

FAB parses ``page_<View>`` and ``psize_<View>`` with ``int()`` (``abc`` was a
500), hands ``_oc_<View>`` to the query as a column name (an unknown one was
a 500 on every list) and takes any page size (``psize_ClientView=20000``
sent 30 MB). It does so in the list, in the lists of related records under a
record page and edit form, in the export and the printed task list, and in
the pager's links, each reading ``request.args`` again. So the request's
arguments are cleaned here, once: a bad value is dropped and the list shows
its default (what a user who mistyped a link expects), a page size above
MAX_PAGE_SIZE becomes MAX_PAGE_SIZE (the largest the pager offers).

The REST API reads its paging from the rison ``q``; FAB caps its page size
(FAB_API_MAX_PAGE_SIZE, 100) and answers a bad type or order column with
400 itself, but takes any page number: a negative or huge one is answered
400 here. An unknown action name (``/<view>/action_post``,
``/<view>/action/<name>/<pk>``) is answered 400 rather than FAB's
AttributeError."""
import re

import prison
from flask import current_app, request
from flask_appbuilder.baseviews import BaseCRUDView
from flask_babel import gettext
from werkzeug.datastructures import ImmutableMultiDict

from app.views.errors import refuse

MAX_PAGE_SIZE = 100
# Far past any list's end, small enough for OFFSET (and the count's LIMIT).
MAX_PAGE = 1_000_000
CUSTOM_PREFIX = "cf_"  # custom_fields.PREFIX: a list sorted by a custom field

# FAB's own patterns (flask_appbuilder/urltools.py), searched as it does:
# anywhere in the argument's name.
_PAGE = re.compile("page_(.*)")
_PAGE_SIZE = re.compile("psize_(.*)")
_ORDER_COLUMN = re.compile("_oc_(.*)")
_ORDER_DIRECTION = re.compile("_od_(.*)")
_NUMBER = re.compile("[0-9]{1,12}")


def register(app):
    app.before_request(check_request_args)


def check_request_args():
    if request.path.startswith("/api/"):
        _check_api_page()
        return
    _clean_list_args()
    _check_action()


def _number(value):
    value = (value or "").strip()
    return int(value) if _NUMBER.fullmatch(value) else None


def _clean_list_args():
    args = request.args
    if not any(pattern.search(key) for key in args for pattern in
               (_PAGE, _PAGE_SIZE, _ORDER_COLUMN, _ORDER_DIRECTION)):
        return
    cleaned, changed = [], False
    for key in args:
        values = args.getlist(key)
        value = _clean(key, values[0])
        if value is None:
            changed = True
            continue
        if [value] != values:
            changed = True
            values = [value]
        cleaned += [(key, v) for v in values]
    if changed:
        request.args = ImmutableMultiDict(cleaned)


def _clean(key, value):
    """The value FAB may read for ``key``, or None to drop it."""
    if _PAGE_SIZE.search(key):
        size = _number(value)
        return None if not size else str(min(size, MAX_PAGE_SIZE))
    if _PAGE.search(key):
        page = _number(value)
        return None if page is None or page > MAX_PAGE else str(page)
    match = _ORDER_COLUMN.search(key)
    if match:
        view = _views_by_name().get(match.group(1))
        return value if view is not None and _sortable(view, value) else None
    if _ORDER_DIRECTION.search(key):
        return value if value in ("asc", "desc") else None
    return value


def _sortable(view, column):
    if column in (view.order_columns or ()):
        return True
    # The list of a register sorts by a custom field shown in it (and by id
    # when the field is gone): views/datamodel.py.
    return column.startswith(CUSTOM_PREFIX) and hasattr(view.datamodel, "_custom_sort")


def _views_by_name():
    """Every list by the name its URL arguments carry: the registered views
    and the views inside them (related lists, several lists on a page)."""
    views = {}
    for view in current_app.appbuilder.baseviews:
        for one in [view, *(view.get_init_inner_views() or ())]:
            if isinstance(one, BaseCRUDView):
                views.setdefault(type(one).__name__, one)
    return views


def _check_action():
    endpoint = request.endpoint or ""
    if not endpoint.endswith((".action", ".action_post")):
        return
    view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
    if not isinstance(view, BaseCRUDView):
        return
    if endpoint.endswith(".action_post"):
        name = request.form.get("action")
    else:
        name = (request.view_args or {}).get("name")
    if name is not None and name not in view.actions:
        refuse(400, gettext("There is no such action."))


def _check_api_page():
    raw = request.args.get("q")
    if not raw:
        return
    try:
        arguments = prison.loads(raw)
    except Exception:  # noqa: BLE001 - FAB answers a bad rison with 400 itself
        return
    page = arguments.get("page") if isinstance(arguments, dict) else None
    if isinstance(page, int) and not isinstance(page, bool) and not 0 <= page <= MAX_PAGE:
        refuse(400, gettext("The page number must be from 0 to %(max)s.", max=MAX_PAGE))
