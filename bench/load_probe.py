"""The app of run.py, instrumented for ``python -m bench.load --probe DIR``.

gunicorn serves ``bench.load_probe:app`` instead of ``run:app`` (the same
Flask app: gunicorn.conf.py's hooks still find it). Each request appends
one JSON line to DIR/probe-<pid>.jsonl: method, path with query, status,
the server's time from the first before_request to teardown (``wall``),
the thread's CPU in that time (``cpu``; SQLite's own work counts here too,
it runs in the thread), the time and number of SQL statements (``sql``,
``n``: cursor execute to its return, rows fetched later not included) and
of template rendering (``tpl``: render_template, widgets included), the
slowest statement with its time (``slow``, ``slow_ms``), and Python's
garbage collections the request's thread ran (``gc`` ms, ``gc_cpu`` ms of
its CPU, ``full``: how many were of the oldest generation, which walk the
whole heap). With
BENCH_LOAD_PROFILE=1 each worker thread also runs cProfile during its
requests, one profile per page kind (bench/load.py's kind_of), written to
DIR/profile-<kind>-<pid>-<thread>.prof every 20 requests of the kind and
when the worker exits; read them with ``python -m bench.load
--read-profiles DIR``. Profile with one or a few sessions: the times are
wall-clock, and under load they include waiting for the GIL.

Nothing here changes what a request does; it adds a few microseconds of
bookkeeping (cProfile, when on, about doubles the time of Python code)."""
import atexit
import cProfile
import gc
import json
import os
import threading
import time

from flask import before_render_template, request, template_rendered
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import CacheStats

from bench.load import kind_of
from run import app

DIRECTORY = os.environ["BENCH_LOAD_PROBE"]
PROFILE = os.environ.get("BENCH_LOAD_PROFILE") not in (None, "", "0")
_local = threading.local()
_write_lock = threading.Lock()
_files = {}
# (page kind, thread id) -> its cProfile.Profile, and its requests so far.
_profilers, _counts = {}, {}


def _current():
    return getattr(_local, "entry", None)


@event.listens_for(Engine, "before_cursor_execute")
def _sql_start(conn, cursor, statement, parameters, context, executemany):
    _local.sql_started = time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _sql_end(conn, cursor, statement, parameters, context, executemany):
    entry = _current()
    started = getattr(_local, "sql_started", None)
    if entry is not None and started is not None:
        ms = (time.perf_counter() - started) * 1000
        entry["sql"] += ms
        entry["n"] += 1
        # Compiled afresh: SQLAlchemy's statement cache did not have it.
        if getattr(context, "cache_hit", None) is CacheStats.CACHE_MISS:
            entry["miss"] += 1
        if ms > entry["slow"][0]:
            entry["slow"] = (ms, statement)


def _collecting(phase, info):
    """Python's garbage collections during a request, by the thread that
    triggered them (``gc``: ms, ``full``: collections of generation 2)."""
    entry = _current()
    if entry is None:
        return
    if phase == "start":
        entry["_gc"] = (time.perf_counter(), time.thread_time())
    elif "_gc" in entry:
        wall, cpu = entry.pop("_gc")
        entry["gc"] += (time.perf_counter() - wall) * 1000
        entry["gc_cpu"] += (time.thread_time() - cpu) * 1000
        entry["full"] += info["generation"] == 2


gc.callbacks.append(_collecting)


def _render_start(sender, template, context, **extra):
    entry = _current()
    if entry is not None and not entry.get("_rendering"):
        entry["_rendering"] = time.perf_counter()


def _render_end(sender, template, context, **extra):
    entry = _current()
    if entry is not None and entry.get("_rendering"):
        entry["tpl"] += (time.perf_counter() - entry.pop("_rendering")) * 1000


before_render_template.connect(_render_start, app)
template_rendered.connect(_render_end, app)


def _begin():
    if _current() is not None:
        return
    _local.entry = {"sql": 0.0, "n": 0, "miss": 0, "tpl": 0.0, "slow": (0.0, ""), "gc": 0.0,
                    "gc_cpu": 0.0, "full": 0, "_wall": time.perf_counter(),
                    "_cpu": time.thread_time()}
    if PROFILE:
        key = (kind_of(request.method, request.full_path), threading.get_ident())
        if key not in _profilers:
            # Wall clock: under load a thread's waits for the GIL are
            # charged to whatever it waited in, so profile with few
            # sessions. (time.thread_time as the timer avoids that but made
            # every call four times dearer, which distorted the profile.)
            _profilers[key] = cProfile.Profile()
            _counts[key] = 0
        _local.profiler = key
        _profilers[key].enable()


def _dump(key):
    kind, thread_id = key
    _profilers[key].dump_stats(os.path.join(
        DIRECTORY, f"profile-{kind.replace(' ', '_')}-{os.getpid()}-{thread_id}.prof"))


@atexit.register
def _dump_all():
    """A worker's profiles as it exits (no request runs then)."""
    for key in list(_profilers):
        _dump(key)


def _status(response):
    entry = _current()
    if entry is not None:
        entry["st"] = response.status_code
    return response


def _end(error=None):
    entry = _current()
    if entry is None:
        return
    _local.entry = None
    if PROFILE:
        key = _local.profiler
        _profilers[key].disable()
        _counts[key] += 1
        if _counts[key] % 20 == 0:
            _dump(key)
    line = {"t": time.time(), "m": request.method, "p": request.full_path.rstrip("?"),
            "st": entry.get("st", 500 if error else 0),
            "wall": round((time.perf_counter() - entry["_wall"]) * 1000, 2),
            "cpu": round((time.thread_time() - entry["_cpu"]) * 1000, 2),
            "sql": round(entry["sql"], 2), "n": entry["n"], "miss": entry["miss"],
            "tpl": round(entry["tpl"], 2),
            "slow_ms": round(entry["slow"][0], 2), "slow": " ".join(entry["slow"][1].split()),
            "gc": round(entry["gc"], 2), "gc_cpu": round(entry["gc_cpu"], 2),
            "full": entry["full"]}
    with _write_lock:
        pid = os.getpid()
        if pid not in _files:  # one file per worker, opened after the fork
            _files[pid] = open(os.path.join(DIRECTORY, f"probe-{pid}.jsonl"), "a",
                               buffering=1)
        _files[pid].write(json.dumps(line) + "\n")


# First before_request, last after_request and teardown (Flask runs those two
# lists in reverse): the whole of Flask's request work.
app.before_request_funcs.setdefault(None, []).insert(0, _begin)
app.after_request_funcs.setdefault(None, []).insert(0, _status)
app.teardown_request_funcs.setdefault(None, []).insert(0, _end)

