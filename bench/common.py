"""Timing helpers shared by the benchmarks."""
import os
import resource
import statistics
import tempfile
import time

os.environ.setdefault("SECRET_KEY", "bench-only-secret")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def repeats(n):
    """``n``, or BENCH_REPEAT if that is fewer: the quick test of the steps
    (tests/unit/test_bench_steps.py) runs every timed call once."""
    most = os.environ.get("BENCH_REPEAT")
    return max(1, min(n, int(most))) if most else n


def timed(fn, repeat):
    """Median and 95th percentile in milliseconds of ``repeat`` calls
    (at most BENCH_REPEAT)."""
    samples = []
    for _ in range(repeats(repeat)):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def database_urls():
    """SQLite in a temp dir; PostgreSQL too when BENCH_DATABASE_URL is set."""
    urls = [("sqlite", "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.db"))]
    if os.environ.get("BENCH_DATABASE_URL"):
        urls.append(("postgresql", os.environ["BENCH_DATABASE_URL"]))
    return urls


def fresh_schema(url, schema):
    """``url`` (PostgreSQL) with the search path set to ``schema``, dropped
    and created anew: a step that needs an empty database of its own.

    An extension a migration created while this schema came first in the
    search path (pg_trgm, migration 0018) lives in it, and every other
    schema's trigram indexes depend on it: dropped with it, they went too,
    and the kept datasets (``bench``, ``bench1m``) searched row by row
    from then on. Such an extension moves to ``public`` first."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        for (name,) in conn.execute(text(
                "SELECT e.extname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE n.nspname = :schema"), {"schema": schema}):
            conn.execute(text(f'ALTER EXTENSION "{name}" SET SCHEMA public'))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


# Steps of the fixed piece of work ``cpu_gauge_ms`` times: 3–5 ms here.
GAUGE_STEPS = 100_000


def cpu_gauge_ms():
    """Milliseconds of this thread's own processor time for a fixed piece
    of Python work: how fast the machine runs just now. Waiting for a
    processor or for Python's lock does not count, so a busy machine reads
    the same as an idle one; a host that runs other guests' work on the
    same cores does not. Measured here: the same work took from 1× to 1.7×
    as long within one session, so a figure is read with the gauge beside
    it."""
    start = time.thread_time()
    total = 0
    for step in range(GAUGE_STEPS):
        total += step
    return (time.thread_time() - start) * 1000


def machine_speed(label="machine"):
    """Print the gauge (best of five): the first line of a run's figures."""
    report(f"[{label}] processor gauge ({GAUGE_STEPS} Python steps, best of 5)",
           cpu_ms=min(cpu_gauge_ms() for _ in range(5)))


def report(name, **figures):
    parts = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in figures.items())
    print(f"{name}: {parts}", flush=True)
