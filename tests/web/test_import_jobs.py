"""Imports whose worker died are taken back by the scheduled ``imports`` job
(queued again, then failed with a message), never left "running"; a live
worker keeps its job; the files of old imports are removed by the
``import-files`` job while their journal entries stay."""
import datetime
import os

from sqlalchemy import update
from sqlalchemy.orm import Session

from app import db
from app.models import Client, ImportJob, utcnow
from app.services import import_jobs, imports
from tests.conftest import unique
from tests.import_screens import (
    ALMA,
    alma_rows,
    count,
    job,
    job_id_of,
    purge,
    queued_job,
    run,
    upload,
)


def run_job(app, name):
    result = app.test_cli_runner().invoke(args=["jobs", "run", name])
    assert result.exit_code == 0, result.output
    return result.output


def change(app, job_id, **values):
    with app.app_context():
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
        db.session.commit()
        db.session.remove()


def ago(**delta):
    return utcnow() - datetime.timedelta(**delta)


def died(app, job_id, worker="dead-worker", attempts=1):
    """The job as a worker leaves it when its process is killed mid-run:
    claimed ten minutes ago, a progress file last written then."""
    change(app, job_id, status="running", worker=worker, started_at=ago(minutes=10),
           attempts=attempts)
    path = job(app, job_id).stored_path + ".progress.json"
    with open(path, "w") as fh:
        fh.write('{"rows_done": 0}')
    stale = (utcnow() - datetime.datetime(1970, 1, 1)).total_seconds() - 600
    os.utime(path, (stale, stale))


def test_an_import_left_running_by_a_dead_worker_is_run_again(app, session):
    surname = unique("Воскресенский").replace(" ", "")
    job_id = queued_job(app, "\n".join([ALMA, *alma_rows(5, surname)]) + "\n")
    died(app, job_id)
    output = run_job(app, "imports")
    assert "1 abandoned ones queued again" in output and "1 queued imports processed" in output
    done = job(app, job_id)
    assert done.status == "done" and done.worker != "dead-worker" and done.attempts == 2
    assert count(session, Client, Client.last_name == surname) == 5
    purge(session, Client.last_name == surname)


def test_an_import_whose_worker_died_twice_fails_with_a_message(app, as_role, session):
    manager = as_role("manager")
    surname = unique("Дваждыпадов").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(3, surname)]) + "\r\n"
    job_id = job_id_of(upload(manager, imports.ALMA_KEY, body))
    died(app, job_id, attempts=2)
    assert "1 failed" in run_job(app, "imports")
    failed = job(app, job_id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert "2" in failed.report_data["file_error"]
    assert count(session, Client, Client.last_name == surname) == 0
    page = manager.get(f"/import/job/{job_id}/report").text
    assert "import-file-error" in page and "Ничего не сохранено" in page
    # The manager starts it again: it runs, with a fresh count of attempts.
    run(manager, app, job_id)
    again = job(app, job_id)
    assert again.status == "done" and again.attempts == 1
    assert count(session, Client, Client.last_name == surname) == 3
    purge(session, Client.last_name == surname)


def test_a_live_import_is_not_taken_back(app, session):
    job_id = queued_job(app, ALMA + "\n")
    died(app, job_id, worker="alive")
    with app.app_context():
        engine = db.engine
        config = app.config
    # A heartbeat (its progress file) within the lease: alive.
    os.utime(job(app, job_id).stored_path + ".progress.json")
    with Session(engine) as own:
        assert import_jobs.take_back(own, utcnow(), config) == (0, 0)
    assert job(app, job_id).status == "running"
    # No heartbeat, but its transaction is open (it holds the job's row on
    # PostgreSQL, the write lock on SQLite): alive too.
    died(app, job_id, worker="alive")
    with Session(engine) as holder, Session(engine) as own:
        holder.execute(update(ImportJob).where(ImportJob.id == job_id).values(rows_done=7))
        assert import_jobs.take_back(own, utcnow(), config) == (0, 0)
        holder.rollback()
        assert job(app, job_id).status == "running"
        # Its transaction gone, nothing shows it alive: taken back.
        assert import_jobs.take_back(own, utcnow(), config) == (1, 0)
    assert job(app, job_id).status == "queued" and job(app, job_id).worker is None
    change(app, job_id, status="failed")


def test_a_worker_that_lost_its_job_keeps_nothing(app, session, monkeypatch):
    surname = unique("Потерянов").replace(" ", "")
    body = "\n".join([ALMA, *alma_rows(4, surname)]) + "\n"
    with app.app_context():
        engine = db.engine

    # Taken back (and claimed by another worker) between claim and start.
    job_id = queued_job(app, body)
    real_claim = import_jobs.claim

    def claim_then_lose(session, job_id, worker, attempts=20):
        taken = real_claim(session, job_id, worker, attempts)
        change(app, job_id, worker="other")
        return taken

    monkeypatch.setattr(import_jobs, "claim", claim_then_lose)
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "slow") is None
    monkeypatch.setattr(import_jobs, "claim", real_claim)
    assert job(app, job_id).worker == "other"
    assert count(session, Client, Client.last_name == surname) == 0
    change(app, job_id, status="failed")

    # Taken back while the rows went in: its final write finds the job is
    # not its own, and the rows are rolled back with it.
    job_id = queued_job(app, body)
    real_run = imports.Importer.run

    def run_then_lose(self, *args, **kwargs):
        report = real_run(self, *args, **kwargs)
        self.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                             .values(worker="other"))
        return report

    monkeypatch.setattr(imports.Importer, "run", run_then_lose)
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "slow") is None
    assert count(session, Client, Client.last_name == surname) == 0
    assert job(app, job_id).status == "running"  # the other worker's to finish
    change(app, job_id, status="failed")


