"""Custom fields: the admin defines them, every role's screens use them."""
import re

import pytest
from sqlalchemy import select

from app.models import (
    Client,
    CustomField,
    CustomFieldType,
    CustomValue,
    Employee,
    HistoryEntry,
    Region,
)
from tests.conftest import unique


def _manager_id(session):
    return session.scalar(select(Employee.id).where(Employee.username == "manager"))


def _add_client(client, name, **extra):
    return client.post("/clients/add", {"kind": "person", "last_name": name,
                                        "first_name": "Иван", "public_access": "private",
                                        **extra})


def test_admin_defines_a_field_and_the_code_is_made_from_the_label(as_role, session):
    label = unique("Ежемесячный доход")
    page = as_role("admin").post("/custom-fields/add", {
        "entity": "client", "label_ru": label, "label_en": "Monthly income",
        "type": "money", "sort_order": "1", "is_active": "y", "in_list": "y",
        "in_filters": "y"}).text
    field = session.scalar(select(CustomField).where(CustomField.label_ru == label))
    try:
        assert field is not None, page
        assert field.code.startswith("monthly_income")
        assert CustomFieldType(field.type) == CustomFieldType.MONEY
    finally:
        if field is not None:
            session.delete(field)
            session.commit()


def test_a_new_field_is_enabled_unless_the_admin_unticks_it(as_role):
    form = as_role("admin").get("/custom-fields/add").text
    box = re.search(r'<input[^>]*name="is_active"[^>]*>', form).group(0)
    assert "checked" in box


@pytest.mark.parametrize("data, message", [
    ({"type": "choice"}, "Перечислите варианты"),
    ({"type": "dictionary"}, "Выберите справочник"),
    ({"type": "integer", "default": "много"}, "Значение по умолчанию"),
    ({"type": "text", "code": "Bad Code"}, "латинские"),
])
def test_bad_definitions_are_refused(as_role, session, data, message):
    label = unique("Плохое поле")
    page = as_role("admin").post("/custom-fields/add", {
        "entity": "client", "label_ru": label, "sort_order": "0", **data}).text
    assert message in page
    assert session.scalar(select(CustomField).where(CustomField.label_ru == label)) is None


@pytest.mark.parametrize("role", ["head", "manager", "auditor"])
def test_only_the_admin_reaches_the_definitions(as_role, role):
    assert "/custom-fields/list/" not in as_role(role).get("/").text
    page = as_role(role).get("/custom-fields/list/", follow_redirects=True)
    assert "Доступ запрещен" in page.text or page.status_code in (302, 403)


def test_manager_fills_fields_of_every_kind_and_sees_them(as_role, session, define):
    income = define(label_ru="Ежемесячный доход", type=CustomFieldType.MONEY, required=True)
    employer = define(label_ru="Работодатель", type=CustomFieldType.TEXT)
    since = define(label_ru="Клиент с", type=CustomFieldType.DATE)
    vip = define(label_ru="VIP", type=CustomFieldType.BOOLEAN)
    channel = define(label_ru="Канал", type=CustomFieldType.MULTI_CHOICE,
                     choices="Email\nSMS\nЗвонок")
    region = define(label_ru="Регион доставки", type=CustomFieldType.DICTIONARY,
                    dictionary="Region")
    manager = as_role("manager")
    form = manager.get("/clients/add").text
    assert "Дополнительно" in form and "Ежемесячный доход" in form

    name = unique("Доходов")
    page = _add_client(manager, name).text
    assert "Обязательное поле" in page
    assert session.scalar(select(Client).where(Client.last_name == name)) is None

    page = _add_client(manager, name, **{f"cf_{income.code}": "12 зарплат"}).text
    assert "Введите число" in page
    assert session.scalar(select(Client).where(Client.last_name == name)) is None

    moscow = session.scalar(select(Region).where(Region.name == "Москва"))
    _add_client(manager, name, **{
        f"cf_{income.code}": "150 000,50", f"cf_{employer.code}": "ООО Ромашка",
        f"cf_{since.code}": "2026-01-15", f"cf_{vip.code}": "y",
        f"cf_{channel.code}": ["Email", "Звонок"], f"cf_{region.code}": str(moscow.id)})
    client = session.scalar(select(Client).where(Client.last_name == name))
    assert client is not None
    values = {row.field_id: row for row in session.scalars(
        select(CustomValue).where(CustomValue.record_id == client.id))}
    assert values[income.id].number_value == 150000.50
    assert values[employer.id].text_value == "ООО Ромашка"
    assert str(values[since.id].date_value) == "2026-01-15"
    assert values[vip.id].number_value == 1
    assert values[region.id].number_value == moscow.id
    assert sorted(r.text_value for r in session.scalars(select(CustomValue).where(
        CustomValue.field_id == channel.id, CustomValue.record_id == client.id))) == [
        "Email", "Звонок"]

    show = manager.get(f"/clients/show/{client.id}").text
    for text in ("150\u00a0000,50", "ООО Ромашка", "15.01.2026", "да", "Email; Звонок", "Москва"):
        assert text in show
    edit = manager.get(f"/clients/edit/{client.id}").text
    assert 'value="150000.50"' in edit and 'value="ООО Ромашка"' in edit


