"""«Колонки» on every register list: the user ticks which of the list's
columns to show; their order stays the list's own.

The choice travels in the list's URL as ``_cols_<ViewName>=a,b,c`` (one
argument, so FAB's pager and sort links, which keep one value per
argument, carry it on), which makes it bookmarkable and lets a saved view
(services/saved_views.py) keep it with its filters. The chooser is a plain
GET form: its check boxes send the argument once per column, and the list
answers such an address with a redirect to the one-argument form.

Only the list's own columns (and the custom fields shown as its columns)
can be chosen: an unknown name is ignored, a column the list does not show
never appears; with no known name left the list shows all its columns.
Nothing of the view is changed: FAB's view object serves every request of
a worker's threads, so the columns are narrowed in the page's widget
(``_get_list_widget``, as views/custom_fields.py adds its columns) and in
the export's columns, for the one request."""
from urllib.parse import urlencode

from flask import has_request_context, redirect, request, url_for
from flask_appbuilder import expose, has_access

from app.services.custom_fields import label_of
from app.views.custom_fields import field_name
from app.views.datamodel import CUSTOM_PREFIX

PREFIX = "_cols_"


def columns_arg(view_name):
    return f"{PREFIX}{view_name}"


def names_in(values):
    """The column names of the argument's values (each a comma-separated
    list), in their order, once each."""
    names = []
    for value in values:
        for name in (value or "").split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


class ColumnChooserMixin:
    """Mix into a register's ModelView before CustomFieldsMixin (whose
    columns it narrows too) and CsvMixin (whose export follows it)."""

    @property
    def columns_arg(self):
        return columns_arg(self.__class__.__name__)

    def column_choices(self):
        """[(name, label)] of every column the list may show, in its order:
        the view's own, then the custom fields shown as columns."""
        labels = self.label_columns or {}
        choices = [(name, str(labels.get(name, name))) for name in self.list_columns]
        if has_request_context() and getattr(self, "custom_entity", None):
            choices += [(field_name(d), label_of(d)) for d in self.custom_definitions()
                        if d.in_list]
        return choices

    def chosen_columns(self):
        """This request's chosen columns in the list's order, or None (all
        of them) when the URL names none of the list's columns."""
        if not has_request_context():
            return None
        asked = names_in(request.args.getlist(self.columns_arg))
        if not asked:
            return None
        chosen = [name for name, _label in self.column_choices() if name in asked]
        return chosen or None

    @expose("/list/")
    @has_access
    def list(self):
        # The chooser's form sends the argument once per ticked column: one
        # argument with the names, or the pager and sort links keep only the
        # first column (they carry one value per argument).
        values = request.args.getlist(self.columns_arg)
        if len(values) > 1:
            return redirect(self._list_url_with(names_in(values)))
        return super().list()

    def _list_url_with(self, names):
        args = [(key, value) for key, value in request.args.items(multi=True)
                if key != self.columns_arg]
        known = {name for name, _label in self.column_choices()}
        names = [name for name in names if name in known]
        if names:
            args.append((self.columns_arg, ",".join(names)))
        url = url_for(f"{self.endpoint}.list")
        return url + "?" + urlencode(args, safe=",") if args else url

    # Private (pinned in test_fab_contract): the page's widget gets its
    # columns here; FAB's list_columns are the view's, shared by every request.
    def _get_list_widget(self, filters, **kwargs):
        widgets = super()._get_list_widget(filters, **kwargs)
        chosen = self.chosen_columns()
        if chosen is not None and "list" in widgets:
            args = widgets["list"].template_args
            args["include_columns"] = [name for name in args["include_columns"]
                                       if name in chosen]
        return widgets

    # -- export (views/export.py) ---------------------------------------------------

    def csv_columns(self):
        chosen = self.chosen_columns()
        if chosen is None:
            return super().csv_columns()
        relations = self.datamodel.obj.__mapper__.relationships
        return [name for name in chosen if not name.startswith(CUSTOM_PREFIX)
                and not getattr(relations.get(name), "uselist", False)]

    def _custom_fields(self):
        fields = super()._custom_fields()
        chosen = self.chosen_columns()
        if chosen is None:
            return fields
        return [d for d in fields if field_name(d) in chosen]

    # -- the chooser on the list page (sdelka/list.html) ----------------------------

    def column_chooser(self):
        chosen = self.chosen_columns()
        arg = self.columns_arg
        kept = [(key, value) for key, value in request.args.items(multi=True)
                if key != arg and not key.startswith("page_")]
        reset = url_for(f"{self.endpoint}.list")
        if kept:
            reset += "?" + urlencode(kept)
        return {
            "arg": arg,
            "kept": kept,
            "chosen": chosen is not None,
            "value": ",".join(chosen or ()),
            "reset_url": reset,
            "columns": [{"name": name, "label": label,
                         "shown": chosen is None or name in chosen}
                        for name, label in self.column_choices()],
        }

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["column_chooser"] = self.column_chooser()
        return super().render_template(template, **kwargs)
