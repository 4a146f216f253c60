"""Bad field values get a Russian message, never a 500 or raw SQL:
a form is shown again with the message and nothing
is saved; the API answers 422 naming the field. Both run the rules of
services/validation.column_checks."""
import json

import pytest
from sqlalchemy import func, select

from app.models import Application, Client, ClientOrigin, ContactPerson, Deal, Employee
from tests.conftest import PASSWORD, unique

CONTROL = "управляющие символы"
DIGITS = "цифрами 0–9"
MAIL = "не адрес электронной почты"


def count(session, model):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def base_client(session):
    admin = session.scalar(select(Employee.id).where(Employee.username == "admin"))
    row = Client(name=unique("Границы"), responsible_id=admin)
    session.add(row)
    session.commit()
    return row.id


def form_data(url, client_id):
    """A valid body of each add form; one field is then spoilt."""
    return {
        "/clients/add": {"kind": "company", "name": unique("Клиент"),
                         "public_access": "private"},
        "/deals/add": {"client": str(client_id), "title": unique("Сделка"), "status": "open",
                       "amount": "1000", "probability": "10"},
        "/applications/add": {"client": str(client_id), "amount": "1000",
                              "status": "in_processing"},
        "/contacts/add": {"client": str(client_id), "name": unique("Контакт")},
        "/client-origins/add": {"name": unique("Источник"), "is_active": "y",
                                "sort_order": "0"},
    }[url]


# (url, model, field, value, words of the message)
FORM_CASES = [
    ("/clients/add", Client, "name", "Я" * 300, "Не более 255 символов (сейчас 300)"),
    ("/clients/add", Client, "name", "Имя\x00ноль", CONTROL),
    ("/clients/add", Client, "city", "Омск\x01", CONTROL),
    ("/clients/add", Client, "comments", "текст\x00", CONTROL),
    ("/clients/add", Client, "email", "not@@mail", MAIL),
    ("/deals/add", Deal, "amount", "Infinity", DIGITS),
    ("/deals/add", Deal, "amount", "1e10", DIGITS),
    ("/deals/add", Deal, "amount", "999999999999999999999", "не более 12 цифр до запятой"),
    ("/deals/add", Deal, "amount", "٣٠٠", DIGITS),
    ("/deals/add", Deal, "probability", "٣٠", "Введите целое число цифрами 0–9"),
    ("/applications/add", Application, "amount", "NaN", DIGITS),
    ("/applications/add", Application, "term_months", "99999999999",
     "Число должно быть от -2147483648 до 2147483647"),
    ("/contacts/add", ContactPerson, "email", "not@@mail", MAIL),
    ("/contacts/add", ContactPerson, "name", "Контакт\x00", CONTROL),
    # Dictionaries too: name is String(150).
    ("/client-origins/add", ClientOrigin, "name", "Я" * 151, "Не более 150 символов"),
    ("/client-origins/add", ClientOrigin, "name", "Источник\x00", CONTROL),
    ("/client-origins/add", ClientOrigin, "sort_order", "1e3", "цифрами 0–9"),
]


@pytest.mark.parametrize("url, model, field, value, message", FORM_CASES,
                         ids=[f"{c[0].split('/')[1]}-{c[2]}-{i}"
                              for i, c in enumerate(FORM_CASES)])
def test_a_form_shows_the_message_and_saves_nothing(as_role, session, base_client, url,
                                                     model, field, value, message):
    admin = as_role("admin")
    before = count(session, model)
    response = admin.post(url, {**form_data(url, base_client), field: value})
    assert response.status_code == 200
    assert message in response.text, response.text[-3000:]
    assert count(session, model) == before


@pytest.mark.parametrize("typed, stored", [("300 000,00", "300000.00"), ("14,5", "14.50"),
                                           ("1234.567", "1234.57")])
def test_a_form_takes_amounts_typed_the_russian_way(as_role, session, base_client, typed,
                                                    stored):
    data = form_data("/deals/add", base_client)
    as_role("admin").post("/deals/add", {**data, "amount": typed})
    session.rollback()
    amount = session.scalar(select(Deal.amount).where(Deal.title == data["title"]))
    assert amount is not None and f"{amount:.2f}" == stored


