"""The life cycle of an import job: a queued ``ImportJob`` is claimed by
exactly one worker and processed with the services of
app/services/imports.py.

The claim is one UPDATE … SET status='running', worker=… WHERE id=… AND
status='queued': whichever process or thread runs it first gets rowcount 1,
every other gets 0, on SQLite and PostgreSQL alike. So the background thread
the upload starts and ``process_pending`` (which the scheduler calls every
few seconds) may both look at the same job safely.

The import (on SQLite its last chunk, see ``_checkpoint``) and the final
state of its journal entry are committed in one transaction: the journal
says "done" exactly when the rows are in. Progress while it runs goes to
a small JSON file next to the stored upload (on PostgreSQL the import's
transaction is not visible to other connections until it commits).

A worker that dies (a restart, a crash, the OOM killer) leaves its job
"running". Its heartbeat is the progress file, rewritten while batches go
in; ``take_back``, at every scheduled run, takes a job whose heartbeat is
older than IMPORT_LEASE_SECONDS back with an UPDATE … WHERE worker=<the
dead one>: it is queued again, or failed with a message after
IMPORT_MAX_ATTEMPTS claims. A live worker cannot lose its job to that: on
PostgreSQL its transaction holds the job's row (the take-back skips locked
rows), on SQLite its heartbeat is fresh (it writes the file between chunks
too), and the worker writes its start, each chunk and its end only WHERE it
is still the job's worker — a worker that lost the job rolls back what it
has not committed, and whoever runs the job next reverts the chunks it had.

Each claim is an ``ImportAttempt``, written in the claim's own commit and
closed in the transaction that ends it: the import's (finished, failed),
the take-back's (died, at the rows its progress file had reached) or,
best effort, the worker's own when it finds its job taken back (lost).
The journal tells from them a run that died and was taken over from one
that went through; ``stalled`` tells a running job whose worker gives no
sign of life, by the take-back's own test, before the take-back runs.

``remove_old_files`` removes the stored upload and the file of bad rows of
imports finished more than IMPORT_KEEP_DAYS ago; the journal keeps the
entry with the date the files went.

Unlike other services these commit on their own, each where another
connection must see the step or a lock must go: the claim and the
take-back (other workers race for the job), a chunk's checkpoint (SQLite's
one writer), the final state (with the import's last rows), the lost
attempt, and each batch of old files removed."""
import collections
import contextlib
import datetime
import json
import logging
import os
import socket
import threading
import time

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.models import ImportAttempt, ImportJob, dictionary_models, utcnow
from app.services import history, import_undo, imports, imports_custom

log = logging.getLogger(__name__)


def worker_name(kind="worker"):
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{kind}"[:100]


def claim(session, job_id, worker, attempts=20):
    """True if this worker took the queued job; False if another did (or
    the database stayed locked by another writer: the job stays queued)."""
    for attempt in range(attempts):
        try:
            now = utcnow()
            result = session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == "queued")
                .values(status="running", worker=worker, started_at=now, rows_done=0,
                        attempts=ImportJob.attempts + 1)
            )
            taken = result.rowcount == 1
            if taken:
                # In the claim's commit: no claim without its attempt.
                session.execute(insert(ImportAttempt).values(
                    job_id=job_id, worker=worker, started_at=now, rows_done=0,
                    outcome="running"))
            session.commit()
            return taken
        except OperationalError:
            session.rollback()
            time.sleep(0.2)
    log.warning("Import %s: could not claim it, the database stays locked", job_id)
    return False


def _take_write_lock(session, job_id, worker, heartbeat=None, attempts=100):
    """Begin the import's transaction with a write; False if the job is no
    longer this worker's (taken back as abandoned meanwhile).

    On SQLite a transaction that reads first and writes later fails with
    "database is locked" when another connection wrote in between; starting
    with a write takes the lock up front (waiting for other writers), so the
    import cannot lose it. On PostgreSQL the write locks the job's row until
    the import commits: the sign that its worker is alive."""
    for attempt in range(attempts):
        if heartbeat is not None:
            heartbeat()
        try:
            result = session.execute(
                update(ImportJob).where(ImportJob.id == job_id, ImportJob.worker == worker,
                                        ImportJob.status == "running").values(rows_done=0))
            return result.rowcount == 1
        except OperationalError:
            session.rollback()
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


