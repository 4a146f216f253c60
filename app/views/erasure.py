"""Erasure of a person's personal data and the list of persons past the
retention period («Истёк срок хранения»), for the administrator alone
(``ADMIN_ONLY`` in app/security.py). The rules are services/erasure.py.

The record pages of a client, a contact person and a lead have an
«Удалить персональные данные» button (sdelka/erase_button.html) that
opens the confirmation page: it says what is erased and kept and lists
what blocks (open deals, unpaid invoices); the POST erases, and with
blockers only when the box «Подтверждаю» is ticked."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import db
from app.models import Client, ContactPerson, Lead
from app.services import erasure
from app.services.errors import Refused
from app.views.datamodel import AtLeast
from app.views.labels import enum_label
from app.views.refusal import translated

PAGE_SIZE = 50
COUNT_LIMIT = 10_000
SHOW_OF = {"client": "ClientView.show", "contact": "ContactPersonView.show",
           "lead": "LeadView.show"}
KIND_LABELS = {"deal": _l("Deal"), "invoice": _l("Invoice")}
KIND_SHOW = {"deal": "DealView.show", "invoice": "InvoiceView.show"}
# The «Kind» of a retention row whose record has none (a client's is its own).
KIND_OF = {"lead": _l("Lead"), "contact": _l("Contact person")}


def _page(kind):
    value = request.args.get(f"page_{kind}", "")
    return min(int(value), COUNT_LIMIT // PAGE_SIZE) if value.isdigit() else 0


class ErasureView(BaseView):
    route_base = "/erasure"
    default_view = "retention"
    # The list is «список» in the roles screen; the erasure its own word.
    method_permission_name = {"retention": "list", "erase": "erase"}

    @expose("/<entity>/<int:pk>", methods=["GET", "POST"])
    @has_access
    def erase(self, entity, pk):
        model = erasure.entity_model(entity)
        if model is None or not 0 < pk <= 2**31 - 1:
            abort(404)
        record = db.session.get(model, pk)
        if record is None:
            abort(404)
        try:
            blockers = erasure.blockers(db.session, model, pk)
        except Refused as refusal:
            flash(translated(refusal.message), "danger")
            return redirect(url_for(SHOW_OF[entity], pk=pk))
        if request.method == "POST":
            confirmed = request.form.get("confirm") == "1"
            try:
                files = erasure.erase(db.session, model, pk, confirmed=confirmed)
                db.session.commit()
            except erasure.Blocked as refusal:
                db.session.rollback()
                flash(translated(refusal.message), "danger")
                blockers = refusal.blockers
            except Refused as refusal:
                db.session.rollback()
                flash(translated(refusal.message), "danger")
            else:
                removed = erasure.remove_files(current_app.config["UPLOAD_FOLDER"], files)
                flash(gettext("The personal data was erased (files deleted: %(n)s)",
                              n=removed), "success")
                return redirect(url_for(SHOW_OF[entity], pk=pk))
        return self.render_template(
            "sdelka/erasure_confirm.html", record=record, entity=entity, pk=pk,
            blockers=[dict(b, label=KIND_LABELS[b["kind"]],
                           url=url_for(KIND_SHOW[b["kind"]], pk=b["id"])) for b in blockers],
            erased=record.erased_at is not None, show_url=url_for(SHOW_OF[entity], pk=pk),
            subject=erasure.subject_name(pk))

    @expose("/retention/")
    @has_access
    def retention(self):
        days = current_app.config.get("PERSONAL_DATA_RETENTION_DAYS", 1095)
        sections = []
        for kind, model, title in (("client", Client, _l("Clients")),
                                   ("lead", Lead, _l("Leads without a client")),
                                   ("contact", ContactPerson, _l("Contact persons"))):
            page = _page(kind)
            rows, total = erasure.expired(db.session, days, page, PAGE_SIZE,
                                          count_limit=COUNT_LIMIT, model=model)
            sections.append({
                "kind": kind, "title": title, "page": page,
                "total": AtLeast(COUNT_LIMIT) if total > COUNT_LIMIT else total,
                "rows": [{"id": r.id, "name": r.name, "updated_at": r.updated_at,
                          "kind_label": enum_label(r.kind) if r.kind else KIND_OF[kind],
                          "show_url": url_for(SHOW_OF[kind], pk=r.id)} for r in rows]})
        return self.render_template("sdelka/retention.html", sections=sections,
                                    page_size=PAGE_SIZE, days=days)


def register(appbuilder):
    appbuilder.add_view(
        ErasureView, "Retention expired", label=_l("Retention period expired"),
        icon="fa-hourglass-end", category="Settings", category_label=_l("Settings"),
        category_icon="fa-cogs",
    )
