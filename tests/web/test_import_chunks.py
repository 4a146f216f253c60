"""An import on SQLite commits in chunks (one writer at a time: colleagues'
saves wait a fraction of a second, not the whole file) and still ends with
all of the file or none; a check writes nothing, and finds the duplicates
of rows of chunks it rolled back. On PostgreSQL the file is one
transaction: the same outcomes. While a big file loads, other users' pages,
saves and the progress endpoint answer at once on both databases."""
import threading
import time

import pytest
from sqlalchemy import func, select

from app import db
from app.models import Application, Client, Employee, ImportCreated, ImportJob, Note
from app.services import import_jobs, imports
from bench.imports import generate
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


@pytest.fixture
def small_chunks(monkeypatch, database_url):
    """A chunk a batch, a batch two rows; counts the commits of chunks."""
    monkeypatch.setattr(imports, "BATCH", 2)
    monkeypatch.setattr(imports, "CHUNK_SECONDS", 0)
    commits = []
    real = import_jobs._checkpoint

    def counted(session, job_id, worker, progress):
        commit = real(session, job_id, worker, progress)
        if commit is None:
            return None

        def spy(report):
            commits.append(report.total)
            commit(report)

        return spy

    monkeypatch.setattr(import_jobs, "_checkpoint", counted)
    return commits


def chunked(database_url):
    return database_url.startswith("sqlite")


def test_an_all_or_nothing_refusal_takes_back_the_chunks_it_committed(
        app, as_role, session, small_chunks, database_url):
    admin = as_role("admin")
    surname = unique("Кусков").replace(" ", "")
    rows = alma_rows(7, surname)
    rows[-1] = rows[-1].replace("15.01.2026", "31.02.2026")  # no such day
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    response = run(admin, app, job_id, mode="all")
    refused = job(app, job_id)
    assert refused.status == "failed" and refused.error_count == 1
    assert refused.report_data["created"] == 6 and refused.created == 0
    assert "Было бы создано" in response.text
    assert count(session, Client, Client.last_name == surname) == 0
    assert count(session, ImportCreated, ImportCreated.job_id == job_id) == 0
    if chunked(database_url):
        assert len(small_chunks) >= 3  # chunks were committed, then taken back


def test_a_good_rows_import_keeps_every_chunk(app, as_role, session, small_chunks,
                                                database_url):
    admin = as_role("admin")
    surname = unique("Долев").replace(" ", "")
    rows = alma_rows(7, surname)
    rows[3] = rows[3].replace("15.01.2026", "31.02.2026")
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, mode="good")
    done = job(app, job_id)
    assert (done.status, done.created, done.error_count) == ("done", 6, 1)
    ids = session.scalars(select(Client.id).where(Client.last_name == surname)).all()
    assert len(ids) == 6
    assert count(session, Application, Application.client_id.in_(ids)) == 6
    if chunked(database_url):
        assert len(small_chunks) >= 3
    purge(session, Client.last_name == surname)


def test_a_check_finds_duplicates_of_rows_of_chunks_it_rolled_back(
        app, as_role, session, small_chunks, database_url):
    admin = as_role("admin")
    surname = unique("Повторов").replace(" ", "")
    rows = alma_rows(6, surname)
    number = rows[0].split(";")[7]
    rows.append(rows[1].replace(rows[1].split(";")[7], number).replace("Иван1", "Иван9"))
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, action="dry")
    checked = job(app, job_id)
    assert checked.status == "checked"
    report = checked.report_data
    assert (report["created"], report["skipped"]) == (6, 1)
    (duplicate,) = report["duplicates"]
    assert duplicate["row"] == 8 and duplicate["in_file"]  # a repeat of the file's row 1
    assert count(session, Client, Client.last_name == surname) == 0
    if chunked(database_url):
        assert len(small_chunks) >= 3  # and each was rolled back


