"""Custom fields on screens: the admin's definitions screen, and the mixin
that puts active fields into a register's add, edit and show screens under
«Дополнительно» — read from the database on each request, so a new field
appears without a restart."""
import copy

from flask import flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2ManyWidget,
    Select2Widget,
)
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import (
    FilterContains,
    FilterEqual,
    FilterGreater,
    FilterSmaller,
)
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import SearchWidget, ShowWidget
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import false
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional, StopValidation

from app import db
from app.models import CustomField, CustomFieldType, dictionary_models
from app.services import custom_fields, table_stamps
from app.services.custom_fields import ENTITY_OF, label_of
from app.views.datamodel import CUSTOM_PREFIX, SELECTIVE
from app.views.fields import DateInputWidget, EnumFieldsMixin, RuDateField
from app.views.labels import ENTITY_LABELS, enum_label
from app.views.refusal import KeepTypedMixin, refuse, refuse_on

ADDITIONAL = _l("Additional")


class Parsed:
    """Checks a value as the service does for CSV and the API, and keeps
    the parsed value: one set of messages everywhere."""

    def __init__(self, definition):
        self.definition = definition

    def __call__(self, form, field):
        try:
            field.data = custom_fields.parse(db.session, self.definition, field.data)
        except custom_fields.CustomValueError as error:
            raise StopValidation(str(error.message)) from None


def form_field(definition):
    """A WTForms field for a definition."""
    kind = CustomFieldType(definition.type)
    label, help_text = label_of(definition), definition.help_text or ""
    required = definition.required and kind != CustomFieldType.BOOLEAN
    checks = [DataRequired() if required else Optional(), Parsed(definition)]
    default = custom_fields.default_of(db.session, definition)
    options = {"description": help_text, "default": default}
    if kind == CustomFieldType.BOOLEAN:
        return BooleanField(label, **options)
    if kind == CustomFieldType.DATE:
        return RuDateField(label, checks, **options)
    if kind == CustomFieldType.LONG_TEXT:
        return TextAreaField(label, checks, widget=BS3TextAreaFieldWidget(), **options)
    if kind == CustomFieldType.CHOICE:
        return SelectField(label, checks, widget=Select2Widget(), **options,
                           choices=[("", "")] + [(c, c) for c in
                                                 custom_fields.choices_of(definition)])
    if kind == CustomFieldType.MULTI_CHOICE:
        return SelectMultipleField(label, checks, widget=Select2ManyWidget(), **options,
                                   choices=[(c, c) for c in
                                            custom_fields.choices_of(definition)])
    if kind == CustomFieldType.DICTIONARY:
        def choices():
            rows = custom_fields.dictionary_rows(db.session, definition)
            return [("", "")] + [(str(row_id), name) for row_id, name in rows.items()]

        return SelectField(label, checks, widget=Select2Widget(), choices=choices,
                           coerce=lambda v: int(v) if str(v).isdigit() else v, **options)
    return StringField(label, checks, widget=BS3TextFieldWidget(), **options)


def field_name(definition):
    return f"{CUSTOM_PREFIX}{definition.code}"


# --- Search by custom fields --------------------------------------------------


