"""The common base of the generated screens of the registers: clients and
everything of a client. Each register has its module (clients.py, deals.py,
leads.py, invoices.py, tasks.py, applications.py, actions.py); registers.py
puts them in the menu.

Every view mixes in RowAccessMixin, so a manager without access to all
clients meets the same rule in lists, records, forms and drop-downs."""
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.widgets import ListWidget
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

from app.labels import FIELDS
from app.models import DictionaryMixin
from app.services import validation
from app.views import search as quick_search
from app.views.bulk import BulkAssignMixin
from app.views.custom_fields import CustomFieldsMixin
from app.views.export import CsvMixin
from app.views.fields import EnumFieldsMixin, Normalised, date_text, datetime_text
from app.views.files import FilesMixin
from app.views.filters import FilterInBranch, add_search_filter
from app.views.labels import enum_label, money
from app.views.list_columns import ColumnChooserMixin
from app.views.lookup import LookupMixin, link_fields
from app.views.refusal import KeepTypedMixin
from app.views.related_tabs import LazyTabsMixin
from app.views.rowaccess import LINK_CHOICES, NEW_LINK_CHOICES, RowAccessMixin
from app.views.save_and_add import SaveAndAddMixin
from app.views.show import RecordPageMixin

PHONE = [Normalised(validation.phone)]
# A person's consent to the processing of their personal data (152-FZ).
CONSENT = ["consent_date", "consent_form", "consent_purpose", "consent_withdrawn"]
CONSENT_DESCRIPTIONS = {
    "consent_date": _l("The day the person agreed to the processing of their personal data"),
    "consent_withdrawn": _l("The day the person withdrew the consent"),
}


class BlankKeepsIntegerField(IntegerField):
    """Left empty, the record keeps its value (the service fills it in):
    writing None would reach the database on FAB's next autoflush."""

    def populate_obj(self, obj, name):
        if self.data is not None:
            super().populate_obj(obj, name)


class RegisterListWidget(ListWidget):
    template = "sdelka/widgets/list.html"


class RegisterView(SaveAndAddMixin, KeepTypedMixin, LazyTabsMixin, LookupMixin, FilesMixin,
                   RecordPageMixin, ColumnChooserMixin, CustomFieldsMixin, CsvMixin,
                   EnumFieldsMixin, BulkAssignMixin, RowAccessMixin, ModelView):
    """Common settings of the register screens; every list has the bulk
    actions (views/bulk.py) that suit its records and «Колонки»
    (views/list_columns.py)."""

    def __init__(self, **kwargs):
        what = self.datamodel.obj.__label__
        for attr, title in (("list_title", what), ("show_title", _l("%(what)s: record", what=what)),
                            ("add_title", _l("%(what)s: new record", what=what)),
                            ("edit_title", _l("%(what)s: editing", what=what))):
            if not self.__class__.__dict__.get(attr):
                setattr(self, attr, title)
        # New records offer only dictionary values still in use.
        mapper = self.datamodel.obj.__mapper__
        active_only = {rel.key: [["is_active", FilterEqual, True]]
                       for rel in mapper.relationships
                       if issubclass(rel.mapper.class_, DictionaryMixin)}
        self.add_form_query_rel_fields = {**active_only, **(self.add_form_query_rel_fields or {})}
        # Links to registers are found by typing, never picked from a whole table.
        links = link_fields(self.datamodel.obj, self.add_columns or [], self.label_columns)
        self.add_form_extra_fields = {**links, **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {**links, **(self.edit_form_extra_fields or {})}
        quick_search.prepare(self)
        super().__init__(**kwargs)
        quick_search.install(self)
        self.datamodel.listed = {column.split(".")[0] for column in self.list_columns}
        if "group" in (self.search_columns or []):
            add_search_filter(self._filters, "group", FilterInBranch)
        for column, filter_classes in self.extra_filters.items():
            for filter_class in filter_classes:
                add_search_filter(self._filters, column, filter_class)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.setdefault("quick_search", quick_search.QUICK_ARG)
        return super().render_template(template, **kwargs)

    # Filters of our own by column; the statistics link to lists through them.
    extra_filters = {}
    label_columns = FIELDS
    list_widget = RegisterListWidget
    # Related drop-downs offer only records the user may see.
    add_form_query_rel_fields = NEW_LINK_CHOICES
    edit_form_query_rel_fields = LINK_CHOICES
    page_size = 25
    formatters_columns = {
        "amount": money, "price": money, "date": date_text, "birth_date": date_text,
        "expected_close": date_text, "issue_date": date_text, "due_date": date_text,
        "start_date": date_text, "end_date": date_text, "created_at": datetime_text,
        "planned_at": datetime_text, "deadline": datetime_text, "started_at": datetime_text,
        "finished_at": datetime_text, "done_at": datetime_text, "closed_at": datetime_text,
        "kind": enum_label, "status": enum_label, "public_access": enum_label,
        "consent_date": date_text, "consent_withdrawn": date_text,
        "consent_form": enum_label,
    }
