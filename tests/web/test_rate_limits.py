"""Rate limits hold across workers: the API sign-in is limited like the
screen's, and two app instances on one database (two gunicorn workers, or
two machines) share every count through the ``rate_limit`` table.

Each test posts from addresses of its own: the counts live in the shared
test database for the whole run."""
import itertools
import json
import time

import pytest
from sqlalchemy import select

from app import db
from app.models import Employee, Lead, RateLimitCounter, WebForm
from app.services import ratelimits, webforms
from tests.conftest import PASSWORD, Client, make_app, new_user, unique

_addresses = itertools.count(1)
TOO_MANY = "Слишком много попыток"


def _address():
    n = next(_addresses)
    return f"10.77.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module")
def workers(app, database_url):
    """Two app instances on the test database (migrated by ``app``) with a
    sign-in limit of 3 a minute and a web-form limit of 3 a minute, as two
    workers of `make run`."""
    settings = {"AUTH_RATE_LIMIT": "3 per minute", "WEBFORM_RATE_LIMIT": "3 per minute",
                "RATELIMIT_STORAGE_URI": "database://"}
    return make_app(database_url, **settings), make_app(database_url, **settings)


def _api_login(app, address, username="nobody", password="wrong"):
    return app.test_client().post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
        environ_base={"REMOTE_ADDR": address})


def _screen_login(app, address, username="nobody", password="wrong"):
    return Client(app).post("/login/", {"username": username, "password": password},
                            follow=False, environ_base={"REMOTE_ADDR": address})


def test_default_storage_is_the_database(workers, monkeypatch):
    import importlib

    import config

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    assert importlib.reload(config).RATELIMIT_STORAGE_URI == "database://"
    for instance in workers:
        storage = instance.appbuilder.sm.limiter.storage
        assert isinstance(storage, ratelimits.DatabaseStorage)
        with instance.app_context():
            assert storage.url == db.engine.url


def test_api_login_is_limited_per_address_with_a_json_answer(workers):
    one, _ = workers
    address = _address()
    codes = [_api_login(one, address).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = _api_login(one, address)
    assert refused.status_code == 429
    assert refused.is_json and TOO_MANY in refused.json["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another address has its own count.
    assert _api_login(one, _address()).status_code == 401


def test_api_login_limit_refuses_even_the_right_password(workers):
    one, _ = workers
    address = _address()
    for _ in range(3):
        _api_login(one, address)
    assert _api_login(one, address, "admin", PASSWORD).status_code == 429
    assert _api_login(one, _address(), "admin", PASSWORD).status_code == 200


def test_two_workers_share_the_api_sign_in_count(workers):
    one, two = workers
    address = _address()
    codes = [_api_login(app, address).status_code for app in (one, two, one, two)]
    assert codes == [401, 401, 401, 429]


def test_two_workers_share_the_screen_sign_in_count(workers):
    one, two = workers
    address = _address()
    codes = [_screen_login(app, address).status_code for app in (one, two, one, two)]
    assert codes == [302, 302, 302, 429]
    page = _screen_login(one, address)
    assert page.status_code == 429 and TOO_MANY in page.text
    assert "<html" in page.text.lower()


def test_screen_and_api_sign_in_keep_their_own_counts(workers):
    one, _ = workers
    address = _address()
    assert [_screen_login(one, address).status_code for _ in range(3)] == [302] * 3
    assert _api_login(one, address).status_code == 401


def test_two_workers_share_the_web_form_count(app, workers, session):
    one, two = workers
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    form = WebForm(key=webforms.new_key(), name=unique("Форма"),
                   allowed_origins="https://shop.example.ru", default_manager=manager)
    session.add(form)
    session.commit()
    address = _address()

    def post(instance, i):
        return instance.test_client().post(
            f"/webform/{form.key}", content_type="application/json",
            data=json.dumps({"name": f"Поток {i}", "phone": f"+7916123470{i}"}),
            headers={"Origin": "https://shop.example.ru"},
            environ_base={"REMOTE_ADDR": address})

    codes = [post(instance, i).status_code for i, instance in enumerate((one, two, one, two))]
    assert codes == [201, 201, 201, 429]
    session.expire_all()
    assert len(session.scalars(select(Lead).where(Lead.web_form_id == form.id)).all()) == 3


def test_a_window_ends_and_counting_starts_again(workers, monkeypatch):
    one, two = workers
    address = _address()
    assert [_api_login(one, address).status_code for _ in range(4)] == [401] * 3 + [429]
    monkeypatch.setattr(ratelimits, "clock", lambda: time.time() + 61)
    assert [_api_login(two, address).status_code for _ in range(4)] == [401] * 3 + [429]


def test_counts_are_rows_of_the_database(workers):
    one, _ = workers
    address = _address()
    _api_login(one, address)
    with one.app_context():
        rows = db.session.execute(select(RateLimitCounter.key, RateLimitCounter.count).where(
            RateLimitCounter.key.contains(address))).all()
    assert [(count, "SecurityApi.login" in key) for key, count in rows] == [(1, True)]


def test_the_lock_applies_to_the_api_sign_in(app):
    name, _ = new_user(app, prefix="api_user")
    address = _address()
    assert _api_login(app, address, name, PASSWORD).status_code == 200
    for _ in range(app.config["LOGIN_LOCK_ATTEMPTS"]):
        assert _api_login(app, address, name, "wrong").status_code == 401
    # Locked: the right password is refused by the API and by the screen.
    assert _api_login(app, address, name, PASSWORD).status_code == 401
    assert "/logout" not in Client(app).login(name).text
    with app.app_context():
        user = db.session.scalar(select(Employee).where(Employee.username == name))
        assert user.locked_until is not None


def test_memory_storage_stays_available_and_counts_per_process(app, database_url):
    settings = {"AUTH_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://"}
    one, two = make_app(database_url, **settings), make_app(database_url, **settings)
    assert type(one.appbuilder.sm.limiter.storage).__name__ == "MemoryStorage"
    address = _address()
    codes = [_api_login(app, address).status_code for app in (one, two, one, two)]
    # Each process counts alone: what the database storage is for.
    assert codes == [401, 401, 401, 401]


def test_a_shared_store_that_fails_leaves_limits_per_process_not_500s(app, database_url):
    """Redis down: sign-ins go on, each process counting alone meanwhile."""
    broken = make_app(database_url, AUTH_RATE_LIMIT="3 per minute",
                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    address = _address()
    codes = [_api_login(broken, address).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
