"""Row-level access: which clients, and records of clients, a user may see
and change.

Without the "access to all clients" permission a user sees the clients they
are responsible for or take part in, plus clients marked public; they may
change those where they are responsible or a participant, or that are public
for writing. A record of a client (application, deal, task, note, …) follows
its client; records the user is responsible for (or, for tasks, assigned to
or authored) are theirs too. A note or a task of a lead (a lead without a
client has them) follows the lead as well.

Each rule is one SQL expression, so lists, counts, exports and the API
filter in the database. The client ids are a UNION of three index lookups
rather than one OR over the client table, so the database never scans all
clients to answer a manager's page."""
from sqlalchemy import any_, exists, false, func, or_, select, true, union_all
from sqlalchemy.orm import aliased

from app.models import (
    Act,
    ActLine,
    Client,
    Deal,
    Employee,
    Invoice,
    InvoiceLine,
    Lead,
    Note,
    PrintedDocument,
    PublicAccess,
    Task,
    Upd,
    UpdLine,
    client_participant,
    deal_participant,
    lead_participant,
)

PARTICIPANTS = {Client: client_participant, Deal: deal_participant, Lead: lead_participant}
# Records of a lead (``lead_id``) besides those of a client: the lead's
# quick note and quick task (services/timeline.py).
LEAD_RECORDS = (Note, Task)
# A line follows the record it is a line of (its column naming that record).
LINE_OF = {ActLine: (Act, "document_id"), UpdLine: (Upd, "document_id")}


def _public(client, write):
    # IN, not "!= private": only an equality or IN can use the index.
    return client.public_access.in_(
        [PublicAccess.WRITE] if write else [PublicAccess.READ, PublicAccess.WRITE])


def _client_ids(user_id, write):
    """Every client id the user may see (or change): three index look-ups.
    UNION ALL: IN ignores duplicates, so sorting them out is wasted work."""
    return union_all(
        select(Client.id).where(Client.responsible_id == user_id),
        select(client_participant.c.client_id).where(
            client_participant.c.ab_user_id == user_id),
        select(Client.id).where(_public(Client, write)),
    )


def visible_clients(user_id, held):
    """Ids of the clients the user (None: one who sees all) may see whose
    row passes ``held`` (a condition on Client), each once: their own, then
    the public ones not theirs, then those they take part in that are
    neither. The first two are read on the indexes they are found by,
    which carry the search text and the owner (migration 0037): a search
    by a term no search index finds tests the 41 000 clients a bench
    manager sees without reading their rows, and a count stops as soon as
    it has enough."""
    if user_id is None:
        # Every client is in the index by public access: read in its order,
        # PostgreSQL tests its entries rather than the wide rows (21 against
        # 44 ms to find 251 of a rare pair of letters at a million clients;
        # SQLite takes the narrowest index that holds the text anyway).
        return select(Client.id).where(held).order_by(Client.public_access, Client.id)
    participant = client_participant
    public = _public(Client, False)
    not_own = or_(Client.responsible_id != user_id, Client.responsible_id.is_(None))
    return union_all(
        select(Client.id).where(Client.responsible_id == user_id, held),
        select(Client.id).where(public, not_own, held),
        select(Client.id).join(participant, participant.c.client_id == Client.id).where(
            participant.c.ab_user_id == user_id, not_own, ~public, held),
    )


def _indexed_client(user_id, write):
    """Is the client row visible, as conditions each of the client's own
    indexes answers (the participants' ids gathered once, as an array)?
    PostgreSQL's form of the visible clients: it combines them in a bitmap
    with the filter's own index (BitmapAnd): a manager's quick search reads
    the 600 visible rows of 15 000 matches (13 ms) rather than testing
    each match (25 ms) or building the set of 41 000 visible clients."""
    participant = client_participant
    return or_(
        Client.responsible_id == user_id,
        _public(Client, write),
        Client.id == any_(func.array(select(participant.c.client_id).where(
            participant.c.ab_user_id == user_id).scalar_subquery())),
    )


def _visible_client(client, user_id, write):
    """Is the row ``client`` (the Client entity or an alias) visible?"""
    participant = client_participant
    return or_(
        client.responsible_id == user_id,
        _public(client, write),
        exists().where(participant.c.client_id == client.id,
                       participant.c.ab_user_id == user_id),
    )


# One alias for every per-row look-up: a new alias would build its proxies
# of all the client's columns again, a fifth of a client page's CPU.
_CLIENT = aliased(Client, name="visible_client")


def _per_row(query):
    """True when ``query`` (one row at most: a look-up by primary key)
    finds its row: a scalar sub-select, which PostgreSQL runs for each row
    it tests. An EXISTS under OR it may turn into a hashed set of every
    row the sub-select could find, and did when it misjudged how many
    clients a manager sees (it takes any EXISTS to hold for half of the
    rows): a manager's task page at 100 000 clients read every client to
    hash the visible ones, 68 ms against 2.4 ms tested row by row (as
    conditions on the client's own indexes instead, 17 ms at 100 000, but
    180 ms at a million, where hashing the 41 000 visible cost more)."""
    return func.coalesce(query.scalar_subquery(), false())