def test_a_change_of_a_custom_value_is_in_the_history(as_role, session, define):
    employer = define(label_ru=unique("Работодатель"), type=CustomFieldType.TEXT)
    client = Client(name=unique("Историев"), responsible_id=_manager_id(session))
    session.add(client)
    session.commit()
    manager = as_role("manager")
    edit = {"kind": "person", "name": client.name, "public_access": "private",
            "responsible": str(_manager_id(session)), f"cf_{employer.code}": "ООО Старое"}
    manager.post(f"/clients/edit/{client.id}", edit)
    manager.post(f"/clients/edit/{client.id}", {**edit, f"cf_{employer.code}": "ООО Новое"})
    rows = session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == client.id,
        HistoryEntry.field == employer.label_ru).order_by(HistoryEntry.id)).all()
    assert [(r.old_value, r.new_value) for r in rows] == [(None, "ООО Старое"),
                                                          ("ООО Старое", "ООО Новое")]
    assert all(r.user.username == "manager" for r in rows)
    manager.post(f"/clients/delete/{client.id}")
    assert session.scalar(select(CustomValue).where(
        CustomValue.record_id == client.id, CustomValue.field_id == employer.id)) is None


def test_a_field_with_values_keeps_its_type_and_is_deleted_only_when_confirmed(
        as_role, session, define):
    employer = define(label_ru=unique("Работодатель"), type=CustomFieldType.TEXT)
    client = Client(name=unique("Типов"))
    session.add(client)
    session.commit()
    session.add(CustomValue(field_id=employer.id, record_id=client.id, text_value="ООО"))
    session.commit()
    admin = as_role("admin")
    page = admin.post(f"/custom-fields/edit/{employer.id}", {
        "entity": "client", "label_ru": employer.label_ru, "code": employer.code,
        "type": "integer", "sort_order": "0", "is_active": "y"}).text
    assert "Значения этого поля есть у 1 записей: принадлежность и тип" in page
    session.expire_all()
    assert CustomFieldType(session.get(CustomField, employer.id).type) == CustomFieldType.TEXT

    page = admin.post(f"/custom-fields/delete/{employer.id}").text
    assert "Удалить вместе со значениями" in page
    assert session.get(CustomField, employer.id) is not None
    confirm = admin.get(f"/custom-fields/remove/{employer.id}").text
    assert 'id="values-count"' in confirm and "1" in confirm
    field_id = employer.id
    admin.post(f"/custom-fields/remove/{field_id}")
    session.expire_all()
    assert session.get(CustomField, field_id) is None
    assert session.scalar(select(CustomValue).where(CustomValue.field_id == field_id)) is None


