"""The scheduled clean-up of the journal of failed sign-ins."""
from flask_babel import lazy_gettext as _l

from app.jobs import job
from app.services import sign_in_failures


@job("sign-in-failures", "50 3 * * *", _l("Remove old rows of the sign-in failures journal"))
def old_failures(session, now, config):
    """Rows are kept SIGN_IN_FAILURE_DAYS after the attempt (0 keeps them
    for ever)."""
    days = config.get("SIGN_IN_FAILURE_DAYS", 90)
    if not days:
        return "kept: SIGN_IN_FAILURE_DAYS is 0"
    return f"{sign_in_failures.remove_old(session, now, days)} sign-in failure rows removed"