def _single(value):
    """FAB hands a filter every value of its argument."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


class CustomFilter(BaseFilter):
    """A condition on a custom field's value, run as an index range of
    ``custom_value`` (services/custom_fields.matching)."""

    # Bound per field by ``filters_for``: FAB rebuilds filters from their
    # class and column alone.
    definition = None

    def __init__(self, column_name, datamodel, is_related_view=False):
        super().__init__(column_name, datamodel, is_related_view)
        # {parsed value: (clause, few)}. The list applies its filters twice
        # (count, page): one density probe. Filters of custom fields are
        # made for one request (``with_custom_filters``), so what they
        # found is that request's.
        self.matched = {}

    def condition(self, column, value):
        raise NotImplementedError

    def parsed(self, value):
        return custom_fields.parse(db.session, self.definition, value)

    def apply(self, query, value):
        value = _single(value)
        try:
            parsed = self.parsed(value)
        except custom_fields.CustomValueError:
            return query.filter(false())  # no record holds a value that can't be
        if parsed is None or parsed == []:
            return query
        if isinstance(parsed, list):
            parsed = parsed[0]
        if isinstance(parsed, bool):
            parsed = int(parsed)
        if parsed not in self.matched:
            condition = self.condition(custom_fields.value_column(self.definition), parsed)
            self.matched[parsed] = custom_fields.matching(db.session, self.model,
                                                          self.definition, condition)
        clause, few = self.matched[parsed]
        query = query.filter(clause)
        # Few matches: row-level access tests them one by one instead of
        # collecting every visible record to count them (views/datamodel.py).
        return query.execution_options(**{SELECTIVE: True}) if few else query


class CustomEqual(CustomFilter):
    name, arg_name = FilterEqual.name, "eq"

    def condition(self, column, value):
        return column == value


class CustomGreater(CustomFilter):
    name, arg_name = FilterGreater.name, "gt"

    def condition(self, column, value):
        return column > value


class CustomSmaller(CustomFilter):
    name, arg_name = FilterSmaller.name, "lt"

    def condition(self, column, value):
        return column < value


class CustomContains(CustomFilter):
    name, arg_name = FilterContains.name, "ct"

    def parsed(self, value):
        return (value or "").strip() or None

    def condition(self, column, value):
        return column.ilike(f"%{value}%")


ORDERED = {CustomFieldType.INTEGER, CustomFieldType.DECIMAL, CustomFieldType.MONEY,
           CustomFieldType.DATE}
TEXTUAL = {CustomFieldType.TEXT, CustomFieldType.LONG_TEXT}


def filters_for(definition, datamodel):
    kind = CustomFieldType(definition.type)
    classes = ([CustomContains, CustomEqual] if kind in TEXTUAL
               else [CustomEqual, CustomGreater, CustomSmaller] if kind in ORDERED
               else [CustomEqual])
    return [type(cls.__name__, (cls,), {"definition": definition})(field_name(definition),
                                                                   datamodel)
            for cls in classes]


def search_field(definition):
    """The search form's input: typed as in CSV, a list for the choices."""
    kind = CustomFieldType(definition.type)
    label = label_of(definition)
    if kind in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
        return SelectField(label, [Optional()], widget=Select2Widget(), choices=[
            (c, c) for c in custom_fields.choices_of(definition)])
    if kind == CustomFieldType.BOOLEAN:
        return SelectField(label, [Optional()], widget=Select2Widget(),
                           choices=[("да", _l("Yes")), ("нет", _l("No"))])
    if kind == CustomFieldType.DICTIONARY:
        def choices():
            rows = custom_fields.dictionary_rows(db.session, definition)
            return [(str(row_id), name) for row_id, name in rows.items()]

        return SelectField(label, [Optional()], widget=Select2Widget(), choices=choices)
    if kind == CustomFieldType.DATE:
        return StringField(label, [Optional()], widget=DateInputWidget())
    return StringField(label, [Optional()], widget=BS3TextFieldWidget())


def with_custom_filters(base, datamodel, definitions):
    """A copy of a view's FAB filters that also knows the custom fields, for
    one request: its custom filters keep the records they matched."""
    filters = copy.copy(base)
    filters.filters, filters.values = [], []
    filters._search_filters = dict(getattr(base, "_search_filters", {}))
    filters._all_filters = dict(base._all_filters)
    filters.search_columns = list(base.search_columns or [])
    for definition in definitions:
        name = field_name(definition)
        filters._search_filters[name] = filters._all_filters[name] = filters_for(
            definition, datamodel)
        filters.search_columns.append(name)
    return filters


class CustomShowWidget(ShowWidget):
    template = "sdelka/widgets/show.html"


