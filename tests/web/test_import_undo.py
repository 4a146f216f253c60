"""«Отменить импорт»: what an import created goes, what it
changed gets its previous value back, in one transaction; records changed
since are listed, and the user confirms or skips each; the journal shows
the undo. On both databases, through the screens."""
import re
from decimal import Decimal

from sqlalchemy import func, select

from app.models import (
    Application,
    Client,
    CustomFieldType,
    CustomValue,
    HistoryEntry,
    ImportChange,
    ImportCreated,
    Note,
    Region,
)
from app.services import imports
from tests.conftest import employee_id, unique
from tests.import_screens import ALMA, alma_rows, count, job, job_id_of, phone, run, upload


def alma_import(http, app, surname, rows=3, **options):
    body = "\r\n".join([ALMA, *alma_rows(rows, surname)]) + "\r\n"
    job_id = job_id_of(upload(http, imports.ALMA_KEY, body))
    run(http, app, job_id, **options)
    done = job(app, job_id)
    assert done.status == "done", done.report_data
    return job_id


def ids_of(session, surname):
    ids = session.scalars(select(Client.id).where(Client.last_name == surname)
                          .order_by(Client.id)).all()
    session.rollback()
    return ids


def test_undo_deletes_what_an_import_created_and_the_journal_shows_it(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Отменов").replace(" ", "")
    region = unique("Отменная область")
    body = "\r\n".join([ALMA, *(r.replace("Московская область", region)
                                for r in alma_rows(3, surname))]) + "\r\n"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
    run(admin, app, job_id, create_missing="1")
    assert job(app, job_id).created == 3
    ids = ids_of(session, surname)
    assert len(ids) == 3 and count(session, Region, Region.name == region) == 1
    assert count(session, ImportCreated, ImportCreated.job_id == job_id) >= 3  # the ledger

    report = admin.get(f"/import/job/{job_id}/report").text
    assert f"/import/job/{job_id}/undo" in report
    page = admin.get(f"/import/job/{job_id}/undo").text
    assert "Клиенты — 3" in page and "Заявки — 3" in page and "Регионы — 1" in page
    response = admin.post(f"/import/job/{job_id}/undo", {}, follow=True)
    assert "Импорт отменён" in response.text, response.text[-3000:]
    assert count(session, Client, Client.id.in_(ids)) == 0
    assert count(session, Application, Application.client_id.in_(ids)) == 0
    assert count(session, Region, Region.name == region) == 0  # the value it added
    undone = job(app, job_id)
    assert undone.status == "undone"
    report = admin.get(f"/import/job/{job_id}/report").text
    assert "import-undone" in report and "удалено записей: 7" in report
    assert f"/import/job/{job_id}/undo\"" not in report  # once
    journal = admin.get("/imports/list/").text
    assert "Отменён" in journal
    again = admin.post(f"/import/job/{job_id}/undo", {}, follow=True).text
    assert "нельзя отменить" in again


def test_undo_restores_what_an_update_import_changed(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Обновов").replace(" ", "")
    number = phone()
    first = f"15.01.2026;{surname};Анна;;;Подольск;1000;{number};;В обработке;первый"
    alma_import_body = f"{ALMA}\r\n{first}\r\n"
    run(admin, app, job_id_of(upload(admin, imports.ALMA_KEY, alma_import_body)))
    (client_id,) = ids_of(session, surname)
    again = f"16.01.2026;{surname};Анна;;;Казань;2000;{number};;Завершена;второй"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\r\n{again}\r\n"))
    run(admin, app, job_id, on_duplicate="update")
    changed = session.get(Client, client_id)
    assert (changed.city, changed.comments) == ("Казань", "второй")
    assert count(session, Application, Application.client_id == client_id) == 2
    assert count(session, ImportChange, ImportChange.job_id == job_id) == 2

    page = admin.get(f"/import/job/{job_id}/undo").text
    assert "Заявки — 1" in page and "Клиенты" not in page.split("undo-counts")[1][:400]
    admin.post(f"/import/job/{job_id}/undo", {})
    restored = session.get(Client, client_id)
    session.refresh(restored)
    assert (restored.city, restored.comments) == ("Подольск", "первый")
    assert count(session, Application, Application.client_id == client_id) == 1
    # The restore is in the client's history, as an edit would be.
    entries = session.execute(select(HistoryEntry.field, HistoryEntry.old_value,
                                     HistoryEntry.new_value)
                              .where(HistoryEntry.entity == "client",
                                     HistoryEntry.entity_id == client_id)
                              .order_by(HistoryEntry.id.desc()).limit(2)).all()
    assert sorted(entries) == [("city", "Казань", "Подольск"),
                               ("comments", "второй", "первый")]
    session.rollback()


def test_undo_of_a_new_name_gives_the_search_the_old_one(app, as_role, session):
    """The name an update import changed comes back, and the quick search
    (the client's search text, on PostgreSQL its applications' copy too)
    finds the client by it again, no longer by the imported one."""
    admin = as_role("admin")
    surname = unique("Поисков").replace(" ", "")
    number = phone()
    first = f"15.01.2026;{surname};Анна;;;Подольск;1000;{number};;В обработке;"
    run(admin, app, job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\r\n{first}\r\n")))
    (client_id,) = ids_of(session, surname)
    again = f"16.01.2026;{surname};Анна;Жемчужновна;;Подольск;2000;{number};;В обработке;"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\r\n{again}\r\n"))
    run(admin, app, job_id, on_duplicate="update")

    def found(path, typed):
        page = admin.get(path, query_string={"_flt_0_quick": typed}).text
        return len(set(re.findall(rf"/{path.split('/')[1]}/show/(\d+)", page)))

    assert found("/clients/list/", f"{surname} анна жемчужновна") == 1
    assert found("/applications/list/", f"{surname} анна жемчужновна") == 2
    admin.post(f"/import/job/{job_id}/undo", {})
    assert session.get(Client, client_id).name == f"{surname} Анна"
    assert found("/clients/list/", f"{surname} анна жемчужновна") == 0
    assert found("/clients/list/", f"{surname} анна") == 1
    assert found("/applications/list/", f"{surname} анна") == 1
    assert found("/applications/list/", "жемчужновна") == 0
    session.rollback()


def test_records_changed_since_are_listed_and_kept_unless_confirmed(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Правкин").replace(" ", "")
    job_id = alma_import(admin, app, surname, rows=4)
    edited, noted, confirmed, plain = ids_of(session, surname)
    for client_id, city in ((edited, "Тверь"), (confirmed, "Тула")):
        session.get(Client, client_id).city = city
    session.add(Note(client_id=noted, text="звонил после импорта",
                     author_id=employee_id(session, "admin")))
    session.commit()

    page = admin.get(f"/import/job/{job_id}/undo").text
    table = page.split('id="undo-conflicts"')[1].split("</table>")[0]
    assert table.count("<tr>") == 4  # the header and three records
    assert f'value="client:{edited}"' in table and f'value="client:{confirmed}"' in table
    assert f'value="client:{noted}"' not in table  # a note was added: it stays
    assert "изменена после импорта" in table and "Заметки (1)" in table
    admin.post(f"/import/job/{job_id}/undo", {"confirm": [f"client:{confirmed}"]})
    left = set(ids_of(session, surname))
    assert left == {edited, noted}
    # A kept client keeps the application of its row.
    assert count(session, Application, Application.client_id.in_(left)) == 2
    assert session.get(Client, edited).city == "Тверь"
    session.rollback()
    report = admin.get(f"/import/job/{job_id}/report").text
    assert "оставлено изменённых записей: 2" in report


def test_a_field_changed_since_is_skipped_or_restored_as_chosen(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Выборов").replace(" ", "")
    numbers = [phone(), phone()]
    rows = [f"15.01.2026;{surname};Анна{i};;;Подольск;1000;{n};;В обработке;"
            for i, n in enumerate(numbers)]
    run(admin, app, job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]))))
    skipped, confirmed = ids_of(session, surname)
    rows = [r.replace("Подольск", "Казань") for r in rows]
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows])))
    run(admin, app, job_id, on_duplicate="update")
    for client_id in (skipped, confirmed):
        session.get(Client, client_id).city = "Тверь"
    session.commit()
    page = admin.get(f"/import/job/{job_id}/undo").text
    assert "«Город» изменено после импорта" in page
    admin.post(f"/import/job/{job_id}/undo", {"confirm": [f"client:{confirmed}"]})
    assert session.get(Client, skipped).city == "Тверь"
    assert session.get(Client, confirmed).city == "Подольск"
    session.rollback()


