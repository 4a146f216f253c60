"""Statistics on the generated data (1M clients, 1M applications, 3M tasks,
BENCH_DEALS deals): the dashboard's and the funnel's figures for a month
and a quarter, everyone's and one manager's, as service calls and as pages.
Run alone: ``python -m bench.stats``."""
import datetime

from sqlalchemy import select

from bench import generate, lists
from bench.common import database_urls, report, timed

MONTH = ("2025-06-01", "2025-06-30")
QUARTER = ("2025-04-01", "2025-06-30")
REPEAT = 20


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    generate.ensure(url)
    from app import db
    from app.models import Employee
    from app.services import stats

    with app.app_context():
        # The roll-ups may just have been filled by migration 0011.
        generate.vacuum(db.engine, ("task_day", "client_day", "application_day"))
        manager = db.session.scalar(select(Employee.id).where(
            Employee.username == generate.MANAGER.format(1)))
        tz = app.config["APP_TIMEZONE"]
        for name, (first, last) in (("month", MONTH), ("quarter", QUARTER)):
            period = stats.Period(datetime.date.fromisoformat(first),
                                  datetime.date.fromisoformat(last))
            for who, scope in (("all", stats.Scope()),
                               ("manager", stats.make_scope(db.session, manager_id=manager))):
                board = stats.dashboard(db.session, period, scope, tz)
                median, p95 = timed(lambda: stats.dashboard(db.session, period, scope, tz),
                                    REPEAT)
                report(f"[{label}] stats dashboard query {name} {who}", median_ms=median,
                       p95_ms=p95, tasks=board.totals.total, rows=len(board.rows),
                       profit=f"{board.profit:.2f}")
                funnel = stats.funnel(db.session, period, scope, tz)
                median, p95 = timed(lambda: stats.funnel(db.session, period, scope, tz),
                                    REPEAT)
                report(f"[{label}] stats funnel query {name} {who}", median_ms=median,
                       p95_ms=p95, clients=funnel.clients, deals=funnel.deals)
    for role, username in (("admin", lists.ADMIN_USER), ("manager", generate.MANAGER.format(1))):
        client = app.test_client()
        client.post("/login/", data={"username": username, "password": generate.PASSWORD})
        for name, (first, last) in (("month", MONTH), ("quarter", QUARTER)):
            args = f"?period=custom&start={first}&end={last}"
            for page in ("/stats/", "/stats/funnel/"):
                response = client.get(page + args)
                assert response.status_code == 200, (page, response.status_code)
                median, p95 = timed(lambda: client.get(page + args), REPEAT)
                report(f"[{label}] {role} page {page} {name}", median_ms=median, p95_ms=p95)


def main():
    for label, url in database_urls():
        run(label, url)


if __name__ == "__main__":
    main()
