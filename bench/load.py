"""Load: N sessions of the built-in roles against the real server.

The server is started as `make run` starts it (gunicorn -c gunicorn.conf.py
--preload --workers 2 --threads 4, scheduled jobs on) on a free loopback
port, on the bench's generated data (bench/generate.py: BENCH_CLIENTS,
BENCH_APPLICATIONS, BENCH_TASKS, BENCH_DEALS; the SQLite file in BENCH_DIR,
the schema BENCH_SCHEMA on PostgreSQL). BENCH_LOAD_SESSIONS sessions (default
50: 80 % managers, 10 % heads of sales, 10 % read-only) sign in, then for
BENCH_LOAD_SECONDS (default 60) each follows a mix of its role — list pages
with filters, sorting and paging, record pages of what its lists linked to,
the calendar, the dashboard, the funnel, a task or a note saved through the
add form as a browser posts it (multipart, CSRF token) — with a think time
drawn uniformly between half and one and a half BENCH_LOAD_THINK (default
2 s) after each page. A quick search on the lists joins the mix once a list
page offers one (the box of app/views/search.py: surnames, their
beginnings, digits of phones, on the clients' list mostly).

Printed: requests per second, p50/p95/p99 of all requests and per page kind,
errors (a status other than the expected one, a lost session, a refused
form, a timeout) with the first few described, the peak memory of the
server's processes (master and workers: the largest sum of RSS and of PSS,
sampled every 0.5 s from /proc), the server's CPU per request, the client's
own CPU (it must stay well below a core, or the client is what is measured)
and how busy the machine was in all.

``--find-capacity`` (BENCH_LOAD_CAPACITY=1) steps the number of sessions
(BENCH_LOAD_STEPS, default 10, 25, 50, 100, 150, 200, 300, 400) in short rounds
(BENCH_LOAD_ROUND_SECONDS, default 30) on one server until p99 passes
BENCH_LOAD_P99_MS (default 1000) or more than 1 % of the requests fail, and
prints the largest count held.

``--probe DIR`` serves bench/load_probe.py's instrumented app instead: one
line per request (server time, thread CPU, SQL statements and their time,
template rendering) summarised per page kind at the end; ``--profile`` adds
cProfile per page kind and worker thread (DIR/profile-*.prof), printed by
``--read-profiles DIR [--kind "task form"]``.

Tasks and notes the sessions save carry the text ``bench-load …`` and are
deleted at the end (and before a run), so the generated counts stay what
bench/generate.py reuses. Everything is on 127.0.0.1; sessions, rounds,
seconds and every request's wait are bounded."""
import argparse
import datetime
import html.parser
import http.client
import http.cookies
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict

from bench.common import cpu_gauge_ms, database_urls, machine_speed, report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "bench-load"
HEAD_USER = "bench-head-{:02d}"
READER_USER = "bench-reader-{:02d}"
MANAGERS = 50  # bench-manager-01 … 50, made by bench/generate.py
MAX_SESSIONS = 1000
MAX_SECONDS = 3600
REQUEST_TIMEOUT = 60  # gunicorn kills a worker's request after 30 s
DEFAULT_STEPS = (10, 25, 50, 100, 150, 200, 300, 400)
# Dates inside the two years bench/generate.py spreads its rows over.
DATA_FIRST, DATA_LAST = datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)
ENTITIES = ("clients", "tasks", "applications", "deals")
SHOW = re.compile(rb'href="/(clients|tasks|applications|deals)/show/(\d+)')
# A client's record page offers to edit the client only to who may change it
# (list pages show the edit icon on every row).
CLIENT_PAGE = re.compile(r"/clients/show/(\d+)")
REFUSAL = re.compile(rb'class="alert alert-danger"[^>]*>(.*?)</div>', re.S)
# The lists' quick search box (app/views/search.py: a FAB filter, _flt_0_quick).
SEARCH_BOX = re.compile(rb'<input[^>]*id="quick-search"[^>]*name="([^"]+)"')
SEARCH_ARG = re.compile(r"[?&]_flt_\d+_quick=")
# A record page's tabs, fetched when opened (app/views/related_tabs.py);
# a user opens one after half the record pages that have them.
RELATED_TAB = re.compile(rb'class="sdelka-related-tab" data-src="([^"]+)"')
TAB_SHARE = 0.5

# What each role does, by weight (the search only once the lists offer it).
MIX = {
    "manager": {"list": 30, "record": 28, "calendar": 8, "dashboard": 6, "task": 9,
                "note": 7, "search": 12},
    "head": {"list": 28, "record": 18, "calendar": 14, "dashboard": 14, "funnel": 5,
             "task": 6, "note": 3, "search": 12},
    "reader": {"list": 42, "record": 36, "calendar": 5, "dashboard": 5, "search": 12},
}
LIST_WEIGHTS = {"clients": 35, "tasks": 35, "applications": 15, "deals": 15}
SEARCH_WEIGHTS = {"clients": 55, "tasks": 15, "applications": 15, "deals": 15}
RECORD_WEIGHTS = {"clients": 40, "tasks": 30, "applications": 15, "deals": 15}


# --- Settings ----------------------------------------------------------------


