"""In-app notifications (the bell in the top bar) and their e-mail copies.

``notify`` is the one entry point for every feature that tells an employee
something: task reminders, overdue tasks, the head of sales' lists and
digest, later the web-to-lead form. A ``key`` makes it idempotent: the
same key never reaches the same user twice, whatever process or machine
sends it (a unique constraint, INSERT … ON CONFLICT DO NOTHING).

E-mail goes out after the transaction commits (nothing is mailed for a
notification that was rolled back), when SMTP is configured (MAIL_SERVER)
and the employee has an address."""
import logging

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Employee, Notification, utcnow
from app.services import mail

log = logging.getLogger(__name__)

_PENDING = "sdelka_pending_mail"
SUBJECT_PREFIX = "Сделка CRM: "


def safe_link(link):
    """Only links inside the app: "/tasks/show/5", never "//host" or "http:"."""
    link = (link or "").strip()
    if not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    return link[:500]


def notify(session, user_id, text, link=None, key=None, *, kind="info", subject=None,
           email=True):
    """Give ``user_id`` a notification; returns its id, or None when one with
    the same ``key`` exists already. E-mailed after commit when configured.
    The caller commits."""
    values = dict(user_id=user_id, text=text, link=safe_link(link),
                  key=key[:150] if key else None, kind=kind, created_at=utcnow())
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (insert(Notification).values(**values)
                 .on_conflict_do_nothing(index_elements=["user_id", "key"])
                 .returning(Notification.id))
    new_id = session.execute(statement).scalar()
    if new_id is None:
        return None
    if email:
        address = session.scalar(select(Employee.email).where(Employee.id == user_id,
                                                               Employee.active.is_(True)))
        if address:
            first_line = text.strip().splitlines()[0] if text.strip() else ""
            session.info.setdefault(_PENDING, []).append(
                (new_id, address, subject or SUBJECT_PREFIX + first_line[:120], text,
                 values["link"]))
    return new_id


def unread_count(session, user_id):
    """The bell's number: one look-up in the (user_id, read_at) index."""
    return session.scalar(select(unread_count_of(user_id)))


def unread_count_of(user_id):
    """The bell's number as a column, for a query that reads the user."""
    return select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).scalar_subquery()


def for_user(session, user_id, *, page=0, per_page=50, unread_only=False):
    """(notifications, has_more) of one user, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.created_at.desc(),
                                          Notification.id.desc())
                           .offset(page * per_page).limit(per_page + 1)).all()
    return rows[:per_page], len(rows) > per_page


def get_own(session, user_id, notification_id):
    """The user's own notification, or None (also for someone else's)."""
    return session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id))


def mark_read(session, user_id, ids=None):
    """Mark the user's unread notifications (all, or those of ``ids``) read;
    others' ids are ignored. Returns how many changed. The caller commits."""
    statement = (update(Notification)
                 .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                 .values(read_at=utcnow()))
    if ids is not None:
        statement = statement.where(Notification.id.in_(list(ids)))
    return session.execute(statement).rowcount


# --- e-mail after commit -------------------------------------------------------

def _mail_settings():
    from flask import current_app, has_app_context

    return current_app.config if has_app_context() else {}


@event.listens_for(Session, "after_commit")
def _send_pending(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    settings = _mail_settings()
    if not mail.enabled(settings):
        return
    base = (settings.get("APP_BASE_URL") or "").rstrip("/")
    sent = []
    for notification_id, address, subject, text, link in pending:
        body = text + (f"\n\n{base}{link}" if link else "") + \
            "\n\n-- \nСделка CRM. Уведомления также видны в программе (колокольчик вверху)."
        if mail.send(settings, address, subject, body):
            sent.append(notification_id)
    if sent:
        # The session cannot run SQL in after_commit: a connection of its own.
        with session.get_bind().connect() as conn:
            conn.execute(update(Notification).where(Notification.id.in_(sent))
                         .values(emailed_at=utcnow()))
            conn.commit()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)
