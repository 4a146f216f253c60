"""Start-up, sign-in and the staff screens, on an empty database: the
``url`` as given for SQLite (a fresh file), the schema BENCH_STARTUP_SCHEMA
(default ``bench_startup``, dropped and created anew) on PostgreSQL."""
import os
import time

import flask_migrate

from bench.common import fresh_schema, report, timed

PASSWORD = "Bench-pass-123"


def run(label, url):
    from app import create_app
    from app.security import ADMIN, sync_roles

    if label == "postgresql":
        url = fresh_schema(url, os.environ.get("BENCH_STARTUP_SCHEMA", "bench_startup"))
    settings = {"SQLALCHEMY_DATABASE_URI": url, "FAB_UPDATE_PERMS": False,
                "WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False}
    start = time.perf_counter()
    app = create_app(settings)
    created = (time.perf_counter() - start) * 1000
    with app.app_context():
        flask_migrate.upgrade()
        start = time.perf_counter()
        sync_roles(app.appbuilder.sm)
        synced = (time.perf_counter() - start) * 1000
        sm = app.appbuilder.sm
        if not sm.find_user(username="bench"):
            sm.add_user(username="bench", first_name="B", last_name="B",
                        email="bench@example.com", role=sm.find_role(ADMIN),
                        password=PASSWORD)
    report(f"[{label}] start-up", create_app_ms=created, sync_roles_ms=synced)

    def login():
        app.test_client().post("/login/", data={"username": "bench", "password": PASSWORD})

    median, p95 = timed(login, 20)
    client = app.test_client()
    login_response = client.post("/login/", data={"username": "bench", "password": PASSWORD},
                                 follow_redirects=True)
    assert "/logout" in login_response.text, "bench user could not sign in"
    report(f"[{label}] sign-in (scrypt hash check)", median_ms=median, p95_ms=p95)
    for url in ("/departments/list/", "/employees/list/", "/company/show/1"):
        client.get("/company/list/")
        median, p95 = timed(lambda: client.get(url), 50)
        report(f"[{label}] GET {url}", median_ms=median, p95_ms=p95)
