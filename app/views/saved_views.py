"""«Виды» and «Сохранить вид» on every list (services/saved_views.py):
the drop-down is filled by ``saved_views_menu`` from the list template
(sdelka/list.html); these routes save, open, delete and share a view.

Opening a view redirects to the list's own route with the view's
arguments checked again against what the list accepts now; a stored text
never becomes an address. Saving and deleting one's own views is the
``add`` permission (every role that works with records), opening one
``list`` (the read-only role too); sharing is the administrator's."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app import db
from app.models import SavedView
from app.permissions import ADMIN
from app.services import saved_views
from app.services.errors import Refused
from app.views.export import CsvMixin
from app.views.requestargs import CUSTOM_PREFIX

VIEW = "SavedViewsView"


def _list_views():
    return {type(view).__name__: view for view in current_app.appbuilder.baseviews
            if isinstance(view, CsvMixin)}


def _list_view(name):
    """The list screen named ``name`` if the user may open it, else None."""
    view = _list_views().get(name or "")
    if view is None or not current_app.appbuilder.sm.has_access("can_list",
                                                               view.class_permission_name):
        return None
    return view


def _args(view):
    """What the list ``view`` accepts in its URL (saved_views.ListArgs)."""
    return saved_views.ListArgs(
        view_name=type(view).__name__,
        filter_columns=frozenset(view._filters.get_search_filters()),
        order_columns=frozenset(view.order_columns or ()),
        order_prefix=CUSTOM_PREFIX if hasattr(view.datamodel, "_custom_sort") else None,
        columns=frozenset(name for name, _label in getattr(view, "column_choices", list)()))


def _list_url(view, query):
    """The list's own route with the list's own arguments of ``query``."""
    query = saved_views.list_query(query, _args(view))
    url = url_for(f"{view.endpoint}.list")
    return f"{url}?{query}" if query else url


def _is_admin():
    return any(role.name == ADMIN for role in g.user.roles)


def saved_views_menu():
    """For the list template: the current list's views for the user, or
    None where there is no list or the user may not use views."""
    endpoint = request.endpoint or ""
    user = getattr(g, "user", None)
    sm = current_app.appbuilder.sm
    if (not endpoint.endswith(".list") or user is None or not user.is_authenticated
            or not sm.has_access("can_list", VIEW)):
        return None
    view = _list_view(endpoint.rsplit(".", 1)[0])
    if view is None:
        return None
    admin, can_save = _is_admin(), sm.has_access("can_add", VIEW)
    name = type(view).__name__
    return {
        "view_name": name,
        "query": request.query_string.decode("utf-8", "replace"),
        "can_save": can_save,
        "is_admin": admin,
        "views": [{"view": saved, "url": url_for(f"{VIEW}.open", pk=saved.id),
                   "changeable": can_save and saved_views.may_change(saved, user.id, admin)}
                  for saved in saved_views.visible(db.session, user.id, name)],
    }


class SavedViewsView(BaseView):
    route_base = "/saved-views"
    default_view = "open"
    # Opening a view is reading a list; saving and deleting one's own is "add".
    method_permission_name = {"open": "list", "save": "add", "delete": "add", "share": "add"}

    def _saved(self, pk):
        """The view ``pk`` the user may open and whose list they may open, else 404."""
        saved = db.session.get(SavedView, pk)
        if saved is None or not saved_views.may_open(saved, g.user.id):
            abort(404)
        view = _list_view(saved.view_name)
        if view is None:
            abort(404)
        return saved, view

    @expose("/open/<int:pk>")
    @has_access
    def open(self, pk):
        saved, view = self._saved(pk)
        return redirect(_list_url(view, saved.query))

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        view = _list_view(request.form.get("view"))
        if view is None:
            abort(404)
        query = request.form.get("query", "")
        try:
            saved = saved_views.save(db.session, g.user.id, _args(view),
                                     request.form.get("title"), query,
                                     shared=request.form.get("shared") == "1",
                                     is_admin=_is_admin())
        except Refused as exc:
            db.session.rollback()
            flash(gettext("The view was not saved: %(reason)s", reason="; ".join(
                str(message) for message in exc.errors.values())), "danger")
            return redirect(_list_url(view, query))
        db.session.commit()
        flash(gettext("View «%(title)s» saved", title=saved.title), "success")
        return redirect(_list_url(view, saved.query))

    @expose("/delete/<int:pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        saved, view = self._saved(pk)
        title = saved.title
        try:
            saved_views.delete(db.session, saved, g.user.id, _is_admin())
        except Refused:
            db.session.rollback()
            abort(403)
        db.session.commit()
        flash(gettext("View «%(title)s» deleted", title=title), "success")
        return redirect(_list_url(view, request.form.get("query", "")))

    @expose("/share/<int:pk>", methods=["POST"])
    @has_access
    def share(self, pk):
        saved, view = self._saved(pk)
        shared = request.form.get("shared") == "1"
        try:
            saved_views.share(db.session, saved, shared, g.user.id, _is_admin())
        except Refused:
            db.session.rollback()
            abort(403)
        db.session.commit()
        flash(gettext("View «%(title)s» is shared with everyone", title=saved.title)
              if shared else gettext("View «%(title)s» is yours alone", title=saved.title),
              "success")
        return redirect(_list_url(view, request.form.get("query", "")))


def register(appbuilder):
    appbuilder.add_view_no_menu(SavedViewsView)
    current_app.jinja_env.globals["saved_views_menu"] = saved_views_menu
