"""Row-level access in the generated screens: lists, show, edit, delete and
related-field drop-downs all go through FAB's base filters, which call the
rules of app/services/access.py.

Where the scope comes from: ``restricted_user_id`` reads it from the
signed-in user and their permissions (the security manager loads those once
a request). The base filters carry that function as their value, FAB's own
pattern for a value known only per request (``FilterEqualFunction``), and the
row filter marks the query it narrowed with the scope it applied
(``ROW_SCOPE``), so the list's count (views/datamodel.py) takes the same one
from the query. No request-wide flag says whose rows a query returns."""
from flask import abort, current_app, g, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.util import identity_key

from app import db
from app.labels import FIELDS
from app.security import ALL_CLIENTS, ASSIGN_COLLEAGUES
from app.services import access, assignment, records
from app.services.errors import Refused
from app.services.search import MAX_ID  # noqa: F401 (the views take it from here)
from app.views.datamodel import ROW_ACCESS_DRIVING, ROW_SCOPE
from app.views.refusal import refuse


def restricted_user_id():
    """The user whose rows are visible, or None for access to all clients:
    the signed-in user's id unless a role of theirs grants ALL_CLIENTS.
    Read afresh on each call (a set look-up: the security manager keeps the
    user's permissions for the request)."""
    user = getattr(g, "user", None)
    if user is None or not user.is_authenticated:
        return -1  # nobody's id: sees nothing
    if current_app.appbuilder.sm.has_access(*ALL_CLIENTS):
        return None
    return user.id


class FilterRowAccess(BaseFilter):
    """The row rule as a FAB base filter. Its value is the function that
    gives the scope (``restricted_user_id``: FAB builds its filters once and
    applies them in every request)."""

    name = _l("Visible to me")
    arg_name = "rla"
    # The user's own records (access.owner_column) pass it: the list's
    # count relies on that (views/datamodel.py, _own_rows_pass).
    passes_own_rows = True
    # A search that tests the visible rows itself stands in for it in the
    # count (views/datamodel.py, _visible_matches).
    row_rule = True

    def apply(self, query, scope):
        user_id = scope()
        if user_id is None:
            return query
        # ListInterface says which form suits the query it builds (per-row
        # tests unless it asks otherwise).
        driving = query.get_execution_options().get(ROW_ACCESS_DRIVING, False)
        dialect = db.session.get_bind().dialect.name
        return query.filter(access.clause(self.model, user_id, driving=driving, dialect=dialect)
                            ).execution_options(**{ROW_SCOPE: user_id})


ROW_ACCESS = [["id", FilterRowAccess, restricted_user_id]]


def assign_scope():
    """Whom the signed-in user may give records to (services/assignment.py):
    anyone with access to all clients, else colleagues with ASSIGN_COLLEAGUES,
    else oneself."""
    return assignment.scope_of(restricted_user_id() is None,
                               current_app.appbuilder.sm.has_access(*ASSIGN_COLLEAGUES))


class FilterAssignable(BaseFilter):
    """Employees a new record may be given to, by the rule services/records.py
    checks (``assignment.assignable``). Its value gives the row scope, as
    FilterRowAccess's."""

    name = _l("Assignable")
    arg_name = "asg"

    def apply(self, query, scope):
        user_id = scope()
        if user_id is None:
            return query
        return query.filter(assignment.assignable(user_id, assign_scope()))


# The choices of every link to a record under the row rule, in forms and
# in the API's _info: only records the user may see.
LINK_CHOICES = {name: ROW_ACCESS for name in
                ("client", "recipient", "deal", "application", "invoice", "based_on", "lead",
                 "contact")}
NEW_LINK_CHOICES = {**LINK_CHOICES,
                    "responsible": [["id", FilterAssignable, restricted_user_id]],
                    "assignee": [["id", FilterAssignable, restricted_user_id]]}


def remember_stored(model, pk):
    """Read the stored row before FAB copies a form or a body onto it
    (services/records.py says why); ``stored()`` hands it to the rules.

    Kept in ``flask.g``: it passes a value from the edit (or PUT) route to
    the ``pre_update`` hook of the same request, and FAB calls that hook
    with the record alone; the view object is shared by every request, so
    the request's own storage is the only place. It never chooses which
    rows a query returns (``stored`` reads the row again when it is not
    this record's)."""
    g.stored_row = records.stored_row(db.session, model, int(pk))


def stored(item):
    """The stored row of ``item`` as ``remember_stored`` read it (read now
    when the request did not)."""
    row = g.get("stored_row")
    if row is None or row.get("id") != item.id:
        row = records.stored_row(db.session, type(item), item.id)
    return row


