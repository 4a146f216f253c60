"""Deal stages and closing.

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
from app.services.errors import Refused

TRACKED = (Deal.stage_id, Deal.probability, Deal.status, Deal.client_id)


def snapshot(session, deal_id):
    """The stored values the rules compare with, read before a form or an
    API body is copied onto the deal (FAB may flush it while copying)."""
    if deal_id is None:
        return None
    with session.no_autoflush:
        row = session.execute(select(*TRACKED).where(Deal.id == deal_id)).first()
    return dict(zip((c.key for c in TRACKED), row)) if row else None


def _changed(before, deal, column):
    value = getattr(deal, column.key)
    if column.key == "stage_id" and deal.stage is not None:
        value = deal.stage.id
    if before is None:
        return value is not None
    return before[column.key] != value


def first_stage(session):
    return session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                           .order_by(FunnelStage.sort_order, FunnelStage.id)).first()


def prepare(session, deal, before=None):
    """Apply the stage and closing rules to ``deal`` (new or changed) and
    move its client's funnel stage. ``before``: its ``snapshot`` taken
    before the change (read now when not given). Raises Refused."""
    # A form may have left the deal half-filled (no probability yet): no
    # look-up here may flush it early.
    with session.no_autoflush:
        state = inspect(deal)
        if before is None and state.persistent:
            before = snapshot(session, state.identity[0])
        _prepare(session, deal, before)


def _prepare(session, deal, before):
    stage = deal.stage
    if stage is None and deal.stage_id is not None:
        stage = session.get(FunnelStage, deal.stage_id)
    status = deal.status or DealStatus.OPEN
    if status == DealStatus.LOST and deal.loss_reason is None and deal.loss_reason_id is None:
        raise Refused(_l("A lost deal needs a loss reason"), "loss_reason")
    if deal.probability is not None and not 0 <= deal.probability <= 100:
        raise Refused(_l("Probability is a percentage from 0 to 100"), "probability")
    if stage is not None and (deal.probability is None or (
            _changed(before, deal, Deal.stage_id)
            and not _changed(before, deal, Deal.probability))):
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
        if deal.closed_at is None or _changed(before, deal, Deal.status):
            deal.closed_at = utcnow()
    old_client_id = before["client_id"] if before else None
    client = deal.client or (session.get(Client, deal.client_id) if deal.client_id else None)
    if client is not None:
        sync_client_stage(session, client, deal)
    if old_client_id is not None and (client is None or client.id != old_client_id):
        sync_client_stage(session, session.get(Client, old_client_id), deal, leaving=True)


def move(session, deal, stage=None, status=None, loss_reason=None):
    """The quick change of a deal's stage or status (the record page, the
    board): ``stage`` (a FunnelStage) or ``status`` (a DealStatus) as
    chosen, the rules applied as for the form. A lost deal takes
    ``loss_reason`` (a RefusalReason); any other status drops it.
    Raises Refused; the caller commits or rolls back."""
    before = snapshot(session, deal.id)
    if stage is not None:
        deal.stage = stage
    if status is not None:
        deal.status = status
    deal.loss_reason = loss_reason if deal.status == DealStatus.LOST else None
    prepare(session, deal, before)


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