def _env(name, default, kind=str):
    value = os.environ.get(name)
    return kind(value) if value not in (None, "") else default


def settings(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--sessions", type=int, default=_env("BENCH_LOAD_SESSIONS", 50, int))
    parser.add_argument("--seconds", type=float, default=_env("BENCH_LOAD_SECONDS", 60, float))
    parser.add_argument("--think", type=float, default=_env("BENCH_LOAD_THINK", 2.0, float))
    parser.add_argument("--find-capacity", action="store_true",
                        default=_env("BENCH_LOAD_CAPACITY", "") not in ("", "0"))
    parser.add_argument("--steps", default=_env("BENCH_LOAD_STEPS", ",".join(
        map(str, DEFAULT_STEPS))), help="session counts of --find-capacity")
    parser.add_argument("--round-seconds", type=float,
                        default=_env("BENCH_LOAD_ROUND_SECONDS", 30, float))
    parser.add_argument("--p99-ms", type=float, default=_env("BENCH_LOAD_P99_MS", 1000, float))
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"),
                        default=_env("BENCH_LOAD_DATABASE", "both"),
                        help="both: SQLite, and PostgreSQL when BENCH_DATABASE_URL is set")
    parser.add_argument("--workers", type=int, default=_env("BENCH_LOAD_WORKERS", 2, int))
    parser.add_argument("--threads", type=int, default=_env("BENCH_LOAD_THREADS", 4, int))
    parser.add_argument("--probe", default=_env("BENCH_LOAD_PROBE", ""),
                        help="directory: serve the instrumented app, summarise per kind")
    parser.add_argument("--profile", action="store_true",
                        default=_env("BENCH_LOAD_PROFILE", "") not in ("", "0"),
                        help="with --probe: cProfile per worker thread")
    parser.add_argument("--read-profiles", metavar="DIR", default="",
                        help="print the profiles a --probe DIR --profile run wrote, and stop")
    parser.add_argument("--kind", action="append", default=[],
                        help="with --read-profiles: only this page kind (repeatable)")
    parser.add_argument("--detail", action="store_true",
                        default=_env("BENCH_LOAD_DETAIL", "") not in ("", "0"),
                        help="also print each list variant")
    parser.add_argument("--seed", type=int, default=_env("BENCH_LOAD_SEED", 20240601, int))
    options = parser.parse_args(argv if argv is not None else [])
    options.sessions = max(1, min(options.sessions, MAX_SESSIONS))
    options.seconds = max(1.0, min(options.seconds, MAX_SECONDS))
    options.round_seconds = max(1.0, min(options.round_seconds, MAX_SECONDS))
    options.think = max(0.0, options.think)
    options.steps = sorted({max(1, min(int(s), MAX_SESSIONS))
                            for s in str(options.steps).split(",") if s.strip()})
    return options


def roles_of(n):
    """The role of each of ``n`` sessions: a tenth heads of sales, a tenth
    read-only (at least one each from three sessions on), managers the rest."""
    heads = readers = max(1 if n >= 3 else 0, round(n / 10))
    if n < 3:
        heads, readers = 0, n - 1
    return ["head"] * heads + ["reader"] * readers + ["manager"] * (n - heads - readers)


# --- The data: built as the other steps build it, plus the other roles' users --


def prepare(label, url, most_sessions):
    """The bench database of ``label`` (generated when its counts differ),
    users for ``most_sessions`` sessions, and the Plan of the pages."""
    from bench import generate, lists

    url = generate.database_url(label, url)
    app = lists._build(url)
    from app import db

    with app.app_context():
        cleanup(db.engine)
    generate.ensure(url)
    roles = roles_of(most_sessions)
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            _users(conn, "Head of sales", HEAD_USER, roles.count("head"), "Руководитель")
            _users(conn, "Read-only", READER_USER, roles.count("reader"), "Аудитор")
        plan = Plan(app, db.session)
        db.session.remove()
        engine.dispose()
    return url, plan


def _users(conn, role_name, pattern, n, first_name):
    """Users ``pattern`` 1 … n with the role, made when missing, with the
    bench's password (as bench/generate.py makes its managers)."""
    from flask_appbuilder.security.sqla.models import assoc_user_role
    from sqlalchemy import select, text
    from werkzeug.security import generate_password_hash

    from app.models import Employee
    from bench.generate import PASSWORD

    role_id = conn.scalar(text("SELECT id FROM ab_role WHERE name = :n"), {"n": role_name})
    users = Employee.__table__
    now = datetime.datetime.now()
    password = None
    for i in range(1, n + 1):
        username = pattern.format(i)
        if conn.scalar(select(users.c.id).where(users.c.username == username)) is None:
            password = password or generate_password_hash(PASSWORD)
            user_id = conn.execute(users.insert().values(
                username=username, first_name=f"{first_name} {i}", last_name="Бенчев",
                email=f"{username}@example.com", password=password, active=True,
                created_on=now, changed_on=now, login_count=0, fail_login_count=0,
            )).inserted_primary_key[0]
            conn.execute(assoc_user_role.insert().values(user_id=user_id, role_id=role_id))


