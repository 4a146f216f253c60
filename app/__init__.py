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
from sqlalchemy.engine import Engine

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
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    """SQLite checks foreign keys (and runs ON DELETE CASCADE / SET NULL)
    only when each connection asks: without this a row could point at a
    deleted one. Migrations turn it off on their own connection
    (migrations/env.py): SQLite's batch mode copies tables."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


def create_app(overrides=None):
    """Build the app. ``overrides`` replaces settings from config.py (tests)."""
    app = Flask(__name__)
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
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
        from app import views
        from app.views import errors, headers, requestargs

        views.register(appbuilder)
        errors.register(app)
        headers.register(app)
        requestargs.register(app)
        if app.config["FAB_UPDATE_PERMS"]:
            from app.security import sync_roles

            sync_roles(appbuilder.sm)

    _track_acting_user(app)

    from app.cli import sdelka_cli
    from app.jobs import load as load_jobs
    from app.jobs.cli import jobs_cli

    app.cli.add_command(sdelka_cli)
    app.cli.add_command(jobs_cli)
    load_jobs()
    return app


def _track_acting_user(app):
    """Tell the history service who acts in this request."""
    from flask_login import current_user

    from app.services import custom_fields, history  # noqa: F401  (session events)

    @app.before_request
    def set_acting_user():
        user_id = current_user.id if current_user and current_user.is_authenticated else None
        history.acting_user_id.set(user_id)

    @app.teardown_request
    def forget_acting_user(error=None):
        # The thread serves other requests and work next: none of it is theirs.
        history.acting_user_id.set(None)