def _client_test(client_id, user_id, write):
    """Is the client with id ``client_id`` visible? A per-row look-up."""
    return _per_row(select(true()).where(_CLIENT.id == client_id,
                                         _visible_client(_CLIENT, user_id, write)))


def _lead_ids(user_id, write):
    """Every lead id the user may see (or change), as ``clause(Lead)``
    answers: index look-ups, as ``_client_ids``."""
    return union_all(
        select(Lead.id).where(Lead.responsible_id == user_id),
        select(lead_participant.c.lead_id).where(lead_participant.c.ab_user_id == user_id),
        select(Lead.id).where(Lead.client_id.in_(_client_ids(user_id, write))),
    )


_LEAD = aliased(Lead, name="visible_lead")  # one alias, as _CLIENT


def _lead_test(lead_id, user_id, write):
    """Is the lead with id ``lead_id`` visible (``clause(Lead)``)? A per-row
    look-up; a row without a lead costs no look-up."""
    lead = _LEAD
    participant = lead_participant
    return lead_id.is_not(None) & _per_row(select(true()).where(lead.id == lead_id, or_(
        lead.responsible_id == user_id,
        exists().where(participant.c.lead_id == lead.id, participant.c.ab_user_id == user_id),
        _client_test(lead.client_id, user_id, write),
    )))


def clause(model, user_id, write=False, driving=False, dialect=None):
    """SQL condition: rows of ``model`` the user may see (or change).

    Two equivalent forms for the planner's sake. ``driving=True`` builds the
    set of visible clients first (index look-ups): best when few rows are
    visible, and for counting; on PostgreSQL (``dialect``) the clients
    themselves by their indexes (``_indexed_client``). The default tests
    each row as the database walks an index in the page's order: best for
    the first page of a long list, and for a single record."""
    if model is InvoiceLine:
        return InvoiceLine.invoice_id.in_(
            select(Invoice.id).where(clause(Invoice, user_id, write, driving)))
    if model in LINE_OF:
        parent, column = LINE_OF[model]
        return getattr(model, column).in_(
            select(parent.id).where(clause(parent, user_id, write, driving)))
    client_id = model.id if model is Client else model.client_id
    if driving and model is Client and dialect == "postgresql":
        visible = _indexed_client(user_id, write)
    elif driving:
        visible = client_id.in_(_client_ids(user_id, write))
    elif model is Client:  # the row at hand: no second look-up of it
        visible = _visible_client(Client, user_id, write)
    else:
        visible = _client_test(client_id, user_id, write)
    own = []
    if model is not Client and hasattr(model, "responsible_id"):
        own.append(model.responsible_id == user_id)
    if model is Task:
        own += [Task.assignee_id == user_id, Task.author_id == user_id]
    if model is PrintedDocument:
        own.append(PrintedDocument.author_id == user_id)
    if model in PARTICIPANTS and model is not Client:
        table = PARTICIPANTS[model]
        key = next(c for c in table.c if c.name != "ab_user_id")
        # Driving: the user's few records gathered once, not a probe per row.
        own.append(model.id.in_(select(key).where(table.c.ab_user_id == user_id)) if driving
                   else exists().where(key == model.id, table.c.ab_user_id == user_id))
    if model in LEAD_RECORDS:
        own.append(model.lead_id.in_(_lead_ids(user_id, write)) if driving
                   else _lead_test(model.lead_id, user_id, write))
    return or_(*own, visible)


def governed(model):
    """Does the row rule apply to ``model`` (a client or a record of one)?"""
    return (model is Client or model is InvoiceLine or model in LINE_OF
            or hasattr(model, "client_id"))


def owner_column(model):
    """A column of ``model`` whose value being the user makes the row visible
    to them (their own record), or None."""
    if model is Task:
        return Task.assignee_id
    return getattr(model, "responsible_id", None)


def owns(record, user_id):
    """Is ``record`` the user's own by its owner column? Then ``clause``
    holds for it, to read and to change."""
    column = owner_column(type(record))
    return column is not None and getattr(record, column.key) == user_id


def claim(session, item, user_id):
    """A new record belongs to its creator unless someone else was chosen:
    without a responsible it would vanish from its author's own list."""
    if hasattr(item, "responsible_id") and item.responsible is None:
        # The relationship, not the id: a form may have set it to None.
        item.responsible = session.get(Employee, user_id)
    if hasattr(item, "author_id") and item.author_id is None:
        item.author_id = user_id


def readable_ids(session, model, ids, user_id):
    """The ids among ``ids`` whose rows the user may read (all of them for
    None): a page links only what it can open (a manager's own deal may
    be of a client they cannot see)."""
    ids = {i for i in ids if i is not None}
    if user_id is None or not ids:
        return ids
    return set(session.scalars(select(model.id).where(model.id.in_(ids),
                                                      clause(model, user_id))))


def can_read(session, model, row_id, user_id):
    return bool(session.scalar(
        select(exists().where(model.id == row_id, clause(model, user_id)))
    ))


def can_write(session, model, row_id, user_id):
    return bool(session.scalar(
        select(exists().where(model.id == row_id, clause(model, user_id, write=True)))
    ))
