"""The register of clients and of a client's records: contact persons,
notes and projects."""
from flask import flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Optional

from app import db
from app.labels import FIELDS
from app.models import Application, Client, ContactPerson, FunnelStage, Note, Project
from app.services import clients, closing, dictionaries, documents, validation
from app.views.actions import CounterpartyActionView
from app.views.applications import ApplicationView, calculator_url
from app.views.bulk import BulkAssignMixin, bulk_action
from app.views.datamodel import ListInterface
from app.views.deals import DealView
from app.views.fields import AccountOfBank, Normalised
from app.views.filters import FilterInDepartment, FilterInPeriod
from app.views.invoices import InvoiceView
from app.views.labels import money
from app.views.leads import LeadView
from app.views.register_base import CONSENT, CONSENT_DESCRIPTIONS, PHONE, RegisterView
from app.views.rowaccess import (
    after_write,
    may_read,
    record_or_404,
    refusal_text,
    remember_stored,
    restricted_user_id,
    write,
)
from app.views.tasks import TaskView
from app.views.timeline import QuickAddMixin


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


class ContactPersonView(BulkListMixin, RegisterView):
    route_base = "/contacts"
    datamodel = ListInterface(ContactPerson)
    list_columns = ["name", "position", "phone", "email", "client"]
    add_columns = edit_columns = ["client", "name", "position", "phone", "email", "comment",
                                  "mailing_types", "mailing_opt_out", *CONSENT]
    show_columns = add_columns
    search_columns = ["name", "phone", "email", "position", "mailing_opt_out"]
    description_columns = CONSENT_DESCRIPTIONS
    validators_columns = {"phone": PHONE}
    related_views = [CounterpartyActionView]
    show_template = "sdelka/contact_show.html"
    bulk_kinds = ("mailing",)
    method_permission_name = {"bulk": "bulk_assign", "set_mailing": "bulk_assign"}
    set_mailing = bulk_action("mailing", "set_mailing", _l("Assign a mailing type"))


class NoteView(QuickAddMixin, RegisterView):
    route_base = "/notes"
    datamodel = ListInterface(Note)
    list_columns = ["created_at", "text", "author", "client", "lead"]
    add_columns = edit_columns = ["client", "deal", "lead", "text", "file"]
    show_columns = ["created_at", "author", "client", "deal", "lead", "text", "file"]
    search_columns = ["text", "created_at"]
    base_order = ("created_at", "desc")
    # The timeline's quick note is an add.
    method_permission_name = {"quick": "add"}


class ProjectView(RegisterView):
    route_base = "/projects"
    datamodel = ListInterface(Project)
    list_columns = ["name", "client", "start_date", "end_date", "responsible", "is_closed"]
    add_columns = edit_columns = ["client", "name", "description", "start_date", "end_date",
                                  "responsible", "is_closed"]
    show_columns = add_columns
    search_columns = ["name", "start_date", "end_date", "is_closed"]
    show_template = "sdelka/project_show.html"


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
        (_l("Consent to personal data processing"), {"fields": CONSENT}),
    ]
    show_fieldsets = [(title, {"fields": list(spec["fields"])})
                      for title, spec in add_fieldsets]
    show_fieldsets[-1][1]["fields"] += ["created_at", "updated_at"]
    description_columns = {
        "name": _l("A company's name; for a person leave empty to use the full name"),
        "public_access": _l("Who else sees the client besides the responsible and participants"),
        "responsible": _l("Empty: one of the market segment's managers, else you"),
        "mailing_opt_out": _l("The client asked not to receive mailings"),
        **CONSENT_DESCRIPTIONS,
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
    # The funnel stage of the record page is an edit.
    method_permission_name = {"bulk": "bulk_assign", "set_segment": "bulk_assign",
                              "set_mailing": "bulk_assign", "set_stage": "edit"}
    bulk_kinds = ("segment", "mailing")
    set_segment = bulk_action("segment", "set_segment", _l("Assign a market segment"))
    set_mailing = bulk_action("mailing", "set_mailing", _l("Assign a mailing type"))

    def post_add(self, item):
        super().post_add(item)
        self._warn_duplicates(item)

    def post_update(self, item):
        super().post_update(item)
        self._warn_duplicates(item)

    def _warn_duplicates(self, client):
        """Saved all the same: two clients may share a phone (a family, a
        switchboard), but the user should look."""
        for field, other in clients.duplicates(db.session, client):
            if may_read(Client, other):
                link = Markup('<a href="{}">{}</a>').format(
                    url_for("ClientView.show", pk=other), db.session.get(Client, other).name)
                # Our own label and catalogue text around an escaped name.
                flash(Markup(gettext("%(field)s is also the client's %(client)s",
                                     field=escape(FIELDS[field]), client=link)), "warning")
            else:
                flash(gettext("%(field)s is also a client's of another manager (No. %(id)s)",
                              field=FIELDS[field], id=other), "warning")

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            client_id = int(kwargs["pk"])
            kwargs["earlier"] = documents.documents_of_client(db.session, client_id)
            kwargs["closing_documents"] = closing.of_client(db.session, client_id,
                                                            restricted_user_id())
            kwargs["money"] = money
            latest = db.session.scalars(
                select(Application).where(Application.client_id == client_id)
                .order_by(Application.date.desc(), Application.id.desc()).limit(1)).first()
            kwargs["calculator_url"] = calculator_url(latest) if latest else None
            kwargs["stage_form"] = self._stage_form(client_id)
        return super().render_template(template, **kwargs)

    def _stage_form(self, client_id):
        """The record page's funnel stage box, for whoever may change the client."""
        if not self._may_edit(client_id):
            return None
        own = db.session.get(Client, client_id).funnel_stage  # the page's record
        # The active stages in the funnel's order, and the client's own if
        # it is no longer active.
        stages = dictionaries.active_values(db.session, FunnelStage)
        if own is not None and not own.is_active:
            stages = sorted((*stages, own), key=lambda stage: (stage.sort_order, stage.id))
        return {"url": url_for(f"{self.endpoint}.set_stage", pk=client_id),
                "current": own.id if own is not None else None, "stages": stages}

    @expose("/stage/<int:pk>", methods=["POST"])
    @has_access
    def set_stage(self, pk):
        """The funnel stage from the record page, by the edit form's write
        rule (history as for any change)."""
        client = record_or_404(Client, pk)  # one not visible is not there
        self._ensure_writable(pk)  # visible, not theirs to change: 403
        remember_stored(Client, pk)
        back = url_for(".show", pk=pk)
        chosen = request.form.get("stage", type=int) or 0
        stage = db.session.get(FunnelStage, chosen) if 0 < chosen <= 2**31 - 1 else None
        if stage is None or not (stage.is_active or stage.id == client.funnel_stage_id):
            flash(gettext("Choose a funnel stage from the list"), "danger")
            return redirect(back)
        if stage.id == client.funnel_stage_id:
            flash(gettext("The client is already at this stage"), "info")
            return redirect(back)
        client.funnel_stage = stage
        refused = write(client, new=False)
        if refused:
            flash(gettext("The stage was not changed: %(reason)s",
                          reason=refusal_text(refused[1])), "danger")
            return redirect(back)
        db.session.commit()
        after_write(client)
        flash(gettext("Funnel stage changed: %(stage)s", stage=stage.name), "success")
        return redirect(back)