def test_files_of_old_imports_are_removed_and_the_journal_keeps_them(app, as_role, session):
    manager = as_role("manager")
    surname = unique("Староархивов").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(2, surname), f"{surname};лишь;три"]) + "\r\n"
    old = job_id_of(upload(manager, imports.ALMA_KEY, body, name="old.csv"))
    run(manager, app, old, mode="good")
    recent = job_id_of(upload(manager, imports.ALMA_KEY, body, name="recent.csv"))
    run(manager, app, recent, action="dry")
    never_run = job_id_of(upload(manager, imports.ALMA_KEY, body, name="never.csv"))
    finished = job(app, old)
    assert finished.status == "done" and os.path.exists(finished.error_file)
    change(app, old, finished_at=ago(days=31))
    change(app, recent, finished_at=ago(days=29))
    change(app, never_run, created_at=ago(days=40))
    app.config.update(IMPORT_KEEP_DAYS=0)
    try:
        assert "kept" in run_job(app, "import-files")
        assert os.path.exists(finished.stored_path)
    finally:
        app.config.update(IMPORT_KEEP_DAYS=30)
    assert "files of" in run_job(app, "import-files")
    gone, kept, unused = job(app, old), job(app, recent), job(app, never_run)
    assert not os.path.exists(finished.stored_path) and not os.path.exists(finished.error_file)
    assert gone.files_removed_at is not None and gone.error_file is None
    assert gone.status == "done" and gone.created == 2 and gone.report_data["total"] == 3
    assert os.path.exists(kept.stored_path) and kept.files_removed_at is None
    assert unused.files_removed_at is not None and not os.path.exists(unused.stored_path)
    # The journal and the report still tell what happened, and that the files went.
    assert "old.csv" in manager.get("/imports/list/").text
    page = manager.get(f"/import/job/{old}/report").text
    assert "import-files-removed" in page and "import-errors-file" not in page
    assert manager.get(f"/import/job/{old}/errors.csv").status_code == 404
    response = manager.post(f"/import/job/{never_run}/run")
    assert "import-files-removed" in response.text and "30" in response.text
    assert job(app, never_run).status == "uploaded"
    mapping = manager.get(f"/import/job/{never_run}/", follow_redirects=True)
    assert "import-files-removed" in mapping.text
    # A shorter keep removes the recent one too; entries are never touched twice.
    app.config.update(IMPORT_KEEP_DAYS=10)
    try:
        run_job(app, "import-files")
    finally:
        app.config.update(IMPORT_KEEP_DAYS=30)
    assert job(app, recent).files_removed_at is not None
    assert job(app, old).files_removed_at == gone.files_removed_at
    purge(session, Client.last_name == surname)