def test_a_form_stores_the_normal_form_of_an_email(as_role, session, base_client):
    data = form_data("/contacts/add", base_client)
    as_role("admin").post("/contacts/add", {**data, "email": " Ivan@Example.RU "})
    session.rollback()
    assert session.scalar(select(ContactPerson.email).where(
        ContactPerson.name == data["name"])) == "Ivan@example.ru"


@pytest.fixture
def api(app):
    http = app.test_client()
    token = http.post("/api/v1/security/login", json={
        "username": "admin", "password": PASSWORD, "provider": "db"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def post(resource, body):
        # Raw JSON: Python's parser (Flask's) takes Infinity and NaN too.
        return http.post(f"/api/v1/{resource}/", data=body if isinstance(body, str)
                         else json.dumps(body), headers=headers,
                         content_type="application/json")

    return post


def api_body(resource, client_id):
    return {"client": {"name": unique("API клиент")},
            "deal": {"client": client_id, "title": unique("API сделка"), "amount": 10},
            "contact": {"client": client_id, "name": unique("API контакт")},
            "client_origin": {"name": unique("API источник")}}[resource]


# (resource, model, field, value as JSON text, words of the message)
API_CASES = [
    ("client", Client, "name", json.dumps("Я" * 300), "Не более 255 символов"),
    ("client", Client, "name", json.dumps("Имя\x00"), CONTROL),
    ("client", Client, "comments", json.dumps("текст\x00"), CONTROL),
    ("client", Client, "email", json.dumps("not@@mail"), MAIL),
    ("client", Client, "responsible", "999999", "Нет записи с ID 999999"),
    ("client", Client, "status", "999999", "Нет записи с ID 999999"),
    ("client", Client, "responsible", json.dumps("x\x00"), "Введите целое число"),
    ("client", Client, "responsible", "99999999999999999999", "Число должно быть от"),
    ("deal", Deal, "client", "999999", "Нет записи с ID 999999"),
    ("deal", Deal, "amount", json.dumps("Infinity"), DIGITS),
    ("deal", Deal, "amount", "Infinity", "Введите число"),
    ("deal", Deal, "amount", "NaN", "Введите число"),
    ("deal", Deal, "amount", json.dumps("1e10"), DIGITS),
    ("deal", Deal, "amount", "999999999999999999999", "не более 12 цифр до запятой"),
    ("deal", Deal, "amount", json.dumps("999999999999999999999"), "не более 12 цифр"),
    ("deal", Deal, "amount", json.dumps("٣٠٠"), DIGITS),
    ("deal", Deal, "probability", json.dumps("٣٠"), "Введите целое число"),
    ("deal", Deal, "probability", "4294967296", "Число должно быть от"),
    ("contact", ContactPerson, "email", json.dumps("not@@mail"), MAIL),
    ("client_origin", ClientOrigin, "name", json.dumps("Источник\x00"), CONTROL),
    ("client_origin", ClientOrigin, "name", json.dumps("Я" * 151), "Не более 150 символов"),
]


@pytest.mark.parametrize("resource, model, field, value, message", API_CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(API_CASES)])
def test_the_api_answers_422_naming_the_field(api, session, base_client, resource, model,
                                              field, value, message):
    before = count(session, model)
    body = json.dumps(api_body(resource, base_client))[:-1] + f', "{field}": {value}}}'
    response = api(resource, body)
    assert response.status_code == 422, response.text
    errors = response.json["message"]
    assert field in errors and message in " ".join(errors[field]), errors
    assert count(session, model) == before


def test_the_api_stores_checked_values(api, session, base_client):
    response = api("deal", {**api_body("deal", base_client), "amount": "300 000,505"})
    assert response.status_code == 201, response.json
    session.rollback()
    assert f"{session.get(Deal, response.json['id']).amount:.2f}" == "300000.51"
    response = api("contact", {**api_body("contact", base_client), "email": "A@Example.COM"})
    assert response.status_code == 201, response.json
    assert session.get(ContactPerson, response.json["id"]).email == "A@example.com"
