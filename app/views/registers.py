"""Generated screens of the registers: clients and everything of a client.

Every view mixes in RowAccessMixin, so a manager without access to all
clients meets the same rule in lists, records, forms and drop-downs."""
import datetime

from flask import jsonify, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, DateTimePickerWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.widgets import ListWidget
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateTimeField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from app import db
from app.models import (
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    DictionaryMixin,
    Invoice,
    InvoiceLine,
    Lead,
    Note,
    ProcessingStatus,
    Project,
    Reminder,
    Task,
    utcnow,
)
from app.services import clients, history, validation
from app.views.datamodel import ListInterface
from app.views.export import CsvMixin
from app.views.fields import AccountOfBank, EnumFieldsMixin, Normalised
from app.views.filters import FilterInBranch, add_search_filter
from app.views.labels import ENUMS, FIELDS, enum_label, history_row, money
from app.views.lookup import ClientLookupField
from app.views.refusal import refuse
from app.views.rowaccess import ROW_ACCESS, RowAccessMixin, restricted_user_id

PHONE = [Normalised(validation.phone)]
# Related drop-downs offer only records the user may see.
CLIENT_CHOICES = {name: ROW_ACCESS for name in
                  ("client", "deal", "application", "invoice", "based_on")}


def _date(value):
    return "" if value is None else value.strftime("%d.%m.%Y")


def _datetime(value):
    return "" if value is None else value.strftime("%d.%m.%Y %H:%M")


class RegisterView(CsvMixin, EnumFieldsMixin, RowAccessMixin, ModelView):
    """Common settings of the register screens."""

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
        # The client is found by typing, never picked from all clients.
        if "client" in (self.add_columns or []):
            lookup = {"client": ClientLookupField(FIELDS["client"], [DataRequired()]
                                                  if not self._client_optional() else [])}
            self.add_form_extra_fields = {**lookup, **(self.add_form_extra_fields or {})}
            self.edit_form_extra_fields = {**lookup, **(self.edit_form_extra_fields or {})}
        super().__init__(**kwargs)
        self.datamodel.listed = {column.split(".")[0] for column in self.list_columns}
        if "group" in (self.search_columns or []):
            add_search_filter(self._filters, "group", FilterInBranch)

    def _client_optional(self):
        return self.datamodel.obj.__table__.columns["client_id"].nullable

    label_columns = FIELDS
    add_form_query_rel_fields = CLIENT_CHOICES
    edit_form_query_rel_fields = CLIENT_CHOICES
    page_size = 25
    formatters_columns = {
        "amount": money, "price": money, "date": _date, "birth_date": _date,
        "expected_close": _date, "issue_date": _date, "due_date": _date,
        "start_date": _date, "end_date": _date, "created_at": _datetime,
        "planned_at": _datetime, "deadline": _datetime, "started_at": _datetime,
        "finished_at": _datetime, "done_at": _datetime, "closed_at": _datetime,
        "kind": enum_label, "status": enum_label, "public_access": enum_label,
    }


class ContactPersonView(RegisterView):
    route_base = "/contacts"
    datamodel = ListInterface(ContactPerson)
    list_columns = ["name", "position", "phone", "email", "client"]
    add_columns = edit_columns = ["client", "name", "position", "phone", "email", "comment"]
    show_columns = add_columns
    search_columns = ["name", "phone", "email", "position"]
    validators_columns = {"phone": PHONE}


class NoteView(RegisterView):
    route_base = "/notes"
    datamodel = ListInterface(Note)
    list_columns = ["created_at", "text", "author", "client"]
    add_columns = edit_columns = ["client", "deal", "text", "file"]
    show_columns = ["created_at", "author", "client", "deal", "text", "file"]
    search_columns = ["text", "created_at"]
    base_order = ("created_at", "desc")


class ProjectView(RegisterView):
    route_base = "/projects"
    datamodel = ListInterface(Project)
    list_columns = ["name", "client", "start_date", "end_date", "responsible", "is_closed"]
    add_columns = edit_columns = ["client", "name", "description", "start_date", "end_date",
                                  "responsible", "is_closed"]
    show_columns = add_columns
    search_columns = ["name", "start_date", "end_date", "is_closed"]


