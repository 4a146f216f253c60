"""Reminders, overdue marks, the head of sales' lists and digest, and the
lease that runs each scheduled job once.
Both databases, through the ``app`` fixture."""
import datetime
import threading
import time

import pytest
from sqlalchemy import delete, select

from app import jobs
from app.models import (
    Application,
    Client,
    Deal,
    DealStatus,
    JobLease,
    Notification,
    Reminder,
    Task,
    TaskStatus,
    utcnow,
)
from app.services import followup, notifications
from tests.conftest import employee, make_app, unique


def _status(session, name):
    return session.scalar(select(TaskStatus).where(TaskStatus.name == name))


def _notes(session, user_id, kind):
    return session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                      Notification.kind == kind)).all()


@pytest.fixture
def sent_mail(monkeypatch, app):
    """SMTP configured, smtplib.SMTP replaced by a recorder."""
    import smtplib

    outbox = []

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):
            self.host, self.port = host, port

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            pass

        def login(self, user, password):
            pass

        def send_message(self, message):
            outbox.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test")
    return outbox


@pytest.fixture
def clean_jobs(session):
    session.execute(delete(JobLease))
    session.commit()


def _task(session, username, planned, **kw):
    user = employee(session, username)
    task = Task(description=unique("напомнить"), assignee_id=user.id, author_id=user.id,
                planned_at=planned, status=kw.pop("status", _status(session, "В работе")),
                **kw)
    session.add(task)
    session.commit()
    return task


def test_notify_is_idempotent_by_key_and_mails_after_commit(app, session, sent_mail):
    manager = employee(session, "manager")
    key = unique("k")
    with app.app_context():
        first = notifications.notify(session, manager.id, "Привет", link="/tasks/", key=key)
        again = notifications.notify(session, manager.id, "Привет", link="/tasks/", key=key)
        assert first and again is None
        assert sent_mail == []  # not before the commit
        session.commit()
    assert len(sent_mail) == 1 and sent_mail[0]["To"] == manager.email
    assert "http://127.0.0.1:5000/tasks/" in sent_mail[0].get_content()
    session.expire_all()
    assert session.get(Notification, first).emailed_at is not None


def test_rolled_back_notification_is_not_mailed(app, session, sent_mail):
    manager = employee(session, "manager")
    with app.app_context():
        notifications.notify(session, manager.id, "Откат", key=unique("k"))
        session.rollback()
        session.commit()
    assert sent_mail == []


def test_outside_links_are_dropped(session):
    assert notifications.safe_link("//evil.example/x") is None
    assert notifications.safe_link("https://evil.example") is None
    assert notifications.safe_link("/tasks/work/5") == "/tasks/work/5"


def test_unread_count_and_mark_read_only_own(session):
    manager, head = employee(session, "manager"), employee(session, "head")
    own = notifications.notify(session, manager.id, "мне", email=False)
    other = notifications.notify(session, head.id, "не мне", email=False)
    session.commit()
    before = notifications.unread_count(session, manager.id)
    assert notifications.mark_read(session, manager.id, [own, other]) == 1
    session.commit()
    assert notifications.unread_count(session, manager.id) == before - 1
    assert session.get(Notification, other).read_at is None


def test_reminder_choices_and_default():
    assert [m.value for m in Reminder] == [0, 5, 15, 30, 60, 120, 1440]
    assert Task.__table__.c.reminder_minutes.default.arg == 1440


