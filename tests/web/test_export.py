"""Export of every list screen: exactly what the filters and sort select,
all pages, the row-level rule of a Manager, Excel-friendly CSV, and the
round trip export → import."""
import csv
import datetime
import io
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from app.models import (
    Application,
    Client,
    Deal,
    Employee,
    ProcessingStatus,
    PublicAccess,
    Task,
)
from app.views.dictionaries import MENU
from app.views.registers import REGISTER_VIEWS
from tests.conftest import unique
from tests.import_screens import inn10, job, job_id_of, phone, purge, run, upload


def parse(response, encoding="utf-8-sig"):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.data.decode(encoding)
    # A streamed response ends its request (and its transaction) on close,
    # as a WSGI server closes it.
    response.close()
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def user_id(session, username):
    value = session.scalar(select(Employee.id).where(Employee.username == username))
    session.rollback()
    return value


def make_clients(session, prefix, n, **kw):
    clients = [Client(name=f"{prefix} {i:03d}", phone=f"+7916{i:07d}", **kw) for i in range(n)]
    session.add_all(clients)
    session.commit()
    return [c.id for c in clients]


def test_export_has_every_page_in_the_list_order_with_russian_headers(app, as_role, session):
    prefix = unique("Экспортов")
    make_clients(session, prefix, 30, responsible_id=user_id(session, "admin"))
    admin = as_role("admin")
    url = f"/clients/export/?_flt_0_name={prefix}&_oc_ClientView=name&_od_ClientView=desc"
    response = admin.get(url)
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = parse(response)
    header = rows[0]
    assert header[:3] == ["ID", "Вид", "Название"]
    names = [r[header.index("Название")] for r in rows[1:]]
    assert names == [f"{prefix} {i:03d}" for i in reversed(range(30))]  # 30 > page of 25
    assert "Телефон" in header and rows[1][header.index("Телефон")] == '="+79160000029"'
    purge(session, Client.name.startswith(prefix))


def test_cp1251_dates_money_and_formula_injection(app, as_role, session):
    prefix = unique("Формулов")
    client = Client(name=f"=HYPERLINK(\"x\") {prefix}", last_name="Ёлкин",
                    birth_date=datetime.date(1985, 3, 2), comments="цена 5 € — ≈ ✓",
                    responsible_id=user_id(session, "admin"))
    session.add(client)
    session.flush()
    session.add(Application(client_id=client.id, amount=Decimal("1234567.5"),
                            date=datetime.date(2026, 1, 15), offer="@SUM(A1)",
                            status=ProcessingStatus.COMPLETED))
    session.commit()
    admin = as_role("admin")
    rows = parse(admin.get(f"/clients/export/?_flt_2_name={prefix}&encoding=cp1251"), "cp1251")
    header, row = rows[0], rows[1]
    assert row[header.index("Название")].startswith("'=HYPERLINK")
    assert row[header.index("Дата рождения")] == "02.03.1985"
    assert row[header.index("Фамилия")] == "Ёлкин"
    assert row[header.index("Комментарии")] == "цена 5 € — ? ?"  # replaced, not an error
    rows = parse(admin.get("/applications/export/?_flt_0_offer=%40SUM"))
    header = rows[0]
    mine = [r for r in rows[1:] if r[header.index("ID клиента")] == str(client.id)]
    assert mine[0][header.index("Сумма")] == "1234567,50"
    assert mine[0][header.index("Дата")] == "15.01.2026"
    assert mine[0][header.index("Статус")] == "Завершена"
    assert mine[0][header.index("Оффер")] == "'@SUM(A1)"


def test_manager_exports_only_what_they_see(app, as_role, session):
    prefix = unique("Видимов")
    manager_id = user_id(session, "manager")
    own = make_clients(session, prefix + " свой", 3, responsible_id=manager_id)
    public = make_clients(session, prefix + " общий", 2, public_access=PublicAccess.READ)
    make_clients(session, prefix + " чужой", 4, responsible_id=user_id(session, "admin"))
    manager = as_role("manager")
    rows = parse(manager.get(f"/clients/export/?_flt_0_name={prefix}"))
    ids = {int(r[0]) for r in rows[1:]}
    assert ids == set(own) | set(public)
    admin_rows = parse(as_role("admin").get(f"/clients/export/?_flt_0_name={prefix}"))
    assert len(admin_rows) - 1 == 9
    purge(session, Client.name.startswith(prefix))
    page = manager.get("/clients/list/").text
    assert "csv-export-cp1251" in page and "csv-import" in page


