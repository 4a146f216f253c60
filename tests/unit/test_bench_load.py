"""bench/load.py at a tiny size (a few hundred rows, 3 sessions, 3 seconds,
0.2 s think time) against the real server on SQLite: the figures are
printed and no request failed. Its figures are not checked (DESIGN.md:
benchmarks are never timing assertions)."""
import re

from bench import load


def test_load_on_sqlite(tiny, capsys):
    # On the tiny bench's data (tests/unit/conftest.py), generated once for
    # all its tests; the load's saves are deleted at its end (load.cleanup).
    options = load.settings(["--sessions", "3", "--seconds", "3", "--think", "0.2",
                             "--database", "sqlite"])
    load.run("sqlite", "sqlite://", options)
    out = capsys.readouterr().out
    line = re.search(r"^\[sqlite\] load 3 sessions: rps=.*$", out, re.M)
    assert line, out[-3000:]
    for figure in ("rps=", "requests=", "p50_ms=", "p95_ms=", "p99_ms=", "server_peak_rss_mb=",
                   "server_cpu_ms_per_request=", "client_cpu_percent=",
                   "processor_gauge_p50_ms="):
        assert figure in line.group(0), (figure, line.group(0))
    assert "errors=0," in line.group(0), out[-3000:]
    assert float(re.search(r"server_peak_rss_mb=([\d.]+)", line.group(0)).group(1)) > 0
    # The sampler read the gauge during the round (every 0.5 s of 3 s).
    assert float(re.search(r"processor_gauge_p50_ms=([\d.]+)", line.group(0)).group(1)) > 0
    assert "[sqlite] processor gauge" in out
    assert "1 managers, 1 heads of sales, 1 read-only" in out
    assert re.search(r"load 3 sessions sign-in: count=3, .*failed=0", out), out[-3000:]
    assert re.search(r"load 3 sessions list \w+: count=\d+, errors=0", out), out[-3000:]
    assert "[sqlite] load cleanup:" in out


def test_a_form_is_read_as_a_browser_sends_it():
    form = load.Form(
        '<form id="search"><input name="q" value="no"></form>'
        '<form id="model_form" method="post"><input name="csrf_token" type="hidden" value="t">'
        '<select name="type"><option selected value="__None">__None</option>'
        '<option value="1">Звонок</option></select>'
        '<select name="reminder_minutes"><option value="0">Нет</option>'
        '<option selected value="1440">День</option></select>'
        '<input name="planned_at" type="text" value="2026-01-01 09:00:00">'
        '<input name="done" type="checkbox" value="y"><textarea name="text">a &amp; b</textarea>'
        '<input name="file" type="file"></form>')
    assert form.fields == {"csrf_token": "t", "type": "__None", "reminder_minutes": "1440",
                           "planned_at": "2026-01-01 09:00:00", "text": "a & b"}
    assert form.options["type"] == ["__None", "1"] and form.has_file == ["file"]


def test_page_kinds_and_roles():
    assert load.kind_of("GET", "/clients/list/?_flt_0_name=Ив") == "list clients"
    assert load.kind_of("GET", "/deals/list/?_flt_0_quick=Ив") == "search deals"
    assert load.kind_of("GET", "/tasks/show/5?_flt_0_client=1") == "record tasks"
    assert load.kind_of("GET", "/clients/related/5/TaskView?page_TaskView=1") == "tab clients"
    assert load.kind_of("POST", "/notes/add?_flt_0_client=1") == "save note"
    assert load.kind_of("GET", "/stats/funnel/?period=custom") == "funnel"
    assert load.roles_of(50).count("manager") == 40 and load.roles_of(50).count("head") == 5
    assert sorted(load.roles_of(3)) == ["head", "manager", "reader"]
