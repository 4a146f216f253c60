"""Fixtures: an app per database backend with a freshly migrated schema,
one user per role, and a test client that signs in and sends CSRF tokens.
Each test module starts from that database as set up (tests/fresh_data.py).

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it),
each run in a schema of its own that is dropped afterwards."""
import contextlib
import os
import re
import tempfile
import uuid

import pytest

os.environ.setdefault("SECRET_KEY", "tests-only-secret")

import flask_migrate  # noqa: E402
from flask.ctx import RequestContext  # noqa: E402
from flask_wtf.csrf import generate_csrf  # noqa: E402
from sqlalchemy import create_engine, delete, event, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from app import create_app, db  # noqa: E402
from app.models import CustomField, CustomValue, Employee, Tag  # noqa: E402
from app.security import ADMIN, HEAD_OF_SALES, MANAGER, READ_ONLY, sync_roles  # noqa: E402
from app.services.seed import seed_dictionaries  # noqa: E402
from app.views.requestargs import MAX_PAGE_SIZE  # noqa: E402
from tests.fresh_data import Baseline  # noqa: E402

PASSWORD = "Test-pass-123"
ROLE_USERS = {"admin": ADMIN, "head": HEAD_OF_SALES, "manager": MANAGER, "auditor": READ_ONLY}
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
TEST_SETTINGS = {
    "TESTING": True,
    "FAB_UPDATE_PERMS": False,
    "AUTH_RATE_LIMIT": "10000 per minute",
    # The suite signs in a few thousand times: a cheap hash and per-process
    # counts keep that from costing minutes. Production keeps scrypt and the
    # database store (tests/web/test_rate_limits.py asks for it by name).
    "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "RATELIMIT_STORAGE_URI": "memory://",
}


def with_history(client, path):
    """A record page as it reads once its «История» tab is opened: the page,
    then the tab's rows, fetched from its placeholder's address as the
    browser's script does (views/related_tabs.py)."""
    page = client.get(path).text
    source = re.search(r'id="History".*?data-src="([^"]+)"', page, re.S)
    assert source, "the page has no history tab"
    tab = client.get(source.group(1).replace("&amp;", "&"))
    assert tab.status_code == 200, tab.status_code
    return page + tab.text


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def employee(session, username):
    """The employee of this login (the test users: admin, head, manager, auditor)."""
    from app.models import Employee

    return session.scalar(select(Employee).where(Employee.username == username))


def employee_id(session, username):
    from app.models import Employee

    return session.scalar(select(Employee.id).where(Employee.username == username))


def first_id(session, model, **where):
    """The lowest id of ``model``'s rows with these column values."""
    query = select(model.id)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return session.scalar(query.order_by(model.id))


def new_user(app, role=MANAGER, prefix="user", **fields):
    """A new employee of ``role`` who signs in with PASSWORD: (login, id).
    ``fields`` are set on them afterwards (active=False, locked_until=...)."""
    with app.app_context():
        sm = app.appbuilder.sm
        login = unique(prefix).replace(" ", "_")
        sm.add_user(username=login, first_name="Иван", last_name="Петров",
                    email=f"{login}@example.com", role=sm.find_role(role),
                    password=PASSWORD)
        user = db.session.scalar(select(Employee).where(Employee.username == login))
        for key, value in fields.items():
            setattr(user, key, value)
        db.session.commit()
        return login, user.id


def jwt_headers(app, username):
    """The API's Authorization header for ``username`` (signed in by JWT)."""
    response = app.test_client().post("/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db"})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def timeline_entries(page):
    """The timeline's entries of a record's page, each as its text with one space."""
    body = page.split('id="timeline-entries"', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()
            for item in re.findall(r"<li class=\"timeline-entry.*?</li>", body, re.S)]


def queued_import(session, body_or_path, name="upload.csv", username="admin"):
    """A queued AlmaCRM import, as the screens leave it after the mapping:
    of ``body_or_path`` (text, written in cp1251, or a file's path). Its id."""
    import json

    from app.models import ImportJob
    from app.services import imports

    path = body_or_path
    if "\n" in body_or_path or not os.path.exists(body_or_path):
        path = os.path.join(tempfile.mkdtemp(), name)
        with open(path, "wb") as fh:
            fh.write(body_or_path.encode("cp1251"))
    encoding, delimiter = imports.sniff(path)
    header = imports.read_header(path, encoding, delimiter)
    entity = imports.get_entity(imports.ALMA_KEY)
    job = ImportJob(user_id=employee_id(session, username), entity=imports.ALMA_KEY,
                    file_name=name, stored_path=path, file_size=os.path.getsize(path),
                    encoding=encoding, delimiter=delimiter, status="queued",
                    total_rows=imports.count_rows(path) - 1,
                    options=json.dumps({"header": header, "restricted": False,
                                        "mapping": imports.auto_map(entity, header)}))
    session.add(job)
    session.commit()
    return job.id


def _postgres_schema():
    base = os.environ["TEST_DATABASE_URL"]
    schema = "t_" + uuid.uuid4().hex[:12]
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"

    def drop():
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def make_app(database_url, **settings):
    return create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url,
                       "UPLOAD_FOLDER": tempfile.mkdtemp() + "/", **settings})


