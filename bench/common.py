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
    and created anew: a step that needs an empty database of its own."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def report(name, **figures):
    parts = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in figures.items())
    print(f"{name}: {parts}", flush=True)