# Add, edit and search forms, each for the current and a few past sets of
# definitions (requests in flight while the admin edits one).
FORM_CLASSES_KEPT = 12


class CustomDefinitions:
    """The active custom fields of a screen's or an API's entity."""

    @property
    def custom_entity(self):
        return ENTITY_OF.get(self.datamodel.obj)

    def custom_definitions(self):
        """This request's active definitions of the entity: every entity's
        are read in one query (a record page draws its own and its quick
        boxes'), again only when the custom_field table's stamp changed."""
        if "custom_definitions" not in g:
            g.custom_definitions = table_stamps.kept(
                db.session, CustomField.__tablename__, "active by entity",
                lambda: custom_fields.active_by_entity(db.session))
        return g.custom_definitions.get(self.custom_entity, ())


# Search fields as drawn, by all that draws them: a fifth of a list page's
# CPU went to drawing the same fields for every page. A drop-down of a
# watched table's rows (a dictionary, the employees: migration 0033) is
# kept while the table's stamp stays, so a new status or employee shows at
# once and its rows are not read for every page (four queries and a seventh
# of a client or task list); any other drop-down's choices are read each
# time and only their drawing is kept.
SEARCH_FIELDS_KEPT = 512
_search_fields = {}


def _search_field_html(field, table=None):
    """``table``: the table the field's choices are the rows of, if any."""
    stamp = table_stamps.of_request(db.session).get(table) if table else None
    if stamp is not None and getattr(field, "data", None) is None:
        choices = ("rows of", table, stamp)  # none chosen: the rows alone draw it
    else:
        choices = (tuple((str(c[0]), str(c[1]), bool(c[2])) for c in field.iter_choices())
                   if hasattr(field, "iter_choices") else None)
    value = field._value() if hasattr(field, "_value") else None
    key = (type(field), type(field.widget), field.name, field.id, str(field.label.text),
           repr(field.render_kw), value, choices, str(get_locale()))
    return _kept_drawing(key, field)


def _kept_drawing(key, draw):
    """``draw()``, made once per ``key`` while at most SEARCH_FIELDS_KEPT are kept."""
    drawn = _search_fields.get(key)
    if drawn is None:
        drawn = draw()
        if len(_search_fields) >= SEARCH_FIELDS_KEPT:
            _search_fields.clear()
        _search_fields[key] = drawn
    return drawn


def _rows_of(datamodel, column):
    """The table whose rows a relation column's drop-down offers, else None."""
    if datamodel.is_relation_many_to_one(column) or datamodel.is_relation_many_to_many(column):
        return datamodel.get_related_model(column).__tablename__
    return None


class EscapedSearchWidget(SearchWidget):
    """FAB's search form, with the filter labels escaped for the page's
    script: FAB's ab_filters.js adds a chosen filter's label with jQuery's
    ``append``, which reads a string as HTML, so a label an admin typed as
    ``<img src=x onerror=…>`` ran in every user's list. Markup keeps the
    menu's own (Jinja) rendering escaped once."""

    def __call__(self, **kwargs):
        form, columns = self.template_args["form"], self.template_args["include_cols"]
        kwargs["label_columns"], kwargs["search_filters"] = self._words(form, columns)
        datamodel = self.filters.datamodel
        kwargs["form_fields"] = {col: _search_field_html(form[col], _rows_of(datamodel, col))
                                 for col in columns}
        kwargs["active_filters"] = self.filters.get_filters_values_tojson()
        # FAB's SearchWidget.__call__, with the labels above: skip it.
        return super(SearchWidget, self).__call__(**kwargs)

    def _words(self, form, columns):
        """(labels, each column's filter names), translated: the same for
        every page of a list in a language (the form's class is the view's,
        one per set of custom fields), some sixty strings translated a
        page. Kept with the fields drawn (SEARCH_FIELDS_KEPT)."""
        def translate():
            filters = self.filters.get_search_filters()
            return ({col: escape(str(form[col].label.text)) for col in columns},
                    {col: [str(f.name) for f in filters[col]] for col in columns})

        return _kept_drawing(("words", type(form), tuple(columns), str(get_locale())),
                             translate)


