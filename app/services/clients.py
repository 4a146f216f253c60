"""Finding clients by what a person types: any part of a name, a phone
number in any format, an INN or an e-mail, in any case (services/search.py:
an index of every part, so a million clients answer as fast as a hundred)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import Client
from app.services import access, search

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


def find(session, text, user_id=None, limit=20):
    """Clients matching ``text`` that the user may see (None: all clients)."""
    condition = search.client_condition(text, session.get_bind().dialect.name)
    if condition is None:
        return []
    query = select(Client).where(condition).order_by(Client.name).limit(limit)
    if user_id is not None:
        query = query.where(access.clause(Client, user_id))
    return session.scalars(query).all()


def label(client):
    return f"{client.name} ({client.phone})" if client.phone else client.name
