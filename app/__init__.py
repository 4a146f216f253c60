"""Application factory of Sdelka CRM."""
import logging
import os
import sqlite3

from flask import Flask
from flask_appbuilder import AppBuilder, Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

# One metadata for FAB's security tables and ours, so Alembic sees every model.
db = get_sqla_class()(model_class=Model)
migrate = Migrate(
    directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
)
# Global CSRF check: FAB refuses deletes by GET only when this is present,
# and exempts its own JSON APIs from it.
csrf = CSRFProtect()

log = logging.getLogger(__name__)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Every SQLite connection, of any engine (the app's, the rate limits',
    the tests'):

    - foreign keys: SQLite checks them (and runs ON DELETE CASCADE / SET
      NULL) only when each connection asks: without this a row could point
      at a deleted one. Migrations turn it off on their own connection
      (migrations/env.py): SQLite's batch mode copies tables.
    - WAL journal: in the default rollback journal a reader (a long list,
      an export, a report) keeps every writer from committing, and a
      writer about to commit keeps every new reader out, so while one long
      statement ran every page, /login/ included, failed with "database is
      locked". In WAL readers never wait and are never waited for; only
      writers take turns (each waits up to SQLITE_BUSY_TIMEOUT, see
      _sqlite_engine_options). The mode is stored in the database file,
      so the first connection switches it and the rest find it so; it
      needs the -wal and -shm files beside the database on a local disk.
      Switching waits for other connections of the old journal to finish;
      if they do not within the busy timeout, a later connection tries
      again (this one still works, in the old journal).
    - synchronous NORMAL: with WAL a commit does not wait for the disk;
      a power cut may lose the last commits, never the database's
      consistency (FULL, the default, syncs the log at every commit)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        try:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            log.warning("SQLite stays in its old journal for now: %s", exc)
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")


@event.listens_for(Engine, "connect")
def _postgres_settings(dbapi_connection, connection_record):
    """No JIT compilation on PostgreSQL: it pays off for long analytic
    queries, and a list query the planner overestimates (a row-level rule
    it cannot see through) compiles for 200 ms to run in 20 ms. No
    parallel workers either: a list sorted by a column without an index
    (applications by amount) started one per page, a process more on cores
    the other sessions' requests wait for (the whole statement's processor
    time grows; under load its page waits longer, not less). Committed:
    SET belongs to the transaction, and the pool rolls back at check-in.

    No statement is prepared by the driver: psycopg prepares one run five
    times in a transaction, and after five more PostgreSQL may keep a
    generic plan for any value; for a quick search's ``LIKE '%' || $1 ||
    '%'`` that plan reads the whole trigram index, 1.4 s against 20 ms at a
    million clients (an import's batches repeat their statements a hundred
    times in one transaction). PostgreSQL's own cached plans (foreign-key
    checks, triggers) stay: forced custom for every statement, they made
    an import 50 % slower."""
    if type(dbapi_connection).__module__.startswith("psycopg"):
        dbapi_connection.prepare_threshold = None
        dbapi_connection.execute("SET jit = off")
        dbapi_connection.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_connection.commit()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_in_a_write_transaction(connection, name):
    """A SAVEPOINT (``begin_nested``) before the transaction's first write
    begins it with BEGIN IMMEDIATE, i.e. with the write lock.

    Python's sqlite3 (its default "legacy" transaction control, which
    SQLAlchemy keeps) opens a transaction only right before an INSERT,
    UPDATE or DELETE: reads run on their own, and the first write asks for
    the write lock with nothing else held, so it waits for another writer
    up to the busy timeout. A SAVEPOINT is not such a statement: SQLite
    itself then begins a deferred transaction, its reads fix a snapshot,
    and the later first write must upgrade that snapshot. If another
    connection holds the write lock (or committed since the snapshot),
    SQLite answers "database is locked" at once, without waiting: waiting
    could not make the snapshot current. It also made the savepoint the
    outermost transaction, so releasing it committed on its own, before
    the caller's commit or rollback. Taking the lock up front (the same
    choice as SQLAlchemy's documented recipe of emitting BEGIN ourselves,
    but only where a savepoint would otherwise begin the transaction)
    waits like any first write and keeps the savepoint inside the
    caller's transaction. Connections in AUTOCOMMIT mode are left alone."""
    raw = connection.connection.driver_connection
    if (isinstance(raw, sqlite3.Connection) and raw.isolation_level is not None
            and not raw.in_transaction):
        raw.execute("BEGIN IMMEDIATE")


def _sqlite_engine_options(app):
    """SQLite: how long a statement waits for another connection's write
    lock (SQLITE_BUSY_TIMEOUT seconds) before it fails with "database is
    locked" (then the page says the server is busy: views/errors.py).
    Under WAL only writers wait. The app's write transactions are short
    (a form, a job run of at most 1 000 tasks, a bulk change commits every
    500 records); a CSV import commits about every second and then leaves
    the lock free for a moment (services/imports.CHUNK_SECONDS), so a save
    waits about a second while a large file loads."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("timeout", float(app.config["SQLITE_BUSY_TIMEOUT"]))
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(overrides=None):
    """Build the app. ``overrides`` replaces settings from config.py (tests)."""
    app = Flask(__name__)
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    if app.config.get("PROXY_COUNT"):
        # The client's address (limits, logs) and scheme as nginx saw them.
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    # First: its after_request runs last and logs the status actually sent.
    from app import logs

    logs.init_app(app)
    _sqlite_engine_options(app)
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)

    from app import models  # noqa: F401  (registers the mappers before FAB)
    from app.views.index import SdelkaIndexView

    with app.app_context():
        # Permissions are synchronised once, after every view is registered,
        # by sync_roles (FAB would otherwise write them view by view, before
        # the roles they belong to exist).
        appbuilder = AppBuilder(
            indexview=SdelkaIndexView,
            base_template="sdelka/base.html",
            update_perms=False,
        )
        appbuilder.init_app(app, db.session)
        from app import catalogue, views

        catalogue.install(appbuilder.bm.babel)
        from app.views import errors, headers, requestargs

        views.register(appbuilder)
        # Flask runs after_request functions in reverse order: the security
        # headers, registered first, reach the responses the error module's
        # replace (views/errors.py: a database too busy to save).
        headers.register(app)
        errors.register(app)
        requestargs.register(app)
        if app.config["FAB_UPDATE_PERMS"]:
            from app.security import sync_roles

            sync_roles(appbuilder.sm)

    _track_acting_user(app)
    logs.name_users(app)

    from app.cli import sdelka_cli
    from app.jobs import load as load_jobs
    from app.jobs.cli import jobs_cli

    app.cli.add_command(sdelka_cli)
    app.cli.add_command(jobs_cli)
    load_jobs()
    from app.views.fields import task_day_end

    task_day_end(app.config)  # a bad TASK_DAY_ENDS stops the start, not each task form
    return app


def _track_acting_user(app):
    """Tell the history service who acts in this request."""
    from flask_login import current_user

    from app.services import custom_fields, history, personal_data  # noqa: F401  (events)

    @app.before_request
    def set_acting_user():
        user_id = current_user.id if current_user and current_user.is_authenticated else None
        history.acting_user_id.set(user_id)

    @app.teardown_request
    def forget_acting_user(error=None):
        # The thread serves other requests and work next: none of it is theirs.
        history.acting_user_id.set(None)
