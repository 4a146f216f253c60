"""Times are stored as naive UTC and shown and typed in the office's zone
(APP_TIMEZONE): screens, list filters, the statistics, the calendar, the
jobs' notices, the CSV import's date-time parser and printed documents
cross between them here. Only the scheduler takes the zone itself
(APScheduler's triggers fire at office hours).

A local day is not always 24 hours (daylight saving), nor its midnight
on a whole UTC hour (India's +5:30): days and offsets are taken from the
zone, never added as a fixed number of hours."""
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


def midnight_utc(day, tz_name):
    """The UTC moment the local ``day`` begins."""
    return to_utc(datetime.datetime.combine(day, datetime.time()), tz_name)


def today(tz_name, now=None):
    """The local date at ``now`` (an aware time; default: the present)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.astimezone(ZoneInfo(tz_name)).date()


def _offset(moment, zone):
    return moment.replace(tzinfo=datetime.timezone.utc).astimezone(zone).utcoffset()


def offset_spans(since, until, tz_name):
    """[(start, end, offset)]: the naive UTC stretch [since, until) cut where
    the zone's UTC offset changes, each piece with its offset. Offsets
    change at most a few times a year: looked at once a day, a change found
    to the minute by halving."""
    zone, spans, start = ZoneInfo(tz_name), [], since
    offset = _offset(since, zone)
    step = datetime.timedelta(days=1)
    at = since
    while at < until:
        ahead = min(at + step, until)
        if _offset(ahead, zone) != offset:
            low, high = at, ahead  # offset at low is the old, at high the new
            while high - low > datetime.timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(middle, zone) == offset else (low, middle)
            change = high.replace(second=0, microsecond=0)
            if _offset(change, zone) == offset:
                change += datetime.timedelta(minutes=1)
            spans.append((start, change, offset))
            start, offset = change, _offset(change, zone)
            at = change
            continue
        at = ahead
    spans.append((start, until, offset))
    return spans
