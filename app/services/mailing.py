"""Mailing lists («Типы рассылки»): clients and contact persons are
put on a mailing type in bulk; a type's recipients are exported as CSV for a
mailing service. A client or contact who opted out is never exported (nor
are the contacts of a client who opted out)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from app.models import Client, ContactPerson, client_mailing, contact_mailing
from app.services import access, csv_io
from app.services.errors import Refused

BULK_LIMIT = 10000
HEADER = (_l("Email"), _l("Name"), _l("Phone"), _l("Client"), _l("Recipient"))


def _has_email(column):
    return and_(column.is_not(None), column != "")


def recipients(session, mailing_type_id, user_id=None, limit=None):
    """[(email, name, phone, client name, kind)] of the type, e-mails unique
    (first one wins), clients before contacts. ``user_id``: only clients the
    user may see (and their contacts)."""
    clients = (select(Client.email, Client.name, Client.phone, Client.name)
               .join(client_mailing, client_mailing.c.client_id == Client.id)
               .where(client_mailing.c.mailing_type_id == mailing_type_id,
                      Client.mailing_opt_out.is_(False), _has_email(Client.email))
               .order_by(Client.name, Client.id))
    contacts = (select(ContactPerson.email, ContactPerson.name, ContactPerson.phone,
                       Client.name)
                .join(contact_mailing, contact_mailing.c.contact_person_id == ContactPerson.id)
                .join(Client, Client.id == ContactPerson.client_id)
                .where(contact_mailing.c.mailing_type_id == mailing_type_id,
                       ContactPerson.mailing_opt_out.is_(False),
                       Client.mailing_opt_out.is_(False), _has_email(ContactPerson.email))
                .order_by(ContactPerson.name, ContactPerson.id))
    if user_id is not None:
        clients = clients.where(access.clause(Client, user_id))
        contacts = contacts.where(access.clause(Client, user_id))
    seen, rows = set(), []
    for query, kind in ((clients, _l("Client")), (contacts, _l("Contact person"))):
        for email, name, phone, client_name in session.execute(query):
            key = email.strip().lower()
            if key in seen:
                continue
            seen.add(key)
            rows.append((email.strip(), name, phone, client_name, kind))
            if limit is not None and len(rows) >= limit:
                return rows
    return rows


def export_csv(session, mailing_type_id, user_id=None, encoding="utf-8"):
    rows = recipients(session, mailing_type_id, user_id)
    return csv_io.to_csv([str(h) for h in HEADER], [[str(v) for v in r] for r in rows],
                         encoding)


def assign(session, model, ids, mailing_type, remove=False, each_batch=None):
    """Put the records (clients or contact persons) on ``mailing_type`` (or
    take them off). Through the ORM in batches, so the history sees it;
    ``each_batch`` (e.g. the session's commit) is called after each batch
    is flushed. Returns how many records changed."""
    ids = list(ids)
    if len(ids) > BULK_LIMIT:
        raise Refused(_l(
            "Too many records at once (%(count)s); narrow the filter to %(limit)s or fewer",
            count=len(ids), limit=BULK_LIMIT))
    changed = 0
    for start in range(0, len(ids), 500):
        for item in session.scalars(select(model).where(model.id.in_(ids[start:start + 500]))):
            present = mailing_type in item.mailing_types
            if remove and present:
                item.mailing_types.remove(mailing_type)
                changed += 1
            elif not remove and not present:
                item.mailing_types.append(mailing_type)
                changed += 1
        session.flush()
        if each_batch is not None:
            each_batch()
    return changed