def test_reminders_job_sends_once_and_again_after_a_move(app, session, clean_jobs, sent_mail):
    now = utcnow()
    soon = _task(session, "manager", now + datetime.timedelta(minutes=10),
                 reminder_minutes=Reminder.MIN_15.value)
    later = _task(session, "manager", now + datetime.timedelta(minutes=40),
                  reminder_minutes=Reminder.MIN_30.value)
    never = _task(session, "manager", now + datetime.timedelta(minutes=3),
                  reminder_minutes=Reminder.NEVER.value)
    done = _task(session, "manager", now + datetime.timedelta(minutes=3),
                 reminder_minutes=Reminder.MIN_5.value, status=_status(session, "Завершена"))
    past = _task(session, "manager", now - datetime.timedelta(minutes=3),
                 reminder_minutes=Reminder.MIN_5.value)
    result = jobs.run(app, "reminders", now=now)
    assert "reminders sent" in result
    manager = employee(session, "manager")
    notes = _notes(session, manager.id, "reminder")
    links = {n.link for n in notes}
    assert f"/tasks/work/{soon.id}" in links
    [note] = [n for n in notes if n.link == f"/tasks/work/{soon.id}"]
    assert note.text.startswith("Напоминание: ") and "запланировано на" in note.text
    for task in (later, never, done, past):
        assert f"/tasks/work/{task.id}" not in links
    assert any(soon.description in m.get_content() for m in sent_mail)
    count = len(_notes(session, manager.id, "reminder"))
    assert "0 reminders sent" in jobs.run(app, "reminders", now=now)  # idempotent
    assert len(_notes(session, manager.id, "reminder")) == count
    # Moved to a new time: reminded anew.
    session.expire_all()
    task = session.get(Task, soon.id)
    task.planned_at = now + datetime.timedelta(minutes=12)
    session.commit()
    jobs.run(app, "reminders", now=now)
    assert len([n for n in _notes(session, manager.id, "reminder")
                if n.link == f"/tasks/work/{soon.id}"]) == 2


def test_overdue_job_tells_the_assignee_once(app, session, clean_jobs):
    now = utcnow()
    late = _task(session, "manager", now - datetime.timedelta(days=1),
                 deadline=now - datetime.timedelta(hours=2))
    ancient = _task(session, "manager", now - datetime.timedelta(days=60),
                    deadline=now - datetime.timedelta(days=30))
    finished = _task(session, "manager", now - datetime.timedelta(days=1),
                     deadline=now - datetime.timedelta(hours=2),
                     status=_status(session, "Завершена"))
    assert jobs.run(app, "overdue", now=now)
    assert jobs.run(app, "overdue", now=now).startswith("0 overdue")
    manager = employee(session, "manager")
    links = [n.link for n in _notes(session, manager.id, "overdue")]
    assert links.count(f"/tasks/work/{late.id}") == 1
    assert f"/tasks/work/{ancient.id}" not in links
    assert f"/tasks/work/{finished.id}" not in links
    session.expire_all()
    assert session.get(Task, late.id).overdue_marked_for == late.deadline


def test_unplanned_lists_deals_and_clients_without_a_future_task(session):
    now = utcnow()
    manager = employee(session, "manager")
    client = Client(name=unique("Без планов"), responsible_id=manager.id)
    planned_client = Client(name=unique("С планом"), responsible_id=manager.id)
    session.add_all([client, planned_client])
    session.flush()
    bare = Deal(title=unique("Сделка без задачи"), client_id=client.id)
    covered = Deal(title=unique("Сделка с задачей"), client_id=planned_client.id)
    won = Deal(title=unique("Выигранная"), client_id=client.id, status=DealStatus.WON)
    session.add_all([bare, covered, won,
                     Application(client_id=client.id, amount=1000)])
    session.flush()
    session.add(Task(client_id=planned_client.id, deal_id=covered.id, assignee_id=manager.id,
                     planned_at=now + datetime.timedelta(days=2)))
    session.commit()
    deals = {d.id for d in session.scalars(followup.unplanned_deals_query(session, now))}
    clients = {c.id for c in session.scalars(followup.unplanned_clients_query(session, now))}
    assert bare.id in deals and covered.id not in deals and won.id not in deals
    assert client.id in clients and planned_client.id not in clients


