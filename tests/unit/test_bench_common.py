"""bench/common.py: the processor gauge printed beside the figures, and a
bench schema dropped without taking another schema's indexes with it."""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from bench import common

POSTGRES = os.environ.get("TEST_DATABASE_URL")


def test_the_gauge_reads_the_processor_time_of_fixed_work(capsys):
    readings = [common.cpu_gauge_ms() for _ in range(3)]
    assert all(0 < ms < 1000 for ms in readings), readings
    common.machine_speed("here")
    assert "[here] processor gauge (100000 Python steps, best of 5): cpu_ms=" in \
        capsys.readouterr().out


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL: TEST_DATABASE_URL is not set")
def test_a_fresh_schema_keeps_an_extension_other_schemas_use():
    """As pg_trgm did: created while a bench schema came first in the search
    path, it lived there, and dropping that schema dropped every trigram
    index of the kept datasets. fuzzystrmatch stands in for it: nothing of
    the app uses it, so moving it disturbs no other test."""
    engine = create_engine(POSTGRES)
    suffix = uuid.uuid4().hex[:8]
    dropped, kept = f"t_bench_dropped_{suffix}", f"t_bench_kept_{suffix}"
    try:
        with engine.begin() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'fuzzystrmatch'")):
                pytest.skip("fuzzystrmatch is in use in this database")
            if not conn.scalar(text("SELECT 1 FROM pg_available_extensions "
                                    "WHERE name = 'fuzzystrmatch'")):
                pytest.skip("fuzzystrmatch is not installed with this PostgreSQL")
            conn.execute(text(f"CREATE SCHEMA {dropped}"))
            conn.execute(text(f"CREATE SCHEMA {kept}"))
            conn.execute(text(f"CREATE EXTENSION fuzzystrmatch SCHEMA {dropped}"))
            conn.execute(text(f"CREATE VIEW {kept}.sounds AS "
                              f"SELECT {dropped}.soundex('Smith') AS code"))
        common.fresh_schema(POSTGRES, dropped)
        with engine.begin() as conn:
            assert conn.scalar(text(f"SELECT code FROM {kept}.sounds")) == "S530"
            assert conn.scalar(text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'fuzzystrmatch'")) == "public"
            assert conn.scalar(text("SELECT count(*) FROM pg_namespace "
                                    "WHERE nspname = :s"), {"s": dropped}) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {kept} CASCADE"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {dropped} CASCADE"))
            conn.execute(text("DROP EXTENSION IF EXISTS fuzzystrmatch CASCADE"))
        engine.dispose()
