"""The applications and tasks list pages on the generated data, through the
test client, as Admin (all clients) and as a Manager (row access applies):
time per page, SQL statements per page and the slowest of them, and the
memory of the process over many pages."""
import gc
import re
import statistics
import tempfile
import time
from collections import defaultdict

import flask_migrate
from sqlalchemy import event, select

from bench import generate
from bench.common import repeats, report, timed

ADMIN_USER = "bench-admin"
WARM_UP, REPEAT, MEMORY_PAGES = 3, 30, 200


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class QueryLog:
    """Every statement of the engine with its time in ms (up to the first
    rows: SQLite steps the rest while they are fetched)."""

    def __init__(self, engine):
        self.entries = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        self.entries.append((ms, statement, parameters))


def _short(sql):
    """The statement on one line, its outer column list elided."""
    sql = re.sub(r"^\s*SELECT\s.*?\sFROM\s", "SELECT … FROM ", sql, count=1, flags=re.S)
    return re.sub(r"\s+", " ", sql).strip()


# Databases this process has migrated, synchronised and seeded: every step
# builds an app of its own on the same database, and FAB's permission sync
# takes seconds even when it finds nothing to do (the views are the same
# ones within a process). Start-up's measured sync is on a fresh database.
_PREPARED = set()


def _build(url):
    from app import create_app, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "FAB_UPDATE_PERMS": False,
                      "WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False,
                      "UPLOAD_FOLDER": tempfile.mkdtemp() + "/"})
    from app.security import ADMIN, sync_roles  # after create_app: it imports the views
    from app.services.seed import seed_dictionaries
    if url in _PREPARED:
        return app
    with app.app_context():
        flask_migrate.upgrade()
        sm = app.appbuilder.sm
        sync_roles(sm)
        seed_dictionaries(db.session)
        db.session.commit()
        if not sm.find_user(username=ADMIN_USER):
            sm.add_user(username=ADMIN_USER, first_name="Админ", last_name="Бенчев",
                        email="bench-admin@example.com", role=sm.find_role(ADMIN),
                        password=generate.PASSWORD)
    _PREPARED.add(url)
    return app


def _pages(app):
    """(name, url, model, expected status) of every page timed; the status
    filter of tasks uses the index FAB gives the "equal" filter of status."""
    from flask_appbuilder.models.sqla.filters import FilterRelationOneToManyEqual

    from app import db
    from app.models import Application, Task, TaskStatus
    from app.views.tasks import TaskView

    view = next(v for v in app.appbuilder.baseviews if isinstance(v, TaskView))
    index = next(i for i, f in enumerate(view._filters.get_search_filters()["status"])
                 if isinstance(f, FilterRelationOneToManyEqual))
    with app.app_context():
        done = db.session.scalar(select(TaskStatus.id).where(TaskStatus.name == "Завершена"))
    return [
        ("applications first page", "/applications/list/", Application, None),
        ("applications by date", "/applications/list/?_oc_ApplicationView=date"
                                 "&_od_ApplicationView=desc", Application, None),
        ("applications status=completed", "/applications/list/?_flt_0_status=completed",
         Application, "completed"),
        ("tasks first page", "/tasks/list/", Task, None),
        ("tasks by planned_at", "/tasks/list/?_oc_TaskView=planned_at&_od_TaskView=desc",
         Task, None),
        (f"tasks status={done}", f"/tasks/list/?_flt_{index}_status={done}", Task, done),
    ]


def _check(app, response, model, status):
    """The page lists rows, and with a filter only rows of that status."""
    from app import db

    assert response.status_code == 200, response.status_code
    path = {"application": "applications", "task": "tasks"}[model.__tablename__]
    ids = {int(i) for i in re.findall(rf"/{path}/show/(\d+)", response.text)}
    assert ids, "the page lists no rows"
    if status is not None:
        column = model.status if model.__tablename__ == "application" else model.status_id
        with app.app_context():
            found = set(db.session.scalars(select(column).where(model.id.in_(ids))))
        assert {getattr(s, "value", s) for s in found} == {status}, found
    return len(ids)


def run(label, url):
    url = generate.database_url(label, url)
    app = _build(url)
    # Filled in a process of its own, so that the figures of memory below are the app's.
    generate.ensure(url)

    from app import db

    with app.app_context():
        log = QueryLog(db.engine)
    pages = _pages(app)
    clients = {}
    for role, username in (("admin", ADMIN_USER), ("manager", generate.MANAGER.format(1))):
        client = clients[role] = app.test_client()
        signed_in = client.post("/login/", data={"username": username,
                                                 "password": generate.PASSWORD},
                                follow_redirects=True)
        assert "/logout" in signed_in.text, f"{username} could not sign in"
        for name, page, model, status in pages:
            rows = _check(app, client.get(page), model, status)
            for _ in range(repeats(WARM_UP)):
                client.get(page)
            requests = []

            def request():
                log.entries = []
                client.get(page)
                requests.append(log.entries)

            median, p95 = timed(request, REPEAT)
            by_sql = defaultdict(list)
            for entries in requests:
                for ms, sql, params in entries:
                    by_sql[sql].append((ms, params))
            slowest_sql, runs = max(by_sql.items(),
                                    key=lambda kv: statistics.median(ms for ms, _ in kv[1]))
            report(f"[{label}] {role} {name}", median_ms=median, p95_ms=p95, rows=rows,
                   queries=len(requests[-1]),
                   sql_ms=statistics.median(sum(ms for ms, _, _ in e) for e in requests),
                   slowest_ms=statistics.median(ms for ms, _ in runs))
            print(f"    slowest: {_short(slowest_sql)[:700]}  params={runs[-1][1]}", flush=True)

    log.entries = []
    gc.collect()
    before = rss_mb()
    for i in range(repeats(MEMORY_PAGES)):
        role = ("admin", "manager")[i % 2]
        clients[role].get(pages[(i // 2) % len(pages)][1])
        log.entries = []
    gc.collect()
    report(f"[{label}] memory over {repeats(MEMORY_PAGES)} list pages", rss_before_mb=before,
           rss_after_mb=rss_mb())
