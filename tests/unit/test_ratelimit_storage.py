"""The database storage of rate limits (services/ratelimits.py) on a
migrated, empty database of each backend: counting, windows that end,
clearing, long keys, and exact counts under concurrent writers."""
import multiprocessing
import threading

import pytest
from limits import parse
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from sqlalchemy import create_engine, select

from app.models import RateLimitCounter
from app.services import ratelimits
from app.services.ratelimits import DatabaseStorage
from tests.conftest import migrated_engine


@pytest.fixture(scope="module")
def url(database_url, tmp_path_factory):
    with migrated_engine(database_url, tmp_path_factory.mktemp("ratelimits")) as engine:
        yield engine.url


@pytest.fixture
def storage(url):
    storage = storage_from_string("database://", url=url)
    storage.reset()
    yield storage
    storage.dispose()


@pytest.fixture
def clock(monkeypatch):
    """The storage's clock, moved on by hand."""
    now = [1_700_000_000.0]
    monkeypatch.setattr(ratelimits, "clock", lambda: now[0])
    return now


def test_the_scheme_is_registered_with_limits(storage):
    assert isinstance(storage, DatabaseStorage)
    assert storage.check()


def test_incr_counts_within_a_window(storage, clock):
    assert storage.get("k") == 0
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr("k", 60, amount=2) == 5
    assert storage.get("k") == 5
    assert storage.get_expiry("k") == clock[0] + 60
    assert storage.get("other") == 0


def test_the_window_keeps_its_end_and_restarts_after_it(storage, clock):
    storage.incr("k", 60)
    clock[0] += 59
    assert storage.incr("k", 60) == 2
    assert storage.get_expiry("k") == clock[0] - 59 + 60
    clock[0] += 1
    assert storage.get("k") == 0
    assert storage.get_expiry("k") == clock[0]
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == clock[0] + 60


def test_clear_reset_and_purge(storage, clock):
    storage.incr("a", 60)
    storage.incr("b", 10)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    clock[0] += 10
    assert storage.purge() == 1
    storage.incr("c", 60)
    storage.incr("d", 60)
    assert storage.reset() == 2
    assert storage.get("c") == 0


def test_a_hit_purges_ended_windows_now_and_then(storage, clock, url):
    storage.incr("old", 10)
    clock[0] += ratelimits.PURGE_EVERY + 1
    storage.incr("new", 10)
    engine = create_engine(url)
    with engine.connect() as connection:
        keys = connection.scalars(select(RateLimitCounter.key)).all()
    engine.dispose()
    assert keys == ["new"]


def test_long_keys_are_kept_apart(storage, clock):
    base = "LIMITER/" + "2001:db8:" * 40
    one, two = base + "/a", base + "/b"
    assert len(ratelimits.stored_key(one)) == ratelimits.KEY_LENGTH
    assert ratelimits.stored_key(one) != ratelimits.stored_key(two)
    storage.incr(one, 60)
    assert storage.incr(two, 60) == 1
    assert storage.get(one) == 1


def test_the_fixed_window_strategy_of_flask_limiter(storage, clock):
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("3 per minute")
    assert [limiter.hit(limit, "10.0.0.1", "login") for _ in range(4)] == [True] * 3 + [False]
    assert limiter.hit(limit, "10.0.0.2", "login")
    assert not limiter.test(limit, "10.0.0.1", "login")
    reset_at, remaining = limiter.get_window_stats(limit, "10.0.0.1", "login")
    assert remaining == 0 and reset_at == clock[0] + 60
    clock[0] += 60
    assert limiter.hit(limit, "10.0.0.1", "login")


def test_concurrent_writers_of_two_processes_count_exactly(storage, url):
    """Two storages (two engines, as two workers have) and eight threads
    each: every hit is counted once, none is refused by a busy database."""
    other = DatabaseStorage("database://", url=url)
    counts, errors = [], []

    def hammer(target):
        try:
            for _ in range(20):
                counts.append(target.incr("busy", 60))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(target,))
               for target in (storage, other) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.dispose()
    assert errors == []
    assert sorted(counts) == list(range(1, 321))
    assert storage.get("busy") == 320


def test_check_is_false_without_the_table(tmp_path):
    storage = DatabaseStorage("database://", url="sqlite:///" + str(tmp_path / "empty.db"))
    assert storage.check() is False
    storage.dispose()


def test_configuration_errors():
    with pytest.raises(ConfigurationError):
        storage_from_string("database://")
    with pytest.raises(ConfigurationError):
        DatabaseStorage("database://", url="mysql://u@localhost/crm")


def test_only_the_fixed_window_strategy(storage):
    with pytest.raises(NotImplementedError):
        MovingWindowRateLimiter(storage)


def test_a_forked_worker_counts_on_the_same_rows(storage):
    """gunicorn --preload forks its workers: a child must open connections
    of its own and count into the same rows as its parent."""
    storage.incr("forked", 60)
    process = multiprocessing.get_context("fork").Process(target=_hit_ten_times,
                                                          args=(storage,))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert storage.incr("forked", 60) == 12


def _hit_ten_times(storage):
    for _ in range(10):
        storage.incr("forked", 60)
