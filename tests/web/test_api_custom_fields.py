"""Custom fields in the REST API: read and written as ``custom_fields``,
checked like the screens, recorded in the history, under the row rules,
and in the OpenAPI spec as soon as they are defined."""
import pytest
from sqlalchemy import delete, select

from app.models import (
    Client,
    CustomFieldType,
    CustomValue,
    Employee,
    HistoryEntry,
    PublicAccess,
    Region,
)
from tests.conftest import jwt_headers, unique
from tests.import_screens import purge


@pytest.fixture
def api(app):
    """api("manager") -> call(method, url, json=None) with that user's JWT."""

    def signed_in(username):
        http, headers = app.test_client(), jwt_headers(app, username)

        def call(method, url, json=None):
            return http.open(url, method=method, json=json, headers=headers)

        return call

    return signed_in


@pytest.fixture
def tag(session):
    """The name prefix of the test's clients: they go afterwards, with their
    history (other tests count the shared database's rows; SQLite reuses ids)."""
    prefix = unique("API-поле")
    yield prefix
    session.rollback()
    purge(session, Client.name.startswith(prefix))


def _employee_id(session, username):
    return session.scalar(select(Employee.id).where(Employee.username == username))


def _stored(session, field_id, record_id):
    session.expire_all()
    return session.scalars(select(CustomValue).where(
        CustomValue.field_id == field_id, CustomValue.record_id == record_id)
        .order_by(CustomValue.id)).all()


def _moscow(session):
    return session.scalar(select(Region.id).where(Region.name == "Москва"))


# (type, definition extras, value sent, value answered, bad value, its message)
KINDS = [
    ("text", {}, " ООО Ромашка ", "ООО Ромашка", "я" * 256, "Не больше 255 символов"),
    ("long_text", {}, "строка 1\nстрока 2", "строка 1\nстрока 2", {"a": 1},
     "Ожидается одно значение"),
    ("integer", {}, "42", 42, 4.5, "Введите целое число"),
    ("decimal", {}, 10, "10", "1,23456", "Не больше четырёх знаков"),
    ("money", {}, "150 000,5", "150000.50", "много", "Введите число"),
    ("boolean", {}, True, True, "может быть", "«да» или «нет»"),
    ("date", {}, "2026-01-15", "2026-01-15", "2026-13-40", "ДД.ММ.ГГГГ"),
    ("choice", {"choices": "Email\nSMS"}, "sms", "SMS", "Факс", "Выберите одно из"),
    ("multi_choice", {"choices": "Email\nSMS\nЗвонок"}, ["Звонок", "Email"],
     ["Email", "Звонок"], ["Факс"], "Выберите одно из"),
    ("dictionary", {"dictionary": "Region"}, "moscow", "moscow", 10 ** 9,
     "Такого значения нет"),
]


@pytest.mark.parametrize("kind, extra, sent, answered, bad, message", KINDS,
                         ids=[k[0] for k in KINDS])
def test_manager_writes_and_reads_every_type(api, session, define, tag, kind, extra, sent,
                                             answered, bad, message):
    if sent == "moscow":
        sent = answered = _moscow(session)
    field = define(type=CustomFieldType(kind), **extra)
    manager = api("manager")
    name = f"{tag} клиент"

    refused = manager("POST", "/api/v1/client/", {"name": name,
                                                  "custom_fields": {field.code: bad}})
    assert refused.status_code == 422, refused.json
    assert message in refused.json["message"]["custom_fields"][field.code][0]
    assert session.scalar(select(Client.id).where(Client.name == name)) is None

    created = manager("POST", "/api/v1/client/", {"name": name,
                                                  "custom_fields": {field.code: sent}})
    assert created.status_code == 201, created.json
    assert created.json["result"]["custom_fields"][field.code] == answered
    record = manager("GET", f"/api/v1/client/{created.json['id']}").json
    assert record["result"]["custom_fields"][field.code] == answered
    assert record["label_columns"][f"custom_fields.{field.code}"] == field.label_ru
    assert "custom_fields" in record["show_columns"]
    assert _stored(session, field.id, created.json["id"])

    kept = manager("PUT", f"/api/v1/client/{created.json['id']}",
                   {"custom_fields": {field.code: bad}})
    assert kept.status_code == 422
    assert manager("GET", f"/api/v1/client/{created.json['id']}").json[
        "result"]["custom_fields"][field.code] == answered


def test_decimals_keep_their_precision(api, define, tag):
    rate = define(type=CustomFieldType.DECIMAL)
    income = define(type=CustomFieldType.MONEY)
    created = api("manager")("POST", "/api/v1/client/", {
        "name": f"{tag} Точнов",
        "custom_fields": {rate.code: "0.1235", income.code: "12345678901234.99"}})
    assert created.status_code == 201, created.json
    assert created.json["result"]["custom_fields"] == {rate.code: "0.1235",
                                                       income.code: "12345678901234.99"}