def progress_path(job):
    return job.stored_path + ".progress.json"


def read_progress(job):
    """{rows_done, errors} of a running job, from its progress file."""
    try:
        with open(progress_path(job), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _progress_writer(path, every=0.5):
    """Writes the progress file at most every ``every`` seconds, and last.
    The file is the worker's heartbeat too (``abandoned``)."""
    last = [0.0]

    def write(report=None, final=False):
        now = time.monotonic()
        if final or now - last[0] >= every:
            last[0] = now
            _write_progress(path, report or imports.Report())

    return write


def _write_progress(path, report):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as fh:
        json.dump({"rows_done": report.total, "errors": report.errors,
                   "created": report.created, "updated": report.updated,
                   "skipped": report.skipped}, fh)
    os.replace(temporary, path)


def data_rows(path, encoding, delimiter):
    """The records after the header line."""
    rows = imports.records(path, encoding, delimiter)
    for line, cells in rows:
        if any(c.strip() for c in cells):
            break
    yield from rows


def options_of(job):
    stored = json.loads(job.options or "{}")
    models = {m.__name__: m for m in dictionary_models()}
    return imports.Options(
        mapping=stored.get("mapping", []), user_id=job.user_id,
        restricted=stored.get("restricted", True),
        on_duplicate=stored.get("on_duplicate", "skip"), mode=stored.get("mode", "all"),
        create_missing=stored.get("create_missing", False),
        may_create=frozenset(models[n] for n in stored.get("may_create", []) if n in models),
        timezone=stored.get("timezone", "Europe/Moscow"),
        error_label=stored.get("error_label", "Ошибка"),
        responsible_id=stored.get("responsible_id"),
        value_map=stored.get("value_map") or {}, job_id=job.id,
    ), stored.get("header", [])


def process(session, job_id, worker):
    """Claim and run one job. Returns the job's final status, or None if
    another worker had it (or took it back from this one)."""
    if not claim(session, job_id, worker):
        return None
    job = session.get(ImportJob, job_id)
    progress = _progress_writer(progress_path(job))
    session.rollback()
    if not _take_write_lock(session, job_id, worker, heartbeat=progress):
        session.rollback()
        log.warning("Import %s: taken back from %s before it started", job_id, worker)
        _lost(session, job_id, worker, 0)
        return None
    job = session.get(ImportJob, job_id)
    entity = imports.get_entity(job.entity)
    options, header = options_of(job)
    dry_run, total_rows = job.dry_run, job.total_rows or 0
    error_path = job.stored_path + ".errors.csv"
    if os.path.exists(error_path):
        os.remove(error_path)
    token = history.acting_user_id.set(job.user_id)
    report = None
    try:
        if import_undo.written(session, job_id):
            # A worker that died had committed chunks: the run starts over.
            import_undo.revert(session, job_id)
        if entity is None:
            raise imports.FileProblem(f"unknown entity {job.entity}")
        entity = imports_custom.extend(session, entity)
        importer = imports.Importer(session, entity, options, error_path=error_path,
                                    encoding=job.encoding, header=header)
        report = importer.run(data_rows(job.stored_path, job.encoding, job.delimiter),
                              dry_run=dry_run, progress=progress,
                              checkpoint=_checkpoint(session, job_id, worker, progress))
    except TakenBack:
        session.rollback()
        log.warning("Import %s: taken back from %s; its last chunk is rolled back", job_id,
                    worker)
        _lost(session, job_id, worker, 0)
        return None
    except Exception as exc:  # noqa: BLE001  (the journal must say what happened)
        log.exception("Import %s failed", job_id)
        session.rollback()
        report = imports.Report(file_error=str(exc)[:500] if isinstance(
            exc, imports.FileProblem) else "internal error: " + type(exc).__name__)
    finally:
        history.acting_user_id.reset(token)
    values = _final_state(dry_run, total_rows, report, error_path)
    if not _finish(session, job_id, worker, values):
        # Taken back meanwhile (this worker was thought dead): the import
        # is the new worker's to do; none of this run is kept.
        session.rollback()
        log.warning("Import %s: taken back from %s; its run is rolled back", job_id, worker)
        _lost(session, job_id, worker, report.total)
        return None
    session.commit()
    return values["status"]


class TakenBack(Exception):
    """The job was taken back from this worker (thought dead) meanwhile."""


def _checkpoint(session, job_id, worker, progress):
    """SQLite has one writer at a time: the import commits a chunk about
    every second (``Importer.run``), each only while the job is
    still this worker's, so that colleagues' saves wait briefly. The ledger
    commits with each chunk; whoever runs the job next takes back what a
    dead worker left (``import_undo.revert``). PostgreSQL's writers do not
    wait for each other: there the file stays one transaction."""
    if session.get_bind().dialect.name != "sqlite":
        return None

    def commit(report):
        # The heartbeat first: the rows a dead worker is said to have
        # reached are never fewer than those it committed.
        progress(report, final=True)
        mine = session.execute(
            update(ImportJob).where(ImportJob.id == job_id, ImportJob.worker == worker,
                                    ImportJob.status == "running")
            .values(rows_done=report.total)).rowcount == 1
        if not mine:
            raise TakenBack
        session.commit()

    return commit


def _final_state(dry_run, total_rows, report, error_path):
    if report.file_error:
        status = "failed"
    elif dry_run:
        status = "checked"
    else:
        status = "done" if report.applied else "failed"
    # The journal counts what happened: nothing, for a check or a refused
    # import (the report keeps what would have been).
    done = report.applied and not dry_run
    return dict(
        status=status, finished_at=utcnow(), rows_done=report.total,
        total_rows=max(total_rows, report.total),
        created=report.created if done else 0, updated=report.updated if done else 0,
        skipped=report.skipped if done else 0,
        error_count=report.errors,
        report=json.dumps(report.as_dict(), ensure_ascii=False, default=str),
        error_file=error_path if os.path.exists(error_path) else None)


def _finish(session, job_id, worker, values):
    """The journal's final state, in the import's transaction, only if the
    job is still this worker's."""
    result = session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.worker == worker,
                                ImportJob.status == "running").values(**values))
    if result.rowcount != 1:
        return False
    session.execute(
        update(ImportAttempt).where(ImportAttempt.id == _last_attempt(job_id, worker),
                                    ImportAttempt.outcome == "running")
        .values(outcome="failed" if values["status"] == "failed" else "finished",
                ended_at=values["finished_at"], rows_done=values["rows_done"]))
    return True


