"""The quick search box of every register list and the filter by client.
Both are FAB filters, so paging, sorting, export and
printing keep them, and the row-level rule (a base filter) applies to what
they find exactly as to the list: ``_flt_0_quick=…`` and
``_flt_1_client=…`` (``_flt_0_client=<id>`` is a client by its number, as
the client page's tabs link)."""
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import (
    FilterContains,
    FilterRelationOneToManyEqual,
    FilterStartsWith,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import false
from wtforms import StringField
from wtforms.validators import Optional

from app.models import Client
from app.services import access, search
from app.views.datamodel import SELECTIVE

QUICK = "quick"
QUICK_ARG = f"_flt_0_{QUICK}"
QUICK_LABEL = _l("Search")
CLIENT_LABEL = _l("Client")


def _dialect(datamodel):
    return datamodel.session.get_bind().dialect.name


class FilterQuickSearch(BaseFilter):
    """Rows whose own words (services/search.WORDS) or whose client's name,
    phone, INN or e-mail hold what was typed; a number also finds the row
    of that number (services/search.record_condition)."""

    name = _l("Contains")
    arg_name = "quick"
    narrows = True  # views/datamodel.ListInterface._count

    def apply(self, query, value):
        condition = search.record_condition(self.model, value, _dialect(self.datamodel))
        if condition is None:
            return query
        query = query.filter(condition)
        if search.indexed(value) or self.model.__tablename__ in search.WORDS:
            # Few rows pass (an index found them), or every row is read
            # anyway (own words too short for an index): count them and
            # test each one's access; building the set of every client a
            # manager may see costs 40 ms more on the bench's deals.
            query = query.execution_options(**{SELECTIVE: True})
        return query

    def visible_matches(self, value, user_id):
        """The clients ``user_id`` (None: anyone) may see that match
        ``value``, each once, when no search index finds it: the visible
        clients' own indexes test them faster than the list's query can
        (services/access.visible_clients); else None."""
        if self.model is not Client or search.indexed(value):
            return None
        dialect = _dialect(self.datamodel)
        condition = search.record_condition(Client, value, dialect)
        return None if condition is None else access.visible_clients(user_id, condition)


class FilterClientIs(FilterRelationOneToManyEqual):
    """The client of this number (the client page's tabs link so; a
    relation filter, so FAB's add form takes the client from it)."""

    name = _l("Number is")
    arg_name = "client_is"

    def apply(self, query, value):
        text = str(value or "").strip()
        if not (text.isdigit() and int(text) <= search.MAX_ID):
            return query.filter(false())
        return query.filter(self.model.client_id == int(text))


class FilterClientMatches(BaseFilter):
    """Rows of clients whose name, phone, INN or e-mail hold what was typed."""

    name = _l("Name, phone or INN contains")
    arg_name = "client_has"
    narrows = True

    def apply(self, query, value):
        dialect = _dialect(self.datamodel)
        condition = search.client_condition(self.model.client_id, value, dialect)
        if condition is None:
            return query
        query = query.filter(condition)
        return query.execution_options(**{SELECTIVE: True}) if search.indexed(value) else query


def _by_name(flt, query, value, prefix):
    # Not marked SELECTIVE: a name's beginning («Ива») may be that of
    # thousands of clients, and the count then stops at "more than".
    condition = search.name_condition(value, _dialect(flt.datamodel), prefix)
    return query if condition is None else query.filter(condition)


class FilterNameStartsWith(FilterStartsWith):
    """A client's name begins with what was typed (services/search.name_condition).

    An arg_name of its own: FAB keeps one class per arg_name for every
    model's REST filters (``map_args_filter``, written by each filter
    made), so with FAB's "sw" the tags' API filtered tags by a client's
    name."""

    arg_name = "name_sw"

    def apply(self, query, value):
        return _by_name(self, query, value, prefix=True)


class FilterNameContains(FilterContains):
    """A client's name holds what was typed (services/search.name_condition);
    an arg_name of its own, as FilterNameStartsWith."""

    arg_name = "name_ct"

    def apply(self, query, value):
        return _by_name(self, query, value, prefix=False)


NAME_FILTERS = {FilterStartsWith: FilterNameStartsWith, FilterContains: FilterNameContains}


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


def install(view):
    """After FAB built the view's filters: ours on the two columns."""
    filters, datamodel = view._filters, view.datamodel
    filters._search_filters[QUICK] = [FilterQuickSearch(QUICK, datamodel)]
    filters._all_filters[QUICK] = [FilterQuickSearch(QUICK, datamodel)]
    if "client" in view.search_columns:
        for target in (filters._search_filters, filters._all_filters):
            target["client"] = [FilterClientIs("client", datamodel),
                                FilterClientMatches("client", datamodel)]
    if datamodel.obj is Client:
        # In FAB's places, so the filters' numbers in saved addresses hold.
        for target in (filters._search_filters, filters._all_filters):
            target["name"] = [NAME_FILTERS[type(f)](f.column_name, datamodel)
                              if type(f) in NAME_FILTERS else f
                              for f in target.get("name", [])]
