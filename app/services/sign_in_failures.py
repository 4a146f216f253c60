"""The journal of failed sign-ins: one row per failed attempt on the
sign-in screen or the API (the security manager's ``auth_user_db``, which
both call), with the login as typed, the employee it names if any, the
client's address and why it failed.

The row is written after the answer has gone (the caller's ``later``), on
a connection of its own: a sign-in never waits for it, and every kind of
failure answers alike, so the journal tells nobody outside whether a login
exists. A failure to write is logged and otherwise ignored. Rows are kept
SIGN_IN_FAILURE_DAYS (the nightly «sign-in-failures» job removes older)."""
import datetime
import logging

from sqlalchemy import delete, insert

from app.models import SignInFailure, SignInFailureReason, utcnow
from app.services import staff

log = logging.getLogger(__name__)

USERNAME_LENGTH = SignInFailure.__table__.c.username.type.length
ADDRESS_LENGTH = SignInFailure.__table__.c.address.type.length


def reason_of(user, now=None):
    """Why a sign-in naming ``user`` (None: no such employee) failed."""
    if user is None:
        return SignInFailureReason.UNKNOWN_USER
    if staff.is_locked(user, now):
        return SignInFailureReason.LOCKED
    if not user.is_active:
        return SignInFailureReason.INACTIVE
    return SignInFailureReason.WRONG_PASSWORD


def row(username, user, address, reason, at=None):
    return {"at": at or utcnow(), "username": (username or "")[:USERNAME_LENGTH],
            "user_id": user.id if user is not None else None,
            "address": (address or None) and address[:ADDRESS_LENGTH], "reason": reason}


def write(engine, rows):
    """INSERT the rows on a connection of their own, never failing the caller."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(SignInFailure), rows)
    except Exception:  # noqa: BLE001  (the sign-in is answered; the journal is best effort)
        log.exception("Sign-in failures: the row was not written: %s", rows)


def failed(engine, username, user, address, reason, later=None):
    """Record a failed sign-in; ``later`` runs the write once the answer
    has been sent (without one, at once)."""
    rows = [row(username, user, address, reason)]
    (later or (lambda run: run()))(lambda: write(engine, rows))


def remove_old(session, now, days):
    """Delete the rows older than ``days``; returns how many."""
    since = now - datetime.timedelta(days=days)
    return session.execute(delete(SignInFailure).where(SignInFailure.at < since)).rowcount