def cleanup(engine):
    """Delete what load runs saved (tasks and notes marked ``bench-load``),
    with their history, notifications and custom values."""
    from sqlalchemy import bindparam, text

    like = {"mark": MARK + " %"}
    with engine.begin() as conn:
        ids = conn.scalars(text("SELECT id FROM task WHERE description LIKE :mark"), like).all()
        for start in range(0, len(ids), 500):
            chunk = {"ids": ids[start:start + 500]}
            links = {"links": [f"/tasks/work/{i}" for i in chunk["ids"]]}
            for sql, params in (
                    ("DELETE FROM history_entry WHERE entity = 'task' AND entity_id IN :ids",
                     chunk),
                    ("DELETE FROM notification WHERE link IN :links", links),
                    ("DELETE FROM custom_value WHERE record_id IN :ids AND field_id IN "
                     "(SELECT id FROM custom_field WHERE entity = 'task')", chunk)):
                name = next(iter(params))
                conn.execute(text(sql).bindparams(bindparam(name, expanding=True)), params)
        conn.execute(text("DELETE FROM task WHERE description LIKE :mark"), like)
        notes = conn.execute(text("DELETE FROM note WHERE text LIKE :mark"), like).rowcount
    return len(ids), notes


class Plan:
    """The pages the sessions ask for: list URLs with the filter positions
    FAB gives this build (read from the views, as bench/lists.py does), and
    values that exist in the data."""

    def __init__(self, app, session):
        from sqlalchemy import select, text

        from app.models import FunnelStage, TaskStatus
        from app.views.applications import ApplicationView
        from app.views.clients import ClientView
        from app.views.deals import DealView
        from app.views.tasks import TaskView

        views = {cls: next(v for v in app.appbuilder.baseviews if isinstance(v, cls))
                 for cls in (ClientView, TaskView, ApplicationView, DealView)}

        def position(cls, column, filter_name):
            found = views[cls]._filters.get_search_filters()[column]
            # FAB's filter or the app's own in its place (views/search.NAME_FILTERS).
            return next(i for i, f in enumerate(found)
                        if filter_name in (c.__name__ for c in type(f).__mro__))

        with app.app_context():
            stages = session.scalars(select(FunnelStage.id)).all()
            statuses = session.scalars(select(TaskStatus.id)).all()
            names = session.scalars(text(
                "SELECT last_name FROM client WHERE last_name IS NOT NULL LIMIT 500")).all()
            phones = session.scalars(text(
                "SELECT phone FROM client WHERE phone IS NOT NULL LIMIT 500")).all()
        self.prefixes = sorted({n[:3] for n in names if len(n) >= 3}) or ["Ива"]
        # What people type into a search box: a surname or its beginning, a
        # few digits of a phone.
        self.words = (sorted({n for n in names if len(n) >= 4})
                      + sorted({n[:5] for n in names if len(n) >= 6})
                      + sorted({p[-7:-2] for p in phones if len(p) >= 8})) or ["Иван"]
        self.stages, self.statuses = stages or [1], statuses or [1]
        self.f = {
            "client_name": position(ClientView, "name", "FilterStartsWith"),
            "client_stage": position(ClientView, "funnel_stage", "FilterRelationOneToManyEqual"),
            "client_created": position(ClientView, "created_at", "FilterInPeriod"),
            "task_status": position(TaskView, "status", "FilterRelationOneToManyEqual"),
            "task_kind": position(TaskView, "status", "FilterStatusKind"),
            "task_planned": position(TaskView, "planned_at", "FilterInPeriod"),
            "app_status": position(ApplicationView, "status", "FilterEqual"),
            "app_date": position(ApplicationView, "date", "FilterInPeriod"),
            "deal_status": position(DealView, "status", "FilterEqual"),
            "deal_stage": position(DealView, "stage", "FilterRelationOneToManyEqual"),
        }

    def list_url(self, entity, rng):
        """(variant, url) of a list page of ``entity``."""
        f, q = self.f, urllib.parse.quote
        page = rng.randint(1, 4)
        variants = {
            "clients": [
                ("first page", ""),
                ("next page", f"?page_ClientView={page}"),
                ("sorted by name", "?_oc_ClientView=name&_od_ClientView=asc"),
                ("name starts with", f"?_flt_{f['client_name']}_name="
                                     f"{q(rng.choice(self.prefixes))}"),
                ("funnel stage", f"?_flt_{f['client_stage']}_funnel_stage="
                                 f"{rng.choice(self.stages)}"),
                ("created in a month", f"?_flt_{f['client_created']}_created_at="
                                       f"{_month(rng)}"),
            ],
            "tasks": [
                ("first page", ""),
                ("next page", f"?page_TaskView={page}"),
                ("status", f"?_flt_{f['task_status']}_status={rng.choice(self.statuses)}"),
                ("open, oldest first", f"?_flt_{f['task_kind']}_status=open"
                                       "&_oc_TaskView=planned_at&_od_TaskView=asc"),
                ("planned in a week", f"?_flt_{f['task_planned']}_planned_at={_week(rng)}"),
            ],
            "applications": [
                ("first page", ""),
                ("next page", f"?page_ApplicationView={page}"),
                ("status", f"?_flt_{f['app_status']}_status="
                           f"{rng.choice(('completed', 'refused', 'in_processing'))}"),
                ("sorted by amount", "?_oc_ApplicationView=amount&_od_ApplicationView=desc"),
                ("dated in a month", f"?_flt_{f['app_date']}_date={_month(rng)}"),
            ],
            "deals": [
                ("first page", ""),
                ("next page", f"?page_DealView={page}"),
                ("open", f"?_flt_{f['deal_status']}_status=open"),
                ("stage", f"?_flt_{f['deal_stage']}_stage={rng.choice(self.stages)}"),
                ("sorted by amount", "?_oc_DealView=amount&_od_DealView=desc"),
            ],
        }[entity]
        variant, args = rng.choice(variants)
        return variant, f"/{entity}/list/{args}"


