"""Scheduled jobs: a registry, a database lease that makes each
scheduled run execute once across processes and machines, and the
APScheduler that fires them.

Adding a job is one decorator in a module listed in JOB_MODULES::

    @job("imports", "every 1 minutes", _l("Process uploaded imports"))
    def imports(session, now, config):
        ...            # do the work with ``session``; the runner commits
        return "3 files imported"   # logged and kept as the last result

``now`` is the run's time (naive UTC), ``config`` the app's settings.

Single execution: every process may run the scheduler (two gunicorn
workers, several machines). A run first takes the job's row in
``job_lease`` with one atomic UPDATE … WHERE the lease has expired and the
scheduled time (the "slot") is newer than the last one taken, or an INSERT
… ON CONFLICT DO NOTHING on the first run. Exactly one process gets the
row for a slot; the others log that they skipped it. A process that dies
mid-run loses its lease after JOBS_LEASE_SECONDS; jobs are idempotent, so
the next slot finishes the work."""
import dataclasses
import datetime
import logging
import os
import re
import socket
import threading
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.models import JobLease, utcnow

log = logging.getLogger(__name__)

# Modules whose @job functions are registered when the jobs are loaded.
JOB_MODULES = ("app.jobs.followup", "app.jobs.imports", "app.jobs.personal_data",
               "app.jobs.sign_in_failures")
# How late a scheduled run may start and still count as its slot.
GRACE = datetime.timedelta(minutes=5)
EPOCH = datetime.datetime(2000, 1, 3, tzinfo=datetime.timezone.utc)
_TOKEN = uuid.uuid4().hex[:6]


def holder_id():
    """Who holds a lease: machine, process and thread (read at run time:
    gunicorn --preload imports this module before it forks the workers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}:{threading.get_ident()}"


@dataclasses.dataclass
class Job:
    name: str
    func: object
    schedule: str  # default; JOBS_SCHEDULES overrides
    description: str


JOBS = {}


def job(name, schedule, description=""):
    """Register ``func(session, now, config) -> str`` as job ``name``."""

    def register(func):
        JOBS[name] = Job(name, func, schedule, description)
        return func

    return register


def load():
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


# --- configuration -----------------------------------------------------------------

def _names(value):
    return {n.strip() for n in (value or "").split(",") if n.strip()}


def disabled(config):
    return _names(config.get("JOBS_DISABLED"))


def schedules(config):
    """{job name: schedule} with JOBS_SCHEDULES ("name=spec;name=spec") applied."""
    result = {name: j.schedule for name, j in load().items()}
    for part in (config.get("JOBS_SCHEDULES") or "").split(";"):
        if not part.strip():
            continue
        name, _, spec = part.partition("=")
        name = name.strip()
        if name not in result or not spec.strip():
            raise ValueError(f"JOBS_SCHEDULES: unknown job or empty schedule in {part!r}")
        result[name] = spec.strip()
    return result


_EVERY = re.compile(r"every\s+(\d+)\s+(second|minute|hour)s?", re.I)


def trigger_for(spec, tz_name):
    """A crontab line ("0 8 * * *", local time) or "every N seconds|minutes|hours"
    (counted from a fixed epoch, so every process computes the same times)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    match = _EVERY.fullmatch(spec.strip())
    if match:
        amount = int(match.group(1))
        if amount < 1:
            raise ValueError(f"Bad schedule {spec!r}")
        return IntervalTrigger(**{match.group(2).lower() + "s": amount}, start_date=EPOCH,
                               timezone=ZoneInfo(tz_name))
    return CronTrigger.from_crontab(spec, timezone=ZoneInfo(tz_name))


def current_slot(trigger, now):
    """The latest fire time of ``trigger`` not after ``now`` (aware), within GRACE."""
    fire = trigger.get_next_fire_time(None, now - GRACE)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + datetime.timedelta(microseconds=1))
    return last


def last_due(trigger, before):
    """The latest fire time of ``trigger`` not after ``before`` (aware), or
    None when there was none in the week before it."""
    from apscheduler.triggers.interval import IntervalTrigger

    if isinstance(trigger, IntervalTrigger):
        periods = (before - trigger.start_date) // trigger.interval
        return trigger.start_date + periods * trigger.interval if periods >= 0 else None
    # A frequent job's last run is found within hours, a daily one's only
    # by looking back further: walk a short window first.
    for window in (datetime.timedelta(hours=2), datetime.timedelta(days=8)):
        fire = trigger.get_next_fire_time(None, before - window)
        last = None
        while fire is not None and fire <= before:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + datetime.timedelta(microseconds=1))
        if last is not None:
            return last
    return None


