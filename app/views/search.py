"""The quick search box of every register list and the filter by client
(issue 19, point 6). Both are FAB filters, so paging, sorting, export and
printing keep them, and the row-level rule (a base filter) applies to what
they find exactly as to the list: ``_flt_0_quick=…`` and
``_flt_1_client=…`` (``_flt_0_client=<id>`` is a client by its number, as
the client page's tabs link)."""
from flask import g
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterRelationOneToManyEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select
from wtforms import StringField
from wtforms.validators import Optional

from app.models import Client
from app.services import search
from app.views.rowaccess import MAX_ID

QUICK = "quick"
QUICK_ARG = f"_flt_0_{QUICK}"
QUICK_LABEL = _l("Search")
CLIENT_LABEL = _l("Client")


def _dialect(datamodel):
    return datamodel.session.get_bind().dialect.name


def _indexed(value):
    """Does every form of what was typed reach the index (a trigram)?"""
    found = search.terms(value)
    return bool(found) and all(len(term) >= search.TRIGRAM for term in found)


def clients_matching(value, dialect):
    condition = search.client_condition(value, dialect)
    return None if condition is None else select(Client.id).where(condition)


class FilterQuickSearch(BaseFilter):
    """Rows whose own words (``words`` of the view) or whose client's name,
    phone, INN or e-mail hold what was typed; a number also finds the row
    of that number."""

    name = _l("Contains")
    arg_name = "quick"
    words = ()

    def apply(self, query, value):
        dialect = _dialect(self.datamodel)
        typed = str(value or "").strip()
        conditions = []
        if self.model is Client:
            condition = search.client_condition(typed, dialect)
            if condition is not None:
                conditions.append(condition)
        elif hasattr(self.model, "client_id"):
            ids = clients_matching(typed, dialect)
            if ids is not None:
                conditions.append(self.model.client_id.in_(ids))
        for name in self.words:
            condition = search.words_condition(getattr(self.model, name), typed, dialect)
            if condition is not None:
                conditions.append(condition)
        number = typed.lstrip("№#").strip()
        if number.isdigit() and int(number) <= MAX_ID:
            conditions.append(self.model.id == int(number))
        if not conditions:
            return query
        if _indexed(typed) and not self.words:
            g.selective_filter = True  # few rows: count them, test each one's access
        return query.filter(or_(*conditions))


class FilterClientIs(FilterRelationOneToManyEqual):
    """The client of this number (the client page's tabs link so; a
    relation filter, so FAB's add form takes the client from it)."""

    name = _l("Number is")
    arg_name = "client_is"

    def apply(self, query, value):
        text = str(value or "").strip()
        if not (text.isdigit() and int(text) <= MAX_ID):
            return query.filter(false())
        return query.filter(self.model.client_id == int(text))


class FilterClientMatches(BaseFilter):
    """Rows of clients whose name, phone, INN or e-mail hold what was typed."""

    name = _l("Name, phone or INN contains")
    arg_name = "client_has"

    def apply(self, query, value):
        dialect = _dialect(self.datamodel)
        ids = clients_matching(value, dialect)
        if ids is None:
            return query
        if _indexed(value):
            g.selective_filter = True
        return query.filter(self.model.client_id.in_(ids))


def text_field(label):
    return StringField(label, [Optional()], widget=BS3TextFieldWidget())


def prepare(view):
    """Before FAB builds the view: the search form's columns and inputs
    (text inputs: a drop-down of the client would load every client)."""
    columns = [QUICK] + [c for c in view.search_columns or [] if c not in (QUICK, "client")]
    fields = {QUICK: text_field(QUICK_LABEL)}
    if "client_id" in view.datamodel.obj.__table__.columns:
        columns.insert(1, "client")
        fields["client"] = text_field(CLIENT_LABEL)
    view.search_columns = columns
    view.search_form_extra_fields = {**(view.search_form_extra_fields or {}), **fields}


def install(view, words):
    """After FAB built the view's filters: ours on the two columns."""
    filters, datamodel = view._filters, view.datamodel
    quick = type("FilterQuickSearch", (FilterQuickSearch,), {"words": tuple(words)})
    filters._search_filters[QUICK] = [quick(QUICK, datamodel)]
    filters._all_filters[QUICK] = [quick(QUICK, datamodel)]
    if "client" in view.search_columns:
        for target in (filters._search_filters, filters._all_filters):
            target["client"] = [FilterClientIs("client", datamodel),
                                FilterClientMatches("client", datamodel)]
