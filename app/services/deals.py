"""Deal stages and closing (seed 003 "Управление возможными сделками").

Screens, the API and lead conversion call ``prepare`` before a deal is
saved and ``forget`` before one is deleted — the one way these rules run:

- a new stage brings its probability unless the user changed the
  probability too (it stays editable);
- won or lost closes the deal (won: 100 %, lost: 0 % and a reason from
  the dictionary is required); reopening clears the close;
- the client's funnel stage follows its most advanced open deal."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select

from app.models import Client, Deal, DealStatus, FunnelStage, utcnow


class DealError(ValueError):
    """``field``: the form field the message belongs to (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _changed(deal, key):
    state = inspect(deal)
    if state.transient or state.pending:
        return getattr(deal, key) is not None
    return state.attrs[key].history.has_changes()


def _old_value(session, deal, column):
    """The stored value of ``column`` of a persistent deal."""
    state = inspect(deal)
    if state.transient or state.pending or state.identity is None:
        return None
    with session.no_autoflush:
        return session.scalar(select(column).where(Deal.id == state.identity[0]))


def first_stage(session):
    return session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order, FunnelStage.id)).first()


def prepare(session, deal):
    """Apply the stage and closing rules to ``deal`` (new or changed) and
    move its client's funnel stage. Raises DealError; changes nothing then."""
    stage = deal.stage
    if stage is None and deal.stage_id is not None:
        stage = session.get(FunnelStage, deal.stage_id)
    status = deal.status or DealStatus.OPEN
    if status == DealStatus.LOST and deal.loss_reason is None and deal.loss_reason_id is None:
        raise DealError(_l("A lost deal needs a loss reason"), "loss_reason")
    if deal.probability is not None and not 0 <= deal.probability <= 100:
        raise DealError(_l("Probability is a percentage from 0 to 100"), "probability")
    if stage is not None and (deal.probability is None or (
            (_changed(deal, "stage") or _changed(deal, "stage_id"))
            and not _changed(deal, "probability"))):
        deal.probability = stage.probability
    if deal.probability is None:
        deal.probability = 0
    deal.status = status
    if status == DealStatus.OPEN:
        deal.closed_at = None
        deal.loss_reason = None
    else:
        if status == DealStatus.WON:
            deal.probability = 100
            deal.loss_reason = None
        else:
            deal.probability = 0
        if deal.closed_at is None or _changed(deal, "status"):
            deal.closed_at = utcnow()
    old_client_id = _old_value(session, deal, Deal.client_id)
    client = deal.client or (session.get(Client, deal.client_id) if deal.client_id else None)
    if client is not None:
        sync_client_stage(session, client, deal)
    if old_client_id is not None and (client is None or client.id != old_client_id):
        sync_client_stage(session, session.get(Client, old_client_id), deal, leaving=True)


def forget(session, deal):
    """Before ``deal`` is deleted: its client's stage follows the others."""
    if deal.client_id is not None:
        sync_client_stage(session, session.get(Client, deal.client_id), deal, leaving=True)


def sync_client_stage(session, client, deal=None, leaving=False):
    """Set the client's funnel stage to the furthest stage (by the funnel's
    order) among its open deals, ``deal`` counted as it is now in memory
    (or left out when ``leaving``). No open deal: the stage stays."""
    if client is None:
        return
    query = (select(FunnelStage).join(Deal, Deal.stage_id == FunnelStage.id)
             .where(Deal.client_id == client.id, Deal.status == DealStatus.OPEN))
    if deal is not None and deal.id is not None:
        query = query.where(Deal.id != deal.id)
    with session.no_autoflush:
        stages = list(session.scalars(query.distinct()))
        if deal is not None and not leaving and deal.status == DealStatus.OPEN:
            stage = deal.stage or (session.get(FunnelStage, deal.stage_id)
                                   if deal.stage_id else None)
            if stage is not None:
                stages.append(stage)
    if not stages:
        return
    best = max(stages, key=lambda s: (s.sort_order, s.probability, s.id))
    if client.funnel_stage_id != best.id:
        client.funnel_stage = best