class CustomFieldsMixin(CustomDefinitions):
    """Active custom fields of the view's entity in its add, edit and show
    screens. Values are staged with the record and saved in its
    transaction (services/custom_fields.py).

    FAB reads a view's columns, fieldsets and search columns once, when it
    builds the view; it has no public hook for columns that change while
    the app runs. So the forms and the filters are properties over what FAB
    built, and the widgets are completed in FAB's private ``_get_*_widget``
    methods, the one place a page's widget is put together with its
    arguments. tests/web/test_fab_contract.py pins their parameters and
    the attributes used here, so a FAB upgrade that changes them fails."""

    show_widget = CustomShowWidget
    search_widget = EscapedSearchWidget

    def _with_custom(self, base):
        # Outside a request (FAB setting the view up) the plain form.
        definitions = (self.custom_definitions()
                       if base is not None and has_request_context() else [])
        if not definitions:
            return base
        return self._form_class(base, definitions, form_field)

    def _form_class(self, base, definitions, make_field):
        """``base`` with a field per definition, one class per set of
        definitions and language (a field's label is its definition's in
        the language of the request that made the class); the oldest are
        dropped as the admin edits them."""
        key = (id(base), custom_fields.signature(definitions), str(get_locale()))
        forms = self.__dict__.setdefault("_custom_forms", {})
        if key not in forms:
            while len(forms) >= FORM_CLASSES_KEPT:
                del forms[next(iter(forms))]  # dicts keep insertion order
            forms[key] = type(base.__name__, (base,),
                              {field_name(d): make_field(d) for d in definitions})
        return forms[key]

    # FAB builds its forms once; these wrap them per request.
    @property
    def add_form(self):
        return self._with_custom(self.__dict__.get("_add_form"))

    @add_form.setter
    def add_form(self, form):
        self._add_form = form

    @property
    def edit_form(self):
        return self._with_custom(self.__dict__.get("_edit_form"))

    @edit_form.setter
    def edit_form(self, form):
        self._edit_form = form

    def _searched(self):
        return [d for d in self.custom_definitions() if d.in_filters]

    # FAB keeps one filters object per view and fills it from each request's
    # URL (get_filter_args), then reads it back (an add form takes its client
    # from it): shared by a worker's threads, one request's values reached
    # another's and notes were saved on someone else's client. Each request
    # gets its own, with the custom fields to search by. FAB's private
    # ``_filters`` is the only way to it (no public hook gives a view
    # per-request filters); the request's own storage keeps it, as FAB reads
    # it several times a request and needs the object it filled.
    @property
    def _filters(self):
        base = self.__dict__.get("_plain_filters")
        if base is None or not has_request_context():
            return base
        cache = g.setdefault("custom_search_filters", {})
        key = self.__class__.__name__
        if key not in cache:
            cache[key] = with_custom_filters(base, self.datamodel, self._searched())
        return cache[key]

    @_filters.setter
    def _filters(self, filters):
        self._plain_filters = filters

    @property
    def search_form(self):
        base = self.__dict__.get("_search_form")
        searched = self._searched() if base is not None and has_request_context() else []
        if not searched:
            return base
        return self._form_class(base, searched, search_field)

    @search_form.setter
    def search_form(self, form):
        self._search_form = form

    # Private (pinned in test_fab_contract): FAB hands the widget its search
    # columns here, from ``search_columns`` fixed when the view was built.
    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        widgets = super()._get_search_widget(form, exclude_cols, widgets)
        searched = self._searched()
        if searched:
            widgets["search"].template_args["include_cols"] = (
                list(self.search_columns) + [field_name(d) for d in searched])
        return widgets

    def _get_list_widget(self, filters, **kwargs):
        """Custom fields chosen as columns join the list, sortable. Private
        (pinned in test_fab_contract): FAB's list columns are fixed when the
        view is built, and this is where the page's rows meet the widget."""
        widgets = super()._get_list_widget(filters, **kwargs)
        listed = [d for d in self.custom_definitions() if d.in_list]
        if not listed or "list" not in widgets:
            return widgets
        args = widgets["list"].template_args
        pks = [int(pk) for pk in args["pks"]]
        texts = custom_fields.texts(db.session, self.custom_entity, pks, listed)
        names = {field_name(d): d for d in listed}
        args["include_columns"] = list(args["include_columns"]) + list(names)
        args["label_columns"] = {**args["label_columns"],
                                 **{name: label_of(d) for name, d in names.items()}}
        args["order_columns"] = list(args["order_columns"]) + [
            name for name, d in names.items() if custom_fields.sortable(d)]
        args["value_columns"] = [
            dict(row, **{name: texts.get(pk, {}).get(d.code, "") for name, d in names.items()})
            for row, pk in zip(args["value_columns"], pks)]
        return widgets

    def _custom_fieldsets(self, columns, fieldsets):
        names = [field_name(d) for d in self.custom_definitions()]
        if not names:
            return fieldsets
        return list(fieldsets or [(_l("Main"), {"fields": list(columns)})]) + [
            (ADDITIONAL, {"fields": names})]

    # Private (pinned in test_fab_contract): FAB's fieldsets are read once,
    # when the view is built; these add «Дополнительно» per request.
    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        widgets = super()._get_add_widget(form, exclude_cols, widgets)
        widgets["add"].template_args["fieldsets"] = self._custom_fieldsets(
            self.add_columns, self.add_fieldsets)
        return widgets

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        widgets = super()._get_edit_widget(form, exclude_cols, widgets)
        widgets["edit"].template_args["fieldsets"] = self._custom_fieldsets(
            self.edit_columns, self.edit_fieldsets)
        return widgets

    # Private (pinned in test_fab_contract): the record's values for the show
    # template, whose columns FAB fixed when the view was built.
    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets, actions, show_fieldsets)
        definitions = self.custom_definitions()
        values = custom_fields.load(db.session, self.custom_entity, [item.id],
                                    definitions)[item.id] if definitions else {}
        widgets["show"].template_args["custom_values"] = [
            (label_of(d), custom_fields.text_of(db.session, d, values.get(d.code)))
            for d in definitions]
        return widgets

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        definitions = self.custom_definitions()
        if definitions:
            values = custom_fields.load(db.session, self.custom_entity, [int(pk)],
                                        definitions)[int(pk)]
            for d in definitions:
                form[field_name(d)].data = values.get(d.code)

    # The form's values go from process_form to pre_add / pre_update of the
    # same request in ``flask.g``: FAB calls the one with the form and the
    # other with the record alone, and the view object is shared by every
    # request. A value handed on, not a query's state.
    def process_form(self, form, is_created):
        super().process_form(form, is_created)
        g.custom_values = {}
        for d in self.custom_definitions():
            if field_name(d) in form:
                g.custom_values[d.code] = form[field_name(d)].data
                # Not a column: keep FAB's populate_obj off it.
                del form[field_name(d)]

    def pre_add(self, item):
        super().pre_add(item)
        custom_fields.stage(db.session, item, g.pop("custom_values", {}))

    def pre_update(self, item):
        super().pre_update(item)
        custom_fields.stage(db.session, item, g.pop("custom_values", {}))