@pytest.mark.parametrize("view", [v.route_base for v in REGISTER_VIEWS] +
                         [v.route_base for v, _, _ in MENU])
def test_every_list_screen_exports(app, as_role, view):
    admin = as_role("admin")
    rows = parse(admin.get(f"{view}/export/"))
    assert rows and rows[0][0] == "ID"
    if view != "/invoice-lines":
        assert "csv-export-utf8" in admin.get(f"{view}/list/").text


def test_every_related_record_has_a_text():
    """A column showing a related record (a lead's web form, say) needs the
    record's own text: without a __repr__ lists and files showed
    "<app.models.WebForm object at 0x…>"."""
    from flask_appbuilder import Model
    from sqlalchemy.orm import MANYTOONE

    untitled = {f"{m.class_.__name__}.{rel.key}" for m in Model.registry.mappers
                for rel in m.relationships if rel.direction is MANYTOONE
                and rel.mapper.class_.__repr__ is object.__repr__}
    assert untitled == set()


def test_title_columns_give_the_text_of_their_records():
    """An export reads a related record's text from the column its model
    names ``__title__``: the same text as the record's own ``str``."""
    from flask_appbuilder import Model

    titled = [m.class_ for m in Model.registry.mappers if hasattr(m.class_, "__title__")]
    assert Client in titled
    for model in titled:
        assert str(model(**{model.__title__: "Текст"})) == "Текст"
        assert str(model()) == ""


@pytest.mark.parametrize("view", [v.route_base for v in REGISTER_VIEWS] +
                         [v.route_base for v, _, _ in MENU])
def test_rows_read_as_values_export_like_objects(app, as_role, session, view, monkeypatch):
    """An export reads plain column values where it can; the file is the
    same as when it reads each row as an object (sorted by a relation's
    column, which the list joins too)."""
    from app.views.export import CsvMixin

    admin_id = user_id(session, "admin")
    prefix = unique("Сверка")
    clients = make_clients(session, prefix, 3, responsible_id=admin_id)
    session.add(Application(client_id=clients[0], amount=Decimal("1234.5"), offer="=1+1",
                            responsible_id=admin_id))
    deal = Deal(title=unique("Сделка"), client_id=clients[1], responsible_id=admin_id,
                amount=Decimal("99.9"))
    session.add(deal)
    session.flush()
    session.add(Task(client_id=clients[1], deal_id=deal.id, assignee_id=admin_id,
                     author_id=admin_id, planned_at=datetime.datetime(2036, 5, 1, 21, 30),
                     description="звонок"))
    session.commit()
    admin = as_role("admin")
    url = f"{view}/export/?encoding=cp1251"
    as_values = admin.get(url).data
    sorted_values = admin.get(url + "&_oc_ClientView=region&_od_ClientView=desc").data
    monkeypatch.setattr(CsvMixin, "_as_rows", lambda self, query, columns: None)
    assert admin.get(url).data == as_values
    assert admin.get(url + "&_oc_ClientView=region&_od_ClientView=desc").data == sorted_values
    if view in ("/clients", "/applications", "/deals", "/tasks", "/regions", "/task-types"):
        assert len(as_values.splitlines()) > 1
    session.execute(delete(Task).where(Task.client_id.in_(clients)))
    session.execute(delete(Deal).where(Deal.client_id.in_(clients)))
    purge(session, Client.name.startswith(prefix))


def test_readonly_exports_but_does_not_import(app, as_role):
    auditor = as_role("auditor")
    for url in ("/clients/export/", "/regions/export/"):
        response = auditor.get(url)
        assert response.status_code == 200
        response.close()
    page = auditor.get("/clients/list/").text
    assert "csv-export-utf8" in page and "csv-import" not in page


