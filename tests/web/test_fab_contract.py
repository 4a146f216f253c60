"""The private parts of Flask-AppBuilder the app overrides or reads, pinned.

FAB has no public hook for some of what the screens do (custom fields in
the list, search, add, edit and show widgets; one filters object per
request; the permission set loaded once a request). Where the app overrides
or calls a FAB method whose name starts with ``_``, the method's parameters
are written here: an upgrade of FAB that renames one, drops it or changes
its parameters fails this test instead of silently skipping our override
(a renamed method is no longer called) or breaking a page at run time.
A new private override must be added to CONTRACT, with the reason no
public extension point serves written next to it in the app."""
import inspect
import sys

import pytest
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.baseviews import BaseCRUDView, BaseModelView
from flask_appbuilder.models.base import BaseInterface
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.widgets import SearchWidget

# (FAB class that defines it, name): its parameters, "name" or "name=default"
# ("*name" / "**name" for variadic ones), as our overrides and calls expect.
CONTRACT = {
    # views/custom_fields.CustomFieldsMixin: custom fields in the widgets.
    (BaseCRUDView, "_get_list_widget"): [
        "self", "filters", "actions=None", "order_column=''", "order_direction=''",
        "page=None", "page_size=None", "widgets=None", "**kwargs"],
    (BaseModelView, "_get_search_widget"): [
        "self", "form=None", "exclude_cols=None", "widgets=None"],
    # Also views/actions.py.
    (BaseCRUDView, "_get_add_widget"): ["self", "form", "exclude_cols=None", "widgets=None"],
    (BaseCRUDView, "_get_edit_widget"): ["self", "form", "exclude_cols=None", "widgets=None"],
    # Also views/show.py, views/roles.py.
    (BaseCRUDView, "_get_show_widget"): [
        "self", "pk", "item", "widgets=None", "actions=None", "show_fieldsets=None"],
    # views/related_tabs.LazyTabsMixin: a placeholder per tab, and one tab's
    # list built when it is fetched.
    (BaseCRUDView, "_get_related_views_widgets"): [
        "self", "item", "orders=None", "pages=None", "page_sizes=None", "widgets=None",
        "**args"],
    (BaseCRUDView, "_get_related_view_widget"): [
        "self", "item", "related_view", "order_column=''", "order_direction=''", "page=None",
        "page_size=None"],
    # views/refusal.KeepTypedMixin: a refused form shown again as posted;
    # views/timeline.QuickAddMixin runs it on a quick box (the add form's
    # rules) and reads the refused form from its widget's template_args.
    (BaseCRUDView, "_add"): ["self"],
    (BaseCRUDView, "_edit"): ["self", "pk"],
    # views/dictionaries.py: a search filter added once FAB built its own.
    (BaseCRUDView, "_init_properties"): ["self"],
    # views/api/base.py, views/api/dictionaries.py: the bodies' schemas and
    # the _info choices.
    (ModelRestApi, "_init_model_schemas"): ["self"],
    (ModelRestApi, "_get_field_info"): [
        "self", "field", "filter_rel_field", "page=None", "page_size=None"],
    # views/datamodel.ListInterface calls it for the count's filtered query.
    (SQLAInterface, "_apply_inner_all"): [
        "self", "query", "filters=None", "order_column=''", "order_direction=''",
        "page=None", "page_size=None", "select_columns=None", "aliases_mapping=None"],
    # views/imports.py: a cell's value.
    (BaseInterface, "_get_attr_value"): ["item", "col"],
    # security.py: the permission set read once a request.
    (BaseSecurityManager, "_has_view_access"): [
        "self", "user", "permission_name", "view_name"],
    (BaseSecurityManager, "_get_user_permission_view_menus"): [
        "self", "user", "permission_name", "view_menus_name"],
}


def parameters(function):
    shown = []
    for p in inspect.signature(function).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        default = "" if p.default is p.empty else f"={p.default!r}"
        shown.append(f"{prefix}{p.name}{default}")
    return shown


@pytest.mark.parametrize("owner, name", list(CONTRACT), ids=[n for _, n in CONTRACT])
def test_fab_private_method_keeps_its_parameters(owner, name):
    assert name in vars(owner), f"FAB's {owner.__name__} no longer defines {name}"
    assert parameters(getattr(owner, name)) == CONTRACT[(owner, name)]


def _fab_classes(cls):
    return [c for c in cls.__mro__ if c.__module__.startswith("flask_appbuilder")]


def test_every_private_fab_method_the_app_overrides_is_pinned(app):
    """Every method of an app class that overrides a private one of a FAB
    base class is in CONTRACT (the app is built: every view is imported)."""
    pinned = {(owner, name) for owner, name in CONTRACT}
    found, unpinned = set(), set()
    for module in [m for n, m in list(sys.modules.items()) if n.split(".")[0] == "app"]:
        for cls in [c for c in vars(module).values()
                    if inspect.isclass(c) and c.__module__ == module.__name__]:
            fab = _fab_classes(cls)
            # The app's classes before FAB's in the MRO: the class and its
            # mixins (refusal.KeepTypedMixin overrides _add in a view).
            ours = [c for c in cls.__mro__ if c.__module__.split(".")[0] == "app"]
            for name in {n for c in ours for n in vars(c)}:
                if not name.startswith("_") or name.startswith("__"):
                    continue
                owners = [c for c in fab if name in vars(c)]
                if not owners or not callable(getattr(owners[0], name)):
                    continue
                found.add((owners[0], name))
                if (owners[0], name) not in pinned:
                    unpinned.add(f"{cls.__module__}.{cls.__name__}.{name} "
                                 f"(FAB {owners[0].__name__})")
    assert not unpinned, sorted(unpinned)
    # And CONTRACT holds no method the app no longer touches, but for the
    # one it only calls.
    assert pinned - found == {(SQLAInterface, "_apply_inner_all"),
                              (BaseCRUDView, "_get_related_view_widget")}


def test_fab_attributes_the_custom_fields_rely_on(app):
    """views/custom_fields.py keeps FAB's forms and filters behind
    properties (``add_form``, ``edit_form``, ``search_form``, ``_filters``)
    and adds filters to ``Filters._search_filters`` / ``_all_filters``;
    EscapedSearchWidget replaces SearchWidget.__call__'s arguments."""
    from app.views.custom_fields import CustomFieldsMixin

    views = [v for v in app.appbuilder.baseviews if isinstance(v, CustomFieldsMixin)]
    assert views
    for view in views:
        # FAB assigned them, through our setters.
        for stored in ("_add_form", "_edit_form", "_search_form", "_plain_filters"):
            assert stored in vars(view), (type(view).__name__, stored)
        filters = vars(view)["_plain_filters"]
        assert isinstance(filters, Filters)
        assert isinstance(filters._search_filters, dict)
        assert isinstance(filters._all_filters, dict)
        assert isinstance(view._base_filters, Filters)
    # FAB reads the view's filters as ``self._filters`` in its list, add
    # and edit (get_filter_args fills it from the URL).
    for method in (BaseCRUDView._list, BaseCRUDView._add, BaseCRUDView._edit):
        assert "get_filter_args(self._filters" in inspect.getsource(method)
    source = inspect.getsource(SearchWidget.__call__)
    for argument in ("label_columns", "form_fields", "search_filters", "active_filters"):
        assert f'kwargs["{argument}"]' in source