def test_inactive_fields_leave_the_screens(as_role, define):
    hidden = define(label_ru=unique("Скрытое поле"), type=CustomFieldType.TEXT,
                    is_active=False)
    assert hidden.label_ru not in as_role("manager").get("/clients/add").text


def _filter_index(app, view_name, column, arg_name):
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == view_name)
    with app.test_request_context():
        from flask import g

        g.user = None
        return None if view is None else [f.arg_name for f in view._filters
                                          .get_search_filters()[column]].index(arg_name)


def test_list_columns_filters_and_sort_by_custom_fields(as_role, session, define, app):
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY,
                    in_list=True, in_filters=True)
    since = define(label_ru=unique("Клиент с"), type=CustomFieldType.DATE,
                   in_list=True, in_filters=True)
    tag = unique("Фильтров")
    manager = _manager_id(session)
    rows = [("А", "50000.00", "2025-01-10", manager), ("Б", "150000.00", "2025-06-01", manager),
            ("В", "90000.00", "2026-02-01", manager), ("Г", "250000.00", "2026-03-01", None)]
    ids = {}
    for letter, amount, day, owner in rows:
        client = Client(name=f"{tag} {letter}", responsible_id=owner)
        session.add(client)
        session.flush()
        ids[letter] = client.id
        session.add_all([
            CustomValue(field_id=income.id, record_id=client.id, number_value=amount),
            CustomValue(field_id=since.id, record_id=client.id,
                        date_value=__import__("datetime").date.fromisoformat(day))])
    session.commit()
    name_filter = f"_flt_2_name={tag}"  # "contains" on the name keeps the test's rows

    page = as_role("head").get(f"/clients/list/?{name_filter}").text
    assert income.label_ru in page and "150\u00a0000,00" in page and "01.06.2025" in page

    def listed(query, role="head"):
        text = as_role(role).get(f"/clients/list/?{name_filter}&{query}").text
        return [letter for letter, _, _, _ in sorted(rows, key=lambda r: text.find(
            f"/clients/show/{ids[r[0]]}")) if f"/clients/show/{ids[letter]}" in text]

    column = f"cf_{income.code}"
    assert listed(f"_oc_ClientView={column}&_od_ClientView=asc") == ["А", "В", "Б", "Г"]
    assert listed(f"_oc_ClientView={column}&_od_ClientView=desc") == ["Г", "Б", "В", "А"]
    greater = _filter_index(app, "ClientView", column, "gt")
    assert sorted(listed(f"_flt_{greater}_{column}=100 000")) == ["Б", "Г"]
    assert sorted(listed(f"_flt_{greater}_{column}=100000", role="manager")) == ["Б"]
    day = f"cf_{since.code}"
    after = _filter_index(app, "ClientView", day, "gt")
    before = _filter_index(app, "ClientView", day, "lt")
    assert sorted(listed(f"_flt_{after}_{day}=2025-05-01&_flt_{before}_{day}=01.02.2026"
                         )) == ["Б"]
    equal = _filter_index(app, "ClientView", column, "eq")
    assert listed(f"_flt_{equal}_{column}=много") == []
    search = as_role("head").get("/clients/list/").text
    assert f'"{column}"' in search and f'"{day}"' in search


