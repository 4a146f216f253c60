"""Deals and clients with nothing planned («Продажи → Без планов»):
the page the head of sales' notification links to. Managers see their own.

Each list is paged (``page_deal``, ``page_client``, from 0) and counted as
the register lists count (views/datamodel.py): a few pages past the one
shown, then "more than N". The queries walk the table newest first and
test each row (services/followup.py), so a page costs the rows it walks."""
from flask import request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app import db
from app.models import Client, Deal, utcnow
from app.services import access, followup
from app.views.datamodel import COUNT_LIMIT, PAGES_AHEAD, AtLeast
from app.views.rowaccess import restricted_user_id

PAGE_SIZE = 50
# The pages reach this far: a page walks every row before it, and a
# manager, who sees one row in fifteen, walks fifteen times as many (the
# first 1 000 take them 0.5 s at a million deals, 10 000 take 3 s). The
# notification counts further (jobs/followup.COUNT_LIMIT).
MAX_ROWS = 1_000
MAX_PAGE = MAX_ROWS // PAGE_SIZE - 1


def _page(kind):
    value = request.args.get(f"page_{kind}", "")
    return min(int(value), MAX_PAGE) if value.isdigit() else 0


def _count(queries, page, rows):
    """The rows of the last of ``queries``, as the register lists count
    them; the ones before it select some of its rows (a manager's own,
    quick to find): when more than the limit pass, so do the rows of all."""
    if len(rows) < PAGE_SIZE and (rows or page == 0):
        return page * PAGE_SIZE + len(rows)  # the last page: no count needed
    limit = min(max(COUNT_LIMIT, (page + PAGES_AHEAD) * PAGE_SIZE), MAX_ROWS)
    for query in queries:
        count = followup.count_of(db.session, query, limit + 1)
        if count > limit:
            return AtLeast(limit)
    return count


class UnplannedView(BaseView):
    route_base = "/followup"
    default_view = "unplanned"
    method_permission_name = {"unplanned": "list"}

    @expose("/unplanned/")
    @has_access
    def unplanned(self):
        now = utcnow()
        user_id = restricted_user_id()
        sections = []
        for kind, title, query, options in (
                ("deal", _l("Open deals without a planned task"),
                 followup.unplanned_deals_query(db.session, now),
                 (selectinload(Deal.client), selectinload(Deal.responsible))),
                ("client", _l("Clients in work without a planned task"),
                 followup.unplanned_clients_query(db.session, now),
                 (selectinload(Client.responsible),))):
            counted = [query]
            if user_id is not None:
                # The rows a manager is responsible for are theirs to see,
                # and an index on the owner finds them (views/datamodel.py).
                model = Deal if kind == "deal" else Client
                query = query.where(access.clause(model, user_id))
                counted = [counted[0].where(model.responsible_id == user_id), query]
            page = _page(kind)
            rows = db.session.scalars(query.options(*options).limit(PAGE_SIZE)
                                      .offset(page * PAGE_SIZE)).all()
            sections.append({"kind": kind, "title": title, "rows": rows, "page": page,
                             "total": _count(counted, page, rows)})
        shown = {deal.client_id for deal in sections[0]["rows"]}
        return self.render_template("sdelka/unplanned.html", sections=sections,
                                    page_size=PAGE_SIZE, client_links=access.readable_ids(
                                        db.session, Client, shown, user_id))


def register(appbuilder):
    appbuilder.add_view(UnplannedView, "Without plans", label=_l("Without plans"),
                        icon="fa-exclamation-triangle", category="Sales")
