"""Row-level access in the generated screens: lists, show, edit, delete and
related-field drop-downs all go through FAB's base filters, which call the
rules of app/services/access.py."""
from flask import abort, current_app, g
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l

from app import db
from app.security import ALL_CLIENTS
from app.services import access
from app.views.refusal import refuse


def restricted_user_id():
    """The user whose rows are visible, or None for access to all clients.
    Computed once per request: FAB applies base filters many times a page."""
    if "row_scope" not in g:
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            g.row_scope = -1  # nobody's id: sees nothing
        elif current_app.appbuilder.sm.has_access(*ALL_CLIENTS):
            g.row_scope = None
        else:
            g.row_scope = user.id
    return g.row_scope


class FilterRowAccess(BaseFilter):
    name = _l("Visible to me")
    arg_name = "rla"

    def apply(self, query, value):
        user_id = restricted_user_id()
        if user_id is None:
            return query
        # ListInterface says which form suits the query it builds; a filter
        # that already narrowed the rows to a few says per-row tests win.
        driving = g.get("row_access_driving", False) and not g.get("selective_filter")
        return query.filter(access.clause(self.model, user_id, write=bool(value),
                                          driving=driving))


ROW_ACCESS = [["id", FilterRowAccess, False]]


def may_attach(item):
    """May the user attach ``item`` to its client (set by id or by object)?"""
    user_id = restricted_user_id()
    client = getattr(item, "client", None)
    client_id = getattr(item, "client_id", None) or (client.id if client is not None else None)
    if user_id is None or client_id is None:
        return True
    # The new item hangs off its client already; don't flush it early.
    with db.session.no_autoflush:
        return access.can_write_client(db.session, client_id, user_id)


class RowAccessMixin:
    """Mix into a ModelView of Client or of a model with ``client_id``."""

    base_filters = ROW_ACCESS

    def may_write(self, pk):
        """May the user change the row? ``pk`` must be an id."""
        user_id = restricted_user_id()
        # int(): PostgreSQL will not compare an id with text.
        return user_id is None or access.can_write(db.session, self.datamodel.obj, int(pk),
                                                   user_id)

    def _ensure_writable(self, pk):
        try:
            int(pk)
        except ValueError:
            abort(404)
        if not self.may_write(pk):
            abort(403)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        self._ensure_writable(pk)
        return super().edit(pk)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        self._ensure_writable(pk)
        return super().delete(pk)

    def _check_client(self, item):
        if not may_attach(item):
            refuse(_l("You may not change records of this client"))

    def pre_add(self, item):
        access.claim(db.session, item, g.user.id)
        self._check_client(item)

    def pre_update(self, item):
        self._check_client(item)
