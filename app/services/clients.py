"""Finding clients by what a person types: the start of a name, a phone
number or an INN. Prefix ranges on indexed columns, so a million clients
answer as fast as a hundred."""
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.models import Client
from app.services import access

_DIGITS = re.compile(r"\D")
NO_NAME = _l("Enter the client's name or full name")


class ClientError(ValueError):
    pass


def full_name(last, first, middle):
    return " ".join(part for part in (last, first, middle) if part)


def fill_name(client):
    """A person's name is their full name when left empty (screens, API and
    imports alike); a client without either is refused."""
    if not (client.name or "").strip():
        client.name = full_name(client.last_name, client.first_name, client.middle_name)[:255]
    if not client.name:
        raise ClientError(NO_NAME)


def _prefix(column, text):
    return (column >= text) & (column < text + "\uffff")


def find(session, text, user_id=None, limit=20):
    """Clients matching ``text`` that the user may see (None: all clients)."""
    text = (text or "").strip()[:100]
    if not text:
        return []
    conditions = [_prefix(Client.name, text), _prefix(Client.name, text[:1].upper() + text[1:])]
    digits = _DIGITS.sub("", text)
    if len(digits) >= 3:
        phone = "+7" + digits[1:] if digits[0] in "78" else "+" + digits
        conditions += [_prefix(Client.phone, phone), _prefix(Client.inn, digits)]
    query = select(Client).where(or_(*conditions)).order_by(Client.name).limit(limit)
    if user_id is not None:
        query = query.where(access.clause(Client, user_id))
    return session.scalars(query).all()


def label(client):
    return f"{client.name} ({client.phone})" if client.phone else client.name
