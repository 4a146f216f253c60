"""Rate-limit counters kept in the app's own database.

Flask-Limiter (through the ``limits`` library) keeps its counters in a
storage chosen by ``RATELIMIT_STORAGE_URI``. ``memory://`` is per process:
under ``make run`` each gunicorn worker counted on its own and about twice
the configured sign-in and web-form limits got through. ``database://``,
the default, is this storage: one row per limit, address and window in the
table ``rate_limit`` of the app's database (SQLite or PostgreSQL), so every
worker and every machine on that database shares one count, and no Redis
is needed. ``redis://…`` and ``memory://`` still work by configuration.

Each call is one short transaction on a connection of its own engine
(never the request's session), built lazily from the app's database URL:
a hit is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` that restarts
an expired window, atomic on both databases. On SQLite writers wait for
each other up to ``busy_timeout`` seconds instead of failing. Expired rows
are deleted now and then by the process that writes.

Only the fixed-window strategy (Flask-Limiter's default) is supported;
the moving and sliding windows need storage methods this one does not
offer, and Flask-Limiter refuses to start with them."""
import hashlib
import os
import threading
import time
import weakref

from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy import case, create_engine, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.models import RateLimitCounter

SCHEME = "database"
KEY_LENGTH = 255
# Expired rows are deleted by a hit at most this often (seconds, per process).
PURGE_EVERY = 60

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
# The clock of the windows, Unix time (tests move it on).
clock = time.time
_live = weakref.WeakSet()


def _after_fork():
    # A forked worker must not use connections its parent opened.
    for storage in list(_live):
        storage._forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def stored_key(key):
    """The key as stored: a long key (an IPv6 address and a long endpoint)
    keeps its first characters and a hash of the whole key."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key[:KEY_LENGTH - len(digest) - 1] + "#" + digest


def _no_commit_wait(dbapi_connection, _record):
    """PostgreSQL: a hit does not wait for its commit to reach the disk
    (counts need no durability). A crash loses at most the last fraction of
    a second of counts, never the database's consistency. SQLite needs
    nothing here: every connection runs WAL with synchronous=NORMAL
    (app/__init__.py), whose commits do not wait for the disk either."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    cursor.close()
    dbapi_connection.commit()


class DatabaseStorage(Storage):
    """``limits`` storage on the table ``rate_limit`` (model
    ``RateLimitCounter``, migration 0016).

    ``url`` is the database (SQLAlchemy URL); the security manager passes
    the app's own (app/security.py). ``busy_timeout``: seconds a SQLite
    writer waits for the lock."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri=None, wrap_exceptions=False, url=None, busy_timeout=15,
                 **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not url:
            raise ConfigurationError(
                "database:// rate limits need the database URL (storage option 'url')")
        self.url = make_url(url) if isinstance(url, str) else url
        backend = self.url.get_backend_name()
        if backend not in _INSERTS:
            raise ConfigurationError(f"database:// rate limits do not support {backend}")
        self._insert = _INSERTS[backend]
        self.busy_timeout = float(busy_timeout)
        self._engine = None
        self._lock = threading.Lock()
        self._purged_at = 0.0
        _live.add(self)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    @property
    def engine(self):
        """Built at the first use, so a process that forks before serving
        (gunicorn --preload) opens no connection its workers would share."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    if self.url.get_backend_name() == "sqlite":
                        engine = create_engine(
                            self.url, connect_args={"timeout": self.busy_timeout})
                    else:
                        engine = create_engine(self.url, pool_size=2, max_overflow=4,
                                               pool_pre_ping=True)
                        event.listen(engine, "connect", _no_commit_wait)
                    self._engine = engine
        return self._engine

    def _forget_connections(self):
        if self._engine is not None:
            self._engine.dispose(close=False)
        self._lock = threading.Lock()

    def dispose(self):
        if self._engine is not None:
            self._engine.dispose()

    # --- the fixed-window strategy's methods --------------------------------

    def incr(self, key, expiry, amount=1):
        """Add ``amount`` to the count of ``key``'s window, starting a new
        window of ``expiry`` seconds when there is none or it has ended;
        return the count."""
        now = clock()
        table = RateLimitCounter.__table__
        insert = self._insert(table).values(key=stored_key(key), count=amount,
                                            expiry=now + expiry)
        ended = table.c.expiry <= now
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((ended, insert.excluded.count),
                              else_=table.c.count + insert.excluded.count),
                "expiry": case((ended, insert.excluded.expiry), else_=table.c.expiry),
            },
        ).returning(table.c.count)
        with self.engine.begin() as connection:
            count = connection.execute(upsert).scalar_one()
        if now - self._purged_at > PURGE_EVERY:
            self._purged_at = now
            self.purge(now)
        return count

    def get(self, key):
        now = clock()
        with self.engine.begin() as connection:
            count = connection.scalar(
                select(RateLimitCounter.count).where(
                    RateLimitCounter.key == stored_key(key), RateLimitCounter.expiry > now))
        return count or 0

    def get_expiry(self, key):
        """When ``key``'s window ends (Unix time); now when there is none."""
        now = clock()
        with self.engine.begin() as connection:
            expiry = connection.scalar(
                select(RateLimitCounter.expiry).where(
                    RateLimitCounter.key == stored_key(key), RateLimitCounter.expiry > now))
        return expiry if expiry is not None else now

    def check(self):
        try:
            with self.engine.begin() as connection:
                connection.execute(select(RateLimitCounter.key).limit(1)).all()
            return True
        except SQLAlchemyError:
            return False

    def reset(self):
        with self.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key):
        with self.engine.begin() as connection:
            connection.execute(delete(RateLimitCounter).where(
                RateLimitCounter.key == stored_key(key)))

    def purge(self, now=None):
        """Delete the rows of windows that have ended; return how many."""
        now = clock() if now is None else now
        with self.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter).where(
                RateLimitCounter.expiry <= now)).rowcount
