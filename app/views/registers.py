"""Generated screens of the registers: clients and everything of a client.

Every view mixes in RowAccessMixin, so a manager without access to all
clients meets the same rule in lists, records, forms and drop-downs."""
import datetime

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from app import db
from app.models import (
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    DealStatus,
    DictionaryMixin,
    FunnelStage,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Lead,
    Note,
    PaymentTerm,
    ProcessingStatus,
    Project,
    RefusalReason,
    Reminder,
    Task,
    utcnow,
)
from app.services import (
    actions,
    clients,
    deals,
    documents,
    history,
    invoices,
    validation,
)
from app.services.localtime import to_local
from app.views import leads as lead_pages
from app.views.bulk import BulkAssignMixin, bulk_action
from app.views.custom_fields import CustomFieldsMixin
from app.views.datamodel import ListInterface
from app.views.export import CsvMixin
from app.views.fields import (
    AccountOfBank,
    EnumFieldsMixin,
    Normalised,
    date_text,
    datetime_text,
    enum_field,
    local_datetime_field,
    office_zone,
)
from app.views.files import FilesMixin
from app.views.filters import (
    FilterInBranch,
    FilterInDepartment,
    FilterInPeriod,
    FilterStatusKind,
    add_search_filter,
)
from app.views.labels import ENUMS, FIELDS, enum_label, history_row, money
from app.views.lookup import ClientLookupField
from app.views.refusal import refuse, refuse_on, translated
from app.views.rowaccess import (
    LINK_CHOICES,
    NEW_LINK_CHOICES,
    RowAccessMixin,
    may_change,
    record_or_404,
    restricted_user_id,
    stored,
)
from app.views.show import RecordPageMixin

PHONE = [Normalised(validation.phone)]


class BlankKeepsIntegerField(IntegerField):
    """Left empty, the record keeps its value (the service fills it in):
    writing None would reach the database on FAB's next autoflush."""

    def populate_obj(self, obj, name):
        if self.data is not None:
            super().populate_obj(obj, name)


class RegisterListWidget(ListWidget):
    template = "sdelka/widgets/list.html"


class RegisterView(FilesMixin, RecordPageMixin, CustomFieldsMixin, CsvMixin, EnumFieldsMixin,
                   RowAccessMixin, ModelView):
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
        for column, filter_classes in self.extra_filters.items():
            for filter_class in filter_classes:
                add_search_filter(self._filters, column, filter_class)

    def _client_optional(self):
        return self.datamodel.obj.__table__.columns["client_id"].nullable

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
    }


class BulkListMixin(BulkAssignMixin):
    """The list offers the bulk operations for every filtered row too."""

    list_template = "sdelka/bulk_list.html"
    bulk_labels = {"segment": _l("Assign a market segment to all filtered"),
                   "mailing": _l("Assign a mailing type to all filtered")}

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            links = []
            if self.appbuilder.sm.has_access("can_bulk_assign", self.class_permission_name):
                query = request.query_string.decode()
                links = [(url_for(".bulk", kind=kind) + "?all=1" + ("&" + query if query else ""),
                          self.bulk_labels[kind]) for kind in self.bulk_kinds]
            kwargs["bulk_links"] = links
        return super().render_template(template, **kwargs)


class CounterpartyActionView(RegisterView):
    """Work with a counterparty; a tab on clients, contacts, leads and deals."""

    route_base = "/counterparty-actions"
    datamodel = ListInterface(CounterpartyAction)
    list_columns = ["planned_at", "action_type", "action_result", "client", "lead", "deal",
                    "responsible", "done_at"]
    add_columns = edit_columns = ["client", "contact", "lead", "deal", "action_type",
                                  "action_result", "planned_at", "responsible", "done_at",
                                  "result", "based_on"]
    show_columns = add_columns
    search_columns = ["planned_at", "done_at", "result"]
    base_order = ("planned_at", "desc")
    label_columns = dict(FIELDS, action_result=_l("Result"),
                         result=_l("Comment on the result"))
    description_columns = {"action_result": _l("One of the results the chosen action allows")}
    show_template = "sdelka/action_show.html"
    method_permission_name = {"next_step": "next_step"}

    def pre_add(self, item):
        refuse_on(actions.ActionError, actions.prepare, db.session, item)
        super().pre_add(item)

    def pre_update(self, item):
        refuse_on(actions.ActionError, actions.prepare, db.session, item)
        super().pre_update(item)

    @action("next_step", _l("Create based on this one"), icon="fa-share", multiple=True,
            single=False)
    def next_step(self, items):
        items = [i for i in (items if isinstance(items, list) else [items]) if i is not None]
        created = [actions.next_step(db.session, item, g.user.id) for item in items
                   if may_change(CounterpartyAction, item.id)]
        db.session.commit()
        if len(created) == 1:
            flash(gettext("The next step is created from №%(id)s: adjust it and save",
                          id=created[0].based_on_id), "success")
            return redirect(url_for(".edit", pk=created[0].id))
        flash(gettext("Next steps created: %(count)s", count=len(created)), "success")
        return redirect(url_for(".list"))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["next_step_allowed"] = self.appbuilder.sm.has_access(
                "can_next_step", self.class_permission_name)
        return super().render_template(template, **kwargs)