def test_unplanned_and_digest_jobs_notify_the_head_of_sales_once_a_day(app, session,
                                                                        clean_jobs, sent_mail):
    head = employee(session, "head")
    client = Client(name=unique("Для дайджеста"), responsible_id=head.id)
    session.add(client)
    session.flush()
    session.add(Deal(title=unique("Открытая"), client_id=client.id))
    now = utcnow()
    session.add(Application(client_id=client.id, amount=500,
                            date=(now + datetime.timedelta(hours=3)).date()
                            - datetime.timedelta(days=1)))
    session.commit()
    for _ in range(2):
        jobs.run(app, "unplanned", now=now)
        jobs.run(app, "digest", now=now)
    unplanned = _notes(session, head.id, "unplanned")
    digest = _notes(session, head.id, "digest")
    assert len(unplanned) == 1 and unplanned[0].link == "/followup/unplanned/"
    assert "открытых сделок" in unplanned[0].text
    assert len(digest) == 1 and "Новых заявок: " in digest[0].text
    assert "Новых заявок: 0" not in digest[0].text
    assert _notes(session, employee(session, "manager").id, "digest") == []
    assert any("показатели за" in m["Subject"] for m in sent_mail)


def test_digest_figures_count_the_day(session):
    manager = employee(session, "manager")
    day = datetime.date(2031, 7, 1)
    since = datetime.datetime(2031, 6, 30, 21)  # Moscow midnight
    until = since + datetime.timedelta(days=1)
    client = Client(name=unique("Цифры"), responsible_id=manager.id)
    session.add(client)
    session.flush()
    done = _status(session, "Завершена")
    session.add_all([
        Application(client_id=client.id, amount=1, date=day),
        Application(client_id=client.id, amount=1, date=day - datetime.timedelta(days=1)),
        Task(client_id=client.id, status=done, planned_at=since,
             finished_at=since + datetime.timedelta(hours=5)),
        Task(client_id=client.id, planned_at=since,
             deadline=since + datetime.timedelta(hours=1)),
        Deal(title="Выигранная сделка", client_id=client.id, status=DealStatus.WON, amount=1000,
             closed_at=since + datetime.timedelta(hours=2)),
    ])
    session.commit()
    figures = followup.digest_figures(session, since, until, day)
    assert figures["applications"] >= 1 and figures["tasks_completed"] >= 1
    assert figures["tasks_overdue"] >= 1 and figures["deals_won"] >= 1
    assert figures["deals_won_amount"] >= 1000


# --- single execution ---------------------------------------------------------------

def test_lease_is_exclusive_and_slots_run_once(session, clean_jobs):
    now = utcnow()
    ttl = datetime.timedelta(minutes=10)
    slot = now.replace(second=0, microsecond=0)
    assert jobs.acquire(session, "t", "a", now, ttl, slot)
    assert not jobs.acquire(session, "t", "b", now, ttl, slot)  # held
    jobs.release(session, "t", "a", "ok")
    assert not jobs.acquire(session, "t", "b", now, ttl, slot)  # that slot is taken
    assert jobs.acquire(session, "t", "b", now, ttl, slot + datetime.timedelta(minutes=1))
    # An expired lease (its holder died) can be taken over.
    later = now + ttl + datetime.timedelta(seconds=1)
    assert jobs.acquire(session, "t", "c", later, ttl, slot + datetime.timedelta(minutes=2))


