"""Work with a counterparty: a planned action (call, send,
meet…) and its result, which must be one the action type allows; the next
step may be created "based on" the previous one."""
from flask_babel import lazy_gettext as _l

from app.models import ActionResult, CounterpartyAction, utcnow
from app.services.errors import Refused


def prepare(session, action):
    """Fill the client from the linked contact, lead or deal and check the
    result against the action type."""
    with session.no_autoflush:
        _prepare(session, action)


def _prepare(session, action):
    if action.client is None and action.client_id is None:
        for link in (action.contact, action.deal, action.lead):
            if link is not None and link.client is not None:
                action.client = link.client
                break
    result = action.action_result
    if result is None and action.action_result_id is not None:
        result = session.get(ActionResult, action.action_result_id)
    if result is not None:
        type_id = action.action_type.id if action.action_type is not None \
            else action.action_type_id
        if result.action_type_id != type_id:
            raise Refused(_l("The result «%(result)s» does not belong to this action",
                             result=result.name), "action_result")
    if action.client is None and action.client_id is None and action.lead is None:
        raise Refused(_l("Choose a client, a contact, a lead or a deal"), "client")


def next_step(session, action, user_id=None):
    """``next_step_draft`` added and flushed (several steps at once)."""
    copy = next_step_draft(action, user_id)
    session.add(copy)
    session.flush()
    return copy


def next_step_draft(action, user_id=None):
    """A new planned action copied from ``action``: the same counterparty,
    links and type, based on it, without a result; not in the session (a
    form shows it, and nothing is saved until the user saves)."""
    copy = CounterpartyAction(
        client=action.client, contact=action.contact, lead=action.lead, deal=action.deal,
        action_type=action.action_type, responsible=action.responsible,
        responsible_id=action.responsible_id if action.responsible is None else None,
        planned_at=utcnow().replace(second=0, microsecond=0), based_on=action)
    if copy.responsible is None and copy.responsible_id is None and user_id is not None:
        copy.responsible_id = user_id
    return copy