def test_export_needs_its_permission(app, as_role):
    from app import db

    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Read-only")
        pv = sm.find_permission_view_menu("can_export", "DealView")
        assert pv is not None
        role.permissions.remove(pv)
        db.session.commit()
    try:
        auditor = as_role("auditor")
        assert auditor.get("/deals/export/").status_code in (302, 403)
        assert "csv-export-utf8" not in auditor.get("/deals/list/").text
    finally:
        with app.app_context():
            role = app.appbuilder.sm.find_role("Read-only")
            role.permissions.append(app.appbuilder.sm.find_permission_view_menu(
                "can_export", "DealView"))
            db.session.commit()


def _snapshot(session, prefix):
    clients = session.scalars(select(Client).where(Client.name.startswith(prefix))
                              .order_by(Client.name)).all()
    out = [(c.name, c.kind, c.last_name, c.first_name, c.birth_date, c.inn, c.phone, c.email,
            c.region_id, c.city, c.comments, c.public_access, c.responsible_id) for c in clients]
    session.rollback()
    return out


def test_round_trip_export_then_import_gives_the_same_records(app, as_role, session):
    prefix = unique("Круговой")
    admin_id = user_id(session, "admin")
    region = session.scalar(select(Client.region_id).where(Client.region_id.is_not(None))
                            .limit(1))
    session.add_all([
        Client(name=f"{prefix} А", last_name="Иванов", first_name="Иван",
               birth_date=datetime.date(1990, 12, 31), phone=phone(),
               email="a@example.com", city="Тула", comments="строка 1\nстрока 2; «кавычки»",
               responsible_id=admin_id, region_id=region, public_access=PublicAccess.READ),
        Client(name=f"{prefix} Б", kind="company", inn=inn10(), phone=phone(),
               comments="=1+1", responsible_id=admin_id),
    ])
    session.commit()
    before = _snapshot(session, prefix)
    admin = as_role("admin")
    response = admin.get(f"/clients/export/?_flt_0_name={prefix}&encoding=cp1251")
    exported = response.data
    response.close()
    purge(session, Client.name.startswith(prefix))
    job_id = job_id_of(upload(admin, "clients", exported, "clients.csv"))
    # The records are gone: their IDs are not imported (an ID updates a record).
    run(admin, app, job_id, action="run", map_0="")
    done = job(app, job_id)
    assert done.status == "done" and done.created == 2, done.report_data
    after = _snapshot(session, prefix)
    # "=1+1" went out as "'=1+1" (a formula guard) and came back as it was.
    assert after == before


def test_dictionary_names_read_once_still_find_a_row_added_meanwhile(session):
    """An export names dictionary values and employees from their tables
    read at its start; a row added while it streams is read when met."""
    from app.models import Region
    from app.views.export import _Names

    names = _Names(session, Region)
    known = session.scalar(select(Region).limit(1))
    assert names[known.id] == str(known)
    added = Region(name=unique("Новый регион")[:150])
    session.add(added)
    session.commit()
    assert added.id not in names and names[added.id] == added.name
    assert names[10**9] is None
    session.delete(added)
    session.commit()


def test_a_tasks_reminder_is_exported_and_imported_by_its_name(app, as_role, session):
    from app.models import Reminder, Task

    text = unique("Напоминание")
    client = Client(name=unique("Напоминание"))
    session.add(client)
    session.flush()
    session.add_all([Task(client_id=client.id, description=text, reminder_minutes=1440),
                     Task(client_id=client.id, description=text, reminder_minutes=15)])
    session.commit()
    admin = as_role("admin")
    response = admin.get("/tasks/export/", query_string={"_flt_0_client": str(client.id)})
    header, *rows = parse(response)
    rows = [dict(zip(header, row)) for row in rows if text in row]
    assert sorted(row["Напоминание"] for row in rows) == ["За 1 день", "За 15 минут"], rows
    # The same file imports back: the names become the minutes again.
    session.execute(delete(Task).where(Task.description == text))
    session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Клиент ID", "Описание", "Напоминание"])
    writer.writerow([client.id, text, "За 1 день"])
    job_id = job_id_of(upload(admin, "tasks", buffer.getvalue().encode(), "tasks.csv"))
    run(admin, app, job_id, action="run")
    assert job(app, job_id).status == "done", job(app, job_id).report_data
    session.expire_all()
    saved = session.scalar(select(Task).where(Task.description == text))
    assert saved.reminder_minutes == Reminder.DAY_1.value == 1440