class ContactPersonView(BulkListMixin, RegisterView):
    route_base = "/contacts"
    datamodel = ListInterface(ContactPerson)
    list_columns = ["name", "position", "phone", "email", "client"]
    add_columns = edit_columns = ["client", "name", "position", "phone", "email", "comment",
                                  "mailing_types", "mailing_opt_out"]
    show_columns = add_columns
    search_columns = ["name", "phone", "email", "position", "mailing_opt_out"]
    validators_columns = {"phone": PHONE}
    related_views = [CounterpartyActionView]
    bulk_kinds = ("mailing",)
    method_permission_name = {"bulk": "bulk_assign", "set_mailing": "bulk_assign"}
    set_mailing = bulk_action("mailing", "set_mailing", _l("Assign a mailing type"))


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
    add_columns = edit_columns = ["client", "date", "amount", "term_months", "rate_percent",
                                  "loan_purpose", "offer", "status", "origin", "responsible",
                                  "comment"]
    show_columns = ["id"] + add_columns + ["created_at", "updated_at"]
    show_template = "sdelka/application_show.html"
    validators_columns = {"amount": [NumberRange(min=0)],
                          "term_months": [Optional(), NumberRange(min=1, max=600)],
                          "rate_percent": [Optional(), NumberRange(min=0, max=100)]}

    search_columns = ["id", "status", "date", "amount", "offer", "responsible"]
    extra_filters = {"date": [FilterInPeriod], "responsible": [FilterInDepartment]}
    base_order = ("date", "desc")

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["calculator_url"] = _calculator_url(
                db.session.get(Application, int(kwargs["pk"])))
        return super().render_template(template, **kwargs)


class DealView(RegisterView):
    """Deals (seed 003): the stage brings its probability, won / lost close
    the deal, and the client's funnel stage follows (services/deals.py)."""

    route_base = "/deals"
    datamodel = ListInterface(Deal)
    list_columns = ["id", "title", "client", "amount", "currency", "stage", "probability",
                    "expected_close", "status", "responsible"]
    order_columns = ["id", "title", "amount", "probability", "expected_close", "status"]
    add_columns = edit_columns = ["title", "client", "amount", "currency", "stage",
                                  "probability", "expected_close", "status", "loss_reason",
                                  "responsible", "participants", "comment"]
    show_columns = ["id"] + add_columns + ["closed_at", "created_at"]
    show_template = "sdelka/deal_show.html"
    search_columns = ["title", "status", "amount", "expected_close", "stage", "responsible",
                      "closed_at", "created_at"]
    extra_filters = {"closed_at": [FilterInPeriod], "created_at": [FilterInPeriod],
                     "responsible": [FilterInDepartment]}
    base_order = ("id", "desc")
    related_views = [CounterpartyActionView]
    description_columns = {
        "probability": _l("Filled from the stage when the stage changes; you may correct it"),
        "loss_reason": _l("Required when the deal is lost"),
        "participants": _l("Employees who may see and change the deal"),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "probability": BlankKeepsIntegerField(FIELDS["probability"], [Optional(), NumberRange(
            min=0, max=100, message=_l("Probability is a percentage from 0 to 100"))]),
    }

    def pre_add(self, item):
        super().pre_add(item)
        refuse_on(deals.DealError, deals.prepare, db.session, item)

    def pre_update(self, item):
        super().pre_update(item)
        refuse_on(deals.DealError, deals.prepare, db.session, item, stored(item))

    def pre_delete(self, item):
        deals.forget(db.session, item)

    method_permission_name = {"move": "edit"}

    @expose("/move/<int:pk>", methods=["POST"])
    @has_access
    def move(self, pk):
        """The record page's quick change of stage and status (seed 003)."""
        self._ensure_writable(pk)
        deal = db.session.get(Deal, pk)
        if deal is None:
            return redirect(url_for(".list"))
        before = deals.snapshot(db.session, pk)
        form = request.form
        try:
            deal.stage = db.session.get(FunnelStage, int(form.get("stage") or 0)) or deal.stage
            deal.status = DealStatus(form.get("status") or deal.status.value)
            reason = form.get("loss_reason")
            deal.loss_reason = db.session.get(RefusalReason, int(reason)) if reason and \
                reason.isdigit() else None
            deals.prepare(db.session, deal, before)
        except (ValueError, deals.DealError) as exc:
            db.session.rollback()
            message = str(exc) if isinstance(exc, deals.DealError) else gettext(
                "Choose a stage and a status from the lists")
            flash(message, "danger")
        else:
            db.session.commit()
            flash(gettext("The deal is at the stage «%(stage)s», %(probability)s %%",
                          stage=deal.stage or "", probability=deal.probability), "success")
        return redirect(url_for(".show", pk=pk))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["deal"] = db.session.get(Deal, int(kwargs["pk"]))
            kwargs["stages"] = db.session.scalars(select(FunnelStage).where(
                FunnelStage.is_active.is_(True)).order_by(FunnelStage.sort_order)).all()
            kwargs["reasons"] = db.session.scalars(select(RefusalReason).where(
                RefusalReason.is_active.is_(True)).order_by(RefusalReason.sort_order)).all()
            kwargs["statuses"] = ENUMS[DealStatus]
            kwargs["may_move"] = self.appbuilder.sm.has_access(
                "can_edit", self.class_permission_name)
        return super().render_template(template, **kwargs)


