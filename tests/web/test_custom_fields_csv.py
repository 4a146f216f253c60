"""Custom fields travel: CSV export and import (round trip, mapping by label,
errors, required fields, a Manager's rows) and printing placeholders."""
import datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from app.models import (
    Application,
    Client,
    CustomFieldType,
    CustomValue,
    DocumentTemplate,
    HistoryEntry,
    TemplateEntity,
)
from app.services import custom_fields
from tests.conftest import statements_sent, unique
from tests.import_screens import count, job, job_id_of, mapping_form, purge, run, upload
from tests.web.test_documents import _pdf_text, _print
from tests.web.test_export import parse, user_id


def definitions(session, *fields):
    """The Definitions of the CustomField rows ``fields``, in their order."""
    found = {d.id: d for d in custom_fields.fields_of(session, fields[0].entity)}
    session.rollback()
    return [found[f.id] for f in fields]


def store(session, entity, values):
    """values: {record id: {CustomField: text as typed}}."""
    wanted = {}
    for record_id, texts in values.items():
        for field, text in texts.items():
            (definition,) = definitions(session, field)
            wanted.setdefault(record_id, {})[definition] = custom_fields.parse(
                session, definition, text)
    custom_fields.write(session, entity, wanted, new=True)
    session.commit()


def values_by_name(session, prefix, fields):
    """{client name: {code: stored value}} of the clients named ``prefix…``."""
    clients = dict(session.execute(select(Client.id, Client.name).where(
        Client.name.startswith(prefix))).all())
    loaded = custom_fields.load(session, "client", list(clients), definitions(session, *fields))
    session.rollback()
    return {clients[record_id]: values for record_id, values in loaded.items()}