def _last_attempt(job_id, worker):
    """The id of ``worker``'s latest attempt at the job (a subquery)."""
    return (select(func.max(ImportAttempt.id))
            .where(ImportAttempt.job_id == job_id, ImportAttempt.worker == worker)
            .scalar_subquery())


def _lost(session, job_id, worker, rows_done):
    """Best effort: the attempt of a worker that found its job taken back
    says so. The take-back marked it "died" already, which stays if this
    cannot be written (on SQLite the new worker's import may hold the
    write lock for longer than the busy timeout)."""
    try:
        session.execute(
            update(ImportAttempt).where(ImportAttempt.id == _last_attempt(job_id, worker),
                                        ImportAttempt.outcome.in_(("running", "died")))
            .values(outcome="lost", ended_at=utcnow(), rows_done=rows_done))
        session.commit()
    except OperationalError:
        session.rollback()
        log.warning("Import %s: could not mark the attempt of %s lost", job_id, worker)


def process_pending(app, worker=None, limit=20):
    """Run every queued import (the scheduler calls this every few seconds)."""
    from app import db

    with app.app_context():
        with _own_session(db.engine) as session:
            ids = session.scalars(select(ImportJob.id).where(ImportJob.status == "queued")
                                  .order_by(ImportJob.id).limit(limit)).all()
            session.rollback()
            done = []
            for job_id in ids:
                status = process(session, job_id, worker or worker_name("scheduler"))
                if status is not None:
                    done.append(job_id)
        return done