class CounterpartyActionView(RegisterView):
    route_base = "/counterparty-actions"
    datamodel = ListInterface(CounterpartyAction)
    list_columns = ["planned_at", "action_type", "client", "responsible", "done_at", "result"]
    add_columns = edit_columns = ["client", "action_type", "planned_at", "responsible",
                                  "done_at", "result", "based_on"]
    show_columns = add_columns
    search_columns = ["planned_at", "done_at", "result"]
    base_order = ("planned_at", "desc")


class ApplicationView(RegisterView):
    route_base = "/applications"
    datamodel = ListInterface(Application, eager=("client.region",))
    list_template = "sdelka/applications_list.html"
    extra_args = {"quick_filters": (
        (ProcessingStatus.COMPLETED, _l("Show completed")),
        (ProcessingStatus.REFUSED, _l("Show refused")),
        (ProcessingStatus.IN_PROCESSING, _l("Show in processing")),
    )}
    list_columns = ["id", "offer", "client.name", "client.phone", "amount", "client.region",
                    "date", "loan_purpose", "status"]
    order_columns = ["id", "offer", "client.name", "client.phone", "amount", "client.region",
                     "date", "loan_purpose", "status"]
    add_columns = edit_columns = ["client", "date", "amount", "term_months", "loan_purpose",
                                  "offer", "status", "origin", "responsible", "comment"]
    show_columns = ["id"] + add_columns + ["created_at", "updated_at"]
    show_template = "sdelka/application_show.html"
    validators_columns = {"amount": [NumberRange(min=0)],
                          "term_months": [Optional(), NumberRange(min=1, max=600)]}

    search_columns = ["id", "status", "date", "amount", "offer"]
    base_order = ("date", "desc")

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["calculator_url"] = _calculator_url(
                db.session.get(Application, int(kwargs["pk"])))
        return super().render_template(template, **kwargs)


class DealView(RegisterView):
    route_base = "/deals"
    datamodel = ListInterface(Deal)
    list_columns = ["id", "title", "client", "amount", "currency", "stage", "probability",
                    "expected_close", "status", "responsible"]
    order_columns = ["id", "title", "amount", "probability", "expected_close", "status"]
    add_columns = edit_columns = ["title", "client", "amount", "currency", "stage",
                                  "probability", "expected_close", "status", "loss_reason",
                                  "responsible", "participants", "comment"]
    show_columns = ["id"] + add_columns + ["closed_at", "created_at"]
    search_columns = ["title", "status", "amount", "expected_close", "stage"]
    base_order = ("id", "desc")


class LeadView(RegisterView):
    route_base = "/leads"
    datamodel = ListInterface(Lead)
    list_columns = ["id", "title", "contact_name", "phone", "client", "amount", "origin",
                    "status", "responsible", "created_at"]
    order_columns = ["id", "title", "amount", "status", "created_at"]
    add_columns = edit_columns = ["title", "client", "contact_name", "phone", "email",
                                  "amount", "origin", "status", "responsible",
                                  "participants", "comment"]
    show_columns = ["id"] + add_columns + ["deal", "created_at"]
    search_columns = ["title", "contact_name", "phone", "email", "status", "created_at"]
    base_order = ("id", "desc")
    validators_columns = {"phone": PHONE}


def _planned_default():
    """09:00 of the calendar day a new task is added for (``?day=``), else now."""
    try:
        day = datetime.date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return utcnow().replace(second=0, microsecond=0)
    return datetime.datetime.combine(day, datetime.time(9))


class TaskListWidget(ListWidget):
    """Rows in their status colour, overdue tasks marked (seed 001)."""

    template = "sdelka/widgets/task_list.html"

    def __init__(self, **kwargs):
        super().__init__(now=utcnow(), **kwargs)