def _day(rng):
    return DATA_FIRST + datetime.timedelta(days=rng.randrange((DATA_LAST - DATA_FIRST).days))


def _month(rng):
    first = _day(rng).replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return f"{first.isoformat()}..{last.isoformat()}"


def _week(rng):
    first = _day(rng)
    return f"{first.isoformat()}..{(first + datetime.timedelta(days=6)).isoformat()}"


# --- The server ----------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn as `make run` starts it, on a free loopback port (its control
    socket off, so that it never meets another server's); stopped by pid."""

    def __init__(self, database_url, workers=2, threads=4, probe=""):
        self.database_url, self.workers, self.threads = database_url, workers, threads
        self.probe = probe
        self.dir = tempfile.mkdtemp(prefix="sdelka-load-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.process = None
        self.port = None

    def start(self, profile=False):
        self.port = _free_port()
        env = dict(os.environ, DATABASE_URL=self.database_url,
                   SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
                   INSTANCE_DIR=self.dir, UPLOAD_FOLDER=os.path.join(self.dir, "uploads"),
                   # One address signs every session in: the limit stays on, high.
                   AUTH_RATE_LIMIT="1000000 per minute")
        app = "run:app"
        if self.probe:
            env["BENCH_LOAD_PROBE"] = self.probe
            env["BENCH_LOAD_PROFILE"] = "1" if profile else ""
            app = "bench.load_probe:app"
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--preload",
                   "--workers", str(self.workers), "--threads", str(self.threads),
                   "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-",
                   "--no-control-socket", app]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health")
                response = conn.getresponse()
                status, body = response.status, response.read()
                conn.close()
                if status == 200 and len(self.pids()) > self.workers:
                    return
                if status == 503 and b"migrations" in body:
                    raise RuntimeError(f"/health: {body.decode()}: the database is not "
                                       "migrated to this code's head")
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the server did not answer /health:\n{self.log_tail()}")

    def pids(self):
        """The master and its workers."""
        if self.process is None or self.process.poll() is not None:
            return []
        master = self.process.pid
        try:
            with open(f"/proc/{master}/task/{master}/children") as fh:
                children = [int(p) for p in fh.read().split()]
        except OSError:
            children = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as fh:
                            if int(fh.read().rsplit(")", 1)[1].split()[1]) == master:
                                children.append(int(entry))
                    except (OSError, IndexError, ValueError):
                        continue
        return [master] + children

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process is None:
            return
        pids = self.pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in pids[1:]:  # a worker that outlived its master
            try:
                os.kill(pid, 0)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._log.close()


# --- Measuring the server's processes -------------------------------------------


def _proc_memory(pid):
    """(RSS, PSS) of a process in MB."""
    rss = pss = 0.0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, pss


def _proc_cpu(pid):
    """CPU seconds (user + system) of a process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class Sampler(threading.Thread):
    """Every 0.5 s: the server's memory (the sum over its processes) and
    the CPU each has used, for the peak and the window's deltas; and the
    processor gauge (bench/common.cpu_gauge_ms), to tell a slow round
    from a slow host."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.stopped = threading.Event()
        self.peak_rss = self.peak_pss = self.peak_worker_rss = 0.0
        self.cpu = {}
        self.lock = threading.Lock()
        self.gauge = []  # (perf_counter, ms)

    def reset_peak(self):
        with self.lock:
            self.peak_rss = self.peak_pss = self.peak_worker_rss = 0.0

    def sample(self):
        rss_sum = pss_sum = worker_peak = 0.0
        pids = self.server.pids()
        for i, pid in enumerate(pids):
            rss, pss = _proc_memory(pid)
            rss_sum, pss_sum = rss_sum + rss, pss_sum + pss
            if i:
                worker_peak = max(worker_peak, rss)
            self.cpu[pid] = _proc_cpu(pid)
        with self.lock:
            self.peak_rss = max(self.peak_rss, rss_sum)
            self.peak_pss = max(self.peak_pss, pss_sum)
            self.peak_worker_rss = max(self.peak_worker_rss, worker_peak)

    def cpu_seconds(self):
        self.sample()
        return sum(self.cpu.values())  # workers that died keep their last count

    def gauge_between(self, start, end):
        """The gauge's readings taken in [start, end), sorted."""
        with self.lock:
            return sorted(ms for at, ms in self.gauge if start <= at < end)

    def run(self):
        while not self.stopped.wait(0.5):
            self.sample()
            reading = cpu_gauge_ms()
            with self.lock:
                self.gauge.append((time.perf_counter(), reading))


# --- A browser session ------------------------------------------------------------


