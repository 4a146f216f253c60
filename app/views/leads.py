"""The register of leads; the conversion pages are in lead_convert.py."""
from flask import redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_babel import lazy_gettext as _l

from app import db
from app.models import Lead
from app.services import validation
from app.views import lead_convert as lead_pages
from app.views.actions import CounterpartyActionView
from app.views.datamodel import ListInterface
from app.views.fields import Normalised
from app.views.register_base import CONSENT, CONSENT_DESCRIPTIONS, PHONE, RegisterView


class LeadView(RegisterView):
    """Leads: participants see the lead; «Перевести в сделку»
    opens the conversion form, the list converts selected leads at once."""

    route_base = "/leads"
    datamodel = ListInterface(Lead)
    list_columns = ["id", "title", "contact_name", "phone", "client", "amount", "origin",
                    "status", "responsible", "created_at"]
    order_columns = ["id", "title", "amount", "status", "created_at"]
    add_columns = edit_columns = ["title", "client", "contact_name", "company_name", "inn",
                                  "phone", "email", "amount", "origin", "segment", "status",
                                  "responsible", "participants", "comment", *CONSENT]
    show_columns = ["id"] + add_columns + ["deal", "web_form", "closed_at", "created_at"]
    search_columns = ["title", "contact_name", "phone", "email", "status", "created_at"]
    base_order = ("id", "desc")
    validators_columns = {"phone": PHONE, "inn": [Normalised(validation.inn)]}
    description_columns = {"participants": _l("Employees who may see and change the lead"),
                           **CONSENT_DESCRIPTIONS}
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
            # By name: also shown from a quick box's route (views/timeline.py).
            kwargs["convert_url"] = (url_for(f"{self.endpoint}.convert", pk=lead.id)
                                     if may and lead and lead.deal_id is None else None)
        return super().render_template(template, **kwargs)