def test_custom_values_an_update_import_changed_are_restored(app, as_role, session, define):
    admin = as_role("admin")
    income = define(label_ru=unique("Доход"), type=CustomFieldType.MONEY)
    name = unique("ООО Кастом")
    client = Client(name=name, responsible_id=employee_id(session, "admin"))
    session.add(client)
    session.commit()
    client_id = client.id
    body = f"ID;Название;{income.label_ru}\r\n{client_id};{name};150 000,50\r\n"
    run(admin, app, job_id_of(upload(admin, "clients", body, encoding="utf-8")))
    body = f"ID;Название;{income.label_ru}\r\n{client_id};{name};7,00\r\n"
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    run(admin, app, job_id)
    assert job(app, job_id).updated == 1, job(app, job_id).report

    def stored():
        value = session.scalar(select(CustomValue.number_value).where(
            CustomValue.field_id == income.id, CustomValue.record_id == client_id))
        session.rollback()
        return value

    assert stored() == Decimal("7.00")
    admin.post(f"/import/job/{job_id}/undo", {})
    assert stored() == Decimal("150000.50")
    session.execute(CustomValue.__table__.delete().where(CustomValue.field_id == income.id))
    session.delete(session.get(Client, client_id))
    session.commit()


def test_only_the_importer_or_an_admin_may_undo(app, as_role, session):
    manager = as_role("manager")
    surname = unique("Чужов").replace(" ", "")
    job_id = alma_import(manager, app, surname, rows=1)
    head = as_role("head")  # sees every client, but is not an administrator
    assert head.get(f"/import/job/{job_id}/undo").status_code == 403
    assert head.post(f"/import/job/{job_id}/undo", {}).status_code == 403
    assert len(ids_of(session, surname)) == 1
    page = manager.get(f"/import/job/{job_id}/undo")
    assert page.status_code == 200 and "undo-submit" in page.text
    forged = manager.post(f"/import/job/{job_id}/undo", {}, csrf=False)  # no CSRF token
    assert forged.status_code == 400 and len(ids_of(session, surname)) == 1
    admin = as_role("admin")
    admin.post(f"/import/job/{job_id}/undo", {})
    assert ids_of(session, surname) == []


