"""The import journal tells each attempt: a claim
records one, the import's end closes it (finished or failed), the take-back
marks the dead worker's «died» at the rows it reached, a worker that finds
its job taken back marks its own «lost»; the report lists them when there
is something to tell, and a running import whose worker is silent past the
lease reads «Прервано, будет продолжено» (or «Прервано» when it will be
failed) on the report, the status endpoint and the journal."""
import datetime
import json
import os
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import db
from app.models import Client, ImportAttempt, ImportJob, utcnow
from app.services import import_jobs
from app.services.values import number_text
from app.views.fields import datetime_text
from tests.conftest import queued_import, unique
from tests.import_screens import ALMA, alma_rows, count, job, purge

RESUMES, FAILS = "Прервано, будет продолжено", "Прервано"


def attempts(session, job_id):
    found = session.scalars(select(ImportAttempt).where(ImportAttempt.job_id == job_id)
                            .order_by(ImportAttempt.id)).all()
    session.rollback()
    return found


def engine_of(app):
    with app.app_context():
        return db.engine


def silent(app, session, job_id, rows_done):
    """The job as a worker killed mid-run leaves it: claimed ten minutes
    ago, its progress file (``rows_done`` reached) last written then."""
    session.execute(update(ImportJob).where(ImportJob.id == job_id)
                    .values(started_at=utcnow() - datetime.timedelta(minutes=10)))
    session.commit()
    path = job(app, job_id).stored_path + ".progress.json"
    with open(path, "w") as fh:
        json.dump({"rows_done": rows_done, "errors": 0}, fh)
    stale = (utcnow() - datetime.datetime(1970, 1, 1)).total_seconds() - 600
    os.utime(path, (stale, stale))


def told(page):
    """The report's list of attempts as a person reads it."""
    found = re.search(r'<div id="import-attempts">(.*?)</div>', page, re.S)
    if found is None:
        return None
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [re.sub(r"[ \t\r\n]+", " ", item).strip() for item in items]


def take_back(app, now=None):
    """The scheduled take-back, as the job runs it (in the app, whose
    language its message to the user is written in)."""
    with app.app_context(), Session(db.engine) as own:
        return import_jobs.take_back(own, now or utcnow(), app.config)


def local(app, moment):
    with app.app_context():
        return datetime_text(moment)


def journal_status(http, name):
    """The «Status» cell of the journal row of the file ``name``."""
    page = http.get("/imports/list/").text
    row = next(r for r in re.findall(r"<tr.*?</tr>", page, re.S) if name in r)
    return row


def test_a_claim_records_an_attempt_and_the_import_closes_it(app, session):
    surname = unique("Попыткин").replace(" ", "")
    job_id = queued_import(session, "\n".join([ALMA, *alma_rows(3, surname)]) + "\n", "one.csv")
    engine = engine_of(app)
    with Session(engine) as one, Session(engine) as two:
        assert import_jobs.claim(one, job_id, "first") is True
        assert import_jobs.claim(two, job_id, "second") is False
    [attempt] = attempts(session, job_id)
    claimed = job(app, job_id)
    assert (attempt.worker, attempt.outcome, attempt.rows_done, attempt.ended_at) == (
        "first", "running", 0, None)
    assert attempt.started_at == claimed.started_at
    # The claim and its attempt are one commit: a claim that fails (locked,
    # here a broken insert) leaves the job queued and no attempt.
    session.execute(update(ImportJob).where(ImportJob.id == job_id)
                    .values(status="queued", worker=None))
    session.commit()
    with Session(engine) as one:
        real = one.execute

        def refuse_the_attempt(statement, *args, **kwargs):
            if getattr(statement, "is_insert", False) \
                    and statement.table.name == "import_attempt":
                from sqlalchemy.exc import OperationalError

                raise OperationalError("INSERT", {}, Exception("database is locked"))
            return real(statement, *args, **kwargs)

        one.execute = refuse_the_attempt
        assert import_jobs.claim(one, job_id, "third", attempts=2) is False
    assert job(app, job_id).status == "queued" and len(attempts(session, job_id)) == 1
    # The first worker's attempt is an old one now (the job was queued
    # again without a take-back, as no code path does): it runs afresh.
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "fourth") == "done"
    done = job(app, job_id)
    last = attempts(session, job_id)[-1]
    assert (last.worker, last.outcome, last.rows_done) == ("fourth", "finished", 3)
    assert last.ended_at == done.finished_at
    purge(session, Client.last_name == surname)


