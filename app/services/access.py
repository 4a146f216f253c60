"""Row-level access: which clients, and records of clients, a user may see
and change (SPEC §1, seed 004).

Without the "access to all clients" permission a user sees the clients they
are responsible for or take part in, plus clients marked public; they may
change those where they are responsible or a participant, or that are public
for writing. A record of a client (application, deal, task, note, …) follows
its client; records the user is responsible for (or, for tasks, assigned to
or authored) are theirs too.

Each rule is one SQL expression, so lists, counts, exports and the API
filter in the database. The client ids are a UNION of three index lookups
rather than one OR over the client table, so the database never scans all
clients to answer a manager's page."""
from sqlalchemy import exists, or_, select, union

from app.models import (
    Client,
    Deal,
    Invoice,
    InvoiceLine,
    Lead,
    PublicAccess,
    Task,
    client_participant,
    deal_participant,
    lead_participant,
)

PARTICIPANTS = {Client: client_participant, Deal: deal_participant, Lead: lead_participant}


def _client_ids(user_id, write):
    public = (Client.public_access == PublicAccess.WRITE if write
              else Client.public_access != PublicAccess.PRIVATE)
    return union(
        select(Client.id).where(Client.responsible_id == user_id),
        select(client_participant.c.client_id).where(
            client_participant.c.ab_user_id == user_id),
        select(Client.id).where(public),
    )


def clause(model, user_id, write=False):
    """SQL condition: rows of ``model`` the user may see (or change)."""
    if model is Client:
        return Client.id.in_(_client_ids(user_id, write))
    if model is InvoiceLine:
        return InvoiceLine.invoice_id.in_(
            select(Invoice.id).where(clause(Invoice, user_id, write)))
    own = []
    if hasattr(model, "responsible_id"):
        own.append(model.responsible_id == user_id)
    if model is Task:
        own += [Task.assignee_id == user_id, Task.author_id == user_id]
    if model in PARTICIPANTS:
        table = PARTICIPANTS[model]
        key = next(c for c in table.c if c.name != "ab_user_id")
        own.append(exists().where(key == model.id, table.c.ab_user_id == user_id))
    return or_(*own, model.client_id.in_(_client_ids(user_id, write)))


def can_write(session, model, row_id, user_id):
    return bool(session.scalar(
        select(exists().where(model.id == row_id, clause(model, user_id, write=True)))
    ))


def can_write_client(session, client_id, user_id):
    return can_write(session, Client, client_id, user_id)