def test_two_app_instances_on_one_database_run_each_slot_once(app, database_url, clean_jobs):
    """Two apps (two engines, like two machines) race for the same slots."""
    other = make_app(database_url)
    runs = []
    jobs.job("test-race", "every 1 minutes")(
        lambda session, now, config: runs.append(now) or time.sleep(0.2) or "ran")
    try:
        base = utcnow().replace(second=0, microsecond=0)
        for minute in range(3):
            slot = base + datetime.timedelta(minutes=minute)
            barrier = threading.Barrier(4)
            results = []

            def race(instance):
                barrier.wait()
                results.append(jobs.run(instance, "test-race", slot=slot, now=slot))

            threads = [threading.Thread(target=race, args=(instance,))
                       for instance in (app, other, app, other)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(results, key=str) == [None, None, None, "ran"]
        assert len(runs) == 3
    finally:
        jobs.JOBS.pop("test-race", None)
        with other.app_context():
            from app import db

            db.engine.dispose()


def test_two_schedulers_against_one_database_fire_each_run_once(app, database_url,
                                                                clean_jobs, session):
    """Real APScheduler instances in two app instances, every second."""
    other = make_app(database_url)
    runs = []
    lock = threading.Lock()

    def record(session_, now, config):
        with lock:
            runs.append(now.replace(microsecond=0))
        return "tick"

    jobs.job("test-tick", "every 1 seconds")(record)
    settings = {"JOBS_ENABLED": True, "JOBS_DISABLED": "reminders,overdue,unplanned,digest"}
    schedulers = []
    try:
        for instance in (app, other):
            instance.config.update(settings)
            schedulers.append(jobs.start_scheduler(instance, force=True))
        time.sleep(4.5)
    finally:
        for instance in (app, other):
            jobs.stop_scheduler(instance)
            instance.config.update(JOBS_DISABLED="")
        jobs.JOBS.pop("test-tick", None)
    assert all(s is not None for s in schedulers)
    assert len(runs) >= 3
    assert len(runs) == len(set(runs)), runs  # no second executed twice
    slots = session.scalar(select(JobLease.slot).where(JobLease.name == "test-tick"))
    assert slots is not None
    with other.app_context():
        from app import db

        db.engine.dispose()


def test_schedules_and_switches_come_from_the_config():
    jobs.load()
    config = {"JOBS_SCHEDULES": "digest=30 7 * * *; reminders=every 2 minutes",
              "JOBS_DISABLED": "overdue, unplanned"}
    assert jobs.schedules(config)["digest"] == "30 7 * * *"
    assert jobs.schedules(config)["reminders"] == "every 2 minutes"
    assert jobs.disabled(config) == {"overdue", "unplanned"}
    with pytest.raises(ValueError):
        jobs.schedules({"JOBS_SCHEDULES": "nosuchjob=* * * * *"})
    trigger = jobs.trigger_for("0 8 * * *", "Europe/Moscow")
    now = datetime.datetime(2030, 1, 1, 5, 2, tzinfo=datetime.timezone.utc)  # 08:02 MSK
    assert jobs.current_slot(trigger, now) == datetime.datetime(
        2030, 1, 1, 5, 0, tzinfo=datetime.timezone.utc)


def test_scheduler_is_not_started_in_tests(app):
    assert jobs.start_scheduler(app) is None


def test_cli_lists_and_runs_jobs(app, clean_jobs):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0 and "reminders" in result.output and "digest" in result.output
    result = runner.invoke(args=["jobs", "run", "overdue"])
    assert result.exit_code == 0, result.output
    assert "overdue" in result.output
    result = runner.invoke(args=["jobs", "run", "nosuchjob"])
    assert result.exit_code != 0 and "reminders" in result.output


def test_two_processes_with_schedulers_run_each_slot_once(app, database_url, clean_jobs,
                                                          tmp_path):
    """Two OS processes (as two servers) with real schedulers on one database."""
    import os
    import subprocess
    import sys

    out = tmp_path / "runs.txt"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    processes = [subprocess.Popen([sys.executable, "-m", "tests.unit.jobs_process",
                                   database_url, str(out), "6"], cwd=root, env=env)
                 for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=120) == 0
    lines = out.read_text(encoding="ascii").split("\n")[:-1]
    slots = [line.split()[1] for line in lines]
    assert len(slots) >= 3, lines
    assert len(slots) == len(set(slots)), lines  # no slot executed twice
