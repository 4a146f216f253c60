"""The journal of failed sign-ins: every failure on the screen or the API
is a row (time, login as typed, the employee it names, address, reason),
a successful sign-in is none; every kind answers alike; the console lists
them to the Admin only; the nightly job removes old rows."""
import datetime
import re

import pytest
from sqlalchemy import delete, select

from app.models import SignInFailure, SignInFailureReason, utcnow
from tests.conftest import PASSWORD, Client, new_user, unique

JOURNAL = "/console/journals/sign-in-failures/"


def _rows(session, username):
    session.expire_all()
    return session.scalars(select(SignInFailure).where(SignInFailure.username == username)
                           .order_by(SignInFailure.id)).all()


def _failed(app, username, password="wrong"):
    response = Client(app).login(username, password)
    assert "/logout" not in response.text
    return response


def test_each_kind_of_failure_is_a_row(app, session):
    wrong, wrong_id = new_user(app)
    locked, locked_id = new_user(app, locked_until=utcnow() + datetime.timedelta(hours=1))
    inactive, inactive_id = new_user(app, active=False)
    unknown = unique("nobody").replace(" ", "_")
    started = utcnow() - datetime.timedelta(seconds=1)
    for name in (wrong, unknown):
        _failed(app, name)
    _failed(app, locked, PASSWORD)  # the right password, refused by the lock
    _failed(app, inactive, PASSWORD)
    for name, user_id, reason in ((wrong, wrong_id, SignInFailureReason.WRONG_PASSWORD),
                                  (unknown, None, SignInFailureReason.UNKNOWN_USER),
                                  (locked, locked_id, SignInFailureReason.LOCKED),
                                  (inactive, inactive_id, SignInFailureReason.INACTIVE)):
        rows = _rows(session, name)
        assert [(r.user_id, r.reason, r.address) for r in rows] == [
            (user_id, reason, "127.0.0.1")], name
        assert started <= rows[0].at <= utcnow()


def test_a_successful_sign_in_is_no_row(app, session):
    name, _ = new_user(app)
    assert "/logout" in Client(app).login(name).text
    assert _rows(session, name) == []


def test_the_failure_that_locks_is_a_wrong_password(app, session):
    name, _ = new_user(app)
    attempts = app.config["LOGIN_LOCK_ATTEMPTS"]
    for _ in range(attempts + 1):
        _failed(app, name)
    reasons = [r.reason for r in _rows(session, name)]
    assert reasons == [SignInFailureReason.WRONG_PASSWORD] * attempts + [
        SignInFailureReason.LOCKED]


def test_api_sign_in_failure_is_a_row(app, session):
    name, user_id = new_user(app)
    response = app.test_client().post("/api/v1/security/login", json={
        "username": name, "password": "wrong", "provider": "db"})
    assert response.status_code == 401
    response.close()  # as a server does once the answer has gone: the row is written then
    assert [(r.user_id, r.reason) for r in _rows(session, name)] == [
        (user_id, SignInFailureReason.WRONG_PASSWORD)]


def test_every_kind_answers_alike(app):
    """The journal tells nobody outside whether a login exists."""
    wrong, _ = new_user(app)
    inactive, _ = new_user(app, active=False)

    def answer(username):
        response = Client(app).post("/login/", {"username": username, "password": "wrong"},
                                    follow=False)
        page = Client(app).http.get(response.headers["Location"]).text
        return response.status_code, response.headers["Location"], re.sub(
            r'value="[^"]*"', "", page)

    assert answer(wrong)[:2] == answer(unique("nobody"))[:2] == answer(inactive)[:2]


def test_a_failing_journal_does_not_fail_the_sign_in(app, session, monkeypatch):
    from app.services import sign_in_failures

    class Broken:
        def begin(self):
            raise RuntimeError("database is gone")

    name, _ = new_user(app)
    real = sign_in_failures.write
    monkeypatch.setattr(sign_in_failures, "write", lambda engine, rows: real(Broken(), rows))
    response = Client(app).login(name, "wrong")
    assert response.status_code == 200 and "/logout" not in response.text
    assert "/logout" in Client(app).login(name).text
    assert _rows(session, name) == []


# --- the console's list --------------------------------------------------------------


@pytest.mark.parametrize("username", ["head", "manager", "auditor"])
def test_only_the_admin_sees_the_list(as_role, username):
    assert as_role(username).get(JOURNAL).status_code == 403


def test_list_in_russian_and_filtered_by_reason(app, as_role, session):
    wrong, _ = new_user(app)
    unknown = unique("nobody").replace(" ", "_")
    _failed(app, wrong)
    _failed(app, unknown)
    c = as_role("admin")
    page = c.get(JOURNAL).text
    cells = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", page))
    assert f'<td class="col-username">{wrong}</td><td class="col-user">Петров Иван' in cells
    assert "Неверный пароль" in cells and "Неизвестный пользователь" in cells
    assert "127.0.0.1" in cells and "Неудачные входы" in cells
    assert "/edit/" not in page and "/new/" not in page and "/delete/" not in page
    # The reason's filter, by its place among the list's filters.
    view = next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "endpoint", "") == "console_journal_sign-in-failures")
    index = next(i for i, flt in enumerate(view._filters) if flt.column is SignInFailure.reason)
    only = c.get(JOURNAL, query_string={f"flt0_{index}": "unknown_user"}).text
    assert unknown in only and wrong not in only
    assert c.get(JOURNAL, query_string={f"flt0_{index}": "no-such"}).status_code == 200
    # Beside the locks in the menu.
    menu = c.get("/console/").text
    assert menu.index("Блокировки входа") < menu.index("Неудачные входы")


# --- the clean-up --------------------------------------------------------------------


def test_the_job_removes_old_rows_only(app, session):
    days = app.config["SIGN_IN_FAILURE_DAYS"]
    name = unique("old").replace(" ", "_")
    old = SignInFailure(at=utcnow() - datetime.timedelta(days=days + 1), username=name,
                        reason=SignInFailureReason.UNKNOWN_USER)
    kept = SignInFailure(at=utcnow() - datetime.timedelta(days=days - 1), username=name,
                         reason=SignInFailureReason.UNKNOWN_USER)
    session.add_all([old, kept])
    session.commit()
    kept_id = kept.id
    result = app.test_cli_runner().invoke(args=["jobs", "run", "sign-in-failures"])
    assert result.exit_code == 0, result.output
    assert "sign-in failure rows removed" in result.output
    assert [r.id for r in _rows(session, name)] == [kept_id]
    session.execute(delete(SignInFailure).where(SignInFailure.id == kept_id))
    session.commit()