def run_now(app, job_id, worker=None):
    """Process one job in this thread, in a session of its own."""
    from app import db

    with app.app_context():
        with _own_session(db.engine) as session:
            return process(session, job_id, worker or worker_name("request"))


@contextlib.contextmanager
def _own_session(engine):
    """A session on one connection for the whole run: a chunked import
    commits every second, and each commit would hand the connection back
    to the pool and the next chunk may get another, whose page cache
    (SQLite's is the connection's, 64 MB while an import writes) is cold."""
    with engine.connect() as connection, Session(bind=connection) as session:
        yield session


def _heartbeat(job_path):
    """When the worker last wrote the job's progress file (naive UTC), or None."""
    try:
        stamp = os.path.getmtime(job_path + ".progress.json")
    except OSError:
        return None
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).replace(tzinfo=None)


def _silent(started_at, stored_path, cutoff):
    """True if a running job's worker has given no sign of life (a claim,
    a progress write) since ``cutoff``."""
    return (started_at is not None and started_at < cutoff
            and (_heartbeat(stored_path) or cutoff) <= cutoff)


def abandoned(session, now, lease_seconds):
    """Running jobs whose worker has given no sign of life (a claim, a
    progress write) for ``lease_seconds``: rows of (id, worker, stored_path,
    attempts, started_at)."""
    cutoff = now - datetime.timedelta(seconds=lease_seconds)
    rows = session.execute(
        select(ImportJob.id, ImportJob.worker, ImportJob.stored_path, ImportJob.attempts,
               ImportJob.started_at)
        .where(ImportJob.status == "running", ImportJob.started_at < cutoff)
        .order_by(ImportJob.id)).all()
    return [r for r in rows if _silent(r.started_at, r.stored_path, cutoff)]


def stalled(job, config, now=None):
    """What becomes of a running job whose worker has given no sign of life
    for IMPORT_LEASE_SECONDS (``abandoned``'s test): "resume" if the
    take-back will queue it again, "fail" if it will fail it (its claims
    are IMPORT_MAX_ATTEMPTS); None for any other job. Until the take-back
    runs the journal would otherwise say «Выполняется» of a dead run. (On
    PostgreSQL a worker that is alive but silent that long keeps its job,
    its row being locked: then this says "stalled" of a run that
    continues, which the next progress write corrects.)"""
    if job.status != "running":
        return None
    cutoff = (now or utcnow()) - datetime.timedelta(
        seconds=config.get("IMPORT_LEASE_SECONDS", 300))
    if not _silent(job.started_at, job.stored_path, cutoff):
        return None
    return "resume" if (job.attempts or 0) < config.get("IMPORT_MAX_ATTEMPTS", 2) else "fail"


Attempt = collections.namedtuple("Attempt", "number started_at ended_at rows_done outcome")


def attempts_of(session, job, config, now=None):
    """The attempts of the job's current run, oldest first: its last
    ``job.attempts`` (a new run, such as the import after its check,
    counts its claims afresh). The outcome is as the journal tells it:
    the worker's running attempt is "stalled" while ``stalled`` says so,
    with the rows of its progress file; a running attempt of a worker that
    no longer has the job is "lost"."""
    if not job.attempts:
        return []
    rows = session.scalars(select(ImportAttempt).where(ImportAttempt.job_id == job.id)
                           .order_by(ImportAttempt.id.desc()).limit(job.attempts)).all()
    out = []
    for number, row in enumerate(reversed(rows), 1):
        outcome, rows_done = row.outcome, row.rows_done
        if outcome == "running":
            if job.status == "running" and job.worker == row.worker:
                outcome = "stalled" if stalled(job, config, now) else "running"
                rows_done = (read_progress(job) or {}).get("rows_done") or rows_done
            else:
                outcome = "lost"
        out.append(Attempt(number, row.started_at, row.ended_at, rows_done, outcome))
    return out