# --- Definitions screen ------------------------------------------------------------


LABELS = {
    "entity": _l("Belongs to"),
    "code": _l("Code"),
    "label_ru": _l("Label in Russian"),
    "label_en": _l("Label in English"),
    "type": _l("Type"),
    "required": _l("Required"),
    "default": _l("Default value"),
    "help_text": _l("Help text"),
    "choices": _l("Choices, one per line"),
    "dictionary": _l("Dictionary"),
    "sort_order": _l("Sort order"),
    "is_active": _l("Enabled"),
    "in_list": _l("Column in the list"),
    "in_filters": _l("Filter in the search"),
}


def _entity_label(value):
    return ENTITY_LABELS.get(value, value)


class CustomFieldView(KeepTypedMixin, EnumFieldsMixin, ModelView):
    """The admin's field definitions («Пользовательские поля»)."""

    route_base = "/custom-fields"
    datamodel = SQLAInterface(CustomField)
    list_title = _l("Custom fields")
    show_title = _l("Custom field")
    add_title = _l("New custom field")
    edit_title = _l("Custom field: editing")
    label_columns = LABELS
    list_columns = ["entity", "label_ru", "code", "type", "required", "in_list",
                    "in_filters", "is_active", "sort_order"]
    add_columns = edit_columns = ["entity", "label_ru", "label_en", "code", "type",
                                  "required", "default", "help_text", "choices",
                                  "dictionary", "sort_order", "is_active", "in_list",
                                  "in_filters"]
    show_columns = add_columns
    search_columns = ["entity", "label_ru", "type", "is_active"]
    base_order = ("entity", "asc")
    formatters_columns = {"entity": _entity_label, "type": enum_label}
    show_template = "sdelka/custom_field_show.html"
    description_columns = {
        "code": _l("Latin letters, digits and _; made from the label when left empty. "
                   "The field's name in the API and in templates"),
        "default": _l("What a new record gets; written as in CSV: 12,5 / 31.12.2026 / да"),
        "in_list": _l("Shown as a column of the entity's list"),
        "in_filters": _l("Offered in the list's search"),
    }

    def __init__(self, **kwargs):
        entity = SelectField(LABELS["entity"], [DataRequired()], widget=Select2Widget(),
                             choices=list(ENTITY_LABELS.items()))
        dictionary = SelectField(LABELS["dictionary"], [Optional()], widget=Select2Widget(),
                                 choices=[("", "")] + [(m.__name__, m.__label__)
                                                       for m in dictionary_models()])
        code = StringField(LABELS["code"], [Optional()], widget=BS3TextFieldWidget(),
                           description=self.description_columns["code"])
        extra = {"entity": entity, "dictionary": dictionary, "code": code,
                 "choices": TextAreaField(LABELS["choices"], widget=BS3TextAreaFieldWidget())}
        # FAB leaves a new record's check boxes empty, whatever the column's default.
        enabled = BooleanField(LABELS["is_active"], default=True)
        self.add_form_extra_fields = {**extra, "is_active": enabled,
                                      **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {**extra, **(self.edit_form_extra_fields or {})}
        super().__init__(**kwargs)

    def _check(self, item):
        item.code = (item.code or "").strip() or None
        item.dictionary = item.dictionary or None
        refuse_on(custom_fields.check_definition, db.session, item)

    pre_add = pre_update = _check

    def pre_delete(self, item):
        count = custom_fields.values_count(db.session, item.id)
        if count:
            refuse(_l("%(count)s records hold values of this field. To delete them too, "
                      "use «Delete with values» on the field's page", count=count))

    @expose("/remove/<int:pk>", methods=["GET", "POST"])
    @has_access
    def remove(self, pk):
        """Deleting a field that holds values: say how many, ask to confirm."""
        from flask import abort, render_template

        field = db.session.get(CustomField, pk)
        if field is None:
            abort(404)
        count = custom_fields.values_count(db.session, pk)
        if request.method == "POST":
            label = field.label_ru
            custom_fields.delete_field(db.session, field)
            db.session.commit()
            flash(_l("Field «%(label)s» deleted with its values in %(count)s records",
                     label=label, count=count), "success")
            return redirect(url_for("CustomFieldView.list"))
        return render_template("sdelka/custom_field_remove.html", field=field, count=count,
                               appbuilder=self.appbuilder,
                               base_template=self.appbuilder.base_template)
