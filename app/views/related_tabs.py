"""A record page's tabs of related records — a client's applications,
deals, tasks, notes, … — fetched when a tab is opened (static/js/related_tabs.js).

FAB builds every tab's list, with its count, while building the page: the
nine tabs of a client's page were a third of its statements and half of its
time (75–97 ms at a million clients), for tabs a user mostly never opens.
The page now holds a placeholder per tab; ``/<route>/related/<pk>/<Tab>``
answers the tab's list alone, with the record's row rule and the tab's list
permission checked here, its paging, size and order taken from FAB's own
arguments (``page_<Tab>``, …), so its pager's links come back here and the
script loads them in place. A page asked with a tab's arguments (an old
link) hands them on to that tab.

The «История» tab is fetched the same way (``/<route>/history/<pk>``): a
client with 600 changes made its page 89 ms of processor and 210 KB against
22 ms and 49 KB, drawn for every visit.

A tab's list has no bulk actions: FAB's action form is one ``#action_form``
per page, so on a page of several lists a task action was posted to the
first list's (the applications') endpoint; each register's own list has them."""
from functools import partial

from flask import abort, render_template, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_babel import gettext
from markupsafe import Markup

from app.services import history
from app.services.search import MAX_ID
from app.views.timeline import history_of

# FAB's list arguments of a related view: each is followed by its name.
TAB_ARGS = ("page_", "psize_", "_oc_", "_od_")


class LazyTabsMixin:
    """Mix into a ModelView with ``related_views``."""

    def _get_related_views_widgets(self, item, orders=None, pages=None, page_sizes=None,
                                   widgets=None, **args):
        widgets = widgets or {}
        pk = self.datamodel.get_pk_value(item)
        widgets["related_views"] = [partial(self._tab_placeholder, pk, view)
                                    for view in self._related_views]
        if self._has_history():
            widgets["history"] = placeholder(url_for(f"{self.endpoint}.history_tab", pk=pk))
        return widgets

    def _tab_placeholder(self, record_id, view, **_):
        name = view.__class__.__name__
        if not self.appbuilder.sm.has_access("can_list", view.class_permission_name):
            return Markup('<p class="text-muted">{}</p>').format(
                gettext("You have no access to this list"))
        kept = {key: value for key, value in request.args.items()
                if key in {prefix + name for prefix in TAB_ARGS}}
        return placeholder(url_for(f"{self.endpoint}.related", pk=record_id, name=name,
                                   **kept))

    @expose("/related/<int:pk>/<name>")
    @has_access
    @permission_name("show")
    def related(self, pk, name):
        """The list of one tab of the record ``pk`` (HTML, no page around it)."""
        view = next((v for v in self._related_views if v.__class__.__name__ == name), None)
        item = self.datamodel.get(pk, self._base_filters) if view and 0 < pk <= MAX_ID else None
        if item is None:
            abort(404)  # a record one may not see is not there for them
        if not self.appbuilder.sm.has_access("can_list", view.class_permission_name):
            abort(403)
        column, direction = get_order_args().get(name, ("", ""))
        widget = self._get_related_view_widget(
            item, view, column, direction, page=get_page_args().get(name),
            page_size=get_page_size_args().get(name))
        widget.template_args["actions"] = {}
        return widget(pk=pk)

    @expose("/history/<int:pk>")
    @has_access
    @permission_name("show")
    def history_tab(self, pk):
        """The «История» tab of the record ``pk`` (HTML, no page around it)."""
        item = self.datamodel.get(pk, self._base_filters) \
            if self._has_history() and 0 < pk <= MAX_ID else None
        if item is None:
            abort(404)  # a record one may not see is not there for them
        return render_template("sdelka/history_table.html", history=history_of(item))

    def _has_history(self):
        """Whether the register's records have a history (notes, lines and
        actions do not)."""
        return self.datamodel.obj in history.TRACKED


def placeholder(source):
    """A tab's content until the script fetched ``source``."""
    return Markup('<div class="sdelka-related-tab" data-src="{}" data-failed="{}">'
                  '<p class="text-muted">{}</p></div>').format(
        source, gettext("The list could not be loaded. Reload the page."),
        gettext("Loading…"))