class TaskView(RegisterView):
    route_base = "/tasks"
    datamodel = ListInterface(Task)
    list_columns = ["id", "type", "client.id", "client.name", "status", "started_at",
                    "finished_at", "assignee", "planned_at", "deadline"]
    list_widget = TaskListWidget
    list_template = "sdelka/task_list_page.html"
    show_template = "sdelka/task_show.html"
    order_columns = ["id", "planned_at", "started_at", "finished_at"]
    add_columns = edit_columns = ["type", "client", "deal", "assignee", "planned_at",
                                  "deadline", "started_at", "finished_at", "status",
                                  "description", "result", "note", "reminder_minutes"]
    show_columns = ["id"] + add_columns + ["author", "created_at"]
    search_columns = ["type", "status", "assignee", "planned_at", "description"]
    base_order = ("planned_at", "desc")
    edit_form_extra_fields = {
        "reminder_minutes": SelectField(
            FIELDS["reminder_minutes"], coerce=int, default=Reminder.DAY_1.value,
            choices=[(m.value, text) for m, text in ENUMS[Reminder].items()]),
    }
    add_form_extra_fields = dict(edit_form_extra_fields, planned_at=DateTimeField(
        FIELDS["planned_at"], [DataRequired()], default=_planned_default,
        widget=DateTimePickerWidget(), format="%Y-%m-%d %H:%M:%S"))
    formatters_columns = dict(RegisterView.formatters_columns,
                              reminder_minutes=lambda v: ENUMS[Reminder][Reminder(v)])


class InvoiceLineView(RegisterView):
    route_base = "/invoice-lines"
    datamodel = ListInterface(InvoiceLine)
    list_columns = ["description", "quantity", "price", "discount_percent", "tax"]
    add_columns = edit_columns = ["invoice", "product", "description", "quantity", "price",
                                  "discount_percent", "tax"]
    show_columns = add_columns
    search_columns = ["description"]


class InvoiceView(RegisterView):
    route_base = "/invoices"
    datamodel = ListInterface(Invoice)
    list_columns = ["number", "issue_date", "due_date", "client", "currency", "status",
                    "responsible"]
    order_columns = ["number", "issue_date", "due_date", "status"]
    add_columns = edit_columns = ["client", "deal", "issue_date", "due_date", "currency",
                                  "status", "responsible", "terms", "comment"]
    show_columns = ["number"] + add_columns
    search_columns = ["number", "issue_date", "due_date", "status"]
    base_order = ("issue_date", "desc")
    related_views = [InvoiceLineView]