class Form(html.parser.HTMLParser):
    """The fields of the page's form ``model_form`` as a browser would send
    them untouched: inputs (not files, checkboxes only when checked), each
    select's selected option (else its first), textareas; plus the options
    of each select."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.fields, self.options, self.has_file = {}, defaultdict(list), []
        self._in_form = self._select = self._textarea = None
        self._selected = {}
        self.feed(page)
        for name, options in self.options.items():
            if name not in self.fields:
                self.fields[name] = self._selected.get(name, options[0] if options else "")

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "model_form"
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self.has_file.append(name)
            elif kind not in ("checkbox", "radio", "submit", "button") or "checked" in a:
                self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.options[name]  # noqa: B018  (a select with no options still counts)
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self.options[self._select].append(value)
            if "selected" in a:
                self._selected[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


def multipart(fields, files=()):
    """A multipart/form-data body as a browser sends a form: every field,
    and an empty part for each file input left empty."""
    boundary = "----sdelkaload" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n")
    for name in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n')
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


def kind_of(method, path):
    """The page kind a request is counted under."""
    searched = SEARCH_ARG.search(path)
    path = path.split("?", 1)[0]
    if path.startswith("/login"):
        return "sign-in" if method == "POST" else "sign-in page"
    for entity, single in (("tasks", "task"), ("notes", "note")):
        if path.startswith(f"/{entity}/add"):
            return f"save {single}" if method == "POST" else f"{single} form"
    match = re.match(r"/(clients|tasks|applications|deals)/(list|show|related)/", path)
    if match:
        kind = {"show": "record", "related": "tab"}.get(
            match.group(2), "search" if searched else "list")
        return f"{kind} {match.group(1)}"
    if path.startswith("/calendar"):
        return "calendar"
    if path.startswith("/stats/funnel"):
        return "funnel"
    if path.startswith("/stats"):
        return "dashboard"
    return "start page" if path == "/" else "other"


class Error(Exception):
    pass


def _local(location):
    """The path and query of a redirect's Location."""
    parts = urllib.parse.urlsplit(location or "/")
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class Session:
    """One signed-in browser: a keep-alive connection, its cookies, the
    records its pages linked to, and the figures of its requests."""

    def __init__(self, port, role, username, plan, rng, think, search):
        self.port, self.role, self.username, self.plan = port, role, username, plan
        self.rng, self.think, self.search = rng, think, search
        self.conn = None
        self.cookies = {}
        self.seen = {entity: [] for entity in ENTITIES}
        self.writable = []  # clients whose record page offered to edit them
        self.timed = []  # (kind, variant, start, ms, error or None)
        self.sign_in = []
        self.record_to = self.sign_in
        self.reconnects = 0
        self.variant = ""

    # Transport.

    def _send(self, method, path, body, headers):
        retried = False
        while True:
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=REQUEST_TIMEOUT)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    ConnectionAbortedError):
                # The server closed the idle keep-alive connection: a browser
                # opens another and asks again.
                self.conn.close()
                self.conn = None
                if fresh or retried:
                    raise
                retried = True
                self.reconnects += 1
        if (response.getheader("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = None
        for header in response.msg.get_all("Set-Cookie") or ():
            cookie = http.cookies.SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.getheader("Location"), data

    def request(self, method, path, body=None, content_type=None, expect=(200,)):
        """Ask, time and record one request; returns (status, location, body)."""
        headers = {"User-Agent": "sdelka-bench-load", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        start = time.perf_counter()
        error = None
        try:
            status, location, data = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            status, location, data, error = 0, None, b"", f"{type(exc).__name__}: {exc}"
            if self.conn is not None:
                self.conn.close()
                self.conn = None
        ms = (time.perf_counter() - start) * 1000
        if error is None and status not in expect:
            error = f"status {status}" + (f" to {location}" if location else "")
        if error is None and location and "/login" in location and "/login" not in path:
            error = "signed out"
        self.record_to.append((kind_of(method, path), self.variant, start, ms,
                               None if error is None else f"{method} {path}: {error}"))
        if error is not None:
            raise Error(error)
        return status, location, data

    def get(self, path, variant=""):
        self.variant = variant
        status, location, data = self.request("GET", path, expect=(200, 302))
        hops = 0
        while status == 302 and location and hops < 3:
            status, location, data = self.request("GET", _local(location), expect=(200, 302))
            hops += 1
        for entity, row_id in SHOW.findall(data):
            self._remember(self.seen[entity.decode()], int(row_id))
        record = CLIENT_PAGE.match(path)
        if record and f'href="/clients/edit/{record.group(1)}"'.encode() in data:
            self._remember(self.writable, int(record.group(1)))
        return data

    def _remember(self, pool, row_id):
        if len(pool) >= 300:
            pool.pop(self.rng.randrange(len(pool)))
        pool.append(row_id)

    def post_form(self, path, fields, files=()):
        """Post a form as a browser does and follow to the page it leads to;
        a form shown again, or a page flashing an error, is a refusal."""
        self.variant = ""
        body, content_type = multipart(fields, files)
        status, location, data = self.request("POST", path, body, content_type, expect=(302,))
        posted = len(self.record_to) - 1
        page = self.get(_local(location))
        refusal = REFUSAL.search(page)
        if refusal:
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>|&times;", " ", refusal.group(1).decode(
                errors="replace"))).strip()
            kind, variant, start, ms, _ = self.record_to[posted]
            self.record_to[posted] = (kind, variant, start, ms, f"POST {path}: refused: {text}")
            raise Error(text)
        return page

    # Pages.

    def login(self):
        from bench.generate import PASSWORD

        page = self.get("/login/")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if not token:
            raise Error("no CSRF token on /login/")
        body = urllib.parse.urlencode({"username": self.username, "password": PASSWORD,
                                       "csrf_token": token.group(1).decode()}).encode()
        status, location, data = self.request("POST", "/login/", body,
                                              "application/x-www-form-urlencoded",
                                              expect=(302,))
        page = self.get(_local(location))
        if b"/logout" not in page:
            raise Error(f"{self.username} is not signed in")

    def act(self):
        mix = MIX[self.role]
        actions = [a for a in mix if a != "search" or self.search]
        action = self.rng.choices(actions, [mix[a] for a in actions])[0]
        getattr(self, f"_{action}")()

    def _list(self, entity=None):
        entity = entity or self.rng.choices(list(LIST_WEIGHTS), list(LIST_WEIGHTS.values()))[0]
        variant, url = self.plan.list_url(entity, self.rng)
        self.get(url, variant)

    def _record(self):
        entity = self.rng.choices(list(RECORD_WEIGHTS), list(RECORD_WEIGHTS.values()))[0]
        if not self.seen[entity]:
            return self._list(entity)
        page = self.get(f"/{entity}/show/{self.rng.choice(self.seen[entity])}")
        tabs = RELATED_TAB.findall(page)
        if tabs and self.rng.random() < TAB_SHARE:
            self.get(html.unescape(self.rng.choice(tabs).decode()))

    def _calendar(self):
        days = self.rng.choice((7, 30))
        self.get(f"/calendar/?start={_day(self.rng).isoformat()}&days={days}")

    def _dashboard(self, page="/stats/"):
        first = _day(self.rng).replace(day=1)
        months = self.rng.choice((1, 1, 1, 3))
        last = first
        for _ in range(months):
            last = (last + datetime.timedelta(days=32)).replace(day=1)
        last -= datetime.timedelta(days=1)
        self.get(f"{page}?period=custom&start={first.isoformat()}&end={last.isoformat()}")

    def _funnel(self):
        self._dashboard("/stats/funnel/")

    def _search(self):
        entity = self.rng.choices(list(SEARCH_WEIGHTS), list(SEARCH_WEIGHTS.values()))[0]
        words = urllib.parse.quote(self.rng.choice(self.plan.words))
        self.get(f"/{entity}/list/?{self.search}={words}", "quick search")

    def _save(self, entity, text_field, defaults):
        """From a client's record page that offers to edit the client (so
        the user may write its records), add a task or a note to it."""
        if not self.writable:
            if not self.seen["clients"]:
                return self._list("clients")
            return self.get(f"/clients/show/{self.rng.choice(self.seen['clients'])}")
        client = self.rng.choice(self.writable)
        path = f"/{entity}/add?_flt_0_client={client}"
        form = Form(self.get(path).decode())
        fields = dict(form.fields)
        fields.update(defaults(form))
        fields[text_field] = f"{MARK} {uuid.uuid4().hex[:12]} от {self.username}"
        self.post_form(path, fields, form.has_file)

    def _task(self):
        def choose(form):
            types = [o for o in form.options.get("type", []) if o not in ("", "__None")]
            return {"type": self.rng.choice(types)} if types else {}

        self._save("tasks", "description", choose)

    def _note(self):
        self._save("notes", "text", lambda form: {})

    def pause(self):
        if self.think:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.think)

    def close(self):
        if self.conn is not None:
            self.conn.close()


