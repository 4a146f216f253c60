"""Log lines of a request name it and its user."""
import logging

from app.logs import FORMAT, HEADER
from tests.conftest import make_app


def _lines(caplog):
    formatter = logging.Formatter(FORMAT)
    return [formatter.format(r) for r in caplog.records if r.name == "app.requests"]


def test_each_request_is_logged_with_its_id_and_user(as_role, caplog):
    manager = as_role("manager")
    with caplog.at_level(logging.INFO, logger="app.requests"):
        response = manager.get("/clients/list/", headers={HEADER: "nginx-4f2a9c"})
    assert response.headers[HEADER] == "nginx-4f2a9c"
    line = _lines(caplog)[-1]  # after the sign-in's own requests
    assert "[nginx-4f2a9c manager] app.requests: GET /clients/list/ 200" in line
    assert line.endswith(" ms 127.0.0.1")


def test_a_request_without_a_sane_id_gets_one_and_an_anonymous_user(app, caplog):
    with caplog.at_level(logging.INFO, logger="app.requests"):
        response = app.test_client().get("/login/", headers={HEADER: "<script>x</script>"})
    given = response.headers[HEADER]
    assert len(given) == 16 and given.isalnum()
    line, = _lines(caplog)
    assert f"[{given} -] app.requests: GET /login/ 200" in line
    assert "<script>" not in line


def test_lines_the_app_writes_in_a_request_carry_its_fields(caplog):
    """A failure logged by a view is found by the id its caller saw."""
    broken = make_app("postgresql://nobody@127.0.0.1:1/none")
    with caplog.at_level(logging.INFO, logger="app"):
        response = broken.test_client().get("/health", headers={HEADER: "lb-77"})
    assert response.status_code == 503 and response.headers[HEADER] == "lb-77"
    failure, = [r for r in caplog.records if r.name == "app.views.health"]
    assert failure.exc_info and (failure.request_id, failure.user) == ("lb-77", "-")
    assert "[lb-77 -] app.views.health: Health check" in logging.Formatter(FORMAT).format(
        failure)


def test_a_save_that_commits_still_names_its_user(as_role, caplog):
    """After the commit the user's fields are expired: the log must not
    lose the name (nor load it from the database)."""
    manager = as_role("manager")
    manager.get("/clients/list/")
    with caplog.at_level(logging.INFO, logger="app.requests"):
        manager.post("/clients/add", {"kind": "company", "public_access": "private",
                                      "name": "ООО «Журнал»"}, follow=False)
    line = _lines(caplog)[-1]
    assert "manager] app.requests: POST /clients/add 302" in line, line
