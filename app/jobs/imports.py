"""Imports as jobs: a queued ``ImportJob`` is claimed by exactly one worker
and processed with the services of app/services/imports.py.

The claim is one UPDATE … SET status='running', worker=… WHERE id=… AND
status='queued': whichever process or thread runs it first gets rowcount 1,
every other gets 0, on SQLite and PostgreSQL alike. So the background thread
the upload starts and ``process_pending`` (which the scheduler calls every
few seconds) may both look at the same job safely.

The import and the final state of its journal entry are committed in one
transaction: the journal says "done" exactly when the rows are in. Progress
while it runs goes to a small JSON file next to the stored upload (the
import's own transaction is not visible to other connections until it
commits, and SQLite would not let a second connection write meanwhile)."""
import json
import logging
import os
import socket
import threading
import time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.jobs import job
from app.models import ImportJob, dictionary_models, utcnow
from app.services import history, imports, imports_custom

log = logging.getLogger(__name__)


def worker_name(kind="worker"):
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{kind}"[:100]


def claim(session, job_id, worker, attempts=20):
    """True if this worker took the queued job; False if another did (or
    the database stayed locked by another writer: the job stays queued)."""
    for attempt in range(attempts):
        try:
            result = session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.status == "queued")
                .values(status="running", worker=worker, started_at=utcnow(), rows_done=0)
            )
            session.commit()
            return result.rowcount == 1
        except OperationalError:
            session.rollback()
            time.sleep(0.2)
    log.warning("Import %s: could not claim it, the database stays locked", job_id)
    return False


def _take_write_lock(session, job_id, attempts=100):
    """Begin the import's transaction with a write. On SQLite a transaction
    that reads first and writes later fails with "database is locked" when
    another connection wrote in between; starting with a write takes the
    lock up front (waiting for other writers), so the import cannot lose it."""
    for attempt in range(attempts):
        try:
            session.execute(update(ImportJob).where(ImportJob.id == job_id)
                            .values(rows_done=0))
            return
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
    """Writes the progress file at most every ``every`` seconds, and last."""
    last = [0.0]

    def write(report, final=False):
        now = time.monotonic()
        if final or now - last[0] >= every:
            last[0] = now
            _write_progress(path, report)

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
    ), stored.get("header", [])


def process(session, job_id, worker):
    """Claim and run one job. Returns the job's final status, or None if
    another worker had it."""
    if not claim(session, job_id, worker):
        return None
    _take_write_lock(session, job_id)
    job = session.get(ImportJob, job_id)
    entity = imports.get_entity(job.entity)
    options, header = options_of(job)
    error_path = job.stored_path + ".errors.csv"
    if os.path.exists(error_path):
        os.remove(error_path)
    token = history.acting_user_id.set(job.user_id)
    report = None
    try:
        if entity is None:
            raise imports.FileProblem(f"unknown entity {job.entity}")
        entity = imports_custom.extend(session, entity)
        importer = imports.Importer(session, entity, options, error_path=error_path,
                                    encoding=job.encoding, header=header)
        report = importer.run(data_rows(job.stored_path, job.encoding, job.delimiter),
                              dry_run=job.dry_run,
                              progress=_progress_writer(progress_path(job)))
    except Exception as exc:  # noqa: BLE001  (the journal must say what happened)
        log.exception("Import %s failed", job_id)
        session.rollback()
        report = imports.Report(file_error=str(exc)[:500] if isinstance(
            exc, imports.FileProblem) else "internal error: " + type(exc).__name__)
        job = session.get(ImportJob, job_id)
    finally:
        history.acting_user_id.reset(token)
    _finish(job, report, error_path)
    session.commit()
    return job.status


def _finish(job, report, error_path):
    job.finished_at = utcnow()
    job.rows_done = report.total
    job.total_rows = max(job.total_rows or 0, report.total)
    job.created, job.updated = report.created, report.updated
    job.skipped, job.error_count = report.skipped, report.errors
    job.report = json.dumps(report.as_dict(), ensure_ascii=False, default=str)
    job.error_file = error_path if os.path.exists(error_path) else None
    if report.file_error:
        job.status = "failed"
    elif job.dry_run:
        job.status = "checked"
    else:
        job.status = "done" if report.applied else "failed"


def process_pending(app, worker=None, limit=20):
    """Run every queued import (the scheduler calls this every few seconds)."""
    from app import db

    with app.app_context():
        engine = db.engine
        with Session(engine) as session:
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
        with Session(db.engine) as session:
            return process(session, job_id, worker or worker_name("request"))


@job("imports", "every 10 seconds", _l("Imports queued for the background"))
def queued_imports(session, now, config):
    """Picks up what no upload thread took (a restarted server, a thread
    that died before its claim); the claim keeps two runners off one job."""
    from flask import current_app

    done = process_pending(current_app._get_current_object())
    return f"{len(done)} queued imports processed"


def start_background(app, job_id):
    """A thread right after the upload, so the user need not wait for the
    scheduled run; whichever claims the job first runs it."""
    thread = threading.Thread(target=run_now, args=(app, job_id, worker_name("thread")),
                              name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread
