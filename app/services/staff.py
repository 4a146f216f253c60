"""Employees, departments and login protection."""
import datetime
import secrets
import string

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app.services import references, trees
from app.services.errors import Refused

_ALPHABET = string.ascii_letters + string.digits + "!#%*+-=?@_"
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%*+-=?@_")


def generate_password(length=14):
    """A random password with every character class, easy to type."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if all(any(c in cls for c in password) for cls in _CLASSES):
            return password


def hash_password(password):
    return generate_password_hash(password, method="scrypt", salt_length=16)


def set_new_password(user):
    """Give ``user`` a fresh random password; returns it in clear, once."""
    password = generate_password()
    user.password = hash_password(password)
    return password


def password_matches(user, password):
    return bool(user.password) and check_password_hash(user.password, password)


def set_password(user, password):
    user.password = hash_password(password)


def check_can_delete(session, user, acting_user_id=None):
    if acting_user_id is not None and user.id == acting_user_id:
        raise Refused(_l("You cannot delete yourself"))
    found = references.usages(session, user)
    if found:
        raise Refused(
            _l(
                "The employee owns records (%(where)s) and cannot be deleted; "
                "deactivate them instead",
                where=references.describe(found),
            )
        )


def check_can_deactivate(user, acting_user_id):
    if user.id == acting_user_id and not user.active:
        raise Refused(_l("You cannot deactivate yourself"))


def check_department_parent(department):
    trees.check_parent(department)


def check_can_delete_department(session, department):
    found = references.usages(session, department)
    if found:
        raise Refused(
            _l(
                "The department cannot be deleted while it has %(where)s",
                where=references.describe(found),
            )
        )


# --- login lock ------------------------------------------------------------


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def is_locked(user, now=None):
    now = now or _utcnow()
    return bool(user.locked_until and user.locked_until > now)


def record_failed_login(user, attempts, minutes, now=None):
    """Lock the account for ``minutes`` once ``attempts`` failures pile up."""
    now = now or _utcnow()
    if (user.fail_login_count or 0) >= attempts:
        user.locked_until = now + datetime.timedelta(minutes=minutes)
        user.fail_login_count = 0
