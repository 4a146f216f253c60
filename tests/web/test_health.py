"""``GET /health`` for load balancers: the database,
the migrations, the shared jobs."""
import datetime

import flask_migrate
from sqlalchemy import delete

from app import db, jobs
from app.models import JobLease
from tests.conftest import make_app, statements_sent


def test_health_answers_without_sign_in_and_names_nothing_secret(app):
    response = app.test_client().get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] in ("ok", "degraded")
    assert body["database"] == "ok" and body["migrations"] == "current"
    assert body["jobs"]["scheduler"] == "off"  # tests start no scheduler
    assert response.headers["Content-Type"] == "application/json"
    for secret in ("password", "postgresql://", "sqlite:///", "Traceback"):
        assert secret not in response.text


def test_a_database_behind_the_code_is_a_503(tmp_path):
    behind = make_app("sqlite:///" + str(tmp_path / "behind.db"))
    with behind.app_context():
        flask_migrate.upgrade(revision="0015")
    response = behind.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "fail", "database": "ok",
                                   "database_ms": response.get_json()["database_ms"],
                                   "migrations": "behind"}


def test_an_unreachable_database_is_a_503_without_its_address(tmp_path):
    missing = make_app("postgresql://nobody:s3cret@127.0.0.1:1/none")
    response = missing.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "fail", "database": "unreachable"}
    assert "s3cret" not in response.text and "127.0.0.1" not in response.text


def test_late_jobs_are_named_when_no_process_took_their_run(app):
    config = dict(app.config, JOBS_DISABLED="", JOBS_SCHEDULES="")
    now = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.timezone.utc)
    long_ago = now - datetime.timedelta(days=30)
    with app.app_context():
        db.session.execute(delete(JobLease))
        db.session.commit()
        due = now - jobs.GRACE - datetime.timedelta(minutes=1)
        every_minute = sorted(
            name for name, spec in jobs.schedules(config).items()
            if jobs.last_due(jobs.trigger_for(spec, "UTC"), due) > due - datetime.timedelta(
                minutes=1))
        assert {"imports", "reminders"} <= set(every_minute)
        # Nothing ran since the server started long ago: every job is late.
        assert set(every_minute) <= set(jobs.late(db.session, config, now, long_ago))
        # A server that started a minute ago has seen no run fall due yet.
        assert jobs.late(db.session, config, now, now - datetime.timedelta(minutes=1)) == []
        # The minute jobs took their last due runs: they are not late.
        for name in every_minute:
            db.session.add(JobLease(name=name, slot=(now - datetime.timedelta(minutes=2))
                                    .replace(tzinfo=None)))
        db.session.commit()
        assert not set(every_minute) & set(jobs.late(db.session, config, now, long_ago))
        # Switched off, a job is never late.
        off = dict(config, JOBS_DISABLED=",".join(jobs.load()))
        assert jobs.late(db.session, off, now, long_ago) == []
        db.session.execute(delete(JobLease))
        db.session.commit()
    degraded = app.test_client().get("/health").get_json()
    assert degraded["status"] in ("ok", "degraded")


def test_last_due_of_a_cron_and_an_interval_job():
    moscow = datetime.timezone(datetime.timedelta(hours=3))
    before = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=moscow)
    daily = jobs.trigger_for("0 8 * * *", "Europe/Moscow")
    assert jobs.last_due(daily, before) == datetime.datetime(2026, 12, 3, 8, 0, tzinfo=moscow)
    early = datetime.datetime(2026, 12, 3, 7, 59, tzinfo=moscow)
    assert jobs.last_due(daily, early) == datetime.datetime(2026, 12, 2, 8, 0, tzinfo=moscow)
    quarter = jobs.trigger_for("every 15 minutes", "Europe/Moscow")
    assert jobs.last_due(quarter, before) == before
    assert jobs.last_due(quarter, before + datetime.timedelta(minutes=14)) == before


def test_health_reads_nothing_but_a_version_and_the_leases(app):
    """Cheap enough to be asked every few seconds by every balancer."""
    with statements_sent(app) as statements:
        assert app.test_client().get("/health").status_code == 200
    assert len(statements) <= 3, statements


def test_the_scheduler_of_the_answering_process_is_reported(tmp_path, monkeypatch):
    own = make_app("sqlite:///" + str(tmp_path / "jobs.db"),
                   JOBS_DISABLED=",".join(jobs.load()))  # scheduled, none fires
    with own.app_context():
        flask_migrate.upgrade()
    monkeypatch.setattr(jobs, "should_start", lambda app: True)
    assert jobs.start_scheduler(own, force=True) is not None
    try:
        answer = own.test_client().get("/health").get_json()
        assert answer["jobs"]["scheduler"] == "running" and answer["status"] == "ok"
    finally:
        jobs.stop_scheduler(own)
    answer = own.test_client().get("/health").get_json()
    assert answer["jobs"]["scheduler"] == "stopped" and answer["status"] == "degraded"