def test_sorted_pages_walk_the_values_then_the_records_without_one(as_role, session,
                                                                  define, app):
    """A list sorted by a custom field is paged by walking the value index:
    pages must join up across records with and without a value, for every
    role, filter and direction, exactly as one ORDER BY over all rows."""
    income = define(label_ru=unique("Выручка"), type=CustomFieldType.DECIMAL,
                    in_list=True, in_filters=True)
    tag = unique("Страницы")
    manager = _manager_id(session)
    amounts = {"А": "30", "Б": "10", "В": None, "Г": "20", "Д": None, "Е": "10"}
    owners = {"А": manager, "Б": None, "В": manager, "Г": manager, "Д": manager, "Е": manager}
    ids = {}
    for letter, amount in amounts.items():
        client = Client(name=f"{tag} {letter}", responsible_id=owners[letter])
        session.add(client)
        session.flush()
        ids[letter] = client.id
        if amount is not None:
            session.add(CustomValue(field_id=income.id, record_id=client.id,
                                    number_value=amount))
    session.commit()
    column = f"cf_{income.code}"

    def paged(direction, role="head", extra=""):
        seen = []
        for page in range(4):
            text = as_role(role).get(
                f"/clients/list/?_flt_2_name={tag}{extra}&_oc_ClientView={column}"
                f"&_od_ClientView={direction}&psize_ClientView=2&page_ClientView={page}").text
            on_page = sorted((text.find(f"/clients/show/{i}"), letter)
                             for letter, i in ids.items() if f"/clients/show/{i}" in text)
            assert len(on_page) <= 2
            seen += [letter for _, letter in on_page]
        return seen

    # Equal values fall back to the id, in the same direction.
    assert paged("asc") == ["Б", "Е", "Г", "А", "В", "Д"]
    assert paged("desc") == ["А", "Г", "Е", "Б", "Д", "В"]
    assert paged("desc", role="manager") == ["А", "Г", "Е", "Д", "В"]
    greater = _filter_index(app, "ClientView", column, "gt")
    assert paged("asc", role="manager", extra=f"&_flt_{greater}_{column}=15") == ["Г", "А"]


def test_a_filter_matching_many_values_tests_each_row(as_role, session, define, app,
                                                      monkeypatch):
    """Past DENSE matches the filter walks the list (EXISTS) instead of
    collecting the matching records (IN); both give the same rows."""
    from app.services import custom_fields

    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY, in_filters=True)
    tag = unique("Плотных")
    ids = []
    for n in range(4):
        client = Client(name=f"{tag} {n}")
        session.add(client)
        session.flush()
        ids.append(client.id)
        session.add(CustomValue(field_id=income.id, record_id=client.id,
                                number_value=1000 * (n + 1)))
    session.commit()
    column = f"cf_{income.code}"
    greater = _filter_index(app, "ClientView", column, "gt")
    url = f"/clients/list/?_flt_2_name={tag}&_flt_{greater}_{column}=1500"

    def shown():
        page = as_role("head").get(url).text
        return [i for i in ids if f"/clients/show/{i}" in page]

    assert shown() == ids[1:]
    monkeypatch.setattr(custom_fields, "DENSE", 1)
    assert shown() == ids[1:]


def test_form_classes_do_not_pile_up_as_the_admin_edits_definitions(as_role, session,
                                                                    define, app):
    from app.views import custom_fields as views

    field = define(label_ru=unique("Правка"), type=CustomFieldType.TEXT)
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == "ClientView")
    for n in range(views.FORM_CLASSES_KEPT + 5):
        field.label_ru = unique(f"Правка {n}")
        session.commit()
        page = as_role("admin").get("/clients/add").text
        assert field.label_ru in page
    assert len(view._custom_forms) <= views.FORM_CLASSES_KEPT


def test_a_custom_fields_label_follows_each_users_language(as_role, session):
    """The form and search classes with custom fields are made per language:
    made first for a Russian page, they gave an English user the Russian
    label."""
    ru, en = unique("Доход семьи"), unique("Family income")
    field = CustomField(entity="client", code=unique("family").replace(" ", "_").lower(),
                        label_ru=ru, label_en=en, type="text", sort_order=1, is_active=True,
                        in_filters=True)
    session.add(field)
    session.commit()
    try:
        russian, english = as_role("admin"), as_role("head")
        assert ru in russian.get("/clients/add").text
        assert ru in russian.get("/clients/list/").text
        english.get("/lang/en")
        try:
            form, listed = english.get("/clients/add").text, english.get("/clients/list/").text
        finally:
            english.get("/lang/ru")
        assert en in form and ru not in form
        assert en in listed and ru not in listed
        assert ru in russian.get("/clients/add").text
    finally:
        session.delete(field)
        session.commit()
