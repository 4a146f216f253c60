"""What the import screen lets the user decide:
the meaning of values the CRM does not know (a status, a region, an
employee, a custom field's choice), listed on the mapping screen with
their rows after a check, and who the new records belong to — the
responsible chosen there, or a manager of the client's market segment as
for a client added by hand."""
import html
import json
import re

from sqlalchemy import select

from app.models import (
    Application,
    Client,
    CustomFieldType,
    Employee,
    ImportJob,
    MarketSegment,
    ProcessingStatus,
    Region,
)
from app.services import imports
from tests.conftest import unique
from tests.import_screens import (
    ALMA,
    count,
    job,
    job_id_of,
    mapping_form,
    phone,
    purge,
    upload,
)
from tests.web.test_custom_fields_csv import remove, values_by_name


def alma_row(surname, first, status, region="Московская область"):
    return (f"15.01.2026;{surname};{first};;{region};Подольск;1 000;{phone()};;{status};")


def user_id(session, username):
    found = session.scalar(select(Employee.id).where(Employee.username == username))
    session.rollback()
    return found


def listed_values(page):
    """{(field, text): (rows, select name, {option label: value})} of the
    mapping screen's unknown values."""
    out = {}
    for row in re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td class=\"import-value-text\">.*?</tr>",
                          page, re.S):
        text = html.unescape(re.search(r'class="import-value-text">([^<]*)<', row).group(1))
        rows = re.search(r'class="import-value-rows">([^<]*)<', row).group(1)
        name = re.search(r'<select[^>]* name="(value-[^"]+)"', row).group(1)
        options = {html.unescape(label.strip()): value for value, label in re.findall(
            r'<option value="([^"]*)"[^>]*>([^<]*)</option>', row)}
        field = name.split("-")[1]
        out[(field, text)] = (int(rows) if rows.strip() else None, name, options)
    return out


def post(http, app, job_id, action="run", choices=None, **options):
    """The mapping form with ``choices`` {(field, text): option label}
    picked among the listed unknown values."""
    form = mapping_form(app, job_id, **options)
    form["action"] = action
    if choices:
        listed = listed_values(http.get(f"/import/job/{job_id}/").text)
        for (field, text), label in choices.items():
            _, name, labels = listed[(field, text)]
            form[name] = labels[label]
            form[name.replace("value-", "value-text-", 1)] = text
    return http.post(f"/import/job/{job_id}/", form)


