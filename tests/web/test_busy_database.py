"""SQLite while the database is busy: WAL lets pages
read while another connection reads or writes, a write waits for another
writer up to SQLITE_BUSY_TIMEOUT, and past it the answer is the Russian
"server busy" page (503, Retry-After), never a 500 with SQL.

"Another connection" is a plain sqlite3 connection on the test database,
as a scheduled job, an export or an import in another process would be."""
import contextlib
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from app import db
from app.models import Client, Employee, MarketSegment, Note
from app.services import search
from tests.conftest import PASSWORD, make_app, unique
from tests.conftest import Client as Browser

SQL_WORDS = ("INSERT", "UPDATE", "SELECT", "[SQL", "[parameters", "sqlite3",
             "database is locked", "Traceback")
BUSY_TEXT = "Сервер занят, повторите через несколько секунд"


@pytest.fixture
def db_path(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking; PostgreSQL readers and writers do not block")
    return database_url.removeprefix("sqlite:///")


@contextlib.contextmanager
def write_lock(path, seconds=None):
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE): for
    ``seconds`` (released by a timer meanwhile), else for the block."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    timer = None
    if seconds is not None:
        timer = threading.Timer(seconds, holder.execute, ("ROLLBACK",))
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        else:
            holder.execute("ROLLBACK")
        holder.close()


@contextlib.contextmanager
def long_read(path):
    """Another connection in the middle of a long scan: a read transaction
    with a statement still running over a big cross join."""
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    scan = reader.execute("SELECT a.id, b.id FROM client a, client b, ab_user c")
    assert scan.fetchone() is not None
    try:
        yield
    finally:
        scan.close()
        reader.execute("ROLLBACK")
        reader.close()


@pytest.fixture
def a_client(session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    client = Client(name=unique("Занятая база"), responsible_id=manager)
    session.add(client)
    session.commit()
    return client.id


def _note_ids(session, text):
    session.expire_all()
    return session.scalars(select(Note.id).where(Note.text == text)).all()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app, db_path):
    assert app.config["SQLITE_BUSY_TIMEOUT"] == 10  # config.py's default
    with app.app_context():
        engine = db.engine
    with engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")}
    # busy_timeout in ms; synchronous 1 is NORMAL (Python's sqlite3 waits 5 s
    # by default, SQLite journals with DELETE and syncs FULL, 2).
    assert pragma == {"journal_mode": "wal", "busy_timeout": 10_000, "synchronous": 1,
                      "foreign_keys": 1}
    # WAL is a property of the file: any other connection finds it.
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_pages_and_saves_go_on_during_a_long_read(app, as_role, session, a_client, db_path):
    user = as_role("manager")
    user.token()
    stranger = Browser(app)
    text = unique("Заметка при долгом чтении")
    with long_read(db_path):
        started = time.monotonic()
        login = stranger.get("/login/")
        listing = user.get("/notes/list/")
        saved = user.post("/notes/add", {"client": str(a_client), "text": text}, follow=False)
        took = time.monotonic() - started
        # Still inside the reader's transaction: the save is committed.
        assert len(_note_ids(session, text)) == 1
    assert login.status_code == 200 and 'name="password"' in login.text
    assert listing.status_code == 200
    assert saved.status_code == 302
    # In the rollback journal the commit waited for the reader (busy timeout,
    # 10 s) and then failed; in WAL nobody waits.
    assert took < 5, took


def test_a_save_waits_for_another_writer_and_succeeds(as_role, session, a_client, db_path):
    user = as_role("manager")
    user.token()
    text = unique("Заметка после чужой записи")
    with write_lock(db_path, seconds=1.0):
        started = time.monotonic()
        saved = user.post("/notes/add", {"client": str(a_client), "text": text}, follow=False)
        waited = time.monotonic() - started
    assert saved.status_code == 302
    assert len(_note_ids(session, text)) == 1
    assert waited >= 0.9, "the write lock was not held while the note was saved"


def test_a_savepoint_before_the_first_write_waits_and_stays_in_its_transaction(
        app, db_path):
    """``begin_nested`` first (bulk lead conversion, imports): SQLite would
    begin a deferred transaction whose later write fails at once, without
    waiting, and releasing the savepoint would commit it on its own."""
    with app.app_context():
        engine = db.engine
    name = unique("Точка сохранения")
    with Session(engine) as own:
        with write_lock(db_path, seconds=1.0):
            started = time.monotonic()
            savepoint = own.begin_nested()
            own.scalar(select(func.count(Client.id)))  # a read, then a write
            own.add(Client(name=name))
            own.flush()
            savepoint.commit()
            waited = time.monotonic() - started
        own.rollback()
        assert own.scalar(select(func.count(Client.id)).where(Client.name == name)) == 0
    assert waited >= 0.9


