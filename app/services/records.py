"""What every write and delete of a register record checks and fills in,
from a screen or the REST API (bulk actions re-read their ids through the
same write rule, access.clause; imports apply it set-wise).

A record may link only to records its writer may see, and to the client
(or invoice) it belongs to only when the writer may change that one; a
writer restricted to their own records may give a record only to whom
``assignment.may_assign`` allows: a new one to themselves alone, a stored
one to nobody (they may not take it either), unless they may assign
colleagues (then a new or stored one to any of them). Server-set fields (author,
times, numbers, totals) are in no form or API schema; ``admit`` fills the
author and the responsible."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import MANYTOONE

from app.models import (
    Act,
    ActLine,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    Employee,
    Invoice,
    InvoiceLine,
    Lead,
    Note,
    Task,
    Upd,
    UpdLine,
)
from app.services import (
    access,
    actions,
    assignment,
    clients,
    closing,
    deals,
    invoices,
    personal_data,
    tasks,
)
from app.services.errors import Refused

# The record belongs to these: writing it changes them.
PARENTS = ("client", "invoice", "document")
# Whoever holds these owns the record (and, for a client, its records); a
# task's assignee is given by the same rule as a responsible.
OWNERS = ("responsible", "assignee")

NOT_YOURS = _l("You may not change records of this client")
READ_ONLY = _l("This record is read-only for you")
HIDDEN = _l("No such record among those you may see")
ONLY_YOURSELF = _l("Only the head of sales or the administrator gives a record to "
                   "another employee")
NOT_A_COLLEAGUE = _l("You may give records only to colleagues of your department")


class Forbidden(Refused):
    """A link or an owner the writer may not set, or a record they may not
    change: the API answers it 403 (a rule's refusal 422). ``errors``:
    {field name: message} of every refused link."""


def _links(mapper):
    """(relationship, its foreign key attribute) of each many-to-one link."""
    return [(rel, mapper.get_property_by_column(next(iter(rel.local_columns))).key)
            for rel in mapper.relationships if rel.direction is MANYTOONE]


def stored_row(session, model, row_id):
    """{attribute: value} of the stored row, read before a form or an API
    body is copied onto the record: FAB may flush while copying (a
    many-to-many field's query), and then no history of the change is left.
    The rules of every channel compare the record with it."""
    columns = [attr for attr in inspect(model).column_attrs]
    with session.no_autoflush:
        row = session.execute(select(*(getattr(model, attr.key) for attr in columns))
                              .where(model.id == row_id)).first()
    return dict(zip((attr.key for attr in columns), row)) if row else None


def owner_refusal(session, actor_id, assign, employee_id, new):
    """The message refusing to give a record (``new``: a new one) to
    ``employee_id``, or None when the writer may (``assign``: their
    ``assignment`` scope)."""
    if assign == assignment.COLLEAGUES:
        if employee_id is None or assignment.may_assign(session, actor_id, assign, employee_id):
            return None
        return NOT_A_COLLEAGUE
    if assign == assignment.ANYONE or (new and employee_id in (None, actor_id)):
        return None
    # Without the permission a stored record keeps its owner.
    return ONLY_YOURSELF


def refusals(session, item, actor_id, viewer_id, stored=None, assign=assignment.ONESELF):
    """{field: message} of the links of ``item`` its writer may not make.
    ``viewer_id``: the writer when restricted to their own records, else
    None (then every link is theirs to make). ``stored``: the stored row's
    ``stored_row``, None for a new record. ``assign``: the writer's
    ``assignment`` scope."""
    if viewer_id is None:
        return {}
    errors = {}
    with session.no_autoflush:
        for rel, fk in _links(inspect(item).mapper):
            target = getattr(item, rel.key)
            row_id = target.id if target is not None else getattr(item, fk)
            changed = stored is None or stored.get(fk) != row_id
            model = rel.mapper.class_
            if model is Employee:
                if rel.key in OWNERS and changed:
                    refused = owner_refusal(session, actor_id, assign, row_id, stored is None)
                    if refused:
                        errors[rel.key] = refused
            elif row_id is not None and access.governed(model):
                if rel.key in PARENTS:
                    if not access.can_write(session, model, row_id, viewer_id):
                        errors[rel.key] = NOT_YOURS
                elif changed and not access.can_read(session, model, row_id, viewer_id):
                    errors[rel.key] = HIDDEN
    return errors


def _keep_owners(session, item, stored):
    """An owner left blank stays as stored: a writer who may not give the
    record away may not drop it either (nor lose it from their own list)."""
    for rel, fk in _links(inspect(item).mapper):
        if rel.key in OWNERS and getattr(item, rel.key) is None and stored.get(fk):
            setattr(item, rel.key, session.get(Employee, stored[fk]))


def admit(session, item, actor_id, viewer_id, stored=None, assign=assignment.ONESELF):
    """Refuse (``Forbidden``) what the writer may not link or set; give a new
    record (``stored`` None) its author and responsible: a client of a
    market segment goes to the segment's next manager, anything else to its
    writer."""
    if stored is not None and viewer_id is not None:
        _keep_owners(session, item, stored)
    errors = refusals(session, item, actor_id, viewer_id, stored, assign)
    if errors:
        raise Forbidden.several(errors)
    if stored is None:
        if isinstance(item, Client):
            assignment.default_responsible(session, item, actor_id)
        access.claim(session, item, actor_id)


# --- the entity's own rules ---------------------------------------------------

def _invoice(session, invoice, stored):
    # The new row joins the session only after FAB's hook: nothing may
    # flush it early.
    with session.no_autoflush:
        if stored is None:
            invoices.prepare(session, invoice, new=True)
        else:
            invoices.apply_change(session, invoice, stored)


def _invoice_line(session, line, stored):
    with session.no_autoflush:
        invoices.prepare_line(session, line)


def _client(session, client, stored):
    clients.fill_name(client)
    personal_data.check_consent(client)
    if stored is None and client.funnel_stage is None and client.funnel_stage_id is None:
        with session.no_autoflush:
            client.funnel_stage = deals.first_stage(session)


NO_SUBJECT = _l("Choose a client or a lead")


def _linked(session, item, key):
    """The record ``item`` links to by the relationship ``key`` (set as a
    record or as an id), or None."""
    target = getattr(item, key)
    row_id = getattr(item, key + "_id")
    if target is None and row_id is not None:
        target = session.get(inspect(type(item)).relationships[key].mapper.class_, row_id)
    return target


def _client_of_links(session, item, keys):
    """A record without a client gets the client of the first of its links
    ``keys`` that has one (a lead's note is its client's too; a lead without
    a client leaves it empty)."""
    with session.no_autoflush:
        if _linked(session, item, "client") is not None:
            return
        for key in keys:
            source = _linked(session, item, key)
            if source is not None and source.client_id is not None:
                item.client = session.get(Client, source.client_id)
                return


def _note(session, note, stored):
    _client_of_links(session, note, ("deal", "lead"))
    with session.no_autoflush:
        if _linked(session, note, "client") is None and _linked(session, note, "lead") is None:
            raise Refused(NO_SUBJECT, "client")


def _task(session, task, stored):
    _client_of_links(session, task, ("lead",))
    if stored is None and task.status is None and task.status_id is None:
        with session.no_autoflush:
            task.status = tasks.first_status(session)


# rule(session, record, stored row or None for a new record)
RULES = {
    Client: _client,
    ContactPerson: lambda session, contact, stored: personal_data.check_consent(contact),
    Lead: lambda session, lead, stored: personal_data.check_consent(lead),
    Note: _note,
    Task: _task,
    Deal: deals.prepare,
    CounterpartyAction: lambda session, action, stored: actions.prepare(session, action),
    Invoice: _invoice,
    InvoiceLine: _invoice_line,
    Act: closing.prepare,
    Upd: closing.prepare,
    ActLine: closing.prepare_line,
    UpdLine: closing.prepare_line,
}
OTHER_CLIENT = _l("Belongs to another client")


def check_same_client(session, item, stored=None):
    """A record of a client links only to that client's deal, contact,
    application, lead, project or invoice: a task planned on another
    client's deal would show in the wrong client's card and statistics.
    Checked where the client or the link changes (``stored``: as in
    ``refusals``), so an old record is not refused for an unrelated edit."""
    mapper = inspect(item).mapper
    if "client" not in mapper.relationships:
        return
    client_id = item.client.id if item.client is not None else item.client_id
    if client_id is None:
        return
    errors = {}
    with session.no_autoflush:
        for rel, fk in _links(mapper):
            model = rel.mapper.class_
            if model is Client or "client_id" not in model.__table__.columns:
                continue
            target = getattr(item, rel.key)
            row_id = target.id if target is not None else getattr(item, fk)
            if row_id is None or (stored is not None and stored.get(fk) == row_id
                                  and stored.get("client_id") == client_id):
                continue
            owner = target.client_id if target is not None else session.scalar(
                select(model.client_id).where(model.id == row_id))
            if owner is not None and owner != client_id:
                errors[rel.key] = OTHER_CLIENT
    if errors:
        raise Refused.several(errors)


def write(session, item, actor_id, viewer_id, stored=None, assign=assignment.ONESELF):
    """Every write of a register record, from a screen, the API or a bulk
    action: the record's own rules (they may fill links, e.g. an action's
    client from its deal), its links to one client, then ``admit``
    (``assign``: the writer's ``assignment`` scope). Raises ``Forbidden``
    or the rules' ``Refused``."""
    rule = RULES.get(type(item))
    if rule is not None:
        rule(session, item, stored)
    check_same_client(session, item, stored)
    admit(session, item, actor_id, viewer_id, stored, assign)


# rule(session, record) before the record is deleted: may refuse.
DELETE_RULES = {
    Client: lambda session, client: invoices.check_client_deletable(session, client.id),
    Deal: deals.forget,
    Invoice: lambda session, invoice: (invoices.ensure_deletable(session, invoice),
                                       closing.check_invoice_deletable(session, invoice)),
    InvoiceLine: lambda session, line: invoices.ensure_editable(session, line.invoice),
    Act: closing.ensure_deletable,
    Upd: closing.ensure_deletable,
    ActLine: lambda session, line: closing.ensure_editable(session, line.document),
    UpdLine: lambda session, line: closing.ensure_editable(session, line.document),
}
# after(session, record) once the record is saved or deleted.
AFTER = {
    InvoiceLine: lambda session, line: invoices.recalculate_invoice(session, line.invoice_id),
    ActLine: lambda session, line: closing.recalculate(session, Act, line.document_id),
    UpdLine: lambda session, line: closing.recalculate(session, Upd, line.document_id),
}


def delete(session, item, viewer_id):
    """Every delete of a register record, from a screen or the API: the
    access check (``viewer_id`` as in ``refusals``), then the record's own
    rules. Raises ``Forbidden`` or the rules' ``Refused``."""
    if viewer_id is not None and not access.can_write(session, type(item), item.id, viewer_id):
        raise Forbidden(READ_ONLY)
    rule = DELETE_RULES.get(type(item))
    if rule is not None:
        with session.no_autoflush:  # the stored rows, not the request's
            rule(session, item)


def written(session, item):
    """After ``item`` is saved or deleted: what follows from it (an invoice's
    totals after a line). True when something was changed (to commit)."""
    after = AFTER.get(type(item))
    if after is None:
        return False
    after(session, item)
    return True
