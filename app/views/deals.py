"""The register of deals."""
from flask import flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange, Optional

from app import db
from app.labels import ENUMS, FIELDS
from app.models import Deal, DealStatus, FunnelStage, RefusalReason
from app.services import closing, deals, dictionaries
from app.services.errors import Refused
from app.views.actions import CounterpartyActionView
from app.views.board import DealBoardMixin
from app.views.datamodel import ListInterface
from app.views.filters import FilterInDepartment, FilterInPeriod
from app.views.labels import money
from app.views.register_base import BlankKeepsIntegerField, RegisterView
from app.views.rowaccess import restricted_user_id


class DealView(DealBoardMixin, RegisterView):
    """Deals: the stage brings its probability, won / lost close
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

    method_permission_name = {"move": "edit", "board": "list", "board_cards": "list",
                              "board_move": "edit"}

    @expose("/move/<int:pk>", methods=["POST"])
    @has_access
    def move(self, pk):
        """The record page's quick change of stage and status."""
        self._ensure_writable(pk)
        deal = db.session.get(Deal, pk)
        if deal is None:
            return redirect(url_for(".list"))
        form = request.form
        try:
            reason = form.get("loss_reason")
            deals.move(db.session, deal,
                       stage=db.session.get(FunnelStage, int(form.get("stage") or 0)),
                       status=DealStatus(form.get("status") or deal.status.value),
                       loss_reason=db.session.get(RefusalReason, int(reason))
                       if reason and reason.isdigit() else None)
        except (ValueError, Refused) as exc:
            db.session.rollback()
            message = str(exc) if isinstance(exc, Refused) else gettext(
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
            kwargs["stages"] = dictionaries.active_values(db.session, FunnelStage)
            kwargs["reasons"] = dictionaries.active_values(db.session, RefusalReason)
            kwargs["statuses"] = ENUMS[DealStatus]
            kwargs["may_move"] = self.appbuilder.sm.has_access(
                "can_edit", self.class_permission_name)
            # Acts and UPDs made from the deal's invoices.
            kwargs["closing_documents"] = closing.of_client(
                db.session, int(kwargs["pk"]), restricted_user_id(), column="deal_id")
            kwargs["money"] = money
        return super().render_template(template, **kwargs)