def _attempt(command, *args):
    """Run a command of services/records.py for a screen's or the API's
    hook: (status, {field or None: message}) of a refusal, else None."""
    try:
        command(db.session, *args)
    except Refused as exc:
        db.session.rollback()
        return 403 if isinstance(exc, records.Forbidden) else 422, exc.errors
    return None


def write(item, new):
    """The one write path (records.write) of a save: see ``_attempt``."""
    return _attempt(records.write, item, g.user.id, restricted_user_id(),
                    None if new else stored(item), assign_scope())


def delete(item):
    """The one delete path (records.delete): see ``_attempt``."""
    return _attempt(records.delete, item, restricted_user_id())


def after_write(item):
    """What follows a saved or deleted record (records.written), committed."""
    if records.written(db.session, item):
        db.session.commit()


def refusal_text(errors):
    """One line naming each refused field, for a screen's message."""
    return "; ".join(f"{FIELDS.get(field, field)}: {message}" if field else str(message)
                     for field, message in errors.items())


def _answered(question, model, row_id):
    """``question`` (access.can_read or can_write) for the current user,
    asked once per GET request: a client's page asked it five times (the
    edit link, the stage box, the timeline's two boxes and entries). A
    request that writes asks afresh each time."""
    user_id = restricted_user_id()
    if user_id is None:
        return True
    if request.method != "GET":
        return question(db.session, model, row_id, user_id)
    answers = g.setdefault("row_access_answers", {})
    key = (question, model, row_id, user_id)
    if key not in answers:
        # Whoever may change a row may see it; a row the page has read and
        # that is the user's own (its owner column) they may change.
        kept = db.session.identity_map.get(identity_key(model, row_id))
        answers[key] = (kept is not None and access.owns(kept, user_id)) or (
            question is access.can_read
            and answers.get((access.can_write, model, row_id, user_id))) \
            or question(db.session, model, row_id, user_id)
    return answers[key]


def _found_readable(record):
    """``record`` came through the row rule (a page's query with
    ROW_ACCESS): the rest of the page (the timeline's boxes and entries)
    need not ask again. Kept for the request, the session finds it without
    reading the row again (it holds records weakly)."""
    user_id = restricted_user_id()
    if user_id is not None and request.method == "GET":
        g.setdefault("row_access_answers", {})[
            (access.can_read, type(record), record.id, user_id)] = True
    g.setdefault("kept_records", []).append(record)


def may_read(model, row_id):
    """May the current user see the row ``row_id`` of ``model``?"""
    return _answered(access.can_read, model, row_id)


def may_change(model, row_id):
    """May the current user change the row ``row_id`` of ``model``?"""
    return _answered(access.can_write, model, row_id)


def record_or_404(model, pk, write=False):
    """The record the current user may see (``write``: change), else a 404:
    a record one may not see is not there for them."""
    record = db.session.get(model, pk) if 0 < pk <= MAX_ID else None
    if record is None or not (may_change if write else may_read)(model, pk):
        abort(404)
    return record


class RowAccessMixin:
    """Mix into a ModelView of Client or of a model with ``client_id``."""

    base_filters = ROW_ACCESS

    def _get_show_widget(self, pk, item, *args, **kwargs):
        # FAB's show found ``item`` with base_filters, the row rule.
        _found_readable(item)
        return super()._get_show_widget(pk, item, *args, **kwargs)

    def may_write(self, pk):
        """May the user change the row? ``pk`` must be an id."""
        # int(): PostgreSQL will not compare an id with text.
        return may_change(self.datamodel.obj, int(pk))

    def _ensure_writable(self, pk):
        try:
            if not 0 < int(pk) <= MAX_ID:
                abort(404)
        except ValueError:
            abort(404)
        if not self.may_write(pk):
            abort(403)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        self._ensure_writable(pk)
        remember_stored(self.datamodel.obj, pk)
        return super().edit(pk)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        self._ensure_writable(pk)
        return super().delete(pk)

    def pre_add(self, item):
        refused = write(item, new=True)
        if refused:
            refuse(refusal_text(refused[1]), refused[1])

    def pre_update(self, item):
        refused = write(item, new=False)
        if refused:
            refuse(refusal_text(refused[1]), refused[1])

    def pre_delete(self, item):
        refused = delete(item)
        if refused:
            refuse(refusal_text(refused[1]), refused[1])

    def post_add(self, item):
        super().post_add(item)
        after_write(item)

    def post_update(self, item):
        super().post_update(item)
        after_write(item)

    def post_delete(self, item):
        super().post_delete(item)
        after_write(item)
