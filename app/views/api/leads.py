"""The leads' API: a register's resource and the conversion of a lead to a
deal, as the lead's screen converts it."""
from flask import g, request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext

from app import db
from app.models import Client, Deal, FunnelStage, Lead
from app.services import leads, validation
from app.services.errors import Refused
from app.views.api.base import RegisterApi, register_api
from app.views.leads import LeadView
from app.views.rowaccess import MAX_ID, may_change

AMOUNT = (Deal.amount.type.precision, Deal.amount.type.scale)


class LeadApi(RegisterApi):
    @expose("/<int:pk>/convert", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def convert(self, pk):
        """Convert a lead to a deal, as the lead's screen does.
        Body (all optional): client (id; a new one from the lead if absent),
        title, amount, stage (id). Answers 201 {"deal": id, "client": id}."""
        lead = db.session.get(Lead, pk) if pk <= MAX_ID else None
        if lead is None or not may_change(Lead, pk):
            return self.response_404()
        body = request.get_json(silent=True) or {}
        try:
            client = None
            if body.get("client") is not None:
                client = db.session.get(Client, validation.integer(body["client"], 1, MAX_ID))
                if client is None or not may_change(Client, client.id):
                    return self.response(422, message={"client": [gettext(
                        "Choose a client from the list")]})
            stage = db.session.get(FunnelStage, validation.integer(body["stage"], 1, MAX_ID)) \
                if body.get("stage") else None
            amount = validation.decimal(body["amount"], *AMOUNT) \
                if body.get("amount") is not None else None
            title = validation.text(body["title"], Deal.title.type.length) \
                if body.get("title") is not None else None
            deal = leads.convert(db.session, lead, client=client, title=title,
                                 amount=amount, stage=stage, responsible=g.user)
        except (ValueError, Refused) as exc:
            db.session.rollback()
            return self.response(422, message=str(exc))
        db.session.commit()
        return self.response(201, deal=deal.id, client=deal.client_id)


Api = register_api(LeadView, "lead", LeadApi)