def imported(http, app, body, **options):
    """Import ``body`` (text is sent as UTF-8) into clients; the finished job."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    job_id = job_id_of(upload(http, "clients", data))
    response = run(http, app, job_id, **options)
    done = job(app, job_id)
    done.page = response.text
    return done


def remove(session, prefix):
    """The clients named ``prefix…`` with their custom values (SQLite reuses ids)."""
    ids = select(Client.id).where(Client.name.startswith(prefix))
    session.execute(delete(CustomValue).where(CustomValue.record_id.in_(ids)))
    session.commit()
    purge(session, Client.name.startswith(prefix))


@pytest.fixture
def every_kind(session, define):
    """A client field of every kind a CSV carries."""
    kinds = [("decimal", CustomFieldType.DECIMAL, {}), ("money", CustomFieldType.MONEY, {}),
             ("date", CustomFieldType.DATE, {}), ("yes", CustomFieldType.BOOLEAN, {}),
             ("one", CustomFieldType.CHOICE, {"choices": "Самовывоз\nДоставка"}),
             ("many", CustomFieldType.MULTI_CHOICE, {"choices": "Email\nSMS\nЗвонок"}),
             ("region", CustomFieldType.DICTIONARY, {"dictionary": "Region"}),
             ("text", CustomFieldType.TEXT, {}), ("whole", CustomFieldType.INTEGER, {})]
    return {key: define(label_ru=unique(f"Поле {key}"), label_en=unique(f"Field {key}"),
                        type=kind, sort_order=n, **extra)
            for n, (key, kind, extra) in enumerate(kinds)}


def test_export_then_import_keeps_every_kind_of_custom_value(app, as_role, session,
                                                             every_kind):
    f = every_kind
    prefix = unique("Кастомов")
    admin_id = user_id(session, "admin")
    first = Client(name=f"{prefix} А", responsible_id=admin_id)
    second = Client(name=f"{prefix} Б", responsible_id=admin_id)
    session.add_all([first, second])
    session.commit()
    store(session, "client", {
        first.id: {f["decimal"]: "3,1415", f["money"]: "150 000,5", f["date"]: "15.01.2026",
                   f["yes"]: "да", f["one"]: "доставка", f["many"]: "Звонок; Email",
                   f["region"]: "Москва", f["text"]: "=1+1 «Ёлка»; ок", f["whole"]: "-7"},
        second.id: {f["decimal"]: "12", f["yes"]: "нет", f["money"]: "-5"}})
    before = values_by_name(session, prefix, f.values())
    admin = as_role("admin")

    response = admin.get(f"/clients/export/?_flt_0_name={prefix}&encoding=cp1251"
                         "&_oc_ClientView=name&_od_ClientView=asc")
    exported = response.data
    rows = parse(response, "cp1251")
    header = rows[0]
    labels = [field.label_ru for field in f.values()]
    assert header[-len(labels):] == labels  # after the built-in columns
    assert header.index("Телефон") < header.index(labels[0])
    cells = dict(zip(header, rows[1]))
    assert [cells[field.label_ru] for field in f.values()] == [
        "3,1415", "150000,50", "15.01.2026", "да", "Доставка", "Email; Звонок", "Москва",
        "'=1+1 «Ёлка»; ок", "-7"]
    cells = dict(zip(header, rows[2]))
    assert cells[f["decimal"].label_ru] == "12,0000" and cells[f["yes"].label_ru] == "нет"
    assert cells[f["money"].label_ru] == "-5,00" and cells[f["date"].label_ru] == ""

    # As updates: the file's ID column finds the records, whose values were lost.
    session.execute(delete(CustomValue).where(CustomValue.record_id.in_([first.id, second.id])))
    session.commit()
    done = imported(admin, app, exported)
    assert done.status == "done" and done.updated == 2, done.report_data
    assert values_by_name(session, prefix, f.values()) == before
    changes = session.scalars(select(HistoryEntry.new_value).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == first.id,
        HistoryEntry.field == f["money"].label_ru)).all()
    assert changes == ["150\u00a0000,50"]  # a history row per changed custom field
    session.rollback()

    # Into a database without them: new records, the same values.
    remove(session, prefix)
    done = imported(admin, app, exported, map_0="")
    assert done.status == "done" and done.created == 2, done.report_data
    assert values_by_name(session, prefix, f.values()) == before
    remove(session, prefix)


def test_custom_columns_map_by_russian_or_english_label(app, as_role, session, define):
    income = define(label_ru=unique("Ежемесячный доход"), label_en=unique("Monthly income"),
                    type=CustomFieldType.MONEY, required=True)
    employer = define(label_ru=unique("Работодатель"), label_en=unique("Employer"),
                      type=CustomFieldType.TEXT)
    admin = as_role("admin")
    header = f"Название;{income.label_ru.upper()};{employer.label_en.lower()}"
    job_id = job_id_of(upload(admin, "clients", f"{header}\nА;1;ООО\n", encoding="utf-8"))
    form = mapping_form(app, job_id)
    assert [form[f"map_{i}"] for i in range(3)] == ["name", f"cf_{income.code}",
                                                   f"cf_{employer.code}"]
    page = admin.get(f"/import/job/{job_id}/").text
    assert f'value="cf_{income.code}" selected>{income.label_ru} *' in page
    template = admin.get("/import/template/clients.csv").data.decode("utf-8-sig")
    assert template.splitlines()[0].endswith(f"{income.label_ru};{employer.label_ru}")
    english = as_role("admin")
    english.get("/lang/en")
    template = english.get("/import/template/clients.csv").data.decode("utf-8-sig")
    assert template.splitlines()[0].endswith(f"{income.label_en};{employer.label_en}")


@pytest.mark.parametrize("mode", ["all", "good"])
def test_a_bad_custom_value_is_a_row_error_with_its_label(app, as_role, session, define,
                                                          mode):
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY)
    since = define(label_ru=unique("Клиент с"), type=CustomFieldType.DATE)
    prefix = unique("Плохих")
    body = (f"Название;{income.label_ru};{since.label_ru}\n"
            f"{prefix} 1;100;01.02.2026\n{prefix} 2;много;01.02.2026\n{prefix} 3;200;32.13.2026\n")
    admin = as_role("admin")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    run(admin, app, job_id, action="dry", mode=mode)
    checked = job(app, job_id)
    problems = {(p["row"], p["field"], p["message"]) for p in checked.report_data["problems"]}
    assert problems == {
        (3, income.label_ru, "Введите число цифрами 0–9, например 300 000,00 или 14,5"),
        (4, since.label_ru, "Введите дату в виде ДД.ММ.ГГГГ, например 20.05.2025")}
    assert count(session, Client, Client.name.startswith(prefix)) == 0  # a dry run
    run(admin, app, job_id, mode=mode)
    done = job(app, job_id)
    assert done.error_count == 2
    written = count(session, CustomValue, CustomValue.field_id.in_([income.id, since.id]))
    if mode == "all":
        assert done.status == "failed"
        assert count(session, Client, Client.name.startswith(prefix)) == 0 and written == 0
    else:
        assert done.status == "done" and done.created == 1
        assert values_by_name(session, prefix, [income, since]) == {
            f"{prefix} 1": {income.code: Decimal("100.00"),
                            since.code: datetime.date(2026, 2, 1)}}
        assert written == 2  # the good row's values, none of the bad rows'
        errors = admin.get(f"/import/job/{job_id}/errors.csv").data.decode("utf-8-sig")
        assert f"3: {income.label_ru}: Введите число" in errors
    remove(session, prefix)


def test_required_custom_fields_are_enforced_for_new_records(app, as_role, session, define):
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY, required=True)
    channel = define(label_ru=unique("Канал"), type=CustomFieldType.CHOICE,
                     choices="Почта\nЗвонок", required=True, default="Звонок")
    prefix = unique("Обязательных")
    admin = as_role("admin")
    body = f"Название;{income.label_ru}\n{prefix} 1;100\n{prefix} 2;\n"
    done = imported(admin, app, body, mode="good")
    assert done.created == 1 and done.error_count == 1
    assert done.report_data["problems"] == [
        {"row": 3, "field": income.label_ru, "message": "Обязательное поле"}]
    # The field with a default needed no column: the new record has the default.
    assert values_by_name(session, prefix, [income, channel]) == {
        f"{prefix} 1": {income.code: Decimal("100.00"), channel.code: "Звонок"}}

    failed = imported(admin, app, f"Название\n{prefix} 3\n")
    assert "import-file-error" in failed.page and income.label_ru in failed.page

    # An update keeps what the file leaves empty.
    existing = session.scalar(select(Client.id).where(Client.name == f"{prefix} 1"))
    session.rollback()
    body = f"ID;Название;Город;{income.label_ru}\n{existing};{prefix} 1;Тула;\n"
    updated = imported(admin, app, body)
    assert updated.updated == 1, (updated.status, updated.report_data)
    assert values_by_name(session, prefix, [income])[f"{prefix} 1"] == {
        income.code: Decimal("100.00")}
    remove(session, prefix)


def test_manager_exports_custom_values_of_own_clients_only(app, as_role, session, define):
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY)
    prefix = unique("Своих")
    own = Client(name=f"{prefix} свой", responsible_id=user_id(session, "manager"))
    foreign = Client(name=f"{prefix} чужой", responsible_id=user_id(session, "head"))
    session.add_all([own, foreign])
    session.commit()
    store(session, "client", {own.id: {income: "100"}, foreign.id: {income: "200"}})
    rows = parse(as_role("manager").get(f"/clients/export/?_flt_0_name={prefix}"))
    column = rows[0].index(income.label_ru)
    assert [(int(r[0]), r[column]) for r in rows[1:]] == [(own.id, "100,00")]
    remove(session, prefix)


def test_export_reads_custom_values_once_per_batch(app, as_role, session, define):

    from app.views import export

    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY)
    prefix = unique("Пачкин")
    session.add_all([Client(name=f"{prefix} {n:02d}") for n in range(12)])
    session.commit()
    store(session, "client", {i: {income: str(i)} for i in session.scalars(
        select(Client.id).where(Client.name.startswith(prefix)))})
    original, export.YIELD_PER = export.YIELD_PER, 5
    try:
        with statements_sent(app) as sent:
            rows = parse(as_role("admin").get(f"/clients/export/?_flt_0_name={prefix}"))
    finally:
        export.YIELD_PER = original
    statements = [s for s in sent if "custom_value" in s]
    assert len(rows) == 13 and len(statements) == 3  # 12 rows in batches of 5
    remove(session, prefix)


def test_templates_print_custom_fields_of_the_record_and_its_client(
        app, as_role, session, define):
    income = define(label_ru=unique("Доход"), label_en="Income", type=CustomFieldType.MONEY)
    goal = define(entity="application", label_ru=unique("Цель"), type=CustomFieldType.CHOICE,
                  choices="Ремонт\nОтпуск")
    region = define(label_ru=unique("Регион доставки"), type=CustomFieldType.DICTIONARY,
                    dictionary="Region")
    client = Client(name=unique("Печатов"), responsible_id=user_id(session, "manager"))
    session.add(client)
    session.flush()
    application = Application(client_id=client.id, amount=Decimal(1000),
                              responsible_id=client.responsible_id)
    session.add(application)
    session.commit()
    store(session, "client", {client.id: {income: "150 000,5", region: "Москва"}})
    store(session, "application", {application.id: {goal: "отпуск"}})
    body = (f"<p>Доход: {{{{ client.custom.{income.code} }}}}; "
            f"цель: {{{{ application.custom.{goal.code} }}}}; "
            f"регион: {{{{ client.custom.{region.code} }}}}</p>")
    template = DocumentTemplate(name=unique("Анкета"), entity=TemplateEntity.APPLICATION,
                                body=body)
    session.add(template)
    session.commit()

    manager = as_role("manager")
    response = _print(manager, "application", application.id, template.id)
    assert response.status_code == 200, response.text[:2000]
    text = _pdf_text(response.data)
    assert "Доход: 150 000,50; цель: Отпуск; регион: Москва" in text  # PDF text: a plain space

    head = as_role("head")
    editor = head.get(f"/templates/edit/{template.id}").text
    assert f"client.custom.{income.code}" in editor and income.label_ru in editor
    assert f"application.custom.{goal.code}" in editor
    sample = head.post("/templates/preview", {"entity": "application", "body": body}).json
    assert "Доход: 150\u00a0000,00; цель: Ремонт; регион: " in sample["html"], sample
    real = head.post("/templates/preview", {"entity": "application", "body": body,
                                            "record_id": str(application.id)}).json
    assert "Доход: 150\u00a0000,50; цель: Отпуск; регион: Москва" in real["html"], real