# --- A round: sign in, then the mix for a fixed time ------------------------------


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def usernames(roles):
    from bench.generate import MANAGER

    counters = defaultdict(int)
    names = []
    for role in roles:
        counters[role] += 1
        i = counters[role]
        names.append({"manager": MANAGER.format((i - 1) % MANAGERS + 1),
                      "head": HEAD_USER.format(i), "reader": READER_USER.format(i)}[role])
    return names


def offers_search(port, plan):
    """The argument of the clients' list page's quick search box, asked as
    a manager (None: the lists have none)."""
    probe = Session(port, "manager", usernames(["manager"])[0], plan, random.Random(0), 0,
                    None)
    try:
        probe.login()
        found = SEARCH_BOX.search(probe.get("/clients/list/"))
        return found.group(1).decode() if found else None
    finally:
        probe.close()


def run_round(server, sampler, plan, n, seconds, think, seed, search):
    """``n`` sessions sign in (not timed into the window), then follow their
    mix for ``seconds``; returns the figures."""
    roles = roles_of(n)
    sessions = [Session(server.port, role, name, plan, random.Random(seed * 1000 + i), think,
                        search)
                for i, (role, name) in enumerate(zip(roles, usernames(roles)))]
    failed = []
    start_gate = threading.Event()
    signed = threading.Barrier(n + 1)
    window = {}

    def work(session):
        signed_in = False
        try:
            session.login()
            signed_in = True
        except Error as exc:
            failed.append(f"{session.username}: {exc}")
        finally:
            try:
                signed.wait()
            except threading.BrokenBarrierError:
                return
        if not signed_in:
            return
        start_gate.wait()
        session.record_to = session.timed
        # Spread the first pages over one think time, as users arrive.
        time.sleep(session.rng.uniform(0, think or 0.05))
        while time.perf_counter() < window["end"]:
            try:
                session.act()
            except Error:
                pass
            session.pause()
        session.close()

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in sessions]
    for t in threads:
        t.start()
    signed.wait()
    sampler.reset_peak()
    cpu_before, machine_before = sampler.cpu_seconds(), _machine_cpu()
    client_before = time.process_time()
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds
    start_gate.set()
    for t in threads:
        t.join(timeout=seconds + REQUEST_TIMEOUT * 3 + 30)
    elapsed = time.perf_counter() - window["start"]
    gauge = sampler.gauge_between(window["start"], window["end"])
    client_cpu = time.process_time() - client_before
    server_cpu = sampler.cpu_seconds() - cpu_before
    machine_after = _machine_cpu()
    busy = ((machine_after[0] - machine_before[0])
            / max(1, machine_after[1] - machine_before[1]) * 100)
    timed = [r for s in sessions for r in s.timed if r[2] < window["end"]]
    signs = [r for s in sessions for r in s.sign_in if r[0] == "sign-in" and r[4] is None]
    return {
        "sessions": n, "roles": {r: roles.count(r) for r in ("manager", "head", "reader")},
        "seconds": seconds, "elapsed": elapsed, "timed": timed,
        "sign_in": [r for s in sessions for r in s.sign_in], "sign_in_ok": signs,
        "sign_in_failed": failed, "client_cpu": client_cpu, "server_cpu": server_cpu,
        "machine_busy": busy, "peak_rss": sampler.peak_rss, "peak_pss": sampler.peak_pss,
        "peak_worker_rss": sampler.peak_worker_rss,
        "reconnects": sum(s.reconnects for s in sessions),
        "gauge_p50_ms": percentile(gauge, 0.5), "gauge_max_ms": gauge[-1] if gauge else 0.0,
    }


