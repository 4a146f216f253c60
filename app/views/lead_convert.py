"""Lead → deal («Перевести в сделку»): a form
prefilled from the lead; saving calls services/leads.convert in one
transaction. The bulk action converts the selected leads with defaults."""
from flask import flash, g, redirect, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app import db
from app.labels import FIELDS
from app.models import Client, FunnelStage
from app.services import clients, deals, leads
from app.services.errors import Refused
from app.views.dictionaries import NumberField
from app.views.fields import date_field
from app.views.lookup import LookupField
from app.views.rowaccess import may_change, restricted_user_id

NEW, OTHER = "new", "other"


class ConvertForm(FlaskForm):
    client_choice = RadioField(_l("Client of the deal"), default=NEW)
    other_client = LookupField(_l("Another existing client"), [Optional()])
    client_name = StringField(_l("Name of the new client"), [Optional(), Length(max=255)])
    title = StringField(_l("Deal title"), [DataRequired(), Length(max=255)])
    amount = NumberField(FIELDS["amount"], [Optional(), NumberRange(
        min=0, message=_l("The amount cannot be negative"))], places=2)
    stage = SelectField(FIELDS["stage"], coerce=int)
    expected_close = date_field(FIELDS["expected_close"])


def _form(lead, found):
    form = ConvertForm()
    choices = [(f"c{c.id}", gettext("Existing client: %(name)s", name=clients.label(c)))
               for c in found]
    choices.append((NEW, gettext("Create a new client from the lead")))
    choices.append((OTHER, gettext("Another existing client (choose below)")))
    form.client_choice.choices = choices
    form.stage.choices = [(s.id, f"{s.name} ({s.probability} %)") for s in db.session.scalars(
        select(FunnelStage).where(FunnelStage.is_active.is_(True))
        .order_by(FunnelStage.sort_order, FunnelStage.id))]
    if not form.is_submitted():
        form.client_choice.data = choices[0][0] if found else NEW
        form.client_name.data = leads.client_from_lead(lead).name if not lead.client else ""
        form.title.data = lead.title
        form.amount.data = lead.amount
        first = deals.first_stage(db.session)
        form.stage.data = first.id if first else None
    return form


def _chosen_client(form, found):
    choice = form.client_choice.data
    if choice == NEW:
        return None
    if choice == OTHER:
        if form.other_client.data is None:
            raise Refused(_l("Choose the client in the field below"))
        return form.other_client.data
    by_key = {f"c{c.id}": c for c in found}
    if choice not in by_key:
        raise Refused(_l("Choose a client from the list"))
    return by_key[choice]


def convert_page(view, lead):
    """GET: the prefilled form; POST: convert and open the new deal."""
    user_id = restricted_user_id()
    try:
        leads.check_convertible(lead)
    except Refused as exc:
        flash(str(exc), "warning")
        return redirect(url_for(".show", pk=lead.id))
    found = [lead.client] if lead.client is not None else \
        leads.candidates(db.session, lead, user_id)
    form = _form(lead, found)
    if form.validate_on_submit():
        try:
            client = _chosen_client(form, found)
            if client is not None and not may_change(Client, client.id):
                raise Refused(_l("You may not change records of this client"))
            deal = leads.convert(
                db.session, lead, client=client, client_name=form.client_name.data,
                title=form.title.data, amount=form.amount.data,
                stage=db.session.get(FunnelStage, form.stage.data),
                expected_close=form.expected_close.data, responsible=g.user)
        except Refused as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(gettext("The lead is converted: deal №%(id)s created", id=deal.id), "success")
            return redirect(url_for("DealView.show", pk=deal.id))
    return view.render_template("sdelka/lead_convert.html", form=form, lead=lead,
                                title=gettext("Convert the lead to a deal"))


def convert_selected(items):
    """The bulk action: each lead with defaults; a message with the result."""
    items = [i for i in (items if isinstance(items, list) else [items])
             if i is not None and may_change(type(i), i.id)]
    result = leads.convert_many(db.session, items, restricted_user_id(), responsible=g.user)
    db.session.commit()
    if result.converted:
        flash(gettext("Leads converted to deals: %(count)s (deals %(ids)s)",
                      count=len(result.converted),
                      ids=", ".join(f"№{deal.id}" for _, deal in result.converted)), "success")
    for lead, message in result.skipped:
        flash(gettext("Lead №%(id)s is skipped: %(reason)s", id=lead.id, reason=message),
              "warning")
    if not result.converted and not result.skipped:
        flash(gettext("No leads to convert: none selected or none you may change"), "warning")
    return redirect(url_for(".list"))