class ClientView(RegisterView):
    route_base = "/clients"
    datamodel = ListInterface(Client)
    csv_duplicate_keys = ("phone", "inn")
    show_title = _l("Client")
    add_title = _l("Add client")
    edit_title = _l("Edit client")
    list_columns = ["id", "name", "kind", "phone", "email", "region", "city", "status",
                    "funnel_stage", "responsible", "created_at"]
    order_columns = ["id", "name", "phone", "city", "created_at"]
    search_columns = ["name", "phone", "email", "inn", "city", "kind", "public_access",
                      "group", "created_at"]
    base_order = ("id", "desc")
    person = ["last_name", "first_name", "middle_name", "birth_date", "passport_series",
              "passport_number", "passport_issued_by", "passport_issue_date"]
    legal = ["inn", "ogrn", "kpp", "legal_address", "bank_name", "bik",
             "settlement_account", "corr_account"]
    contacts = ["phone", "phone2", "email", "region", "city", "address"]
    crm = ["status", "type", "origin", "segment", "group", "tags", "funnel_stage",
           "responsible", "participants", "public_access", "comments"]
    add_fieldsets = edit_fieldsets = [
        (_l("Client"), {"fields": ["kind", "name"]}),
        (_l("Person"), {"fields": person, "expanded": True}),
        (_l("Company or sole proprietor"), {"fields": legal, "expanded": True}),
        (_l("Contacts"), {"fields": contacts}),
        (_l("Work with the client"), {"fields": crm}),
    ]
    show_fieldsets = [(title, {"fields": list(spec["fields"])})
                      for title, spec in add_fieldsets]
    show_fieldsets[-1][1]["fields"] += ["created_at", "updated_at"]
    description_columns = {
        "name": _l("A company's name; for a person leave empty to use the full name"),
        "public_access": _l("Who else sees the client besides the responsible and participants"),
    }
    validators_columns = {
        "phone": PHONE, "phone2": PHONE,
        "inn": [Normalised(validation.inn)], "ogrn": [Normalised(validation.ogrn)],
        "kpp": [Normalised(validation.kpp)], "bik": [Normalised(validation.bik)],
        "settlement_account": [AccountOfBank(validation.settlement_account)],
        "corr_account": [AccountOfBank(validation.corr_account)],
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "name": StringField(FIELDS["name"], [Optional()], widget=BS3TextFieldWidget()),
    }
    related_views = [ApplicationView, DealView, TaskView, NoteView, ProjectView,
                     ContactPersonView, CounterpartyActionView, InvoiceView, LeadView]

    show_template = "sdelka/client_show.html"
    method_permission_name = {"lookup": "list"}

    @expose("/lookup")
    @has_access
    def lookup(self):
        found = clients.find(db.session, request.args.get("q"), restricted_user_id())
        return jsonify(results=[{"id": c.id, "text": clients.label(c)} for c in found])

    def pre_add(self, item):
        _fill_name(item)
        super().pre_add(item)

    def pre_update(self, item):
        _fill_name(item)
        super().pre_update(item)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            client_id = int(kwargs["pk"])
            kwargs["history"] = [history_row(e) for e in
                                 history.for_client(db.session, client_id)]
            latest = db.session.scalars(
                select(Application).where(Application.client_id == client_id)
                .order_by(Application.date.desc(), Application.id.desc()).limit(1)).first()
            kwargs["calculator_url"] = _calculator_url(latest) if latest else None
        return super().render_template(template, **kwargs)


def _calculator_url(application):
    """The loan calculator prefilled with an application's amount and term."""
    args = {"amount": f"{application.amount:.2f}"}
    if application.term_months:
        args["months"] = application.term_months
    return url_for("CalculatorView.index", **args)


def _fill_name(client):
    if not (client.name or "").strip():
        client.name = " ".join(p for p in (client.last_name, client.first_name,
                                           client.middle_name) if p)
    if not client.name:
        refuse(_l("Enter the client's name or full name"))


REGISTER_VIEWS = (ClientView, ContactPersonView, ApplicationView, LeadView, DealView,
                  TaskView, NoteView, ProjectView, CounterpartyActionView, InvoiceView,
                  InvoiceLineView)


def register(appbuilder):
    menu = (
        (ClientView, "Clients", "fa-address-book", "Clients"),
        (ContactPersonView, "Contact persons", "fa-user", "Clients"),
        (NoteView, "Notes", "fa-sticky-note", "Clients"),
        (ProjectView, "Projects", "fa-folder-open", "Clients"),
        (CounterpartyActionView, "Work with counterparties", "fa-handshake-o", "Clients"),
        (ApplicationView, "Applications", "fa-file-text", "Sales"),
        (LeadView, "Leads", "fa-bullhorn", "Sales"),
        (DealView, "Deals", "fa-briefcase", "Sales"),
        (InvoiceView, "Invoices", "fa-file-invoice", "Sales"),
        (TaskView, "Tasks", "fa-tasks", None),
    )
    categories = {"Clients": (_l("Clients"), "fa-address-book"),
                  "Sales": (_l("Sales"), "fa-line-chart")}
    for view, name, icon, category in menu:
        kwargs = {}
        if category:
            label, category_icon = categories[category]
            kwargs = dict(category=category, category_label=label,
                          category_icon=category_icon)
        appbuilder.add_view(view, name, label=view.datamodel.obj.__label__, icon=icon,
                            **kwargs)
    appbuilder.add_view_no_menu(InvoiceLineView)