def _stats(rows):
    ms = sorted(r[3] for r in rows)
    return {"count": len(rows), "errors": sum(1 for r in rows if r[4]),
            "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95),
            "p99_ms": percentile(ms, 0.99)}


def summary(result):
    timed = result["timed"]
    overall = _stats(timed)
    # Requests per second: what finished, over the window.
    overall["rps"] = len(timed) / result["seconds"]
    overall["error_share"] = overall["errors"] / max(1, len(timed))
    return overall


def print_round(label, result, detail=False, title=None):
    n = result["sessions"]
    title = title or f"[{label}] load {n} sessions"
    overall = summary(result)
    roles = result["roles"]
    print(f"{title}: {roles['manager']} managers, {roles['head']} heads of sales, "
          f"{roles['reader']} read-only; {result['seconds']:.0f} s", flush=True)
    report(title, rps=overall["rps"], requests=overall["count"], errors=overall["errors"],
           p50_ms=overall["p50_ms"], p95_ms=overall["p95_ms"], p99_ms=overall["p99_ms"],
           server_peak_rss_mb=result["peak_rss"], server_peak_pss_mb=result["peak_pss"],
           worker_peak_rss_mb=result["peak_worker_rss"],
           server_cpu_ms_per_request=result["server_cpu"] * 1000 / max(1, overall["count"]),
           server_cpu_percent=result["server_cpu"] / result["elapsed"] * 100,
           client_cpu_percent=result["client_cpu"] / result["elapsed"] * 100,
           machine_busy_percent=result["machine_busy"], reconnects=result["reconnects"],
           processor_gauge_p50_ms=result["gauge_p50_ms"],
           processor_gauge_max_ms=result["gauge_max_ms"])
    signs = _stats(result["sign_in_ok"])
    report(f"{title} sign-in", count=signs["count"], p50_ms=signs["p50_ms"],
           p95_ms=signs["p95_ms"], failed=len(result["sign_in_failed"]))
    by_kind = defaultdict(list)
    for row in result["timed"]:
        by_kind[row[0]].append(row)
    for kind in sorted(by_kind):
        report(f"{title} {kind}", **_stats(by_kind[kind]))
    if detail:
        by_variant = defaultdict(list)
        for row in result["timed"]:
            if row[1]:
                by_variant[f"{row[0]}: {row[1]}"].append(row)
        for name in sorted(by_variant):
            report(f"{title}   {name}", **_stats(by_variant[name]))
    errors = [r[4] for r in result["timed"] if r[4]] + result["sign_in_failed"]
    for error in errors[:5]:
        print(f"    error: {error}", flush=True)
    return overall


# --- The probe's log, per page kind -------------------------------------------------