def take_back(session, now, config):
    """Queue again the jobs of workers that died, or fail them (with a
    message for the user) once they have been claimed IMPORT_MAX_ATTEMPTS
    times. Returns (queued again, failed)."""
    lease = config.get("IMPORT_LEASE_SECONDS", 300)
    most = config.get("IMPORT_MAX_ATTEMPTS", 2)
    queued = failed = 0
    for row in abandoned(session, now, lease):
        session.rollback()
        # Where the dead worker got to; its file goes once the job is taken.
        reached = (read_progress(row) or {}).get("rows_done") or 0
        ours = (ImportJob.id == row.id, ImportJob.status == "running",
                ImportJob.worker == row.worker)
        if row.attempts < most:
            values = dict(status="queued", worker=None, started_at=None, rows_done=0)
        else:
            message = _l("The import stopped: the process running it ended (a restart, a "
                         "crash or too little memory) %(n)s times before it finished. Nothing "
                         "was saved. Run it again, or split the file into smaller ones.",
                         n=row.attempts)
            values = dict(status="failed", finished_at=now, rows_done=0, created=0, updated=0,
                          skipped=0, error_count=0, error_file=None,
                          report=json.dumps(imports.Report(file_error=str(message)).as_dict(),
                                            ensure_ascii=False))
        try:
            if session.get_bind().dialect.name == "postgresql" and session.scalar(
                    select(ImportJob.id).where(*ours).with_for_update(skip_locked=True)) is None:
                # Locked: a live import's transaction holds the row.
                session.rollback()
                continue
            taken = session.execute(update(ImportJob).where(*ours).values(**values)).rowcount
            if taken:
                session.execute(
                    update(ImportAttempt)
                    .where(ImportAttempt.id == _last_attempt(row.id, row.worker),
                           ImportAttempt.outcome == "running")
                    .values(outcome="died", ended_at=now, rows_done=reached))
            session.commit()
        except OperationalError:  # SQLite: a live import holds the write lock
            session.rollback()
            continue
        if not taken:
            continue
        log.warning("Import %s: its worker %s stopped; %s", row.id, row.worker, values["status"])
        _remove(row.stored_path + ".progress.json")
        if values["status"] == "queued":
            queued += 1
        else:
            failed += 1
    return queued, failed


def run_queue(app, now, config):
    """Takes back the jobs of workers that died, then runs what no upload
    thread took (a restarted server, a thread that died before its claim);
    the claim keeps two runners off one job. Returns (the ids run, how many
    were queued again, how many failed)."""
    from app import db

    with Session(db.engine) as own:
        queued, failed = take_back(own, now, config)
    return process_pending(app), queued, failed


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def job_files(job):
    """The files an import keeps on disk: the stored upload, the file of
    bad rows, the progress file (``job``: a row with ``stored_path`` and
    ``error_file``)."""
    return sorted({job.stored_path, job.stored_path + ".errors.csv", job.error_file,
                   progress_path(job), progress_path(job) + ".tmp"} - {None})


def remove_old_files(session, now, keep_days, batch=500):
    """Delete the stored upload, the file of bad rows and the progress
    file of imports finished (or uploaded and never run) more than
    ``keep_days`` ago; their journal entries stay, dated when the files
    went. Returns how many imports lost their files."""
    cutoff = now - datetime.timedelta(days=keep_days)
    old = or_(and_(ImportJob.status.in_(("checked", "done", "failed", "undone")),
                   ImportJob.finished_at < cutoff),
              and_(ImportJob.status == "uploaded", ImportJob.created_at < cutoff))
    removed = 0
    while True:
        rows = session.execute(
            select(ImportJob.id, ImportJob.stored_path, ImportJob.error_file)
            .where(ImportJob.files_removed_at.is_(None), old)
            .order_by(ImportJob.id).limit(batch)).all()
        for row in rows:
            # Files first: a crash before the commit leaves them marked on
            # the next run, never marked and still there.
            for path in job_files(row):
                _remove(path)
        if rows:
            session.execute(update(ImportJob)
                            .where(ImportJob.id.in_([r.id for r in rows]))
                            .values(files_removed_at=now, error_file=None))
        session.commit()
        removed += len(rows)
        if len(rows) < batch:
            return removed


def start_background(app, job_id):
    """A thread right after the upload, so the user need not wait for the
    scheduled run; whichever claims the job first runs it."""
    thread = threading.Thread(target=run_now, args=(app, job_id, worker_name("thread")),
                              name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread
