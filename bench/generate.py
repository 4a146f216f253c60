"""Bench data: a million clients, a million applications and three million
tasks of Russian-looking data, reused while the database holds those counts;
then deals (BENCH_DEALS, default 300 000), made once when there are none,
with a third of the tasks linked to a deal of their client.

Faker (ru_RU) makes pools of a few thousand names, cities and phrases once; a
seeded ``random`` combines them, so every run builds the same rows. SQLite
gets Core ``insert()`` executemany in batches, PostgreSQL gets COPY; either
way a table loads in one transaction with its secondary indexes dropped and
rebuilt at the end, which is several times faster than keeping them."""
import contextlib
import datetime
import itertools
import os
import random
import subprocess
import sys
import time
from array import array

from faker import Faker
from flask_appbuilder.security.sqla.models import assoc_user_role
from sqlalchemy import create_engine, func, select, text
from werkzeug.security import generate_password_hash

from app.models import (
    Application,
    Client,
    ClientOrigin,
    ClientStatus,
    ClientType,
    Currency,
    Deal,
    Employee,
    FunnelStage,
    LoanPurpose,
    Region,
    Reminder,
    StatusKind,
    Task,
    TaskStatus,
    TaskType,
    client_participant,
)
from app.services import rollups, search
from bench.common import report

PASSWORD = "Bench-pass-123"
MANAGER = "bench-manager-{:02d}"
SEED = 20240601
BATCH = 20_000
END = datetime.datetime(2026, 1, 1)  # fixed, so that every run makes the same rows
SPAN = 2 * 365 * 86400  # dates over the two years before END, in seconds


def sizes():
    """Row counts, from BENCH_CLIENTS, BENCH_APPLICATIONS and BENCH_TASKS."""
    return {"clients": int(os.environ.get("BENCH_CLIENTS", 1_000_000)),
            "applications": int(os.environ.get("BENCH_APPLICATIONS", 1_000_000)),
            "tasks": int(os.environ.get("BENCH_TASKS", 3_000_000)),
            "deals": int(os.environ.get("BENCH_DEALS", 300_000))}


def database_url(label, url):
    """The bench database: a file in BENCH_DIR for SQLite (kept between runs),
    the schema BENCH_SCHEMA (default ``bench``) of BENCH_DATABASE_URL for PostgreSQL."""
    if label == "sqlite":
        directory = os.environ.get("BENCH_DIR", "/tmp/sdelka-bench")
        os.makedirs(directory, exist_ok=True)
        return "sqlite:///" + os.path.join(directory, "bench.db")
    schema = os.environ.get("BENCH_SCHEMA", "bench")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def ready(engine, clients, applications, tasks, deals, **_):
    """Whether fill() would find its work done: these counts, and deals
    (unless none are wanted)."""
    wanted = {"client": clients, "application": applications, "task": tasks}
    with engine.connect() as conn:
        have = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in wanted}
        if have != wanted:
            return None
        if deals and not conn.scalar(select(func.count()).select_from(Deal)):
            return None
    return have


def ensure(url):
    """The data of sizes() in the database at ``url`` (migrated, roles and
    dictionaries made): `python -m bench.generate` fills it in a process of
    its own, so that the memory a fill takes is never the caller's. Data
    already there are only counted, here: a process would spend a second
    and a half importing the app to find the same (each step asks)."""
    engine = create_engine(url)
    try:
        have = ready(engine, **sizes())
    finally:
        engine.dispose()
    if have:
        report("  generate: reused", **have)
    else:
        subprocess.run([sys.executable, "-m", "bench.generate", url], check=True)


def fill(engine, clients=1_000_000, applications=1_000_000, tasks=3_000_000, deals=300_000,
         managers=50):
    """Fill the registers unless they hold exactly these counts already;
    then the deals, unless there are some. The schema, the roles and the
    dictionaries must exist."""
    have = ready(engine, clients, applications, tasks, deals=0)
    if have:
        report("  generate: reused", **have)
    else:
        _fill(engine, clients, applications, tasks, managers)
    fill_deals(engine, deals)


def _fill(engine, clients, applications, tasks, managers):
    start = time.perf_counter()
    rng = random.Random(SEED)
    pools = _pools()
    with engine.begin() as conn:
        _clear(conn)
        staff = _managers(conn, managers)
        ids = {model: conn.scalars(select(model.id).order_by(model.id)).all()
               for model in (Region, ClientStatus, ClientType, ClientOrigin, FunnelStage,
                             LoanPurpose, TaskType)}
        statuses = conn.execute(select(TaskStatus.id, TaskStatus.kind)).all()
    owners = array("i", [0])  # responsible manager of each client, by id
    words = [None]  # search text of each client, by id
    _load(engine, Client.__table__, CLIENT_COLUMNS,
          _clients(rng, pools, ids, staff, clients, owners, words))
    _load(engine, client_participant, ("client_id", "ab_user_id"),
          _participants(rng, staff, owners))
    app_clients = array("i", [0])  # client of each application, by id
    _load(engine, Application.__table__, *_client_words(
        engine, words, APPLICATION_COLUMNS,
        _applications(rng, ids, owners, applications, app_clients)))
    _load(engine, Task.__table__, *_client_words(
        engine, words, TASK_COLUMNS,
        _tasks(rng, pools, ids, statuses, staff, owners, app_clients, tasks)))
    with engine.begin() as conn:
        # On PostgreSQL the loads ran as a replica, without the triggers that
        # keep the statistics' roll-ups.
        rollups.rebuild(conn)
    analyze_start = time.perf_counter()
    vacuum(engine, ROLLED_UP + ("client_participant", "ab_user"))
    report("  generate: total", seconds=time.perf_counter() - start,
           analyze_seconds=time.perf_counter() - analyze_start)


def fill_deals(engine, n):
    """``n`` deals of the generated clients, seeded, unless there are deals
    already; then every task without an application is linked to the
    latest deal of its client, if it has one (a third of the tasks, about
    one per deal), so that "deals without a planned task" has tasks to look
    at."""
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Deal)) or not n:
            return
        stages = conn.scalars(select(FunnelStage.id)).all()
        currencies = conn.scalars(select(Currency.id)).all()
        managers = conn.scalars(select(Employee.id).where(
            Employee.username.like("bench-manager-%"))).all()
        clients = conn.scalar(select(func.max(Client.id)))
    rng = random.Random(SEED + 8)
    start = time.perf_counter()

    def rows():
        for deal_id in range(1, n + 1):
            created = _moment(rng)
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
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('deal', 'id'), {n})"))
    inserted = time.perf_counter() - start
    # Statistics first: without them PostgreSQL took the million deals for
    # a few rows and the link below ran for more than a quarter of an hour.
    vacuum(engine, ("deal",))
    link_tasks_to_deals(engine)
    vacuum(engine, ("task",))
    report("  generate: deal", rows=n, seconds=time.perf_counter() - start,
           insert_seconds=inserted)


def link_tasks_to_deals(engine):
    """Each task without an application gets the latest deal of its client."""
    start = time.perf_counter()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA cache_size = -1000000"))  # 1 GB, this connection only
        linked = conn.execute(text(
            "UPDATE task SET deal_id = (SELECT max(deal.id) FROM deal "
            "WHERE deal.client_id = task.client_id) "
            "WHERE application_id IS NULL AND deal_id IS NULL AND EXISTS "
            "(SELECT 1 FROM deal WHERE deal.client_id = task.client_id)")).rowcount
    report("  generate: tasks linked to deals", rows=linked,
           seconds=time.perf_counter() - start)


# --- Pools and rows ----------------------------------------------------------


def _pools():
    fake = Faker("ru_RU")
    fake.seed_instance(SEED)

    def pool(make, n):
        return sorted({make() for _ in range(n)})  # sorted: sets have no fixed order

    return {
        "male": (pool(fake.last_name_male, 3000), pool(fake.first_name_male, 1000),
                 pool(fake.middle_name_male, 1000)),
        "female": (pool(fake.last_name_female, 3000), pool(fake.first_name_female, 1000),
                   pool(fake.middle_name_female, 1000)),
        "company": pool(fake.company, 3000),
        "city": pool(fake.city_name, 1000),
        "street": pool(fake.street_address, 3000),
        "domain": pool(fake.free_email_domain, 50),
        "sentence": pool(lambda: fake.sentence(nb_words=8), 3000),
    }


def _moment(rng):
    return END - datetime.timedelta(seconds=rng.randrange(SPAN))


def _digits(rng, n):
    return str(rng.randrange(10 ** (n - 1), 10 ** n))


CLIENT_COLUMNS = ("id", "kind", "name", "last_name", "first_name", "middle_name",
                  "birth_date", "inn", "phone", "email", "region_id", "city", "address",
                  "status_id", "type_id", "origin_id", "funnel_stage_id", "public_access",
                  "responsible_id", "created_at", "updated_at", "search")


def _client_words(engine, words, columns, rows):
    """(columns, rows) with the client's search text last, where the
    registers keep a copy (migration 0036): the loads run as a replica,
    without the trigger that would look it up."""
    if not search.copies_client_words(engine):
        return columns, rows
    at = columns.index("client_id")
    return columns + (search.CLIENT_WORDS,), (row + (words[row[at]],) for row in rows)


def _clients(rng, pools, ids, staff, n, owners, words):
    for client_id in range(1, n + 1):
        owner = rng.choice(staff)
        owners.append(owner)
        last, first, middle = (rng.choice(p) for p in pools[rng.choice(("male", "female"))])
        roll = rng.random()
        if roll < 0.85:
            kind, name, inn = "person", f"{last} {first} {middle}", _digits(rng, 12)
            birth = datetime.date(rng.randrange(1950, 2005), rng.randrange(1, 13),
                                  rng.randrange(1, 29))
        elif roll < 0.95:
            kind, name, inn, birth = "company", rng.choice(pools["company"]), _digits(rng, 10), None
            last = first = middle = None
        else:
            kind, name, inn = "sole_proprietor", f"ИП {last} {first} {middle}", _digits(rng, 12)
            birth = None
        created = _moment(rng)
        phone, email = "+79" + _digits(rng, 9), f"client{client_id}@{rng.choice(pools['domain'])}"
        words.append(search.client_words({"name": name, "email": email, "inn": inn,
                                          "phone": phone}))
        yield (client_id, kind, name, last, first, middle, birth, inn, phone, email,
               rng.choice(ids[Region]), rng.choice(pools["city"]), rng.choice(pools["street"]),
               rng.choice(ids[ClientStatus]), rng.choice(ids[ClientType]),
               rng.choice(ids[ClientOrigin]), rng.choice(ids[FunnelStage]),
               "read" if rng.random() < 0.02 else "private", owner, created, created,
               words[-1])


def _participants(rng, staff, owners):
    """Every twentieth client, at random, has a second manager taking part."""
    for client_id in range(1, len(owners)):
        if rng.random() < 0.05:
            other = rng.choice(staff)
            if other != owners[client_id]:
                yield client_id, other


APPLICATION_COLUMNS = ("id", "client_id", "date", "amount", "term_months", "loan_purpose_id",
                       "offer", "status", "origin_id", "responsible_id", "created_at",
                       "updated_at")
APPLICATION_STATUSES = ("in_processing", "completed", "refused")


def _applications(rng, ids, owners, n, app_clients):
    for application_id in range(1, n + 1):
        client_id = rng.randrange(1, len(owners))
        app_clients.append(client_id)
        created = _moment(rng)
        term = rng.choice((6, 12, 24, 36, 60, 120, 240))
        yield (application_id, client_id, created.date(), rng.randrange(50, 5000) * 1000, term,
               rng.choice(ids[LoanPurpose]), f"{rng.randrange(50, 250) / 10}% на {term} мес.",
               rng.choices(APPLICATION_STATUSES, (2, 5, 3))[0], rng.choice(ids[ClientOrigin]),
               owners[client_id], created, created)


TASK_COLUMNS = ("id", "type_id", "client_id", "application_id", "assignee_id", "author_id",
                "planned_at", "deadline", "started_at", "finished_at", "status_id",
                "description", "reminder_minutes", "created_at")
REMINDERS = [r.value for r in Reminder]


def _tasks(rng, pools, ids, statuses, staff, owners, app_clients, n):
    for task_id in range(1, n + 1):
        application_id = rng.randrange(1, len(app_clients)) if rng.random() < 0.66 else None
        client_id = app_clients[application_id] if application_id else rng.randrange(1, len(owners))
        assignee = owners[client_id] if rng.random() < 0.8 else rng.choice(staff)
        planned = _moment(rng)
        status_id, kind = rng.choice(statuses)
        started = finished = None
        if kind == StatusKind.DONE:
            started = planned + datetime.timedelta(minutes=rng.randrange(0, 600))
            finished = started + datetime.timedelta(minutes=rng.randrange(5, 600))
        yield (task_id, rng.choice(ids[TaskType]), client_id, application_id, assignee,
               assignee if rng.random() < 0.7 else rng.choice(staff), planned,
               planned + datetime.timedelta(days=rng.randrange(1, 8)), started, finished,
               status_id, rng.choice(pools["sentence"]), rng.choice(REMINDERS),
               planned - datetime.timedelta(days=rng.randrange(0, 14)))


# --- Loading -----------------------------------------------------------------


def _clear(conn):
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE task, application, client_participant, deal, client "
                          "RESTART IDENTITY CASCADE"))
    else:
        for table in ("task", "application", "client_participant", "deal", "client"):
            conn.execute(text(f"DELETE FROM {table}"))


def _managers(conn, n):
    """Ids of n users with the Manager role (created when missing), all with PASSWORD."""
    role_id = conn.scalar(text("SELECT id FROM ab_role WHERE name = 'Manager'"))
    password = generate_password_hash(PASSWORD)
    users = Employee.__table__
    now = datetime.datetime.now()
    ids = []
    for i in range(1, n + 1):
        username = MANAGER.format(i)
        user_id = conn.scalar(select(users.c.id).where(users.c.username == username))
        if user_id is None:
            user_id = conn.execute(users.insert().values(
                username=username, first_name=f"Менеджер {i}", last_name="Бенчев",
                email=f"{username}@example.com", password=password, active=True,
                created_on=now, changed_on=now, login_count=0, fail_login_count=0,
            )).inserted_primary_key[0]
            conn.execute(assoc_user_role.insert().values(user_id=user_id, role_id=role_id))
        ids.append(user_id)
    return ids


@contextlib.contextmanager
def _indexes_dropped(conn, table):
    """Drop the table's secondary indexes, and create them again afterwards."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        if conn.scalar(text("SELECT current_setting('is_superuser')")) == "on":
            # Skip the per-row foreign key triggers: the rows are consistent.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :t AND indexname NOT IN (SELECT conname FROM pg_constraint)"),
            {"t": table}).all()
    else:
        indexes = conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
            "AND sql IS NOT NULL"), {"t": table}).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield
    for _, sql in indexes:
        conn.execute(text(sql))


def _load(engine, table, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) in one transaction."""
    start = time.perf_counter()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA synchronous = OFF"))
            conn.execute(text("PRAGMA cache_size = -1000000"))  # 1 GB, this connection only
            conn.exec_driver_sql("BEGIN")  # else pysqlite runs DROP INDEX outside it
        with _indexes_dropped(conn, table.name):
            count = _write(conn, table, columns, rows)
            loaded = time.perf_counter() - start
    seconds = time.perf_counter() - start
    report(f"  generate: {table.name}", rows=count, rows_per_s=count / seconds,
           without_index_build_rows_per_s=count / loaded, seconds=seconds)


def _write(conn, table, columns, rows):
    count = 0
    if conn.dialect.name == "postgresql":
        copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with conn.connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        if "id" in columns:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                              f"(SELECT max(id) FROM {table.name}))"))
        return count
    insert = table.insert()
    while batch := list(itertools.islice(rows, BATCH)):
        conn.execute(insert, [dict(zip(columns, row)) for row in batch])
        count += len(batch)
    return count


ROLLED_UP = ("client", "application", "task", "client_day", "application_day", "task_day")


def vacuum(engine, tables):
    """Planner statistics and, on PostgreSQL, the visibility map that
    index-only scans need, as autovacuum leaves them in a real deployment
    some time after a load (a benchmark right after one would measure heap
    fetches no running system has)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
    else:
        with engine.begin() as conn:
            for table in tables:
                conn.execute(text(f"ANALYZE {table}"))


if __name__ == "__main__":  # python -m bench.generate DATABASE_URL
    target = create_engine(sys.argv[1])
    fill(target, **sizes())
    target.dispose()