def late(session, config, now, since):
    """Names of the enabled jobs whose run due after ``since`` (aware; e.g.
    when this server started) and more than GRACE and a minute before
    ``now`` no process has taken: no scheduler runs them anywhere."""
    tz_name = config.get("APP_TIMEZONE", "Europe/Moscow")
    taken = dict(session.execute(select(JobLease.name, JobLease.slot)).all())
    found, off = [], disabled(config)
    for name, spec in schedules(config).items():
        due = last_due(trigger_for(spec, tz_name), now - GRACE - datetime.timedelta(minutes=1))
        if name in off or due is None or due < since:
            continue
        slot = taken.get(name)
        if slot is None or slot.replace(tzinfo=datetime.timezone.utc) < due:
            found.append(name)
    return sorted(found)


def scheduler_running(app):
    """Is this process's scheduler alive? None when it should not run here
    (JOBS_ENABLED off, tests)."""
    if not should_start(app):
        return None
    scheduler = _started.get((os.getpid(), id(app)))
    return bool(scheduler is not None and scheduler.running)


# --- the lease ---------------------------------------------------------------------

def acquire(session, name, holder, now, ttl, slot=None):
    """Take the job's lease (and ``slot``, if given); True if this caller got
    it. Atomic in the database, so two processes never both get it."""
    table = JobLease.__table__
    until = now + ttl
    values = dict(holder=holder, lease_until=until, started_at=now, finished_at=None)
    if slot is not None:
        values["slot"] = slot
    insert = {"postgresql": postgresql.insert,
              "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT.
    taken = session.execute(insert(table).values(name=name, **values)
                            .on_conflict_do_nothing(index_elements=["name"])
                            .returning(table.c.name)).first() is not None
    if not taken:
        conditions = [table.c.name == name,
                      or_(table.c.lease_until.is_(None), table.c.lease_until < now)]
        if slot is not None:
            conditions.append(or_(table.c.slot.is_(None), table.c.slot < slot))
        taken = session.execute(update(table).where(*conditions).values(**values)
                                .returning(table.c.name)).first() is not None
    session.commit()
    return taken


def release(session, name, holder, result):
    now = utcnow()
    table = JobLease.__table__
    session.execute(update(table).where(table.c.name == name, table.c.holder == holder)
                    .values(lease_until=None, finished_at=now, result=(result or "")[:500]))
    session.commit()


# --- running -------------------------------------------------------------------------

def run(app, name, *, now=None, slot=None, holder=None):
    """Run job ``name`` once under its lease. Returns what it did, or None
    when another process holds the lease (or has taken this ``slot``)."""
    from flask_babel import force_locale

    from app import db

    job_ = load()[name]
    holder = holder or holder_id()
    with app.app_context():
        session = db.session
        try:
            now = now or utcnow()
            ttl = datetime.timedelta(seconds=app.config.get("JOBS_LEASE_SECONDS", 600))
            if not acquire(session, name, holder, now, ttl, slot):
                log.info("Job %s: skipped, another process has it (slot %s)", name, slot)
                return None
            log.info("Job %s: started by %s (slot %s)", name, holder, slot)
            try:
                with force_locale(app.config.get("BABEL_DEFAULT_LOCALE", "ru")):
                    result = job_.func(session, now, app.config) or "done"
                session.commit()
            except Exception as exc:
                session.rollback()
                log.exception("Job %s failed", name)
                release(session, name, holder, f"failed: {exc}")
                raise
            release(session, name, holder, result)
            log.info("Job %s: %s", name, result)
            return result
        finally:
            db.session.remove()


def run_scheduled(app, name, trigger):
    """What the scheduler fires: the run of the slot now due, once overall."""
    now = datetime.datetime.now(datetime.timezone.utc)
    slot = current_slot(trigger, now) or now
    slot_utc = slot.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    try:
        return run(app, name, slot=slot_utc)
    except Exception:  # logged in run(); the scheduler must keep going
        return None


# --- the scheduler ---------------------------------------------------------------------

_started = {}
_lock = threading.Lock()


def should_start(app):
    return bool(app.config.get("JOBS_ENABLED")) and not app.config.get("TESTING")


def start_scheduler(app, force=False):
    """Start APScheduler in this process with every enabled job, once per
    process. Not in tests and not unless JOBS_ENABLED (``force`` for tests
    of the scheduler itself). Returns the scheduler or None."""
    if not force and not should_start(app):
        return None
    from apscheduler.schedulers.background import BackgroundScheduler

    with _lock:
        key = (os.getpid(), id(app))
        if key in _started:
            return _started[key]
        tz_name = app.config.get("APP_TIMEZONE", "Europe/Moscow")
        scheduler = BackgroundScheduler(
            timezone=ZoneInfo(tz_name),
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(GRACE.total_seconds())})
        off = disabled(app.config)
        for name, spec in schedules(app.config).items():
            if name in off:
                log.info("Job %s is switched off (JOBS_DISABLED)", name)
                continue
            trigger = trigger_for(spec, tz_name)
            scheduler.add_job(run_scheduled, trigger, args=(app, name, trigger), id=name,
                              name=name)
            log.info("Job %s scheduled: %s", name, spec)
        scheduler.start()
        _started[key] = scheduler
        return scheduler


def stop_scheduler(app):
    with _lock:
        scheduler = _started.pop((os.getpid(), id(app)), None)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