def print_probe(label, directory, since=0.0, detail=False):
    """Per page kind, from bench/load_probe.py's lines: the server's own time
    (p50, p95), and per request on average its thread's CPU, the SQL time and
    statement count, the template rendering and the garbage collector's
    time (and its full collections per 100 requests); with ``detail`` the
    statements that were most often a request's slowest."""
    rows = defaultdict(list)
    for name in sorted(os.listdir(directory)):
        if not name.startswith("probe-") or not name.endswith(".jsonl"):
            continue
        with open(os.path.join(directory, name)) as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry["t"] >= since:
                    rows[kind_of(entry["m"], entry["p"])].append(entry)
    for kind in sorted(rows):
        entries = rows[kind]
        wall = sorted(e["wall"] for e in entries)
        n = len(entries)
        report(f"[{label}] probe {kind}", count=n, server_p50_ms=percentile(wall, 0.5),
               server_p95_ms=percentile(wall, 0.95),
               cpu_ms=sum(e["cpu"] for e in entries) / n,
               sql_ms=sum(e["sql"] for e in entries) / n,
               statements=sum(e["n"] for e in entries) / n,
               compiled=sum(e.get("miss", 0) for e in entries) / n,
               render_ms=sum(e["tpl"] for e in entries) / n,
               gc_ms=sum(e.get("gc", 0) for e in entries) / n,
               gc_cpu_ms=sum(e.get("gc_cpu", 0) for e in entries) / n,
               full_gc_per_100=sum(e.get("full", 0) for e in entries) * 100 / n)
        if detail:
            slow = defaultdict(list)
            for e in entries:
                if e.get("slow"):
                    slow[e["slow"]].append(e["slow_ms"])
            worst = sorted(slow.items(), key=lambda kv: -sum(kv[1]))[:2]
            for sql, times in worst:
                short = re.sub(r"^SELECT\s.*?\sFROM\s", "SELECT … FROM ", sql, count=1)
                print(f"    slowest statement in {len(times)} of {n}, median "
                      f"{sorted(times)[len(times) // 2]:.1f} ms: {short[:700]}", flush=True)


def print_profiles(directory, kinds=(), top=30):
    """Per page kind, the cProfile of its requests (all workers and threads
    together): the functions by time in all (cumulative) and by own time."""
    import glob
    import pstats

    files = defaultdict(list)
    for path in glob.glob(os.path.join(directory, "profile-*.prof")):
        kind = os.path.basename(path)[len("profile-"):].rsplit("-", 2)[0].replace("_", " ")
        files[kind].append(path)
    for kind in sorted(files):
        if kinds and kind not in kinds:
            continue
        stats = pstats.Stats(*files[kind])
        print(f"=== {kind}: {len(files[kind])} profiles", flush=True)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


# --- Runs ------------------------------------------------------------------------------


def run(label, url, options=None):
    """The load on one database: ``options.sessions`` for ``options.seconds``;
    with ``options.find_capacity`` the rounds of growing counts after it."""
    options = options or settings([])
    most = max([options.sessions] + (options.steps if options.find_capacity else []))
    database_url, plan = prepare(label, url, most)
    probe = options.probe
    if probe:
        os.makedirs(probe, exist_ok=True)
    server = Server(database_url, options.workers, options.threads, probe)
    sampler = Sampler(server)
    machine_speed(label)
    try:
        started = time.perf_counter()
        server.start(profile=options.profile)
        report(f"[{label}] load server up", seconds=time.perf_counter() - started,
               workers=options.workers, threads=options.threads, port=server.port)
        sampler.start()
        search = offers_search(server.port, plan)
        print(f"[{label}] load: quick search "
              f"{f'in the mix ({search}=…)' if search else 'not offered by the lists (left out)'}"
              f"; think {options.think:.1f} s ±50 %", flush=True)
        probe_since = time.time()
        result = run_round(server, sampler, plan, options.sessions, options.seconds,
                           options.think, options.seed, search)
        print_round(label, result, options.detail)
        if probe:
            time.sleep(1)
            print_probe(label, probe, probe_since, options.detail)
        if options.find_capacity:
            find_capacity(label, server, sampler, plan, options, search)
    finally:
        sampler.stopped.set()
        server.stop()
        from sqlalchemy import create_engine

        engine = create_engine(database_url)
        tasks, notes = cleanup(engine)
        engine.dispose()
        report(f"[{label}] load cleanup", tasks_deleted=tasks, notes_deleted=notes)
        if server.process is not None and server.process.returncode not in (0, -15, None):
            print(f"    server log ({server.log_path}):\n{server.log_tail()}", flush=True)


def find_capacity(label, server, sampler, plan, options, search):
    held = 0
    for n in options.steps:
        time.sleep(2)  # the previous round's last requests drain
        result = run_round(server, sampler, plan, n, options.round_seconds, options.think,
                           options.seed + n, search)
        overall = print_round(label, result, title=f"[{label}] capacity {n} sessions")
        ok = overall["p99_ms"] <= options.p99_ms and overall["error_share"] <= 0.01
        if not ok:
            break
        held = n
    report(f"[{label}] capacity: sessions held at p99 <= {options.p99_ms:.0f} ms",
           sessions=held, think_s=options.think, round_s=options.round_seconds)


def main(argv=None):
    options = settings(sys.argv[1:] if argv is None else argv)
    if options.read_profiles:
        return print_profiles(options.read_profiles, options.kind)
    for label, url in database_urls():
        if options.database in ("both", label):
            run(label, url, options)


if __name__ == "__main__":
    main()