class LeadView(RegisterView):
    """Leads (seed 002): participants see the lead; «Перевести в сделку»
    opens the conversion form, the list converts selected leads at once."""

    route_base = "/leads"
    datamodel = ListInterface(Lead)
    list_columns = ["id", "title", "contact_name", "phone", "client", "amount", "origin",
                    "status", "responsible", "created_at"]
    order_columns = ["id", "title", "amount", "status", "created_at"]
    add_columns = edit_columns = ["title", "client", "contact_name", "company_name", "inn",
                                  "phone", "email", "amount", "origin", "segment", "status",
                                  "responsible", "participants", "comment"]
    show_columns = ["id"] + add_columns + ["deal", "web_form", "closed_at", "created_at"]
    search_columns = ["title", "contact_name", "phone", "email", "status", "created_at"]
    base_order = ("id", "desc")
    validators_columns = {"phone": PHONE, "inn": [Normalised(validation.inn)]}
    description_columns = {"participants": _l("Employees who may see and change the lead")}
    related_views = [CounterpartyActionView]
    show_template = "sdelka/lead_show.html"
    method_permission_name = {"convert": "convert", "convert_selected": "convert"}

    @expose("/convert/<int:pk>", methods=["GET", "POST"])
    @has_access
    def convert(self, pk):
        self._ensure_writable(pk)
        lead = db.session.get(Lead, pk)
        if lead is None:
            return redirect(url_for(".list"))
        return lead_pages.convert_page(self, lead)

    @action("convert_selected", _l("Convert to a deal"), _l("Convert the selected leads?"),
            icon="fa-exchange", multiple=True, single=False)
    def convert_selected(self, items):
        return lead_pages.convert_selected(items)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            lead = db.session.get(Lead, int(kwargs["pk"]))
            may = self.appbuilder.sm.has_access("can_convert", self.class_permission_name)
            kwargs["convert_url"] = (url_for(".convert", pk=lead.id) if may and lead
                                     and lead.deal_id is None else None)
        return super().render_template(template, **kwargs)


def _planned_default():
    """09:00 of the calendar day a new task is added for (``?day=``), else now."""
    try:
        day = datetime.date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return to_local(utcnow(), office_zone()).replace(second=0, microsecond=0)
    return datetime.datetime.combine(day, datetime.time(9))


class TaskListWidget(RegisterListWidget):
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
    extra_filters = {"planned_at": [FilterInPeriod], "status": [FilterStatusKind],
                     "assignee": [FilterInDepartment]}
    base_order = ("planned_at", "desc")
    edit_form_extra_fields = {
        "reminder_minutes": SelectField(
            FIELDS["reminder_minutes"], coerce=int, default=Reminder.DAY_1.value,
            choices=[(m.value, text) for m, text in ENUMS[Reminder].items()]),
    }
    add_form_extra_fields = dict(edit_form_extra_fields, planned_at=local_datetime_field(
        FIELDS["planned_at"], required=True, default=_planned_default))
    formatters_columns = dict(RegisterView.formatters_columns,
                              reminder_minutes=lambda v: ENUMS[Reminder][Reminder(v)])
    # Whoever may read the list may print it.
    method_permission_name = {"print_list": "list"}

    @expose("/print")
    @has_access
    def print_list(self):
        """The list as filtered and sorted on screen, to PDF (seed 001)."""
        from app.views.task_print import print_task_list

        return print_task_list(self)


