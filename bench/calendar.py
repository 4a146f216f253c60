"""The managers' calendar on the generated data: 50 managers × 30 days over
3 000 000 tasks, the grouped query alone and the whole page as Admin."""
import datetime

from bench import generate, lists
from bench.common import report, timed

START = "2025-06-01"  # inside the two years the generator spreads tasks over


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    from app import db
    from app.models import Employee
    from app.services import calendar

    with app.app_context():
        managers = [e.id for e in db.session.query(Employee.id).filter(
            Employee.username.like("bench-manager-%"))]

        def grid():
            return calendar.counts(db.session, start=datetime.date.fromisoformat(START),
                                   days=30, tz_name="Europe/Moscow", assignee_ids=managers)

        cells = sum(grid().values())
        median, p95 = timed(grid, 30)
    report(f"[{label}] calendar query {len(managers)} managers x 30 days",
           median_ms=median, p95_ms=p95, tasks_counted=cells)
    client = app.test_client()
    client.post("/login/", data={"username": lists.ADMIN_USER, "password": generate.PASSWORD})
    page = f"/calendar/?start={START}&days=30"
    assert client.get(page).status_code == 200
    median, p95 = timed(lambda: client.get(page), 30)
    report(f"[{label}] calendar page as Admin", median_ms=median, p95_ms=p95)
