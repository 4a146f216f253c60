"""Scheduled jobs and notifications on the generated data (3 000 000 tasks):
the read-only questions the jobs ask, timed repeatedly; one real run of each
job (it writes notifications and marks, so later runs are the idempotent
ones); the bell's unread count; the page «Без планов» the unplanned job
links to, as Admin and as a Manager, at the same moment as the jobs; and
the printed task list (300 tasks)."""
import datetime
from unittest import mock

from bench import generate, lists
from bench.common import report, timed

NOW = datetime.datetime(2025, 6, 16, 6, 0)  # inside the generator's two years


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    generate.ensure(url)
    from app import db, jobs
    from app.jobs.followup import COUNT_LIMIT
    from app.models import Employee
    from app.services import calendar, followup, notifications

    with app.app_context():
        session = db.session
        since, until = calendar.bounds(NOW.date(), "Europe/Moscow")
        questions = {
            "due reminders": lambda: followup.due_reminders(session, NOW),
            "newly overdue": lambda: followup.newly_overdue(session, NOW, 7),
            "unplanned deals count": lambda: followup.count_of(
                session, followup.unplanned_deals_query(session, NOW), COUNT_LIMIT),
            "unplanned clients count": lambda: followup.count_of(
                session, followup.unplanned_clients_query(session, NOW), COUNT_LIMIT),
            "digest figures": lambda: followup.digest_figures(session, since, until,
                                                              NOW.date()),
        }
        for name, question in questions.items():
            result = question()
            rows = len(result) if isinstance(result, list) else result
            median, p95 = timed(question, 5)
            report(f"[{label}] jobs: {name}", median_ms=median, p95_ms=p95,
                   rows=rows if not isinstance(rows, dict) else "figures")
        session.rollback()
        admin_id = session.query(Employee.id).filter(
            Employee.username == lists.ADMIN_USER).scalar()
    for name in ("reminders", "overdue", "unplanned", "digest"):
        for attempt in ("first run", "second run"):
            median, _ = timed(lambda: jobs.run(app, name, now=NOW), 1)
            report(f"[{label}] job {name} {attempt}", ms=median)
    with app.app_context():
        median, p95 = timed(lambda: notifications.unread_count(db.session, admin_id), 30)
    report(f"[{label}] bell unread count", median_ms=median, p95_ms=p95)

    _unplanned_page(app, label)

    client = app.test_client()
    client.post("/login/", data={"username": lists.ADMIN_USER, "password": generate.PASSWORD})
    page = "/tasks/print?_flt_1_planned_at=2025-06-16%2000:00:00"
    response = client.get(page)
    median, _ = timed(lambda: client.get(page), 2)
    report(f"[{label}] print task list as Admin (first 300 tasks)", median_ms=median,
           status=response.status_code, pdf_kb=len(response.data) // 1024)


def _unplanned_page(app, label):
    """«Без планов» at NOW (the page asks the clock; the data end in 2026):
    its first page and a later one, as Admin and as a Manager."""
    for role, username in (("admin", lists.ADMIN_USER), ("manager", generate.MANAGER.format(1))):
        client = app.test_client()
        client.post("/login/", data={"username": username, "password": generate.PASSWORD})
        for name, page in (("", "/followup/unplanned/"),
                           (" page 10", "/followup/unplanned/?page_deal=9&page_client=9")):
            with mock.patch("app.views.followup.utcnow", return_value=NOW):
                response = client.get(page)
                assert response.status_code == 200, (page, response.status_code)
                median, p95 = timed(lambda: client.get(page), 10)
            rows = response.text.count("<tr><td>")
            report(f"[{label}] unplanned page{name} as {role}", median_ms=median, p95_ms=p95,
                   rows=rows)


if __name__ == "__main__":
    from bench.common import database_urls

    for label, url in database_urls():
        run(label, url)

