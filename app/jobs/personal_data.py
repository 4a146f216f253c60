"""The scheduled clean-up of the personal data access log."""
from flask_babel import lazy_gettext as _l

from app.jobs import job
from app.services import personal_data


@job("personal-data-log", "40 3 * * *", _l("Remove old rows of the personal data access log"))
def old_log_rows(session, now, config):
    """Rows are kept PERSONAL_DATA_LOG_DAYS after they were written (0 keeps
    them for ever)."""
    days = config.get("PERSONAL_DATA_LOG_DAYS", 365)
    if not days:
        return "kept: PERSONAL_DATA_LOG_DAYS is 0"
    return f"{personal_data.remove_old(session, now, days)} access log rows removed"