def test_others_work_while_a_big_file_imports(app, as_role, session, tmp_path, database_url):
    """A file of several seconds of writing; meanwhile a manager lists, opens
    a client, saves notes and watches the progress. Nothing fails, nothing
    waits for the import (in one transaction on SQLite a save would wait
    for all of it)."""
    path = str(tmp_path / "big.csv")
    generate(path, 100_000 if chunked(database_url) else 40_000, seed=7)
    with open(path, encoding="cp1251") as fh:
        body = fh.read()
    job_id = queued_job(app, body)
    manager = as_role("manager")
    owner = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    session.execute(ImportJob.__table__.update().where(ImportJob.id == job_id)
                    .values(user_id=owner))  # the manager's own import: they see its progress
    mine = Client(name=unique("Клиент во время импорта"), responsible_id=owner)
    session.add(mine)
    session.commit()
    last_client = session.scalar(select(func.max(Client.id)))
    session.rollback()
    manager.token()
    importing = threading.Thread(target=import_jobs.run_now, args=(app, job_id, "test-big"))
    slowest, answers, during = 0.0, [], 0
    importing.start()
    try:
        deadline = time.monotonic() + 120
        n = 0
        while importing.is_alive() and time.monotonic() < deadline:
            n += 1
            for method, url, data in (
                    ("get", "/clients/list/", None),
                    ("get", f"/clients/show/{mine.id}", None),
                    ("post", "/notes/add", {"client": str(mine.id), "text": f"Заметка {n}"}),
                    ("get", f"/import/job/{job_id}/status", None)):
                started = time.monotonic()
                if method == "get":
                    response = manager.get(url)
                else:
                    response = manager.post(url, data, follow=False)
                took = time.monotonic() - started
                slowest = max(slowest, took)
                answers.append((url, response.status_code, round(took, 2)))
                if response.status_code == 200 and url.endswith("/status"):
                    during += not response.get_json()["finished"]
    finally:
        importing.join(180)
    assert job(app, job_id).status == "done"
    assert all(code in (200, 302) for _, code, _ in answers), answers
    # A save waits for the chunk being written (about CHUNK_SECONDS).
    assert slowest < 2.5, [a for a in answers if a[2] > 0.5]
    assert during >= 3, "the requests did not overlap the import"
    saved = session.scalar(select(func.count()).select_from(Note).where(
        Note.client_id == mine.id))
    assert saved == len([a for a in answers if a[0] == "/notes/add"])
    session.rollback()
    session.execute(Application.__table__.delete().where(Application.client_id > last_client))
    session.execute(Client.__table__.delete().where(Client.id > last_client))
    session.execute(Note.__table__.delete().where(Note.client_id == mine.id))
    session.delete(session.get(Client, mine.id))
    session.execute(ImportJob.__table__.update().where(ImportJob.id == job_id)
                    .values(status="failed"))
    session.commit()
    with app.app_context():
        db.session.remove()


def test_the_duplicate_keys_statistics_are_refreshed_on_a_small_sample(session, database_url):
    """PostgreSQL: the key columns are analysed with a sample of ANALYSE_TARGET
    (the setting is the session's again after), when the rows written
    double, and not while they are few beside the rows the table had."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's statistics; SQLite's duplicate look-ups use the index")
    from sqlalchemy import event, text

    importer = imports.Importer(session, imports.alma_entity(), imports.Options(
        mapping=["phone"]))
    sent = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("ANALYZE"):
            sent.append((statement, conn.exec_driver_sql(
                "SHOW default_statistics_target").scalar()))

    before = session.scalar(text("SHOW default_statistics_target"))
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        importer._fresh_statistics(["phone"])
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = "
                                       "CAST('client' AS regclass)"))
        assert importer._rows_before == max(0, int(estimate)) and sent == []
        importer._rows_before = 0  # as into an empty table
        importer.report.created = 4999
        importer._fresh_statistics(["phone"])
        assert sent == []
        importer.report.created = 5000
        importer._fresh_statistics(["phone"])
        assert sent == [("ANALYZE client (phone)", str(imports.ANALYSE_TARGET))]
        assert session.scalar(text("SHOW default_statistics_target")) == before
        importer.report.created = 9999
        importer._fresh_statistics(["phone"])
        assert len(sent) == 1  # not doubled yet

        beside_many = imports.Importer(session, imports.alma_entity(), imports.Options(
            mapping=["phone"]))
        beside_many._rows_before = 1_000_000
        beside_many.report.created = 200_000
        beside_many._fresh_statistics(["phone"])
        assert len(sent) == 1
        beside_many.report.created = 250_000
        beside_many._fresh_statistics(["phone"])
        assert len(sent) == 2
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        session.rollback()
