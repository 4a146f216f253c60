"""«Воронка»: the deals board beside the deals list (services/board.py).
A mixin of DealView, so the board has the list's permissions and row rule,
and moving a card the record's edit permission and write check."""
from flask import jsonify, make_response, render_template, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from sqlalchemy import select

from app import db
from app.models import Client, Deal, DealStatus, Department, Employee, FunnelStage, RefusalReason
from app.services import board, deals, values
from app.services.errors import Refused
from app.services.search import number_of
from app.views.fields import office_zone
from app.views.rowaccess import restricted_user_id

CARDS_TEMPLATE = "sdelka/deal_board_cards.html"
CURRENCY_SIGNS = {"RUB": "₽"}


def _filters():
    """The board's filters from the query string, and the messages of the
    ones that could not be read (they are left out)."""
    args, problems = request.args, []
    period = None
    since, until = (args.get(k, "").strip() for k in ("since", "until"))
    if since or until:
        try:
            first = values.date(since or until)
            last = values.date(until or since)
        except values.ValidationError:
            problems.append(gettext("The period's dates are not dates: type them as ДД.ММ.ГГГГ"))
        else:
            if first > last:
                problems.append(gettext("The period ends before it starts"))
            else:
                period = (first, last)
    return board.Filters(responsible_id=number_of(args.get("responsible")),
                         department_id=number_of(args.get("department")),
                         period=period, client_id=number_of(args.get("client"))), problems


def _totals(filters):
    return [{"stage": c.stage_id, "count": c.count, "total": values.money(c.total)}
            for c in board.columns(db.session, restricted_user_id(), filters, office_zone(),
                                   with_cards=False)]


class DealBoardMixin:
    """``/deals/board/``, its cards on scroll and the move of a card."""

    @expose("/board/")
    @has_access
    def board(self):
        filters, problems = _filters()
        session = db.session
        columns = board.columns(session, restricted_user_id(), filters, office_zone())
        client = session.get(Client, filters.client_id) if filters.client_id else None
        return self.render_template(
            "sdelka/deal_board.html", columns=columns, filters=filters, problems=problems,
            client=client, sign=CURRENCY_SIGNS.get(board.base_currency(session)),
            employees=session.scalars(select(Employee).where(Employee.active.is_(True))
                                      .order_by(Employee.last_name, Employee.first_name)).all(),
            departments=session.scalars(select(Department).order_by(Department.name)).all(),
            stages=[c for c in columns if c.stage_id != board.NO_STAGE],
            reasons=session.scalars(select(RefusalReason).where(
                RefusalReason.is_active.is_(True)).order_by(RefusalReason.sort_order)).all(),
            may_move=self.appbuilder.sm.has_access("can_edit", self.class_permission_name),
            page_size=board.PAGE, title=gettext("Funnel"))

    @expose("/board/cards/<int:stage_id>")
    @has_access
    def board_cards(self, stage_id):
        """The column's next cards (after ``?before=<id>``), as HTML."""
        filters, _ = _filters()
        cards = board.cards(db.session, restricted_user_id(), stage_id, filters, office_zone(),
                            before_id=number_of(request.args.get("before")))
        may_move = self.appbuilder.sm.has_access("can_edit", self.class_permission_name)
        response = make_response(render_template(CARDS_TEMPLATE, cards=cards,
                                                 may_move=may_move))
        response.headers["X-Board-More"] = "1" if len(cards) == board.PAGE else "0"
        return response

    @expose("/board/move/<int:pk>", methods=["POST"])
    @has_access
    def board_move(self, pk):
        """Move a card: ``stage`` (an id) or ``status`` (won, lost with
        ``loss_reason``). JSON: the message, the card and the columns'
        new counts; a refusal answers 400 with the message."""
        if not 0 < pk <= 2**31 - 1 or not self.may_write(pk):
            return jsonify(message=gettext("You may not change this deal")), 403
        session = db.session
        deal = session.get(Deal, pk)
        filters, _ = _filters()
        try:
            stage = status = reason = None
            if request.form.get("stage"):
                stage = session.get(FunnelStage, number_of(request.form["stage"]) or 0)
                if stage is None:
                    raise ValueError
            if request.form.get("status"):
                status = DealStatus(request.form["status"])
            if request.form.get("loss_reason"):
                reason = session.get(RefusalReason, number_of(request.form["loss_reason"]) or 0)
            if stage is None and status is None:
                raise ValueError
            deals.move(session, deal, stage=stage, status=status, loss_reason=reason)
        except (ValueError, Refused) as exc:
            session.rollback()
            message = str(exc) if isinstance(exc, Refused) else gettext(
                "Choose a stage and a status from the lists")
            return jsonify(message=message, columns=_totals(filters)), 400
        session.commit()
        if deal.status == DealStatus.OPEN:
            message = gettext("The deal is at the stage «%(stage)s», %(probability)s %%",
                              stage=deal.stage or "", probability=deal.probability)
        elif deal.status == DealStatus.WON:
            message = gettext("The deal «%(title)s» is won", title=deal.title)
        else:
            message = gettext("The deal «%(title)s» is lost: %(reason)s", title=deal.title,
                              reason=deal.loss_reason)
        card = board.describe(session, [deal.id], user_id=restricted_user_id())
        return jsonify(
            message=message,
            stage=deal.stage_id if deal.status == DealStatus.OPEN else None,
            card=render_template(CARDS_TEMPLATE, cards=card, may_move=True),
            columns=_totals(filters),
            show=url_for(".show", pk=deal.id))
