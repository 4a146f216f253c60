"""Leads: turning a lead into a deal, and the leads that arrive
from the website.

``convert`` creates the deal (and the client when none is linked), closes
the lead with links to both, gives the lead's notes and tasks to the client
and the deal, and records it in the history, all in the
caller's transaction: it only adds and flushes, so one rollback undoes
every part. ``convert_many`` runs each lead in a savepoint of its own."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.models import (
    Client,
    ClientKind,
    ContactPerson,
    Deal,
    DealStatus,
    Employee,
    LeadStatus,
    Note,
    Task,
    utcnow,
)
from app.services import access, assignment, deals, history
from app.services.errors import Refused


def candidates(session, lead, user_id=None, limit=10):
    """Existing clients that look like the lead's: the same phone (E.164),
    INN or e-mail; only those the user may see (None: all)."""
    return find_matching(session, lead.phone, lead.inn, lead.email, user_id, limit)


def find_matching(session, phone=None, inn=None, email=None, user_id=None, limit=10):
    """Clients with this phone, INN or e-mail (index look-ups)."""
    conditions = []
    if phone:
        conditions.append(Client.phone == phone)
    if inn:
        conditions.append(Client.inn == inn)
    email = (email or "").strip()
    if email:
        conditions.append(Client.email.in_({email, email.lower()}))
    if not conditions:
        return []
    # Newest first: of several clients with one phone, the latest is likeliest.
    query = select(Client).where(or_(*conditions)).order_by(Client.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(access.clause(Client, user_id))
    return session.scalars(query).all()


def client_from_lead(lead, name=None, responsible=None):
    """A new (unsaved) client with what the lead knows."""
    company = (lead.company_name or "").strip()
    name = (name or "").strip() or company or (lead.contact_name or "").strip() \
        or (lead.title or "").strip()
    kind = ClientKind.PERSON
    if company or (lead.inn and len(lead.inn) == 10):
        kind = ClientKind.SOLE_PROPRIETOR if lead.inn and len(lead.inn) == 12 \
            else ClientKind.COMPANY
    client = Client(name=name[:255], kind=kind, phone=lead.phone, email=lead.email,
                    inn=lead.inn, origin=lead.origin, segment=lead.segment,
                    responsible=responsible or lead.responsible,
                    participants=list(lead.participants))
    if kind != ClientKind.PERSON and lead.contact_name:
        client.contacts.append(ContactPerson(name=lead.contact_name[:255], phone=lead.phone,
                                             email=lead.email))
    return client


def check_convertible(lead):
    if lead.status == LeadStatus.CONVERTED or lead.deal_id is not None:
        raise Refused(_l("The lead is already converted to a deal"))
    if lead.status == LeadStatus.REJECTED:
        raise Refused(_l("A rejected lead cannot be converted to a deal"))


def convert(session, lead, *, client=None, client_name=None, title=None, amount=None,
            stage=None, expected_close=None, responsible=None):
    """Turn ``lead`` into a deal of ``client`` (a new client from the lead's
    data when None). ``responsible``: who gets the deal (and a new client)
    when the lead has nobody, usually the converting user. Returns the
    deal. Adds and flushes, never commits."""
    check_convertible(lead)
    responsible = lead.responsible or responsible
    if client is None:
        client = client_from_lead(lead, client_name, responsible)
        if not client.name:
            raise Refused(_l("Enter the client's name or full name"))
        session.add(client)
    title = (title or lead.title or "").strip()
    if not title:
        raise Refused(_l("Enter the deal's title"))
    deal = Deal(title=title[:255], client=client,
                amount=amount if amount is not None else (lead.amount or 0),
                stage=stage or deals.first_stage(session), expected_close=expected_close,
                status=DealStatus.OPEN, responsible=responsible,
                participants=list(lead.participants), comment=lead.comment)
    session.add(deal)
    deals.prepare(session, deal)
    lead.client = client
    lead.deal = deal
    lead.status = LeadStatus.CONVERTED
    lead.closed_at = utcnow()
    session.flush()
    _hand_over(session, lead, client, deal)
    history.record(session, "lead", lead.id, client.id, "convert", f"№{deal.id} {deal.title}")
    session.flush()
    return deal


def _hand_over(session, lead, client, deal):
    """The lead's notes and tasks become the client's and the deal's too,
    so the client's and the deal's timelines keep them (each one changed
    through the ORM: a task's change is in its history)."""
    for model in (Note, Task):
        for record in session.scalars(select(model).where(model.lead_id == lead.id)):
            record.client = client
            if record.deal_id is None:
                record.deal = deal


@dataclass
class BulkResult:
    converted: list = field(default_factory=list)  # [(lead, deal)]
    skipped: list = field(default_factory=list)  # [(lead, message)]


def convert_many(session, leads, user_id=None, responsible=None):
    """Convert each lead with its defaults: the first existing client that
    matches it (one the user may see), else a new one. A lead that fails is
    skipped with the reason; the others are kept."""
    result = BulkResult()
    for lead in leads:
        try:
            # A refusal rolls back this lead's savepoint only.
            with session.begin_nested():
                found = candidates(session, lead, user_id, limit=1) if lead.client is None \
                    else []
                deal = convert(session, lead,
                               client=lead.client or (found[0] if found else None),
                               responsible=responsible)
        except Refused as exc:
            result.skipped.append((lead, str(exc)))
        else:
            result.converted.append((lead, deal))
    return result


def route(session, lead, segment=None, default_manager=None):
    """Give a new lead to the manager whose turn it is in its segment (the
    matching client's segment first), else to the default manager."""
    if lead.client is not None and lead.client.segment is not None:
        segment = lead.client.segment
    lead.segment = segment
    manager_id = assignment.next_manager(session, segment) if segment is not None else None
    if manager_id is None and default_manager is not None:
        manager_id = default_manager.id if isinstance(default_manager, Employee) \
            else default_manager
    if manager_id is not None:
        lead.responsible = session.get(Employee, manager_id)


def matching_client(session, phone=None, email=None):
    """The client a web visitor most likely is (same phone or e-mail)."""
    found = find_matching(session, phone=phone, email=email, limit=1)
    return found[0] if found else None