def _invoice_refusal(rule, *args, **kwargs):
    """Run an invoice rule before FAB saves: the new row joins the session
    only afterwards, so nothing may flush it early."""
    try:
        with db.session.no_autoflush:
            return rule(*args, **kwargs)
    except invoices.InvoiceError as exc:
        refuse(exc)


class InvoiceLineView(RegisterView):
    """Lines of an invoice, edited in the "Lines" tab of the invoice: only
    while the invoice is a draft; amounts and the invoice's totals are
    computed on the server after every change."""

    route_base = "/invoice-lines"
    datamodel = ListInterface(InvoiceLine)
    list_title = _l("Invoice lines")
    list_columns = ["description", "quantity", "price", "discount_percent", "tax", "amount",
                    "tax_amount"]
    add_columns = edit_columns = ["invoice", "product", "description", "quantity", "price",
                                  "discount_percent", "tax"]
    show_columns = add_columns + ["amount", "tax_amount"]
    search_columns = ["description"]
    base_order = ("sort_order", "asc")
    description_columns = {
        "description": _l("Left empty, the name of the chosen product or service"),
        "price": _l("Left at zero, the price of the chosen product or service"),
        "tax": _l("Charged on top of the amount after the discount"),
    }
    validators_columns = {"quantity": [NumberRange(min=0.001)],
                          "price": [Optional(), NumberRange(min=0)],
                          "discount_percent": [Optional(), NumberRange(min=0, max=100)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "description": StringField(FIELDS["description"], [Optional()],
                                   widget=BS3TextFieldWidget()),
    }
    formatters_columns = dict(RegisterView.formatters_columns, amount=money, tax_amount=money)

    def _check_invoice(self, line):
        if line.invoice is None:
            refuse(_l("Choose the invoice"))

    def pre_add(self, item):
        self._check_invoice(item)
        super().pre_add(item)
        _invoice_refusal(invoices.prepare_line, db.session, item)

    def pre_update(self, item):
        self._check_invoice(item)
        super().pre_update(item)
        _invoice_refusal(invoices.prepare_line, db.session, item)

    def pre_delete(self, item):
        _invoice_refusal(invoices.ensure_editable, db.session, item.invoice)

    def post_add(self, item):
        invoices.recalculate_invoice(db.session, item.invoice_id)
        db.session.commit()

    post_update = post_delete = post_add


class InvoiceView(RegisterView):
    """Invoices of seed 003: numbered on creation, edited while drafts,
    moved through the statuses, duplicated, printed."""

    route_base = "/invoices"
    datamodel = ListInterface(Invoice)
    label_columns = dict(FIELDS, client=_l("Buyer"), comment=_l("Notes for the client"))
    list_columns = ["number", "issue_date", "due_date", "client", "total", "currency", "status",
                    "responsible"]
    order_columns = ["number", "issue_date", "due_date", "status", "total"]
    add_columns = edit_columns = ["client", "recipient", "deal", "issue_date", "payment_term",
                                  "due_date", "currency", "exchange_rate", "order_number",
                                  "responsible", "terms", "comment"]
    show_columns = ["number", "status"] + add_columns + ["subtotal", "tax_amount", "total"]
    search_columns = ["number", "issue_date", "due_date", "status", "order_number"]
    base_order = ("issue_date", "desc")
    related_views = [InvoiceLineView]
    show_template = "sdelka/invoice_show.html"
    description_columns = {
        "number": _l("Given on saving: the prefix and the next number set in the company "
                     "requisites"),
        "due_date": _l("Only for the payment term \"On a date\"; otherwise computed"),
        "exchange_rate": _l("Roubles for one unit of the currency; empty takes the "
                            "currency's rate"),
        "recipient": _l("Leave empty when the recipient is the buyer"),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "recipient": ClientLookupField(_l("Recipient"), []),
        "payment_term": enum_field(FIELDS["payment_term"], PaymentTerm,
                                   default=PaymentTerm.DAYS_15),
        # No default of 1: left empty, the currency's own rate is taken.
        "exchange_rate": DecimalField(FIELDS["exchange_rate"],
                                      [Optional(), NumberRange(min=0.000001)], places=None,
                                      widget=BS3TextFieldWidget()),
    }
    formatters_columns = dict(RegisterView.formatters_columns, total=money, subtotal=money,
                              tax_amount=money, payment_term=enum_label)
    method_permission_name = {"set_status": "edit", "duplicate": "add"}

    def pre_add(self, item):
        super().pre_add(item)
        _invoice_refusal(invoices.prepare, db.session, item, new=True)

    def pre_update(self, item):
        super().pre_update(item)
        _invoice_refusal(invoices.apply_change, db.session, item, stored(item))

    def pre_delete(self, item):
        _invoice_refusal(invoices.ensure_deletable, db.session, item)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if not str(pk).isdigit() or int(pk) >= 2**31:
            abort(404)
        invoice = db.session.get(Invoice, int(pk))
        if invoice is not None and invoice.status is not InvoiceStatus.DRAFT:
            flash(gettext("Only a draft invoice can be changed; return it to draft first"),
                  "warning")
            return redirect(url_for(".show", pk=pk))
        return super().edit(pk)

    def _writable_invoice(self, pk):
        self._ensure_writable(pk)
        invoice = db.session.get(Invoice, pk)
        if invoice is None:
            abort(404)
        return invoice

    @expose("/status/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def set_status(self, pk):
        invoice = self._writable_invoice(pk)
        try:
            invoices.set_status(db.session, invoice, request.form.get("status", ""))
        except ValueError:
            flash(gettext("Unknown status"), "danger")
        except invoices.InvoiceError as exc:
            db.session.rollback()
            flash(translated(exc), "danger")
        else:
            db.session.commit()
            flash(gettext("Invoice %(number)s: %(status)s", number=invoice.number,
                          status=enum_label(invoice.status)), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/duplicate/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def duplicate(self, pk):
        source = record_or_404(Invoice, pk)
        try:
            copy = invoices.duplicate(db.session, source, g.user.id)
        except invoices.InvoiceError as exc:
            db.session.rollback()
            flash(translated(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        db.session.commit()
        flash(gettext("Invoice %(number)s created as a copy of %(source)s",
                      number=copy.number, source=source.number), "success")
        return redirect(url_for(".show", pk=copy.id))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            invoice = db.session.get(Invoice, int(kwargs["pk"]))
            kwargs["invoice"] = invoice
            kwargs["statuses"] = ENUMS[InvoiceStatus]
            kwargs["money"] = money
            kwargs["draft"] = invoice is not None and invoice.status is InvoiceStatus.DRAFT
        return super().render_template(template, **kwargs)


class ClientView(BulkListMixin, RegisterView):
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
                      "group", "segment", "mailing_opt_out", "created_at", "funnel_stage",
                      "responsible"]
    extra_filters = {"created_at": [FilterInPeriod], "responsible": [FilterInDepartment]}
    base_order = ("id", "desc")
    person = ["last_name", "first_name", "middle_name", "birth_date", "passport_series",
              "passport_number", "passport_issued_by", "passport_issue_date"]
    legal = ["inn", "ogrn", "kpp", "legal_address", "bank_name", "bik",
             "settlement_account", "corr_account"]
    contacts = ["phone", "phone2", "email", "region", "city", "address"]
    crm = ["status", "type", "origin", "segment", "group", "tags", "funnel_stage",
           "responsible", "participants", "public_access", "mailing_types",
           "mailing_opt_out", "comments"]
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
        "responsible": _l("Empty: one of the market segment's managers, else you"),
        "mailing_opt_out": _l("The client asked not to receive mailings"),
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
    method_permission_name = {"lookup": "list", "bulk": "bulk_assign",
                              "set_segment": "bulk_assign", "set_mailing": "bulk_assign"}
    bulk_kinds = ("segment", "mailing")
    set_segment = bulk_action("segment", "set_segment", _l("Assign a market segment"))
    set_mailing = bulk_action("mailing", "set_mailing", _l("Assign a mailing type"))

    @expose("/lookup")
    @has_access
    def lookup(self):
        found = clients.find(db.session, request.args.get("q"), restricted_user_id())
        return jsonify(results=[{"id": c.id, "text": clients.label(c)} for c in found])

    def pre_add(self, item):
        refuse_on(clients.ClientError, clients.fill_name, item)
        super().pre_add(item)

    def pre_update(self, item):
        refuse_on(clients.ClientError, clients.fill_name, item)
        super().pre_update(item)

    def pre_delete(self, item):
        _invoice_refusal(invoices.check_client_deletable, db.session, item.id)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            client_id = int(kwargs["pk"])
            kwargs["history"] = [history_row(e) for e in
                                 history.for_client(db.session, client_id)]
            kwargs["earlier"] = documents.documents_of_client(db.session, client_id)
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