@contextlib.contextmanager
def statements_sent(app):
    """The SQL statements ``app``'s engine sends within the block, as sent."""
    with app.app_context():
        engine = db.engine
    sent = []

    def seen(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@contextlib.contextmanager
def migrated_engine(database_url, directory):
    """The engine of a migrated, empty database of the same backend as
    ``database_url`` (a file in ``directory`` or a schema of its own)."""
    if database_url.startswith("sqlite"):
        url, drop = "sqlite:///" + str(directory / "own.db"), None
    else:
        url, drop = _postgres_schema()
    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        engine = db.engine
    try:
        yield engine
    finally:
        engine.dispose()
        if drop:
            drop()


@pytest.fixture(scope="session", autouse=True)
def _pg_trgm_in_public():
    """pg_trgm in ``public``, before any test schema exists. Migration 0018
    creates it where the search path points, i.e. in the first test schema
    of the database; dropping that schema (CASCADE) then dropped the
    trigram index of every other live schema, and with two test processes
    (pytest -n 2) the DROP waited for the other process's open transaction
    while that process waited behind the DROP. ALTER moves one left in a
    test schema by an earlier run; the lock keeps two processes apart."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(7406011)"))
            where = conn.scalar(text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
            if where is None:
                conn.execute(text("CREATE EXTENSION pg_trgm SCHEMA public"))
            elif where != "public":
                conn.execute(text("ALTER EXTENSION pg_trgm SET SCHEMA public"))
    except Exception as exc:  # noqa: BLE001  (no pg_trgm: the migration scans instead)
        print(f"pg_trgm could not be put in public: {exc}")
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
        return
    url, drop = _postgres_schema()
    yield url
    drop()


@pytest.fixture(scope="session")
def set_up_app(database_url):
    """The run's app and its database's rows right after the setup."""
    app = make_app(database_url)
    with app.app_context():
        flask_migrate.upgrade()
        sm = app.appbuilder.sm
        sync_roles(sm)
        seed_dictionaries(db.session)
        db.session.commit()
        for username, role in ROLE_USERS.items():
            sm.add_user(
                username=username, first_name=username.title(), last_name="Тестов",
                email=f"{username}@example.com", role=sm.find_role(role),
                password=PASSWORD,
            )
        db.session.remove()
        baseline = Baseline(db.engine)
        baseline.take()
    yield app, baseline
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def app(set_up_app):
    """The run's app, its database as the setup left it: what an earlier
    module made is gone (tests/fresh_data.py); the tests of one module share
    what they make. (A module split between xdist's processes starts afresh
    in each.)"""
    app, baseline = set_up_app
    baseline.restore()
    return app


class Client:
    """The test client plus sign-in and CSRF tokens, as a browser has them."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self._token = None

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def token(self):
        """The form token a page of this session would carry: Flask-WTF's own
        ``generate_csrf`` on this client's session (drawing a page for it
        cost a tenth of the suite)."""
        if self._token is None:
            with self.http.session_transaction() as stored:
                with RequestContext(self.app, EnvironBuilder().get_environ(), session=stored):
                    self._token = generate_csrf()
        return self._token

    def post(self, url, data=None, follow=True, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        return self.http.post(url, data=data, follow_redirects=follow, **kw)

    def login(self, username, password=PASSWORD, follow=True):
        response = self.post("/login/", {"username": username, "password": password},
                             follow=follow)
        self._token = None  # the session changed
        return response

    def logout(self):
        self.http.get("/logout/")
        self._token = None


def signed_in(app, username):
    """A Client signed in as ``username``; the sign-in must succeed (FAB
    sends a signed-in user on, a refused one back to the sign-in page)."""
    c = Client(app)
    response = c.login(username, follow=False)
    assert response.status_code == 302 and "/login" not in response.location, \
        f"{username} could not sign in"
    return c


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def as_role(app):
    """as_role("manager") -> a Client signed in as that role's test user."""

    def sign_in(username):
        return signed_in(app, username)

    return sign_in


@pytest.fixture
def session(app):
    """A session of its own, outside any app context: a pushed context would
    be shared by the test client's requests (and with it ``g``)."""
    with app.app_context():
        engine = db.engine
    with Session(engine) as own:
        yield own


@pytest.fixture
def manager_id(session):
    return employee_id(session, "manager")


@pytest.fixture
def other_manager(session):
    """The employee id of someone who is not the test manager: they only own
    records, so no role and no sign-in."""
    name = unique("m2").replace(" ", "")
    other = Employee(username=name, first_name="Второй", last_name="Менеджер",
                     email=f"{name}@example.com", active=True)
    session.add(other)
    session.commit()
    return other.id


@pytest.fixture
def buyer(session):
    """A client of the test manager with an INN, as an invoice needs."""
    from app import models  # its Client is not the test client above

    client = models.Client(name=unique("ООО Покупатель"), inn="7707083893",
                           responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    return client


@pytest.fixture
def define(session):
    """define(**definition) -> CustomField; every field made here, and its
    values, are gone after the test (the module's other tests would see it)."""
    made = []

    def make(**kw):
        kw.setdefault("entity", "client")
        kw.setdefault("label_ru", unique("Поле"))
        kw.setdefault("code", f"t{len(made)}_{unique('x').split()[-1]}".lower()[:40])
        field = CustomField(**kw)
        session.add(field)
        session.commit()
        made.append(field.id)
        return field

    yield make
    session.rollback()
    session.execute(delete(CustomValue).where(CustomValue.field_id.in_(made)))
    session.execute(delete(CustomField).where(CustomField.id.in_(made)))
    session.commit()


@pytest.fixture
def many_tags(session):
    """MAX_PAGE_SIZE + 5 tags named "<prefix> 000"…: their prefix."""
    tag = unique("Метка")
    session.add_all([Tag(name=f"{tag} {i:03}") for i in range(MAX_PAGE_SIZE + 5)])
    session.commit()
    yield tag
    session.execute(delete(Tag).where(Tag.name.startswith(tag)))
    session.commit()
