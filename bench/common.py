"""Timing helpers shared by the benchmarks."""
import os
import resource
import statistics
import tempfile
import time

os.environ.setdefault("SECRET_KEY", "bench-only-secret")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat):
    """Median and 95th percentile in milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
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


def report(name, **figures):
    parts = ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in figures.items())
    print(f"{name}: {parts}", flush=True)