def test_a_check_or_a_refused_import_offers_no_undo(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Проверов").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(2, surname)]) + "\r\n"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
    run(admin, app, job_id, action="dry")
    assert f"/import/job/{job_id}/undo" not in admin.get(f"/import/job/{job_id}/report").text
    response = admin.post(f"/import/job/{job_id}/undo", {}, follow=True)
    assert "нельзя отменить" in response.text
    assert session.scalar(select(func.count()).select_from(ImportCreated).where(
        ImportCreated.job_id == job_id)) == 0  # a check ledgers nothing


def test_a_ledger_written_in_parts_undoes_the_whole_import(app, as_role, session, monkeypatch):
    """The ledger waits for a commit or for Ledger.PENDING entries, not for
    each batch: five rows in batches of two, with six entries (a client and
    an application a row) are written when the second batch is done and at
    the end, and the undo still finds every record."""
    from app.services import import_undo

    monkeypatch.setattr(imports, "BATCH", 2)
    monkeypatch.setattr(import_undo.Ledger, "PENDING", 6)
    admin = as_role("admin")
    surname = unique("Частичнов").replace(" ", "")
    job_id = alma_import(admin, app, surname, rows=5)
    ids = ids_of(session, surname)
    assert len(ids) == 5
    parts = session.execute(select(ImportCreated.first_id, ImportCreated.last_id).where(
        ImportCreated.job_id == job_id, ImportCreated.table_name == "client")).all()
    session.rollback()
    assert sorted(last - first + 1 for first, last in parts) == [1, 4]
    response = admin.post(f"/import/job/{job_id}/undo", {}, follow=True)
    assert "Импорт отменён" in response.text, response.text[-3000:]
    assert count(session, Client, Client.id.in_(ids)) == 0
    assert count(session, Application, Application.client_id.in_(ids)) == 0