def test_required_fields_on_post_and_defaults(api, session, define, tag):
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY, required=True)
    source = define(type=CustomFieldType.TEXT, default="Сайт")
    manager = api("manager")
    name = f"{tag} Обязательнов"

    missing = manager("POST", "/api/v1/client/", {"name": name, "phone": "12"})
    assert missing.status_code == 422
    assert missing.json["message"]["custom_fields"] == {income.code: ["Обязательное поле"]}
    assert list(missing.json["message"]) == ["custom_fields", "phone"]  # all at once
    empty = manager("POST", "/api/v1/client/", {"name": name,
                                                "custom_fields": {income.code: None}})
    assert empty.status_code == 422
    assert session.scalar(select(Client.id).where(Client.name == name)) is None

    created = manager("POST", "/api/v1/client/", {"name": name,
                                                  "custom_fields": {income.code: 1000}})
    assert created.status_code == 201, created.json
    assert created.json["result"]["custom_fields"] == {income.code: "1000.00",
                                                       source.code: "Сайт"}
    # A record saved before the field was required is changed without it.
    renamed = manager("PUT", f"/api/v1/client/{created.json['id']}", {"city": "Омск"})
    assert renamed.status_code == 200, renamed.json
    cleared = manager("PUT", f"/api/v1/client/{created.json['id']}",
                      {"custom_fields": {income.code: ""}})
    assert cleared.status_code == 422


def test_put_changes_only_the_fields_it_names_and_history_records_them(
        api, session, define, tag):
    employer = define(label_ru=unique("Работодатель"), type=CustomFieldType.TEXT)
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY)
    channels = define(type=CustomFieldType.MULTI_CHOICE, choices="Email\nSMS")
    manager = api("manager")
    created = manager("POST", "/api/v1/client/", {"name": f"{tag} Частичнов", "custom_fields": {
        employer.code: "ООО Старое", income.code: "50000", channels.code: ["SMS"]}})
    client_id = created.json["id"]

    changed = manager("PUT", f"/api/v1/client/{client_id}",
                      {"custom_fields": {employer.code: "ООО Новое"}})
    assert changed.status_code == 200, changed.json
    assert changed.json["result"]["custom_fields"] == {
        employer.code: "ООО Новое", income.code: "50000.00", channels.code: ["SMS"]}
    manager("PUT", f"/api/v1/client/{client_id}",
            {"custom_fields": {income.code: None, channels.code: []}})
    values = manager("GET", f"/api/v1/client/{client_id}").json["result"]["custom_fields"]
    assert values == {employer.code: "ООО Новое", income.code: None, channels.code: []}
    assert _stored(session, income.id, client_id) == []

    rows = session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == client_id,
        HistoryEntry.field.in_([employer.label_ru, income.label_ru]))
        .order_by(HistoryEntry.id)).all()
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        (employer.label_ru, None, "ООО Старое"), (income.label_ru, None, "50\u00a0000,00"),
        (employer.label_ru, "ООО Старое", "ООО Новое"), (income.label_ru, "50\u00a0000,00", None)]
    assert {r.user_id for r in rows} == {_employee_id(session, "manager")}


def test_unknown_and_inactive_fields_are_refused_and_not_shown(api, session, define, tag):
    hidden = define(type=CustomFieldType.TEXT, is_active=False)
    shown = define(type=CustomFieldType.TEXT)
    client = Client(name=f"{tag} Неактивнов", responsible_id=_employee_id(session, "manager"))
    session.add(client)
    session.commit()
    session.add(CustomValue(field_id=hidden.id, record_id=client.id, text_value="старое"))
    session.commit()
    manager = api("manager")

    record = manager("GET", f"/api/v1/client/{client.id}").json["result"]
    assert record["custom_fields"] == {shown.code: None}
    for body in ({hidden.code: "новое", shown.code: "да"}, {"no_such_field": "1"}):
        refused = manager("PUT", f"/api/v1/client/{client.id}",
                          {"city": "Омск", "custom_fields": body})
        assert refused.status_code == 422
        code = next(c for c in body if c != shown.code)
        assert refused.json["message"]["custom_fields"] == {
            code: ["Нет активного пользовательского поля с таким кодом"]}
    assert manager("PUT", f"/api/v1/client/{client.id}",
                   {"custom_fields": []}).status_code == 422
    session.expire_all()
    assert session.get(Client, client.id).city is None
    assert [v.text_value for v in _stored(session, hidden.id, client.id)] == ["старое"]
    assert _stored(session, shown.id, client.id) == []


