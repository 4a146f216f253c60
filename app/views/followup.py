"""Deals and clients with nothing planned (seed 001 "сделки без планов"):
the page the head of sales' notification links to. Managers see their own."""
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app import db
from app.models import Client, Deal, utcnow
from app.services import access, followup
from app.views.rowaccess import restricted_user_id

SHOWN = 200
COUNT_LIMIT = 10_000


class UnplannedView(BaseView):
    route_base = "/followup"
    default_view = "unplanned"
    method_permission_name = {"unplanned": "list"}

    @expose("/unplanned/")
    @has_access
    def unplanned(self):
        now = utcnow()
        user_id = restricted_user_id()
        deals = followup.unplanned_deals_query(now)
        clients = followup.unplanned_clients_query(now)
        if user_id is not None:
            deals = deals.where(access.clause(Deal, user_id))
            clients = clients.where(access.clause(Client, user_id))
        sections = []
        for title, query, model, options in (
                (_l("Open deals without a planned task"), deals, Deal,
                 (selectinload(Deal.client), selectinload(Deal.responsible))),
                (_l("Clients in work without a planned task"), clients, Client,
                 (selectinload(Client.responsible),))):
            rows = db.session.scalars(query.options(*options).limit(SHOWN)).all()
            total = (followup.count_of(db.session, query, COUNT_LIMIT)
                     if len(rows) == SHOWN else len(rows))
            sections.append((title, model.__name__.lower(), rows, total))
        return self.render_template("sdelka/unplanned.html", sections=sections,
                                    shown=SHOWN, limit=COUNT_LIMIT)


def register(appbuilder):
    appbuilder.add_view(UnplannedView, "Without plans", label=_l("Without plans"),
                        icon="fa-exclamation-triangle", category="Sales")
