"""The tiny bench of tests/unit/test_bench_*.py: the steps of `make bench`
on a few hundred rows (BENCH_REPEAT=1), SQLite and, when TEST_DATABASE_URL
is set, PostgreSQL."""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

POSTGRES = os.environ.get("TEST_DATABASE_URL")
TINY = {"BENCH_CLIENTS": "300", "BENCH_APPLICATIONS": "300", "BENCH_TASKS": "900",
        "BENCH_DEALS": "200", "BENCH_IMPORT_ROWS": "50", "BENCH_IMPORT_BUSY_ROWS": "300",
        "BENCH_REPEAT": "1"}
SCHEMAS = {"BENCH_SCHEMA": "bench", "BENCH_IMPORT_SCHEMA": "bench_imports",
           "BENCH_STARTUP_SCHEMA": "bench_startup"}


@pytest.fixture(scope="session")
def bench_place(tmp_path_factory):
    """One directory and, on PostgreSQL, one set of schemas for every tiny
    bench of the run, dropped afterwards. Shared by the test modules, so
    that the dataset is generated, and its database migrated and its roles
    synchronised (bench/lists.py), once per run rather than once per module;
    each step still makes what it reads when it is missing."""
    suffix = uuid.uuid4().hex[:10]
    schemas = {name: f"{prefix}_{suffix}" for name, prefix in SCHEMAS.items()}
    env = {**TINY, **schemas, "BENCH_DIR": str(tmp_path_factory.mktemp("bench"))}
    yield env, tmp_path_factory.mktemp("startup")
    if POSTGRES:
        engine = create_engine(POSTGRES)
        with engine.begin() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="module")
def tiny(bench_place):
    """The environment of the tiny bench for a module's tests; the directory
    of the start-up step's fresh SQLite file."""
    env, startup = bench_place
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        if POSTGRES:
            patch.setenv("BENCH_DATABASE_URL", POSTGRES)
        else:
            patch.delenv("BENCH_DATABASE_URL", raising=False)
        yield startup
