"""A client's name from its parts and how a client reads in a link field
(finding one by what a person types: services/search.py, lookups.py)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import Client
from app.services.errors import Refused

NO_NAME = _l("Enter the client's name or full name")
# Read once: the attribute's look-up through the mapper was a tenth of an
# import's time when asked for every row.
NAME_LENGTH = Client.__table__.c.name.type.length


def full_name(last, first, middle):
    """The name a person's parts make, cut to what the name column holds."""
    joined = " ".join(part for part in (last, first, middle) if part)
    return joined[:NAME_LENGTH]


def fill_name(client):
    """A person's name is their full name when left empty (screens, API and
    imports alike); a client without either is refused."""
    if not (client.name or "").strip():
        client.name = full_name(client.last_name, client.first_name, client.middle_name)
    if not client.name:
        raise Refused(NO_NAME, "name")


def label(client):
    return f"{client.name} ({client.phone})" if client.phone else client.name


def duplicates(session, client, limit=5):
    """Other clients whose phone is a phone of ``client``, or with its INN:
    [(field, id)] (the main phone and the INN are indexed; a second phone
    is compared with the others' main phones)."""
    found = []
    for field, value in (("phone", client.phone), ("phone", client.phone2), ("inn", client.inn)):
        if not value:
            continue
        column = Client.phone if field == "phone" else Client.inn
        ids = session.scalars(select(Client.id).where(column == value, Client.id != client.id)
                              .order_by(Client.id).limit(limit)).all()
        found += [(field, other) for other in ids if (field, other) not in found]
    return found[:limit]
