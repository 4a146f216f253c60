"""``GET /health`` for load balancers and monitoring: no sign-in, a few
milliseconds, JSON.

503 when this server cannot serve: the database does not answer or its
schema is not this version's (a server started before `flask db upgrade`
finished, or one left behind after an upgrade). Scheduled jobs are shared
by every server (app/jobs), so late jobs make the answer "degraded" with
200: taking servers out of the balancer would not make the jobs run."""
import datetime
import logging
import time

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app import db, jobs

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)
_STARTED = datetime.datetime.now(datetime.timezone.utc)
_heads = {}


def _head():
    """The migration this code expects (read once: the scripts don't change
    while the process runs)."""
    if "head" not in _heads:
        config = current_app.extensions["migrate"].migrate.get_config()
        _heads["head"] = ScriptDirectory.from_config(config).get_current_head()
    return _heads["head"]


def _check():
    answer = {"status": "ok"}
    started = time.perf_counter()
    try:
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # the cause is logged, never shown to an unsigned caller
        log.exception("Health check: the database does not answer")
        db.session.rollback()
        return {"status": "fail", "database": "unreachable"}
    answer["database"] = "ok"
    answer["database_ms"] = round((time.perf_counter() - started) * 1000, 1)
    if revision != _head():
        answer.update(status="fail", migrations="behind" if revision else "none")
        return answer
    answer["migrations"] = "current"
    now = datetime.datetime.now(datetime.timezone.utc)
    late = jobs.late(db.session, current_app.config, now, _STARTED)
    running = jobs.scheduler_running(current_app._get_current_object())
    answer["jobs"] = {"late": late, "scheduler": {None: "off", True: "running",
                                                  False: "stopped"}[running]}
    if late or running is False:
        answer["status"] = "degraded"
    return answer


@health.route("/health")
def check():
    answer = _check()
    db.session.remove()
    return jsonify(answer), 503 if answer["status"] == "fail" else 200


def register(appbuilder):
    current_app.register_blueprint(health)  # called within the app's context
