"""Every employee edits own profile and changes own password."""
import pytest
from sqlalchemy import select

from app.models import Employee
from tests.conftest import PASSWORD, Client, new_user, signed_in


def _fresh_employee(app):
    login, _ = new_user(app, prefix="prof", first_name="Анна", last_name="Козлова")
    return login, signed_in(app, login)


@pytest.mark.parametrize("role", ["admin", "head", "manager", "auditor"])
def test_every_role_sees_own_profile(as_role, role):
    page = as_role(role).get("/employees/userinfo/").text
    assert "Мой профиль" in page
    assert f"{role}@example.com" in page


def test_edit_own_profile(app, session):
    login, client = _fresh_employee(app)
    client.post("/profile/form", {
        "last_name": "Козлова", "first_name": "Анна", "middle_name": "Сергеевна",
        "email": f"{login}@example.org", "phone": "+7 (495) 123-45-67",
        "skype": "anna.k",
    })
    me = session.scalar(select(Employee).where(Employee.username == login))
    assert (me.middle_name, me.phone, me.skype, me.email) == (
        "Сергеевна", "+74951234567", "anna.k", f"{login}@example.org")


def test_profile_refuses_bad_phone_and_taken_email(app, session):
    login, client = _fresh_employee(app)
    page = client.post("/profile/form", {
        "last_name": "Козлова", "first_name": "Анна", "email": "admin@example.com",
        "phone": "123",
    }).text
    assert "Этот адрес уже принадлежит другому сотруднику" in page
    assert "номер" in page
    me = session.scalar(select(Employee).where(Employee.username == login))
    assert me.email == f"{login}@example.com" and me.phone is None


def test_change_password_requires_the_old_one(app):
    login, client = _fresh_employee(app)
    page = client.post("/changepassword/form", {
        "old_password": "wrong", "password": "New-pass-456", "conf_password": "New-pass-456",
    }).text
    assert "Текущий пароль указан неверно" in page
    page = client.post("/changepassword/form", {
        "old_password": PASSWORD, "password": "New-pass-456", "conf_password": "other",
    }).text
    assert "Пароли должны совпадать" in page
    page = client.post("/changepassword/form", {
        "old_password": PASSWORD, "password": "short", "conf_password": "short",
    }).text
    assert "Не меньше 8 символов" in page
    assert "/logout" in Client(app).login(login, PASSWORD).text

    client.post("/changepassword/form", {
        "old_password": PASSWORD, "password": "New-pass-456", "conf_password": "New-pass-456",
    })
    assert "/logout" not in Client(app).login(login, PASSWORD).text
    assert "/logout" in Client(app).login(login, "New-pass-456").text


def test_profile_requires_sign_in(client):
    assert client.get("/profile/form").status_code == 302
