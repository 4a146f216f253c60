"""Times are stored as naive UTC and shown and typed in the office's zone
(APP_TIMEZONE): these two functions are the only crossing between them."""
import datetime
from zoneinfo import ZoneInfo


def to_local(moment, tz_name):
    """A naive UTC time as a naive local one (None stays None)."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=datetime.timezone.utc).astimezone(ZoneInfo(tz_name))
            .replace(tzinfo=None))


def to_utc(moment, tz_name):
    """A naive local time, as typed, as a naive UTC one. A time the clocks
    skip or repeat takes the earlier offset (fold=0)."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=ZoneInfo(tz_name)).astimezone(datetime.timezone.utc)
            .replace(tzinfo=None))
