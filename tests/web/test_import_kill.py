"""kill -9 of the process that runs an import: the
journal says «Выполняется» while the dead worker's heartbeat is fresh,
«Прервано, будет продолжено» once the lease has expired, and after the
take-back and the resume the report tells that attempt 1 died at the rows
it had reached and attempt 2 finished; the database holds the file's rows
exactly once: on PostgreSQL the killed run left none, on SQLite the resume
took back the chunks it had committed.

The import runs in a child process of the project's Python (the app
factory on the test database, the job runner as the scheduler calls it),
on SQLite and on PostgreSQL alike (TEST_DATABASE_URL)."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app import db
from app.models import Application, Client, HistoryEntry, ImportCreated, ImportJob, utcnow
from app.services import import_jobs
from app.services.values import number_text
from app.views.fields import datetime_text
from bench.imports import generate
from tests.conftest import queued_import
from tests.import_screens import job
from tests.web.test_import_attempts import attempts, told

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2
# Long enough on either database for the progress file to show rows done
# well before the end (PostgreSQL imports about half as fast).
ROWS = {"sqlite": 40000, "postgresql": 20000}
CHILD = """
import sys
from app import create_app
from app.services import import_jobs
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "TESTING": True,
                  "FAB_UPDATE_PERMS": False, "UPLOAD_FOLDER": sys.argv[3]})
print("claimed and done:", import_jobs.run_now(app, int(sys.argv[2])), flush=True)
"""


def wait_for(what, check, seconds, every=0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"waited {seconds} s for {what}")


def distinct_phones(path):
    """The rows the import keeps: one per phone (a repeat is a duplicate, skipped)."""
    with open(path, encoding="cp1251") as fh:
        next(fh)
        return len({line.split(";")[7] for line in fh if line.strip()})


def imported(session, first_id):
    clients = session.scalar(select(func.count()).select_from(Client)
                             .where(Client.id > first_id))
    applications = session.scalar(select(func.count()).select_from(Application)
                                  .where(Application.client_id > first_id))
    session.rollback()
    return clients, applications


def ledgered(session, job_id):
    """How many records the ledger says the job created."""
    count = session.scalar(select(func.coalesce(func.sum(
        ImportCreated.last_id - ImportCreated.first_id + 1), 0))
        .where(ImportCreated.job_id == job_id))
    session.rollback()
    return count


def test_an_import_killed_mid_run_is_told_and_resumed(app, as_role, session, tmp_path):
    backend = session.get_bind().dialect.name
    path = str(tmp_path / "alma.csv")
    generate(path, ROWS[backend])
    expected = distinct_phones(path)
    last_client = session.scalar(select(func.max(Client.id))) or 0
    last_application = session.scalar(select(func.max(Application.id))) or 0
    job_id = queued_import(session, path, "killed.csv")
    progress = path + ".progress.json"
    admin = as_role("admin")
    app.config.update(IMPORT_LEASE_SECONDS=LEASE)
    log = open(tmp_path / "child.log", "w")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, app.config["SQLALCHEMY_DATABASE_URI"], str(job_id),
         tempfile.mkdtemp()], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        def rows_done():
            assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
            try:
                with open(progress) as fh:
                    return json.load(fh)["rows_done"]
            except (OSError, ValueError, KeyError):
                return 0

        wait_for("the child to report rows done", rows_done, 30)
        if backend == "sqlite":  # past its first chunks, so that some are committed
            wait_for("a committed chunk", lambda: rows_done() and ledgered(session, job_id),
                     30)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
        with open(progress) as fh:
            reached = json.load(fh)["rows_done"]  # its last write before it died
        assert 0 < reached < ROWS[backend]
        clients, applications = imported(session, last_client)
        if backend == "sqlite":
            # Committed chunks (one writer at a time: the import lets others
            # in every fraction of a second), whole rows only, each ledgered;
            # the resume takes them back before it starts over.
            assert 0 < clients == applications <= reached
            assert ledgered(session, job_id) == clients + applications
        else:  # one transaction: nothing of the dead run
            assert (clients, applications) == (0, 0)

        # The heartbeat is fresh: as far as anyone can tell it runs.
        killed = job(app, job_id)
        assert killed.status == "running" and killed.worker.endswith(":request")
        assert "Выполняется" in admin.get(f"/import/job/{job_id}/report").text
        # The lease runs out: the journal stops saying it runs.
        beat = os.path.getmtime(progress)
        time.sleep(max(0.0, beat + LEASE + 0.2 - time.time()))
        page = admin.get(f"/import/job/{job_id}/report").text
        assert "Прервано, будет продолжено" in page and "Выполняется" not in page
        started = attempts(session, job_id)[0].started_at
        with app.app_context():
            first = f"Попытка 1: начата {datetime_text(started)}, прервана на строке " \
                    f"{number_text(reached, grouped=True)} (процесс остановился)"
        assert told(page) == [first]
        status = admin.get(f"/import/job/{job_id}/status").get_json()
        assert status["status_label"] == "Прервано, будет продолжено"
        assert not status["finished"]
        journal = admin.get("/imports/list/").text
        assert re.search(r"killed\.csv.*?Прервано, будет продолжено", journal, re.S)

        # The scheduled run: take back (on PostgreSQL once the server has
        # seen the connection go and released the job's row), then resume.
        with app.app_context():
            engine = db.engine

        def taken_back():
            with app.app_context(), Session(engine) as own:
                import_jobs.take_back(own, utcnow(), app.config)  # others' too, if any
                return own.get(ImportJob, job_id).status == "queued"

        wait_for("the take-back", taken_back, 10, every=0.2)
        assert job_id in import_jobs.process_pending(app)
        done = job(app, job_id)
        assert done.status == "done" and done.attempts == 2 and done.created == expected
        assert imported(session, last_client) == (expected, expected)
        assert ledgered(session, job_id) == 2 * expected  # the dead run's entries are gone
        died, finished = attempts(session, job_id)
        assert (died.outcome, died.rows_done) == ("died", reached)
        assert (finished.outcome, finished.rows_done) == ("finished", ROWS[backend])
        page = admin.get(f"/import/job/{job_id}/report").text
        with app.app_context():
            second = f"Попытка 2: начала импорт заново {datetime_text(finished.started_at)}, " \
                     f"завершена {datetime_text(done.finished_at)}"
        assert told(page) == [first, second]
        assert "import-done" in page
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
        app.config.update(IMPORT_LEASE_SECONDS=300)
        # Other tests count the clients of the shared database.
        session.rollback()
        session.execute(delete(HistoryEntry).where(or_(
            HistoryEntry.client_id > last_client,
            (HistoryEntry.entity == "client") & (HistoryEntry.entity_id > last_client),
            (HistoryEntry.entity == "application")
            & (HistoryEntry.entity_id > last_application))))
        session.execute(delete(Application).where(Application.client_id > last_client))
        session.execute(delete(Client).where(Client.id > last_client))
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed"))
        session.commit()
