"""Every step of `make bench` (bench/__main__.py) on a tiny dataset, so that
none can break unnoticed between full runs: on SQLite, and on
PostgreSQL when TEST_DATABASE_URL is set. One test per step and database,
in any order (each step makes the data it reads; the dataset is shared with
the other tiny benches, tests/unit/conftest.py); the figures are printed,
never checked, and a step that fails raises."""
import os
import re

import pytest

import bench.__main__ as bench_main
from bench import documents, imports

POSTGRES = os.environ.get("TEST_DATABASE_URL")
# A line of figures each step prints.
PRINTS = {"startup": "start-up:", "lists": "memory over", "calendar": "calendar page",
          "jobs": "unplanned page as manager", "stats": "page /stats/funnel/",
          "custom_fields": "sorted by income", "imports": "during an import of",
          "search": "] search ", "board": "board next cards"}
STEPS = [step.__name__.rsplit(".", 1)[-1] for step in bench_main.DATABASE_STEPS] + ["imports"]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES, reason="PostgreSQL: TEST_DATABASE_URL is not set"))]


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
    if step == "imports":  # both bounds of the database's share
        assert "made-up rows in order" in out and "the rows this import stored" in out, \
            out[-3000:]
        assert re.search(r"during an import of \d+ rows: requests=\d+, failures=0,", out), \
            out[-3000:]
    if step == "search":  # a manager's quick search, and the picker's answers
        assert f"[{backend}] search manager clients: name part" in out, out[-3000:]
        assert "picker: name part" in out


@pytest.mark.timeout(900)
def test_bench_documents(tiny, capsys):
    documents.run()
    out = capsys.readouterr().out
    assert "[documents] invoice of 60 lines: one PDF" in out
    assert "[documents] 1 invoices in a row" in out
