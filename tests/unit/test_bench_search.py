"""bench/search.py on a tiny dataset (as tests/unit/test_bench_steps.py
runs the steps of bench/__main__.py): SQLite, and PostgreSQL when
TEST_DATABASE_URL is set. The figures are printed, never checked."""
import pytest

from bench import search
from tests.unit.test_bench_steps import BACKENDS, POSTGRES, tiny  # noqa: F401  (fixture)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_search(tiny, backend, capsys):  # noqa: F811
    url = "sqlite:///unused.db" if backend == "sqlite" else POSTGRES
    search.run(backend, url)
    out = capsys.readouterr().out
    assert f"[{backend}] search manager clients: name part" in out, out[-3000:]
    assert "picker: name part" in out
