"""Statistics on the generated data (1M clients, 1M applications, 3M tasks,
and deals added here): the dashboard's and the funnel's figures for a month
and a quarter, everyone's and one manager's, as service calls and as pages.

The generator makes no deals; when the deal table is empty this adds
BENCH_DEALS (default 300 000) of them, seeded, so the funnel and the profit
have rows to group. Run alone: ``python -m bench.stats``."""
import datetime
import os
import random
import subprocess
import sys
import time

from sqlalchemy import func, select

from bench import generate, lists
from bench.common import database_urls, report, timed

MONTH = ("2025-06-01", "2025-06-30")
QUARTER = ("2025-04-01", "2025-06-30")
REPEAT = 20


def _deals(engine, n):
    """``n`` deals of the generated clients, seeded; none if any exist."""
    from app.models import Client, Currency, Deal, Employee, FunnelStage

    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Deal)):
            return
        stages = conn.scalars(select(FunnelStage.id)).all()
        currencies = conn.scalars(select(Currency.id)).all()
        managers = conn.scalars(select(Employee.id).where(
            Employee.username.like("bench-manager-%"))).all()
        clients = conn.scalar(select(func.max(Client.id)))
    rng = random.Random(generate.SEED + 8)
    start = time.perf_counter()

    def rows():
        for deal_id in range(1, n + 1):
            created = generate._moment(rng)
            status = rng.choices(("open", "won", "lost"), (5, 3, 2))[0]
            closed = (created + datetime.timedelta(days=rng.randrange(1, 60))
                      if status != "open" else None)
            yield {"id": deal_id, "title": f"Сделка {deal_id}",
                   "client_id": rng.randrange(1, clients + 1),
                   "amount": rng.randrange(10, 2000) * 1000,
                   "currency_id": rng.choice(currencies) if rng.random() < 0.1 else None,
                   "stage_id": rng.choice(stages), "probability": 0, "status": status,
                   "closed_at": closed, "responsible_id": rng.choice(managers),
                   "created_at": created, "updated_at": created}

    table = Deal.__table__
    with engine.begin() as conn:
        batch = []
        for row in rows():
            batch.append(row)
            if len(batch) == 5000:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
    generate.vacuum(engine, ("deal",))
    report("  generate: deal", rows=n, seconds=time.perf_counter() - start)


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    subprocess.run([sys.executable, "-m", "bench.generate", url], check=True)
    from app import db
    from app.models import Employee
    from app.services import stats

    with app.app_context():
        _deals(db.engine, int(os.environ.get("BENCH_DEALS", 300_000)))
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
