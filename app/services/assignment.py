"""Who records go to.

Whom a user may give a record (its responsible, a task's assignee): the
one rule of forms, the API, the bulk actions and the write check
(services/records.py). A user who sees all clients gives records to
anyone; a user restricted to their own records gives them to themselves
alone, or, with the permission to assign colleagues, also to the active
employees of their own department (not of other departments, nor of the
departments under it: the head of sales' work).

Who gets a new record of a market segment: the managers bound
to the segment take turns (round-robin), so web leads and new clients of a
segment are shared evenly. One pointer per segment, kept in the database
and read under a row lock, so two servers never hand out the same turn."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import aliased

from app.models import Client, Employee, MarketSegment, segment_manager
from app.services.errors import Refused

# More than this many clients at once: the filter should be narrower.
BULK_LIMIT = 10000

# Whom a user may give records to (``scope``).
ANYONE = "anyone"
COLLEAGUES = "colleagues"
ONESELF = "oneself"


def scope_of(all_clients, colleagues):
    """The assignment scope of a user who sees all clients (``all_clients``)
    or may assign colleagues (``colleagues``)."""
    if all_clients:
        return ANYONE
    return COLLEAGUES if colleagues else ONESELF


def assignable(actor_id, scope):
    """SQL condition on Employee: whom the user ``actor_id`` may give
    records to."""
    if scope == ANYONE:
        return true()
    if scope == COLLEAGUES:
        me = aliased(Employee)
        return or_(Employee.id == actor_id, and_(
            Employee.active.is_(True),
            exists().where(me.id == actor_id, me.department_id.is_not(None),
                           me.department_id == Employee.department_id)))
    return Employee.id == actor_id


def may_assign(session, actor_id, scope, employee_id):
    """May ``actor_id`` give records to the employee ``employee_id``?"""
    if scope == ANYONE or employee_id == actor_id:
        return True
    if scope != COLLEAGUES or employee_id is None:
        return False
    return bool(session.scalar(select(exists().where(
        Employee.id == employee_id, assignable(actor_id, scope)))))


def _managers(session, segment_id):
    """Active managers of the segment, in a stable order (by id)."""
    return session.scalars(
        select(Employee.id).join(segment_manager, segment_manager.c.ab_user_id == Employee.id)
        .where(segment_manager.c.market_segment_id == segment_id,
               Employee.active.is_(True))
        .order_by(Employee.id)).all()


def next_manager(session, segment):
    """The id of the segment's manager whose turn it is, or None when the
    segment has no active manager. Moves the segment's pointer."""
    if segment is None:
        return None
    segment_id = segment if isinstance(segment, int) else segment.id
    turns = _turns(session, segment_id, 1) if segment_id is not None else []
    return turns[0] if turns else None


def _turns(session, segment_id, count):
    """The ids of the managers whose turns the next ``count`` records of the
    segment are, in order ([] without an active manager); moves the pointer
    past the last."""
    # FOR UPDATE on PostgreSQL (SQLite locks the whole database on write).
    row = session.scalars(select(MarketSegment).where(MarketSegment.id == segment_id)
                          .with_for_update()).first()
    if row is None:
        return []
    managers = _managers(session, segment_id)
    if not managers:
        return []
    chosen, last = [], row.last_assigned_id or 0
    for _ in range(count):
        last = next((m for m in managers if m > last), managers[0])
        chosen.append(last)
    row.last_assigned_id = last
    return chosen


def responsibles(session, segment_id, count=1, creator_id=None):
    """Who ``count`` new clients of a segment without a chosen responsible
    go to, in order: the creator when they are one of the segment's
    managers, otherwise the managers in turn; [] when the segment has no
    active manager. One rule for a client created on a screen, through the
    API or by an import (services/imports)."""
    if segment_id is None or count < 1:
        return []
    if creator_id is not None and creator_id in _managers(session, segment_id):
        return [creator_id] * count
    return _turns(session, segment_id, count)


def default_responsible(session, client, creator_id=None):
    """A new client of a segment without a chosen responsible goes to one of
    the segment's managers (``responsibles``). Nothing changes when a
    responsible is set."""
    if client.responsible_id is not None or client.responsible is not None:
        return
    segment_id = client.segment.id if client.segment is not None else client.segment_id
    chosen = responsibles(session, segment_id, 1, creator_id)
    if chosen:
        client.responsible = session.get(Employee, chosen[0])


def assign_segment(session, client_ids, segment, reassign=False, each_batch=None):
    """Put the clients in ``segment``; with ``reassign`` each also gets the
    segment's next manager as responsible. Goes through the ORM in batches,
    so the history records every change; ``each_batch`` (e.g. the session's
    commit) is called after each batch is flushed. Returns the number of
    clients."""
    client_ids = list(client_ids)
    if len(client_ids) > BULK_LIMIT:
        raise Refused(_l(
            "Too many clients at once (%(count)s); narrow the filter to %(limit)s or fewer",
            count=len(client_ids), limit=BULK_LIMIT))
    if reassign and not _managers(session, segment.id):
        raise Refused(_l("The segment has no active managers to hand clients to"))
    done = 0
    for start in range(0, len(client_ids), 500):
        batch = client_ids[start:start + 500]
        for client in session.scalars(select(Client).where(Client.id.in_(batch))
                                      .order_by(Client.id)):
            client.segment = segment
            if reassign:
                client.responsible = session.get(Employee, next_manager(session, segment))
            done += 1
        session.flush()
        if each_batch is not None:
            each_batch()
    return done
