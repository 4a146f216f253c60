"""CSV import and export at scale.

Imports generated AlmaCRM files (cp1251, ';', a person and an application
per row, with phone validation and the duplicate check) through the same
job runner the screens use, into a database of its own: a fresh SQLite file,
and the schema BENCH_IMPORT_SCHEMA (default ``bench_imports``) of
BENCH_DATABASE_URL, dropped and recreated, never the shared list dataset.
Each size runs in a child process, so its peak RSS is its own: it stays
flat from 100 000 to 1 000 000 rows. Then the 1 000 000 clients are
exported as CSV through the list's export endpoint, measuring the RSS
growth while the stream is read.

After the smallest size, «Отменить импорт» of that run is timed (its
plan, then the undo in one transaction), and the database's own share is
measured: the same number of rows, already converted, written by the
import's driver path (``bulk_sql.insert_rows``, by batch, roll-ups deferred
as in an import) and rolled back. No import can beat that figure, whatever
Python does; it is the ceiling the end-to-end rows/s are to be read against.

Last, a colleague during a big import: a file of BENCH_IMPORT_BUSY_ROWS
(300 000) rows imports in a thread while one user lists clients, opens
one, saves a note and polls the progress, again and again; the figures
are what they waited and how many requests failed.

``python -m bench.imports`` (sizes: BENCH_IMPORT_ROWS, default
"100000,1000000")."""
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

from bench.common import fresh_schema, report

ALMA = "Дата;Фамилия;Имя;Отчество;регион;город;сумма;телефон;дата рождения;статус;комментарии"
SURNAMES = ("Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Васильев",
            "Соколов", "Михайлов", "Новиков", "Фёдоров", "Морозов")
NAMES = ("Иван", "Пётр", "Сергей", "Алексей", "Дмитрий", "Андрей", "Николай", "Михаил")
PATRONYMICS = ("Иванович", "Петрович", "Сергеевич", "Алексеевич", "")
REGIONS = ("Москва", "Санкт-Петербург", "Московская область", "Свердловская область",
           "Республика Татарстан", "Краснодарский край")
CITIES = ("Москва", "Подольск", "Казань", "Екатеринбург", "Краснодар", "Химки")
STATUSES = ("В обработке", "Завершена", "Отказ", "одобрена")


def generate(path, rows, seed=1):
    """An AlmaCRM file of ``rows`` rows; about 1% repeat an earlier phone."""
    rng = random.Random(seed)
    with open(path, "w", encoding="cp1251", newline="") as out:
        out.write(ALMA + "\r\n")
        lines = []
        for i in range(rows):
            number = rows + (i if rng.random() > 0.01 or i == 0 else rng.randrange(i))
            phone = f"8 9{16 + number // 10_000_000:02d} {number % 10_000_000:07d}"
            lines.append(
                f"{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}.2025;"
                f"{rng.choice(SURNAMES)};{rng.choice(NAMES)};{rng.choice(PATRONYMICS)};"
                f"{rng.choice(REGIONS)};{rng.choice(CITIES)};"
                f"\"{rng.randrange(10, 5000) * 1000:,}\"".replace(",", " ")
                + f";{phone};{rng.randrange(1, 29):02d}.{rng.randrange(1, 13):02d}."
                f"{rng.randrange(1950, 2005)};{rng.choice(STATUSES)};комментарий {i}\r\n")
            if len(lines) >= 10000:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))


def database_urls():
    from bench.common import database_urls

    for label, url in database_urls():
        if label == "postgresql":
            url = fresh_schema(url, os.environ.get("BENCH_IMPORT_SCHEMA", "bench_imports"))
        yield label, url


def _app(url, prepared=False):
    """The app on ``url``; unless ``prepared`` (by the previous size's child,
    of the same code), migrated, its roles synchronised (seconds of FAB's
    queries even when nothing changed), seeded and with the importer."""
    import flask_migrate

    from app import create_app, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "FAB_UPDATE_PERMS": False,
                      "WTF_CSRF_ENABLED": False, "AUTH_RATE_LIMITED": False,
                      "UPLOAD_FOLDER": tempfile.mkdtemp() + "/"})
    from app.security import ADMIN, sync_roles
    from app.services.seed import seed_dictionaries

    if prepared:
        return app
    with app.app_context():
        flask_migrate.upgrade()
        sync_roles(app.appbuilder.sm)
        seed_dictionaries(db.session)
        db.session.commit()
        sm = app.appbuilder.sm
        if not sm.find_user(username="bench-importer"):
            sm.add_user(username="bench-importer", first_name="Импорт", last_name="Бенчев",
                        email="bench-importer@example.com", role=sm.find_role(ADMIN),
                        password="Bench-pass-123")
    return app


