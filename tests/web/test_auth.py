"""Sign-in, lock-out, rate limit, CSRF and deactivation."""
from sqlalchemy import select

from app import db
from app.models import Employee
from tests.conftest import PASSWORD, Client, make_app, new_user

LOGIN_FAILED = "Неверный логин"


def test_login_page_is_russian_and_has_csrf(client):
    page = client.get("/login/").text
    assert "Войти" in page or "Вход" in page
    assert 'name="csrf_token"' in page


def test_sign_in_and_out(client):
    response = client.login("admin")
    assert "/logout" in response.text
    client.logout()
    assert client.get("/employees/list/").status_code == 302


def test_wrong_password_is_refused(client):
    response = client.login("admin", "not-the-password")
    assert "/logout" not in response.text


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login/", {"username": "admin", "password": PASSWORD},
                           csrf=False)
    assert response.status_code == 400
    assert "/logout" not in response.text


def test_account_locks_after_repeated_failures(app):
    name, _ = new_user(app)
    attempts = app.config["LOGIN_LOCK_ATTEMPTS"]
    for _ in range(attempts):
        assert "/logout" not in Client(app).login(name, "wrong").text
    # Even the right password is refused while the lock holds.
    assert "/logout" not in Client(app).login(name).text
    with app.app_context():
        user = db.session.scalar(select(Employee).where(Employee.username == name))
        assert user.locked_until is not None


def test_successful_login_resets_failures(app):
    name, _ = new_user(app)
    for _ in range(app.config["LOGIN_LOCK_ATTEMPTS"] - 1):
        Client(app).login(name, "wrong")
    assert "/logout" in Client(app).login(name).text
    with app.app_context():
        user = db.session.scalar(select(Employee).where(Employee.username == name))
        assert user.fail_login_count == 0 and user.locked_until is None


def test_login_is_rate_limited_per_address(app, database_url):
    limited = make_app(database_url, AUTH_RATE_LIMIT="3 per minute")
    client = Client(limited)
    codes = [client.post("/login/", {"username": "x", "password": "y"},
                         follow=False).status_code for _ in range(4)]
    assert codes[:3] == [302, 302, 302]
    assert codes[3] == 429


def test_deactivated_employee_cannot_sign_in_and_is_signed_out(app):
    name, _ = new_user(app)
    signed_in = Client(app)
    assert "/logout" in signed_in.login(name).text
    with app.app_context():
        user = db.session.scalar(select(Employee).where(Employee.username == name))
        user.active = False
        db.session.commit()
    assert signed_in.get("/employees/userinfo/").status_code == 302
    assert "/logout" not in Client(app).login(name).text


def test_session_cookie_is_http_only(app):
    client = Client(app)
    client.login("admin")
    cookie = client.http.get_cookie("session")
    assert cookie is not None and cookie.http_only