def test_unknown_statuses_are_listed_with_their_rows_and_mapped(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Статусов").replace(" ", "")
    rows = [alma_row(surname, f"Ждёт{i}", "Ждёт звонка") for i in range(3)] + [
        alma_row(surname, "Непонятный", "Непонятно"),
        alma_row(surname, "Ждущий", "ждет ЗВОНКА"),  # the same value, as people type it
        alma_row(surname, "Обычный", "В обработке")]
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    assert 'id="import-values"' not in admin.get(f"/import/job/{job_id}/").text  # not checked
    post(admin, app, job_id, action="dry")
    checked = job(app, job_id)
    assert checked.report_data["unknown"] == {"status": {"Ждёт звонка": 4, "Непонятно": 1}}
    problem = next(p for p in checked.report_data["problems"] if p["field"] == "статус")
    assert "Непонятно" in problem["message"] or "Ждёт звонка" in problem["message"]
    assert "на экране сопоставления" in problem["message"]
    report = admin.get(f"/import/job/{job_id}/report").text
    assert 'id="import-unknown"' in report and f"/import/job/{job_id}/#import-values" in report
    listed = listed_values(admin.get(f"/import/job/{job_id}/").text)
    assert set(listed) == {("status", "Ждёт звонка"), ("status", "Непонятно")}
    rows_of, _, labels = listed[("status", "Ждёт звонка")]
    assert rows_of == 4 and {"В обработке", "Завершена", "Отказ"} <= set(labels)
    post(admin, app, job_id, action="run", choices={("status", "Ждёт звонка"): "В обработке",
                                                    ("status", "Непонятно"): "Отказ"})
    done = job(app, job_id)
    assert done.status == "done" and done.created == 6, done.report_data["problems"]
    statuses = dict(session.execute(
        select(Client.first_name, Application.status).join(
            Application, Application.client_id == Client.id).where(
            Client.last_name == surname)).all())
    session.rollback()
    assert statuses == {**{f"Ждёт{i}": ProcessingStatus.IN_PROCESSING for i in range(3)},
                        "Ждущий": ProcessingStatus.IN_PROCESSING,
                        "Непонятный": ProcessingStatus.REFUSED,
                        "Обычный": ProcessingStatus.IN_PROCESSING}
    # The screen still shows what was chosen, with the rows counted then.
    listed = listed_values(admin.get(f"/import/job/{job_id}/").text)
    assert listed[("status", "Ждёт звонка")][0] == 4
    page = admin.get(f"/import/job/{job_id}/").text
    chosen = re.search(r'data-text="Ждёт звонка">.*?</select>', page, re.S).group(0)
    assert re.search(r'value="IN_PROCESSING" selected', chosen)
    purge(session, Client.last_name == surname)


def test_unknown_regions_map_to_an_existing_one_or_a_new_one(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Регионов").replace(" ", "")
    nearby, far = unique("Ближнее Подмосковье"), unique("Дальний край")
    rows = [alma_row(surname, "Первый", "В обработке", nearby),
            alma_row(surname, "Второй", "В обработке", f"{nearby.upper()} "),
            alma_row(surname, "Третий", "Завершена", far)]
    regions_before = count(session, Region)
    job_id = job_id_of(upload(admin, "clients", "\r\n".join([ALMA, *rows]) + "\r\n"))
    post(admin, app, job_id, action="dry")
    assert job(app, job_id).report_data["unknown"] == {"region": {nearby: 2, far: 1}}
    listed = listed_values(admin.get(f"/import/job/{job_id}/").text)
    rows_of, _, labels = listed[("region", nearby)]
    assert rows_of == 2 and "Создать новое значение" in labels and "Московская область" in labels
    post(admin, app, job_id, action="dry", choices={("region", nearby): "Московская область",
                                                    ("region", far): "Создать новое значение"})
    checked = job(app, job_id)
    assert checked.error_count == 0 and checked.report_data["created"] == 3
    assert count(session, Region) == regions_before  # a check adds nothing
    assert admin.post(f"/import/job/{job_id}/run").status_code == 200
    assert job(app, job_id).created == 3
    regions = dict(session.execute(select(Client.first_name, Region.name).join(
        Region, Client.region_id == Region.id).where(Client.last_name == surname)).all())
    assert regions == {"Первый": "Московская область", "Второй": "Московская область",
                       "Третий": far}
    assert count(session, Region) == regions_before + 1
    purge(session, Client.last_name == surname)
    session.execute(Region.__table__.delete().where(Region.name == far))
    session.commit()


def test_a_row_with_an_unknown_value_left_unchosen_is_reported_never_dropped(
        app, as_role, session):
    admin = as_role("admin")
    surname = unique("Несопоставленный").replace(" ", "")
    place = unique("Неведомая земля")
    rows = [alma_row(surname, "Хороший", "В обработке"),
            alma_row(surname, "Статусный", "Перезвонить"),
            alma_row(surname, "Местный", "Отказ", place)]
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    post(admin, app, job_id, action="run", mode="all")
    refused = job(app, job_id)
    assert refused.status == "failed" and refused.error_count == 2
    assert count(session, Client, Client.last_name == surname) == 0
    post(admin, app, job_id, action="run", mode="good")  # nothing chosen on the screen
    kept = job(app, job_id)
    assert kept.status == "done" and (kept.created, kept.error_count) == (1, 2)
    problems = {p["row"]: p for p in kept.report_data["problems"]}
    assert set(problems) == {3, 4}
    assert "Перезвонить" in problems[3]["message"] and place in problems[4]["message"]
    assert all("экране сопоставления" in p["message"] for p in problems.values())
    bad_rows = admin.get(f"/import/job/{job_id}/errors.csv").data.decode("cp1251")
    assert "Статусный" in bad_rows and "Местный" in bad_rows and "Перезвонить" in bad_rows
    assert count(session, Client, Client.last_name == surname) == 1
    purge(session, Client.last_name == surname)


def test_a_managers_import_is_his_and_he_cannot_post_another_responsible(
        app, as_role, session):
    manager = as_role("manager")
    manager_id, admin_id = user_id(session, "manager"), user_id(session, "admin")
    surname = unique("Своих").replace(" ", "")
    body = "\r\n".join([ALMA, alma_row(surname, "Иван", "В обработке")]) + "\r\n"
    job_id = job_id_of(upload(manager, imports.ALMA_KEY, body))
    page = manager.get(f"/import/job/{job_id}/").text
    offered = re.search(r'<select[^>]*id="import-responsible".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', offered) == [str(manager_id)]
    refused = post(manager, app, job_id, action="run", responsible=str(admin_id))
    assert refused.status_code == 200
    assert "Передать запись другому сотруднику может только" in refused.text
    assert job(app, job_id).status == "uploaded"
    assert count(session, Client, Client.last_name == surname) == 0
    assert post(manager, app, job_id, action="run",
                responsible=str(manager_id)).status_code == 200
    assert job(app, job_id).created == 1
    owners = session.execute(select(Client.responsible_id, Application.responsible_id).join(
        Application, Application.client_id == Client.id).where(
        Client.last_name == surname)).all()
    session.rollback()
    assert owners == [(manager_id, manager_id)]
    purge(session, Client.last_name == surname)


def test_an_admin_chooses_the_responsible_of_the_imported_records(app, as_role, session):
    admin = as_role("admin")
    head_id, manager_id = user_id(session, "head"), user_id(session, "manager")
    surname = unique("Назначенных").replace(" ", "")
    body = "\r\n".join([ALMA, *(alma_row(surname, f"Иван{i}", "Отказ") for i in range(2))])
    job_id = job_id_of(upload(admin, "applications", body + "\r\n"))
    page = admin.get(f"/import/job/{job_id}/").text
    offered = re.search(r'<select[^>]*id="import-responsible".*?</select>', page, re.S).group(0)
    assert {str(head_id), str(manager_id)} <= set(re.findall(r'<option value="(\d+)"', offered))
    assert post(admin, app, job_id, responsible=str(head_id)).status_code == 200
    assert job(app, job_id).created == 2
    owners = set(session.execute(select(Client.responsible_id, Application.responsible_id).join(
        Application, Application.client_id == Client.id).where(
        Client.last_name == surname)).all())
    session.rollback()
    assert owners == {(head_id, head_id)}
    # A generic client file: a row's own responsible stays; the others get
    # the chosen one (they had none at all before).
    name = unique("ООО Ответственных")
    body = (f"Name;Phone;Responsible\r\n{name} 1;{phone()};manager\r\n"
            f"{name} 2;{phone()};\r\n")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    assert post(admin, app, job_id, responsible=str(head_id)).status_code == 200
    assert job(app, job_id).created == 2
    owners = dict(session.execute(select(Client.name, Client.responsible_id).where(
        Client.name.like(f"{name}%"))).all())
    session.rollback()
    assert owners == {f"{name} 1": manager_id, f"{name} 2": head_id}
    purge(session, Client.last_name == surname)
    purge(session, Client.name.like(f"{name}%"))


def test_a_client_of_a_segment_with_managers_goes_to_one_of_them(app, as_role, session):
    admin = as_role("admin")
    head = session.scalar(select(Employee).where(Employee.username == "head"))
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    admin_id = user_id(session, "admin")
    staffed = MarketSegment(name=unique("Опт"), managers=[head, manager])
    empty = MarketSegment(name=unique("Пустой"))
    session.add_all([staffed, empty])
    session.commit()
    staffed_id, head_id, manager_id = staffed.id, head.id, manager.id
    name = unique("ООО Сегментных")
    body = "Name;Phone;Market segment\r\n" + "".join(
        f"{name} {i};{phone()};{segment}\r\n"
        for i, segment in enumerate([staffed.name, staffed.name, staffed.name, empty.name, ""]))
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    assert post(admin, app, job_id, action="dry").status_code == 200
    assert session.scalar(select(MarketSegment.last_assigned_id).where(
        MarketSegment.id == staffed_id)) is None  # a check hands out no turn
    session.rollback()
    assert admin.post(f"/import/job/{job_id}/run").status_code == 200
    assert job(app, job_id).created == 5
    owners = [owner for _, owner in session.execute(
        select(Client.name, Client.responsible_id).where(Client.name.like(f"{name}%"))
        .order_by(Client.name)).all()]
    session.rollback()
    # The segment's managers take turns, as for clients added by hand; the
    # rest go to the importer.
    assert owners[:3] == [head_id, manager_id, head_id] or \
        owners[:3] == [manager_id, head_id, manager_id]
    assert owners[3:] == [admin_id, admin_id]
    # The chosen responsible who is one of the segment's managers keeps
    # them, as the creator of a client does by hand.
    other = unique("ООО Своих")
    body = f"Name;Phone;Market segment\r\n{other};{phone()};{staffed.name}\r\n"
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    assert post(admin, app, job_id, responsible=str(manager_id)).status_code == 200
    assert session.scalar(select(Client.responsible_id).where(Client.name == other)) \
        == manager_id
    session.rollback()
    purge(session, Client.name.like(f"{name}%") | (Client.name == other))


def offered(labels):
    """The options of a listed value but «leave as an error»."""
    return {label: value for label, value in labels.items() if value}


def full_name(session, username):
    found = session.scalar(select(Employee).where(Employee.username == username)).full_name
    session.rollback()
    return found


def test_unknown_texts_of_custom_choice_fields_are_listed_and_mapped(
        app, as_role, session, define):
    channel = define(label_ru=unique("Канал"), type=CustomFieldType.CHOICE,
                     choices="Почта\nЗвонок")
    ways = define(label_ru=unique("Способы"), type=CustomFieldType.MULTI_CHOICE,
                  choices="Email\nSMS\nЗвонок")
    area = define(label_ru=unique("Район"), type=CustomFieldType.DICTIONARY, dictionary="Region")
    one, many, place = f"cf_{channel.code}", f"cf_{ways.code}", f"cf_{area.code}"
    region_id = session.scalar(select(Region.id).where(Region.name == "Московская область"))
    session.rollback()
    prefix = unique("ООО Каналов")
    nowhere = unique("Заречье")
    body = (f"Название;Телефон;{channel.label_ru};{ways.label_ru};{area.label_ru}\r\n"
            f"{prefix} 1;{phone()};Почта;Email;Московская область\r\n"
            f'{prefix} 2;{phone()};Телеграм;"Email; Факс";{nowhere}\r\n'
            f"{prefix} 3;{phone()};телеграм;Факс;Московская область\r\n")
    admin = as_role("admin")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    post(admin, app, job_id, action="dry")
    checked = job(app, job_id)
    assert checked.report_data["unknown"] == {one: {"Телеграм": 2}, many: {"Факс": 2},
                                              place: {nowhere: 1}}
    problems = {(p["row"], p["field"]): p["message"] for p in checked.report_data["problems"]}
    assert set(problems) == {(3, channel.label_ru), (3, ways.label_ru), (3, area.label_ru),
                             (4, channel.label_ru), (4, ways.label_ru)}
    assert "«Факс»" in problems[(4, ways.label_ru)]
    assert all("экране сопоставления" in m for m in problems.values())
    page = admin.get(f"/import/job/{job_id}/").text
    listed = listed_values(page)
    assert set(listed) == {(one, "Телеграм"), (many, "Факс"), (place, nowhere)}
    rows_of, _, labels = listed[(one, "Телеграм")]
    assert rows_of == 2 and set(offered(labels)) == {"Почта", "Звонок"}  # no «create»
    assert set(offered(listed[(many, "Факс")][2])) == {"Email", "SMS", "Звонок"}
    _, _, regions = listed[(place, nowhere)]
    assert regions["Московская область"] == str(region_id)
    assert "Создать новое значение" not in regions
    hint = re.search(r'id="import-values-closed">([^<]*)<', page).group(1)
    assert channel.label_ru in html.unescape(hint) and "администратор" in hint
    post(admin, app, job_id, action="run", choices={
        (one, "Телеграм"): "Звонок", (many, "Факс"): "SMS",
        (place, nowhere): "Московская область"})
    done = job(app, job_id)
    assert done.status == "done" and done.created == 3, done.report_data["problems"]
    assert values_by_name(session, prefix, [channel, ways, area]) == {
        f"{prefix} 1": {channel.code: "Почта", ways.code: ["Email"], area.code: region_id},
        f"{prefix} 2": {channel.code: "Звонок", ways.code: ["Email", "SMS"],
                        area.code: region_id},
        f"{prefix} 3": {channel.code: "Звонок", ways.code: ["SMS"], area.code: region_id}}
    remove(session, prefix)


def test_an_unknown_employee_is_listed_and_mapped_to_an_active_one(app, as_role, session):
    admin = as_role("admin")
    head_id, manager_id = user_id(session, "head"), user_id(session, "manager")
    head = full_name(session, "head")
    name = unique("ООО Сотрудников")
    body = (f"Name;Phone;Responsible\r\n{name} 1;{phone()};Петров Пётр\r\n"
            f"{name} 2;{phone()};петров  петр\r\n{name} 3;{phone()};manager\r\n")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    post(admin, app, job_id, action="dry", mode="good")
    checked = job(app, job_id)
    assert checked.report_data["unknown"] == {"responsible": {"Петров Пётр": 2}}
    messages = [p["message"] for p in checked.report_data["problems"]]
    assert len(messages) == 2 and all("петров" in m.lower() and "экране сопоставления" in m
                                      for m in messages)
    page = admin.get(f"/import/job/{job_id}/").text
    listed = listed_values(page)
    assert set(listed) == {("responsible", "Петров Пётр")}
    rows_of, _, labels = listed[("responsible", "Петров Пётр")]
    assert rows_of == 2 and labels[head] == str(head_id)
    assert "Создать новое значение" not in labels
    assert 'id="import-values-closed"' in page
    post(admin, app, job_id, action="run", choices={("responsible", "Петров Пётр"): head})
    done = job(app, job_id)
    assert done.status == "done" and done.created == 3, done.report_data["problems"]
    owners = dict(session.execute(select(Client.name, Client.responsible_id).where(
        Client.name.like(f"{name}%"))).all())
    session.rollback()
    assert owners == {f"{name} 1": head_id, f"{name} 2": head_id, f"{name} 3": manager_id}
    purge(session, Client.name.like(f"{name}%"))


def test_a_manager_maps_an_unknown_employee_only_to_himself(app, as_role, session):
    manager = as_role("manager")
    manager_id, admin_id = user_id(session, "manager"), user_id(session, "admin")
    name = unique("ООО Чужих")
    body = f"Name;Phone;Responsible\r\n{name};{phone()};Петров Пётр\r\n"
    job_id = job_id_of(upload(manager, "clients", body, encoding="utf-8"))
    post(manager, app, job_id, action="dry")
    assert job(app, job_id).report_data["unknown"] == {"responsible": {"Петров Пётр": 1}}
    listed = listed_values(manager.get(f"/import/job/{job_id}/").text)
    _, select_name, labels = listed[("responsible", "Петров Пётр")]
    assert offered(labels) == {full_name(session, "manager"): str(manager_id)}
    # Another employee's id, posted whatever the form offered, is refused.
    form = mapping_form(app, job_id, action="run")
    form[select_name] = str(admin_id)
    form[select_name.replace("value-", "value-text-", 1)] = "Петров Пётр"
    refused = manager.post(f"/import/job/{job_id}/", form)
    assert refused.status_code == 200
    assert "Передать запись другому сотруднику может только" in refused.text
    assert job(app, job_id).status == "checked"
    assert count(session, Client, Client.name == name) == 0
    # Nor does the run take one stored with the import's choices.
    stored = session.get(ImportJob, job_id)
    stored.options = json.dumps({**json.loads(stored.options),
                                 "value_map": {"responsible": {"Петров Пётр": admin_id}}})
    session.commit()
    assert manager.post(f"/import/job/{job_id}/run").status_code == 200
    ran = job(app, job_id)
    assert ran.status == "failed" and ran.error_count == 1
    assert "Петров Пётр" in ran.report_data["problems"][0]["message"]
    assert count(session, Client, Client.name == name) == 0
    post(manager, app, job_id, action="run",
         choices={("responsible", "Петров Пётр"): full_name(session, "manager")})
    done = job(app, job_id)
    assert done.status == "done" and done.created == 1, done.report_data["problems"]
    assert session.scalar(select(Client.responsible_id).where(Client.name == name)) \
        == manager_id
    session.rollback()
    purge(session, Client.name == name)