def test_a_failed_import_closes_its_attempt_as_failed(app, as_role, session):
    surname = unique("Неудачин").replace(" ", "")
    body = "\n".join([ALMA, *alma_rows(2, surname), f"{surname};лишь;три"]) + "\n"
    job_id = queued_import(session, body, "failed.csv")
    with Session(engine_of(app)) as own:
        assert import_jobs.process(own, job_id, "w") == "failed"  # all or nothing, a bad row
    [attempt] = attempts(session, job_id)
    assert attempt.outcome == "failed" and attempt.rows_done == 3
    assert count(session, Client, Client.last_name == surname) == 0
    # One attempt that ended by itself: nothing to tell.
    page = as_role("admin").get(f"/import/job/{job_id}/report").text
    assert told(page) is None


def test_a_dead_worker_is_told_as_interrupted_then_its_attempt_died(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Прерванов").replace(" ", "")
    name = unique("dead").replace(" ", "-") + ".csv"
    job_id = queued_import(session, "\n".join([ALMA, *alma_rows(4, surname)]) + "\n", name)
    engine = engine_of(app)
    with Session(engine) as own:
        assert import_jobs.claim(own, job_id, "dead-worker")
    # A live worker: «Выполняется», no attempts told.
    page = admin.get(f"/import/job/{job_id}/report").text
    assert "Выполняется" in page and told(page) is None
    assert admin.get(f"/import/job/{job_id}/status").get_json()["stalled"] is None

    silent(app, session, job_id, rows_done=1234)
    first = attempts(session, job_id)[0]
    page = admin.get(f"/import/job/{job_id}/report").text
    assert RESUMES in page and "Выполняется" not in page
    assert told(page) == [f"Попытка 1: начата {local(app, first.started_at)}, прервана на "
                          f"строке {number_text(1234, grouped=True)} (процесс остановился)"]
    status = admin.get(f"/import/job/{job_id}/status").get_json()
    assert status["status_label"] == RESUMES and status["stalled"] == "resume"
    assert status["finished"] is False  # the page keeps asking: the take-back comes
    assert RESUMES in journal_status(admin, name)
    # Claimed as often as IMPORT_MAX_ATTEMPTS: it will be failed, not resumed.
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(attempts=2))
    session.commit()
    assert admin.get(f"/import/job/{job_id}/status").get_json()["status_label"] == FAILS
    row = journal_status(admin, name)
    assert FAILS in row and RESUMES not in row
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(attempts=1))
    session.commit()

    now = utcnow()
    assert take_back(app, now) == (1, 0)
    [died] = attempts(session, job_id)
    assert (died.outcome, died.rows_done, died.ended_at) == ("died", 1234, now)
    page = admin.get(f"/import/job/{job_id}/report").text
    assert "Ожидает обработчика" in page and len(told(page)) == 1

    assert job_id in import_jobs.process_pending(app, worker="second-worker")
    done = job(app, job_id)
    second = attempts(session, job_id)[1]
    assert done.status == "done" and done.attempts == 2
    assert (second.worker, second.outcome, second.rows_done) == ("second-worker", "finished", 4)
    page = admin.get(f"/import/job/{job_id}/report").text
    assert told(page) == [
        f"Попытка 1: начата {local(app, first.started_at)}, прервана на строке "
        f"{number_text(1234, grouped=True)} (процесс остановился)",
        f"Попытка 2: начала импорт заново {local(app, second.started_at)}, завершена "
        f"{local(app, done.finished_at)}"]
    assert "import-done" in page, page[page.find("import-report"):][:3000]
    assert "Загружен" in journal_status(admin, name)
    assert count(session, Client, Client.last_name == surname) == 4

    # A new run (the user imports the file again) counts its attempts afresh.
    session.execute(update(ImportJob).where(ImportJob.id == job_id)
                    .values(status="queued", worker=None, attempts=0))
    session.commit()
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "third-worker") == "done"
    assert told(admin.get(f"/import/job/{job_id}/report").text) is None
    purge(session, Client.last_name == surname)


