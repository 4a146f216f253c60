"""Every step of `make bench` (bench/__main__.py) on a tiny dataset, so that
none can break unnoticed between full runs (issue 18): on SQLite, and on
PostgreSQL when TEST_DATABASE_URL is set. One test per step and database,
in any order (each step makes the data it reads); the figures are printed,
never checked, and a step that fails raises."""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

import bench.__main__ as bench_main
from bench import documents, imports

POSTGRES = os.environ.get("TEST_DATABASE_URL")
TINY = {"BENCH_CLIENTS": "300", "BENCH_APPLICATIONS": "300", "BENCH_TASKS": "900",
        "BENCH_DEALS": "200", "BENCH_IMPORT_ROWS": "20,50", "BENCH_REPEAT": "1"}
SCHEMAS = {"BENCH_SCHEMA": "bench", "BENCH_IMPORT_SCHEMA": "bench_imports",
           "BENCH_STARTUP_SCHEMA": "bench_startup"}
# A line of figures each step prints.
PRINTS = {"startup": "start-up:", "lists": "memory over", "calendar": "calendar page",
          "jobs": "unplanned page as manager", "stats": "page /stats/funnel/",
          "custom_fields": "sorted by income", "imports": "export ", "search": "] search "}
STEPS = [step.__name__.rsplit(".", 1)[-1] for step in bench_main.DATABASE_STEPS] + ["imports"]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES, reason="PostgreSQL: TEST_DATABASE_URL is not set"))]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The environment of a tiny bench: its own directory and, on
    PostgreSQL, schemas of its own, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    schemas = {name: f"{prefix}_{suffix}" for name, prefix in SCHEMAS.items()}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**TINY, **schemas}.items():
            patch.setenv(name, value)
        patch.setenv("BENCH_DIR", str(tmp_path_factory.mktemp("bench")))
        if POSTGRES:
            patch.setenv("BENCH_DATABASE_URL", POSTGRES)
        else:
            patch.delenv("BENCH_DATABASE_URL", raising=False)
        yield tmp_path_factory.mktemp("startup")
    if POSTGRES:
        engine = create_engine(POSTGRES)
        with engine.begin() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_the_test_knows_every_step():
    assert set(STEPS) == set(PRINTS)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_step(tiny, backend, step, capsys):
    url = "sqlite:///" + str(tiny / "startup.db") if backend == "sqlite" else POSTGRES
    if step == "imports":
        label, url = next((label, url) for label, url in imports.database_urls()
                          if label == backend)
        imports.run(label, url, imports.sizes())
    else:
        module = next(s for s in bench_main.DATABASE_STEPS if s.__name__.endswith(step))
        module.run(backend, url)
    out = capsys.readouterr().out
    assert f"[{backend}] " in out and PRINTS[step] in out, out[-3000:]


@pytest.mark.timeout(900)
def test_bench_documents(tiny, capsys):
    documents.run()
    out = capsys.readouterr().out
    assert "[documents] invoice of 60 lines: one PDF" in out
    assert "[documents] 1 invoices in a row" in out