def test_a_bulk_change_commits_every_batch(app, as_role, session):
    """10 000 changes take 9 s in one transaction, all of it holding
    SQLite's write lock: every batch of 500 is committed on its own."""
    head_id = session.scalar(select(Employee.id).where(Employee.username == "head"))
    tag = unique("Пачки")
    # A bulk INSERT skips the ORM's events: the search text the app writes
    # with every client (services/search) is given here, as an import does.
    session.execute(insert(Client), [{"name": f"{tag} {i}", "responsible_id": head_id,
                                      "search": search.client_words({"name": f"{tag} {i}"})}
                                     for i in range(1200)])
    segment = MarketSegment(name=unique("Сегмент пачками"))
    session.add(segment)
    session.commit()
    head = as_role("head")
    url = f"/clients/bulk/segment?all=1&_flt_0_name={tag.replace(' ', '+')}"
    assert "изменить: 1200" in head.get(url).text.replace("\u00a0", "")
    with app.app_context():
        engine = db.engine
    commits = []

    def count(connection):
        commits.append(connection)

    event.listen(engine, "commit", count)
    try:
        done = head.post(url, {"target": segment.id})
    finally:
        event.remove(engine, "commit", count)
    assert "изменено записей: 1200" in done.text
    assert len(commits) >= 3, len(commits)
    assert session.scalar(select(func.count(Client.id)).where(
        Client.segment_id == segment.id)) == 1200


# --- past the busy timeout -------------------------------------------------------

@pytest.fixture(scope="module")
def busy_app(app, database_url):
    """An app on the shared test database (``app``: migrated) that waits
    0.2 s for the lock, with test-only routes whose write reaches Flask's
    error handling."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    app = make_app(database_url, SQLITE_BUSY_TIMEOUT=0.2)

    def write():
        db.session.execute(update(Client).where(Client.id == -1).values(name="x"))
        db.session.commit()
        return "written"

    app.add_url_rule("/test-only/write", "test_write", write, methods=["POST"])
    app.add_url_rule("/api/v1/test-only/write", "test_api_write", write, methods=["POST"])
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def busy_user(busy_app):
    user = Browser(busy_app)
    assert "/logout" in user.login("manager", PASSWORD).text
    user.token()
    return user


def _assert_busy_page(response):
    assert response.status_code == 503, response.status_code
    assert response.headers["Retry-After"] == "5"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert BUSY_TEXT in response.text
    assert "Сделка CRM" in response.text  # the app's layout
    for word in SQL_WORDS:
        assert word not in response.text, word


def test_a_form_save_past_the_timeout_is_the_busy_page(busy_user, session, a_client, db_path):
    text = unique("Заметка в занятую базу")
    with write_lock(db_path):
        response = busy_user.post("/notes/add", {"client": str(a_client), "text": text},
                                  follow=False)
    _assert_busy_page(response)
    assert _note_ids(session, text) == []
    # FAB flashed the database error before redirecting; it is not shown later.
    after = busy_user.get("/notes/list/")
    assert after.status_code == 200
    assert "Запись не сохранена" not in after.text and "database is locked" not in after.text


def test_an_edit_past_the_timeout_is_the_busy_page(busy_user, session, a_client, db_path):
    note = Note(client_id=a_client, text=unique("Заметка до правки"))
    session.add(note)
    session.commit()
    with write_lock(db_path):
        response = busy_user.post(f"/notes/edit/{note.id}",
                                  {"client": str(a_client), "text": "изменено"}, follow=False)
    _assert_busy_page(response)
    session.expire_all()
    assert session.get(Note, note.id).text != "изменено"


def test_an_unhandled_busy_error_is_the_busy_page(busy_user, db_path):
    with write_lock(db_path):
        response = busy_user.post("/test-only/write", {})
    _assert_busy_page(response)
    # Once the lock is gone the same request goes through.
    assert busy_user.post("/test-only/write", {}).text == "written"


def test_the_api_gets_json_when_busy(busy_user, db_path):
    name = unique("API в занятую базу")
    with write_lock(db_path):
        created = busy_user.http.post("/api/v1/client/", json={"name": name})
        raw = busy_user.http.post("/api/v1/test-only/write",
                                  headers={"X-CSRFToken": busy_user.token()})
    for response in (created, raw):
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.headers["Retry-After"] == "5"
        assert response.json == {"message": BUSY_TEXT + "."}