def test_an_import_failed_after_its_workers_died_tells_both(app, as_role, session):
    job_id = queued_import(session, ALMA + "\n", unique("twice").replace(" ", "-") + ".csv")
    engine = engine_of(app)
    for worker, rows in (("one", 10), ("two", 20)):
        with Session(engine) as own:
            assert import_jobs.claim(own, job_id, worker)
        silent(app, session, job_id, rows)
        take_back(app)
    failed = job(app, job_id)
    assert failed.status == "failed" and failed.attempts == 2
    one, two = attempts(session, job_id)
    assert [(a.outcome, a.rows_done) for a in (one, two)] == [("died", 10), ("died", 20)]
    page = as_role("admin").get(f"/import/job/{job_id}/report").text
    assert "Ничего не сохранено" in page
    assert told(page) == [
        f"Попытка 1: начата {local(app, one.started_at)}, прервана на строке 10 "
        "(процесс остановился)",
        f"Попытка 2: начала импорт заново {local(app, two.started_at)}, прервана на строке 20 "
        "(процесс остановился)"]


def test_a_worker_that_finds_its_job_taken_back_marks_its_attempt_lost(app, as_role, session,
                                                                       monkeypatch):
    surname = unique("Утратов").replace(" ", "")
    body = "\n".join([ALMA, *alma_rows(4, surname)]) + "\n"
    engine = engine_of(app)

    def taken_back(job_id):
        """What the scheduled take-back does to a worker it believes dead."""
        silent(app, session, job_id, rows_done=0)
        assert take_back(app) == (1, 0)

    # Taken back between its claim and its start.
    job_id = queued_import(session, body, "lost-early.csv")
    real_claim = import_jobs.claim

    def claim_then_lose(session, job_id, worker, attempts=20):
        taken = real_claim(session, job_id, worker, attempts)
        taken_back(job_id)
        return taken

    monkeypatch.setattr(import_jobs, "claim", claim_then_lose)
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "slow") is None
    monkeypatch.setattr(import_jobs, "claim", real_claim)
    [lost] = attempts(session, job_id)
    assert (lost.worker, lost.outcome, lost.rows_done) == ("slow", "lost", 0)
    assert lost.ended_at is not None and job(app, job_id).status == "queued"
    assert job_id in import_jobs.process_pending(app, worker="next")
    lines = told(as_role("admin").get(f"/import/job/{job_id}/report").text)
    assert "импорт перешёл к другому обработчику" in lines[0] and "завершена" in lines[1]
    purge(session, Client.last_name == surname)

    # Taken back while its rows went in (its transaction lost, say, with its
    # connection): its end finds the job another's, and the attempt says so.
    job_id = queued_import(session, body, "lost-late.csv")
    real_finish = import_jobs._finish

    def lose_then_finish(session, job_id, worker, values):
        session.rollback()
        taken_back(job_id)
        return real_finish(session, job_id, worker, values)

    monkeypatch.setattr(import_jobs, "_finish", lose_then_finish)
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "slow") is None
    [lost] = attempts(session, job_id)
    assert (lost.outcome, lost.rows_done) == ("lost", 4)
    assert count(session, Client, Client.last_name == surname) == 0
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed"))
    session.commit()

    # A worker that cannot write its «lost» (the database busy) leaves the
    # take-back's «died»: still true, and the worker goes on.
    job_id = queued_import(session, body, "lost-quiet.csv")
    real_lost = import_jobs._lost

    def busy(session, *args):
        real = session.execute

        def locked(statement, *a, **kw):
            from sqlalchemy.exc import OperationalError

            raise OperationalError("UPDATE", {}, Exception("database is locked"))

        session.execute = locked
        try:
            real_lost(session, *args)
        finally:
            session.execute = real

    monkeypatch.setattr(import_jobs, "claim", claim_then_lose)
    monkeypatch.setattr(import_jobs, "_lost", busy)
    with Session(engine) as own:
        assert import_jobs.process(own, job_id, "slow") is None
    [died] = attempts(session, job_id)
    assert died.outcome == "died"
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(status="failed"))
    session.commit()