def one(url, rows):
    """Child process: generate, queue and run one import; print JSON."""
    from sqlalchemy import func, select

    from app import db
    from app.models import Application, Client, ImportJob
    from app.services import import_jobs

    app = _app(url, prepared=os.environ.get("BENCH_PREPARED") == "1")
    path = os.path.join(tempfile.mkdtemp(), "alma.csv")
    generate(path, rows)
    size = os.path.getsize(path)
    start = time.perf_counter()
    job_id, user_id = _queue(app, path, rows)
    cpu = time.process_time()
    status = import_jobs.run_now(app, job_id, worker="bench")
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        clients = db.session.scalar(select(func.count()).select_from(Client))
        applications = db.session.scalar(select(func.count()).select_from(Application))
        result = {"status": status, "rows": rows, "seconds": seconds, "cpu_seconds": cpu,
                  "created": job.created,
                  "skipped": job.skipped, "errors": job.error_count, "clients": clients,
                  "applications": applications, "file_mb": size / 1e6,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        db.session.remove()
    if os.environ.get("BENCH_FLOOR") == "1":
        result["floor_seconds"] = _floor(app, rows, user_id)
        result["same_rows_seconds"] = _floor_same_rows(app, job_id)
    if os.environ.get("BENCH_EXPORT") == "1":
        result.update(_export(app))
    if os.environ.get("BENCH_UNDO") == "1":
        result.update(_undo(app, job_id))
    print("RESULT " + json.dumps(result), flush=True)


def _queue(app, path, rows):
    """A queued AlmaCRM import of ``path`` by bench-importer: (job id, user id)."""
    from sqlalchemy import select

    from app import db
    from app.models import Employee, ImportJob
    from app.services import imports

    with app.app_context():
        encoding, delimiter = imports.sniff(path)
        header = imports.read_header(path, encoding, delimiter)
        entity = imports.get_entity(imports.ALMA_KEY)
        user_id = db.session.scalar(select(Employee.id).where(
            Employee.username == "bench-importer"))
        job = ImportJob(user_id=user_id, entity=imports.ALMA_KEY, file_name="alma.csv",
                        stored_path=path, file_size=os.path.getsize(path), encoding=encoding,
                        delimiter=delimiter, status="queued", total_rows=rows,
                        options=json.dumps({"header": header, "restricted": False,
                                            "on_duplicate": "skip", "mode": "good",
                                            "mapping": imports.auto_map(entity, header)}))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    return job_id, user_id


def busy(url, rows):
    """Child process: a file of ``rows`` imports in a thread while one user
    lists clients, opens one, saves a note and polls the progress, again
    and again (as a colleague would, in-process: the import's thread takes
    the processor too); print JSON of what they waited."""
    import threading

    from app import db
    from app.models import Client
    from app.services import import_jobs
    from bench.generate import vacuum

    app = _app(url, prepared=True)
    path = os.path.join(tempfile.mkdtemp(), "busy.csv")
    generate(path, rows, seed=3)
    job_id, _ = _queue(app, path, rows)
    with app.app_context():
        # The colleague's own client: an undone import (BENCH_UNDO) may have
        # left none, and a page of a missing client counted as a failure.
        client = Client(name="Клиент коллеги")
        db.session.add(client)
        db.session.commit()
        client_id = client.id
        db.session.remove()
        # The tables as autovacuum leaves them some time after the earlier
        # steps' imports (this machine's PostgreSQL runs without it): with
        # no statistics of the applications, PostgreSQL looked for a
        # client's latest one along the date index of a million, 2 s a
        # record page.
        vacuum(db.engine, ["client", "application"])
    user = app.test_client()
    user.post("/login/", data={"username": "bench-importer", "password": "Bench-pass-123"})
    requests = (("get", "/clients/list/", None), ("get", f"/clients/show/{client_id}", None),
                ("post", "/notes/add", {"client": str(client_id), "text": "во время импорта"}),
                ("get", f"/import/job/{job_id}/status", None))
    waits, saves, failures = [], [], 0
    importing = threading.Thread(target=import_jobs.run_now, args=(app, job_id, "bench-busy"))
    start = time.perf_counter()
    importing.start()
    while importing.is_alive():
        for method, address, data in requests:
            begun = time.perf_counter()
            response = getattr(user, method)(address, data=data)
            took = time.perf_counter() - begun
            waits.append(took)
            if method == "post":
                saves.append(took)
            failures += response.status_code not in (200, 302)
    importing.join()
    seconds = time.perf_counter() - start
    waits.sort()
    print("RESULT " + json.dumps({
        "rows": rows, "seconds": seconds, "requests": len(waits), "failures": failures,
        "median_ms": 1000 * waits[len(waits) // 2] if waits else 0,
        "p95_ms": 1000 * waits[int(len(waits) * 0.95)] if waits else 0,
        "max_ms": 1000 * waits[-1] if waits else 0,
        "save_max_ms": 1000 * max(saves) if saves else 0}), flush=True)


def _undo(app, job_id):
    """«Отменить импорт» of the run: its plan (what was changed since), then
    the undo in one transaction."""
    from sqlalchemy import func, select

    from app import db
    from app.models import Client, Employee, ImportJob
    from app.services import import_undo

    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        user_id = db.session.scalar(select(Employee.id).where(
            Employee.username == "bench-importer"))
        start = time.perf_counter()
        plan = import_undo.plan(db.session, job)
        planned = time.perf_counter() - start
        deleted = import_undo.undo(db.session, job, user_id).deleted
        db.session.commit()
        seconds = time.perf_counter() - start
        left = db.session.scalar(select(func.count()).select_from(Client))
        db.session.remove()
    return {"undo_seconds": seconds, "undo_plan_seconds": planned, "undo_deleted": deleted,
            "undo_conflicts": len(plan.conflicts), "clients_after_undo": left}


def _floor(app, rows, user_id):
    """Seconds the database takes to store ``rows`` AlmaCRM rows (a client
    and an application each) handed over ready, in the import's batches,
    through the import's own driver path; rolled back. The rows are made up
    and in order of name and phone, so each index takes them at its end."""
    import datetime
    from decimal import Decimal

    from app import db
    from app.services import search

    # The client's search text, as the import writes it, made beforehand.
    words = [search.client_words({"name": f"Полов Пол {i}", "phone": f"+7955{i:07d}"})
             for i in range(rows)]
    with app.app_context():
        connection = db.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        stamp = now.isoformat(" ") if sqlite else now
        birth, day = datetime.date(1980, 5, 17), datetime.date(2026, 3, 1)
        amount = Decimal("150000")
        if sqlite:
            birth, day, amount = birth.isoformat(), day.isoformat(), str(amount)
        region = connection.exec_driver_sql("SELECT min(id) FROM region").scalar()
        clients = [("person", f"Полов Пол {i}", "Полов", "Пол", "Полович", birth, region,
                    "Москва", f"+7955{i:07d}", f"комментарий {i}", user_id, "private", stamp,
                    stamp, words[i]) for i in range(rows)]
        application = (day, amount, "in_processing", user_id, stamp, stamp)
        applications = ([application + (words[i],) for i in range(rows)]
                        if search.copies_client_words(connection) else [application] * rows)
        return _write_rolled_back(connection, clients, applications)


def _floor_same_rows(app, job_id):
    """The same, with the rows the import stored (read back from the
    database, as it wrote them): names and phones in the file's order, its
    addresses and comments. The made-up rows of ``_floor`` cost half as
    much, so they do not bound what the import can reach."""
    from sqlalchemy import select

    from app import db
    from app.models import ImportCreated
    from app.services import imports

    with app.app_context():
        connection = db.session.connection()
        clients = imports.Importer.CLIENT_COLUMNS
        applications = imports.Importer.application_columns(connection)
        ranges = db.session.execute(select(ImportCreated.first_id, ImportCreated.last_id).where(
            ImportCreated.job_id == job_id, ImportCreated.table_name == "client")).all()
        within = " OR ".join(f"{{key}} BETWEEN {first} AND {last}" for first, last in ranges)
        stored = connection.exec_driver_sql(
            f"SELECT {', '.join(clients)} FROM client WHERE {within.format(key='id')} "
            "ORDER BY id").all()
        made = connection.exec_driver_sql(
            f"SELECT {', '.join(applications[1:])} FROM application "
            f"WHERE {within.format(key='client_id')} ORDER BY client_id").all()
        return _write_rolled_back(connection, [tuple(row) for row in stored],
                                  [tuple(row) for row in made])


def _write_rolled_back(connection, clients, applications):
    """Seconds to insert the clients, each with its application, by the
    import's batches and driver path (services/bulk_sql); then rolled back."""
    from app import db
    from app.services import bulk_sql, imports, rollups

    start = time.perf_counter()
    with bulk_sql.bulk_session(connection), rollups.deferred(connection):
        for first in range(0, len(clients), imports.BATCH):
            ids = bulk_sql.insert_rows(connection, "client", imports.Importer.CLIENT_COLUMNS,
                                       clients[first:first + imports.BATCH], with_ids=True)
            bulk_sql.insert_rows(
                connection, "application", imports.Importer.application_columns(connection),
                [(i, *values) for i, values in zip(ids, applications[first:first + len(ids)])])
    seconds = time.perf_counter() - start
    db.session.rollback()
    db.session.remove()
    return seconds


def _rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _export(app):
    """Read the export of every client as a browser would, chunk by chunk."""
    client = app.test_client()
    client.post("/login/", data={"username": "bench-importer", "password": "Bench-pass-123"})
    before = _rss_mb()
    peak, size, start = before, 0, time.perf_counter()
    response = client.get("/clients/export/?encoding=cp1251", buffered=False)
    for n, chunk in enumerate(response.response):
        size += len(chunk)
        if n % 200 == 0:
            peak = max(peak, _rss_mb())
    response.close()
    seconds = time.perf_counter() - start
    return {"export_seconds": seconds, "export_mb": size / 1e6,
            "export_rss_before_mb": before, "export_rss_peak_mb": peak}


def _child(label, args, env=None):
    done = subprocess.run([sys.executable, "-m", "bench.imports", *args],
                          capture_output=True, text=True, env=env)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(done.stdout[-2000:], done.stderr[-4000:], flush=True)
        raise RuntimeError(f"[{label}] bench.imports {' '.join(args[:1] + args[2:])} failed")
    return json.loads(line[7:])


def run(label, url, sizes):
    for i, rows in enumerate(sizes):
        env = dict(os.environ, BENCH_EXPORT="1" if rows == max(sizes) else "0",
                   BENCH_FLOOR="1" if rows == min(sizes) else "0",
                   BENCH_UNDO="1" if rows == min(sizes) else "0",
                   BENCH_PREPARED="1" if i else "0")
        r = _child(label, ["--one", url, str(rows)], env)
        report(f"[{label}] import AlmaCRM {rows} rows ({r['file_mb']:.1f} MB cp1251)",
               rows_per_s=r["rows"] / r["seconds"], seconds=r["seconds"],
               rows_per_cpu_s=r["rows"] / r["cpu_seconds"],
               created=r["created"], duplicates_skipped=r["skipped"], errors=r["errors"],
               peak_rss_mb=r["peak_rss_mb"])
        if "floor_seconds" in r:
            report(f"[{label}] database alone: made-up rows in order, written by batch",
                   rows_per_s=r["rows"] / r["floor_seconds"], seconds=r["floor_seconds"],
                   database_share_of_import=f"{r['floor_seconds'] / r['seconds']:.0%}")
            report(f"[{label}] database alone: the rows this import stored, written by batch",
                   rows_per_s=r["created"] / r["same_rows_seconds"],
                   seconds=r["same_rows_seconds"],
                   database_share_of_import=f"{r['same_rows_seconds'] / r['seconds']:.0%}")
        if "undo_seconds" in r:
            report(f"[{label}] undo the import of {rows} rows (one transaction)",
                   seconds=r["undo_seconds"], plan_seconds=r["undo_plan_seconds"],
                   records_deleted=r["undo_deleted"], changed_since=r["undo_conflicts"],
                   clients_left=r["clients_after_undo"])
        if "export_seconds" in r:
            report(f"[{label}] export {r['clients']} clients as CSV (streamed)",
                   rows_per_s=r["clients"] / r["export_seconds"],
                   seconds=r["export_seconds"], mb=r["export_mb"],
                   rss_before_mb=r["export_rss_before_mb"],
                   rss_peak_mb=r["export_rss_peak_mb"])


    rows = int(os.environ.get("BENCH_IMPORT_BUSY_ROWS", "300000"))
    r = _child(label, ["--busy", url, str(rows)])
    report(f"[{label}] a colleague's pages, saves and the progress during an import of "
           f"{rows} rows", requests=r["requests"], failures=r["failures"],
           median_ms=r["median_ms"], p95_ms=r["p95_ms"], max_ms=r["max_ms"],
           save_max_ms=r["save_max_ms"], import_seconds=r["seconds"])


def sizes():
    return [int(s) for s in os.environ.get("BENCH_IMPORT_ROWS", "100000,1000000").split(",")]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        one(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--busy":
        busy(sys.argv[2], int(sys.argv[3]))
        return
    for label, url in database_urls():
        run(label, url, sizes())


if __name__ == "__main__":
    main()