def test_manager_gets_404_for_custom_values_of_records_they_cannot_see(
        api, session, define, tag):
    field = define(type=CustomFieldType.TEXT)
    head = _employee_id(session, "head")
    other = Client(name=f"{tag} Чужой", responsible_id=head)
    readable = Client(name=f"{tag} Читаемый", responsible_id=head,
                      public_access=PublicAccess.READ)
    session.add_all([other, readable])
    session.commit()
    session.add_all([CustomValue(field_id=field.id, record_id=c.id, text_value="секрет")
                     for c in (other, readable)])
    session.commit()
    manager = api("manager")

    assert manager("GET", f"/api/v1/client/{other.id}").status_code == 404
    written = manager("PUT", f"/api/v1/client/{other.id}",
                      {"custom_fields": {field.code: "взлом"}})
    assert written.status_code == 404
    listing = manager("GET", "/api/v1/client/?q=(filters:!((col:name,opr:sw,value:'"
                      f"{other.name}')))").json
    assert listing["result"] == []
    assert manager("GET", f"/api/v1/client/{readable.id}").json[
        "result"]["custom_fields"] == {field.code: "секрет"}
    assert manager("PUT", f"/api/v1/client/{readable.id}",
                   {"custom_fields": {field.code: "взлом"}}).status_code == 403
    assert [v.text_value for c in (other, readable)
            for v in _stored(session, field.id, c.id)] == ["секрет", "секрет"]
    assert api("head")("GET", f"/api/v1/client/{other.id}").json[
        "result"]["custom_fields"] == {field.code: "секрет"}


def test_lists_carry_custom_fields_unless_columns_leave_them_out(api, define, tag):
    field = define(type=CustomFieldType.INTEGER)
    manager = api("manager")
    ids = [manager("POST", "/api/v1/client/", {"name": f"{tag} {n}",
                                               "custom_fields": {field.code: n}}).json["id"]
           for n in (1, 2)]
    query = f"filters:!((col:name,opr:sw,value:'{tag}')),order_column:name,order_direction:asc"

    def listed(extra=""):
        return manager("GET", f"/api/v1/client/?q=({query}{extra})").json

    full = listed()
    assert full["ids"] == ids
    assert [row["custom_fields"] for row in full["result"]] == [{field.code: 1},
                                                                {field.code: 2}]
    assert "custom_fields" in full["list_columns"]
    assert "custom_fields" not in listed(",columns:!(name)")["result"][0]
    both = listed(",columns:!(name,custom_fields)")["result"][0]
    assert both == {"name": f"{tag} 1", "custom_fields": {field.code: 1}}
    only = listed(",columns:!(custom_fields)")
    assert only["result"][1] == {"custom_fields": {field.code: 2}}
    assert only["list_columns"] == ["custom_fields"]


RESOURCES = {"client": "client", "contact": "contact", "application": "application",
             "lead": "lead", "deal": "deal", "task": "task", "invoice": "invoice"}


def _record(entity, client):
    """A record of ``entity`` of the client's manager."""
    from app.models import Application, ContactPerson, Deal, Invoice, Lead, Task

    manager = client.responsible_id
    return {
        "client": lambda: client,
        "contact": lambda: ContactPerson(client=client, name=unique("Контакт")),
        "application": lambda: Application(client=client, responsible_id=manager),
        "lead": lambda: Lead(title=unique("Лид"), responsible_id=manager),
        "deal": lambda: Deal(title=unique("Сделка"), client=client, responsible_id=manager),
        "task": lambda: Task(client=client, assignee_id=manager, author_id=manager),
        "invoice": lambda: Invoice(client=client, responsible_id=manager),
    }[entity]()


@pytest.mark.parametrize("entity", RESOURCES)
def test_every_entity_api_reads_and_writes_its_fields(api, session, define, tag, entity):
    field = define(entity=entity, type=CustomFieldType.DATE)
    client = Client(name=f"{tag} клиент", responsible_id=_employee_id(session, "manager"))
    record = _record(entity, client)
    session.add_all([client, record])
    session.commit()
    url = f"/api/v1/{RESOURCES[entity]}/{record.id}"
    manager = api("manager")
    try:
        changed = manager("PUT", url, {"custom_fields": {field.code: "31.12.2026"}})
        assert changed.status_code == 200, changed.json
        assert manager("GET", url).json["result"]["custom_fields"] == {
            field.code: "2026-12-31"}
    finally:
        if record is not client:
            session.execute(delete(HistoryEntry).where(HistoryEntry.entity == entity,
                                                       HistoryEntry.entity_id == record.id))
            session.delete(record)
            session.commit()


def test_openapi_shows_a_field_defined_after_the_start(api, session, define):
    admin = api("admin")
    before = admin("GET", "/api/v1/_openapi").json["components"]["schemas"]
    code = "after_start_" + unique("x").split()[-1]
    assert code not in before["DealApi.get"]["properties"].get("custom_fields", {}).get(
        "properties", {})

    define(entity="deal", code=code, type=CustomFieldType.MONEY, required=True)
    define(entity="deal", code=code + "_choice", type=CustomFieldType.MULTI_CHOICE,
           choices="А\nБ")
    schemas = admin("GET", "/api/v1/_openapi").json["components"]["schemas"]
    for name in ("DealApi.get", "DealApi.get_list", "DealApi.put", "DealApi.post"):
        properties = schemas[name]["properties"]["custom_fields"]["properties"]
        assert properties[code]["type"] == "string"
        assert properties[code]["format"] == "decimal"
        assert properties[code + "_choice"]["items"]["enum"] == ["А", "Б"]
    assert code in schemas["DealApi.post"]["properties"]["custom_fields"]["required"]
    assert "required" not in schemas["DealApi.put"]["properties"]["custom_fields"]
    assert code not in str(schemas["ClientApi.get"])
