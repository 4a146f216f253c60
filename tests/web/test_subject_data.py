"""«Данные субъекта» (152-FZ): everything stored about one person — a
person client, a contact person, a lead — as a PDF and a ZIP archive
(data.json and the notes' files), for the administrator alone, each
download logged; another person's data is not in it."""
import datetime
import io
import json
import os
import uuid
import zipfile
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    AccessAction,
    Application,
    Client,
    ClientKind,
    ContactPerson,
    CounterpartyAction,
    Deal,
    ImportChange,
    ImportJob,
    Lead,
    MailingType,
    Note,
    PersonalDataLog,
    Task,
)
from app.services import erasure, import_jobs, import_undo, subject_data
from tests.conftest import employee_id, queued_import
from tests.import_screens import ALMA, phone

NBSP = "\u00a0"


def _short(prefix):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def _pdf_text(body):
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")


def _zip(body):
    archive = zipfile.ZipFile(io.BytesIO(body))
    return archive, json.loads(archive.read("data.json").decode("utf-8"))


@pytest.fixture
def person(app, session):
    """A person client with a deal of 300 000,00, an application, a task, a
    note with a file, an action, a mailing list, a change in the history
    and an import that changed it; and another person with their own."""
    owner = employee_id(session, "manager")
    name = _short("Субъектова ")
    client = Client(kind=ClientKind.PERSON, name=name, last_name="Субъектова",
                    first_name="Анна", birth_date=datetime.date(1985, 3, 7),
                    passport_series="4510", passport_number="123456", phone="+79161234567",
                    city="Тверь", responsible_id=owner)
    other = Client(kind=ClientKind.PERSON, name=_short("Посторонний "), city="Омск",
                   responsible_id=owner)
    mailing = MailingType(name=_short("Рассылка "))
    client.mailing_types = [mailing]
    session.add_all([client, other])
    session.flush()
    deal = Deal(title=_short("Ипотека "), client_id=client.id, amount=Decimal("300000.00"),
                responsible_id=owner)
    other_deal = Deal(title=_short("Чужая "), client_id=other.id,
                      amount=Decimal("777777.00"), responsible_id=owner)
    application = Application(client_id=client.id, amount=Decimal("150000.50"),
                              date=datetime.date(2026, 11, 2), responsible_id=owner)
    task = Task(client_id=client.id, description=_short("Позвонить "),
                planned_at=datetime.datetime(2026, 11, 3, 9, 0), assignee_id=owner)
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    hex_name = uuid.uuid4().hex
    with open(os.path.join(folder, hex_name), "wb") as fh:
        fh.write("Скан паспорта".encode() + b"\x00\x01")
    note = Note(client_id=client.id, text=_short("Заметка о клиенте "),
                file=f"{hex_name}_sep_Паспорт.bin")
    other_note = Note(client_id=other.id, text=_short("Чужая заметка "))
    action = CounterpartyAction(client_id=client.id, result=_short("Встреча "),
                                responsible_id=owner)
    session.add_all([deal, other_deal, application, task, note, other_note, action])
    session.commit()
    client.city = "Казань"  # a history row: Тверь → Казань
    session.commit()
    job = ImportJob(user_id=employee_id(session, "admin"), entity="clients",
                    file_name=_short("выгрузка_") + ".csv", stored_path="/nowhere",
                    status="done")
    session.add(job)
    session.flush()
    session.add(ImportChange(job_id=job.id, table_name="client", record_id=client.id,
                             field="phone", old_value='"+79160000000"',
                             new_value='"+79161234567"'))
    session.commit()
    return {"client": client, "other": other, "deal": deal, "other_deal": other_deal,
            "note": note, "other_note": other_note, "task": task, "action": action,
            "mailing": mailing, "job": job, "application": application,
            "file": "Скан паспорта".encode() + b"\x00\x01"}


def _log_rows(session, entity, entity_id):
    session.expire_all()
    rows = session.scalars(select(PersonalDataLog).where(
        PersonalDataLog.action == AccessAction.SUBJECT_DATA,
        PersonalDataLog.entity == entity, PersonalDataLog.entity_id == entity_id)).all()
    session.rollback()
    return rows


@pytest.mark.parametrize("role", ["head", "manager", "auditor"])
def test_only_the_admin_downloads_it(as_role, session, person, role):
    client = person["client"]
    user = as_role(role)
    for kind in ("pdf", "zip"):
        response = user.get(f"/subject-data/client/{client.id}/{kind}", follow_redirects=True)
        assert response.status_code == 403
        assert response.mimetype == "text/html"
    page = user.get(f"/clients/show/{client.id}")
    assert page.status_code == 200
    assert "subject-data-pdf" not in page.text
    assert _log_rows(session, "client", client.id) == []


def test_the_admin_sees_the_links_on_a_persons_page_only(as_role, session, person):
    admin = as_role("admin")
    client = person["client"]
    page = admin.get(f"/clients/show/{client.id}").text
    assert f"/subject-data/client/{client.id}/pdf" in page
    assert f"/subject-data/client/{client.id}/zip" in page
    assert "Данные субъекта: PDF" in page
    company = Client(kind=ClientKind.COMPANY, name=_short("ООО Ромашка "))
    session.add(company)
    session.commit()
    assert "subject-data-pdf" not in admin.get(f"/clients/show/{company.id}").text
    assert admin.get(f"/subject-data/client/{company.id}/pdf").status_code == 404
    assert admin.get("/subject-data/client/2147483647/zip").status_code == 404
    assert admin.get(f"/subject-data/deal/{person['deal'].id}/pdf").status_code == 404
    # Not on other registers' pages.
    assert "subject-data-pdf" not in admin.get(f"/deals/show/{person['deal'].id}").text


def test_the_pdf_holds_everything_about_the_person_and_nothing_of_another(
        as_role, session, person):
    client = person["client"]
    response = as_role("admin").get(f"/subject-data/client/{client.id}/pdf")
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    text = _pdf_text(response.data)
    assert client.name in text  # Cyrillic renders
    assert "Данные субъекта персональных данных" in text
    assert "07.03.1985" in text and "4510" in text  # a date as ДД.ММ.ГГГГ
    assert "Физическое лицо" in text  # an enum's label
    assert person["deal"].title in text and "300 000,00" in text
    assert "150 000,50" in text and "02.11.2026" in text  # the application
    assert person["task"].description in text
    assert person["note"].text in text and "Паспорт.bin" in text
    assert person["action"].result in text
    assert person["mailing"].name in text
    assert "Тверь" in text and "Казань" in text  # the history's change
    assert person["job"].file_name in text  # the import that changed the client
    assert "None" not in text
    for theirs in (person["other"].name, person["other_deal"].title,
                   person["other_note"].text, "777 777,00", "Омск"):
        assert theirs not in text
    [row] = _log_rows(session, "client", client.id)
    assert row.user_id == employee_id(session, "admin")


def test_the_archive_holds_the_same_records_and_the_files(as_role, session, person):
    client = person["client"]
    response = as_role("admin").get(f"/subject-data/client/{client.id}/zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive, data = _zip(response.data)
    assert data["format"] == "sdelka-subject-data"
    assert data["subject"] == {"entity": "client", "id": client.id, "name": client.name}
    values = data["record"]["values"]
    assert values["birth_date"] == "1985-03-07" and values["kind"] == "person"
    assert values["city"] == "Казань" and values["mailing_types"] == [person["mailing"].name]
    assert data["record"]["fields"]["birth_date"] == "Дата рождения"
    sections = data["sections"]
    [deal] = sections["deals"]["rows"]
    assert (deal["id"], deal["title"], deal["amount"]) == (
        person["deal"].id, person["deal"].title, "300000.00")
    assert sections["deals"]["fields"]["amount"] == "Сумма"
    assert [a["amount"] for a in sections["applications"]["rows"]] == ["150000.50"]
    assert [t["description"] for t in sections["tasks"]["rows"]] == [
        person["task"].description]
    assert [a["result"] for a in sections["actions"]["rows"]] == [person["action"].result]
    [note] = sections["notes"]["rows"]
    assert note["text"] == person["note"].text and note["file"] == "Паспорт.bin"
    assert archive.read(note["file_in_archive"]) == person["file"]
    assert [m["name"] for m in sections["mailing_lists"]["rows"]] == [person["mailing"].name]
    changes = [(h["field_key"], h["old_value"], h["new_value"])
               for h in sections["history"]["rows"] if h["action"] == "update"]
    assert ("city", "Тверь", "Казань") in changes
    # Another test's import may have made and deleted clients whose ids
    # SQLite gives anew: the person's own change is what must be there.
    [job] = [row for row in sections["imports"]["rows"] if row["job"] == person["job"].id]
    assert job["fields"] == ["Телефон"]
    body = archive.read("data.json").decode("utf-8")
    for theirs in (person["other"].name, person["other_deal"].title,
                   person["other_note"].text, "777777.00"):
        assert theirs not in body
    assert sorted(archive.namelist()) == sorted(["data.json", note["file_in_archive"]])
    [row] = _log_rows(session, "client", client.id)
    assert row.user_id == employee_id(session, "admin")


def test_the_pdf_and_the_archive_agree(app, session, person):
    """The same records in both: each of the archive's rows is printed."""
    with app.test_request_context():
        from app.views.subject_data import _history_words, _stored

        subject = subject_data.gather(session, session.get(Client, person["client"].id),
                                      stored=_stored(), history_words=_history_words)
        sections = subject_data.pdf_sections(subject, "Europe/Moscow")
        data = subject_data.document(subject)
    for printed in sections:
        assert printed["total"] == len(data["sections"][printed["key"]]["rows"])
    session.rollback()


def test_a_contact_person_and_a_lead(as_role, session, person):
    company = Client(kind=ClientKind.COMPANY, name=_short("ООО Контора "))
    session.add(company)
    session.flush()
    contact = ContactPerson(client_id=company.id, name=_short("Контактова "),
                            phone="+79031112233")
    colleague = ContactPerson(client_id=company.id, name=_short("Коллегова "))
    lead = Lead(title=_short("Заявка с сайта "), contact_name=_short("Лидова "),
                phone="+79035556677", amount=Decimal("300000.00"))
    session.add_all([contact, colleague, lead])
    session.flush()
    session.add_all([
        CounterpartyAction(client_id=company.id, contact_id=contact.id,
                           result=_short("Созвон ")),
        CounterpartyAction(client_id=company.id, contact_id=colleague.id,
                           result=_short("Чужой созвон ")),
        CounterpartyAction(lead_id=lead.id, result=_short("Перезвонить "))])
    session.commit()
    admin = as_role("admin")
    assert "subject-data-pdf" in admin.get(f"/contacts/show/{contact.id}").text
    assert "subject-data-zip" in admin.get(f"/leads/show/{lead.id}").text
    text = _pdf_text(admin.get(f"/subject-data/contact/{contact.id}/pdf").data)
    assert contact.name in text and company.name in text
    [mine] = [a.result for a in contact.actions]
    assert mine in text and colleague.name not in text
    assert "Чужой созвон" not in text
    _, data = _zip(admin.get(f"/subject-data/lead/{lead.id}/zip").data)
    assert data["record"]["values"]["contact_name"] == lead.contact_name
    assert data["record"]["values"]["amount"] == "300000.00"
    assert [a["result"] for a in data["sections"]["actions"]["rows"]] == [
        lead.actions[0].result]
    text = _pdf_text(admin.get(f"/subject-data/lead/{lead.id}/pdf").data)
    assert lead.contact_name in text and "300 000,00" in text
    assert len(_log_rows(session, "contact", contact.id)) == 1
    assert len(_log_rows(session, "lead", lead.id)) == 2
    for role in ("head", "manager", "auditor"):
        user = as_role(role)
        assert user.get(f"/subject-data/contact/{contact.id}/zip",
                        follow_redirects=True).status_code == 403
        assert user.get(f"/subject-data/lead/{lead.id}/pdf",
                        follow_redirects=True).status_code == 403


def test_the_log_names_the_download_and_the_api_has_no_way_to_it(as_role, session, person):
    admin = as_role("admin")
    client = person["client"]
    admin.get(f"/subject-data/client/{client.id}/zip")
    page = admin.get("/personal-data-log/list/",
                     query_string={"_flt_0_entity_id": str(client.id)}).text
    assert "Выгрузил данные субъекта" in page
    spec = admin.get("/api/v1/_openapi")
    assert spec.status_code == 200
    assert not [path for path in spec.json["paths"] if "subject" in path.lower()]
    assert admin.get(f"/api/v1/subject-data/client/{client.id}/zip").status_code == 404


def test_custom_fields_and_a_large_file(app, as_role, session, person, define):
    """The record's custom fields are in both forms, worded as the screens
    do; a file larger than the copy's chunk comes out whole."""
    from app.models import CustomFieldType, CustomValue

    client = person["client"]
    income = define(label_ru=_short("Доход "), type=CustomFieldType.MONEY)
    session.add(CustomValue(field_id=income.id, record_id=client.id,
                            number_value=Decimal("85000.5")))
    big = os.urandom(subject_data.COPY_CHUNK * 2 + 123)
    hex_name = uuid.uuid4().hex
    with open(os.path.join(app.config["UPLOAD_FOLDER"], hex_name), "wb") as fh:
        fh.write(big)
    note = Note(client_id=client.id, text=_short("Большой файл "),
                file=f"{hex_name}_sep_Архив.bin")
    session.add(note)
    session.commit()
    admin = as_role("admin")
    text = _pdf_text(admin.get(f"/subject-data/client/{client.id}/pdf").data)
    assert income.label_ru in text and "85 000,50" in text
    archive, data = _zip(admin.get(f"/subject-data/client/{client.id}/zip").data)
    assert data["record"]["custom_fields"][income.label_ru] == "85" + NBSP + "000,50"
    [row] = [n for n in data["sections"]["notes"]["rows"] if n["id"] == note.id]
    assert archive.read(row["file_in_archive"]) == big


def test_an_erased_persons_data_says_when_it_was_erased(as_role, session, person):
    client = session.get(Client, person["client"].id)
    client.erased_at = datetime.datetime(2026, 12, 1, 9, 30)
    session.commit()
    admin = as_role("admin")
    _, data = _zip(admin.get(f"/subject-data/client/{client.id}/zip").data)
    assert data["record"]["values"]["erased_at"] == "2026-12-01T09:30:00Z"
    text = _pdf_text(admin.get(f"/subject-data/client/{client.id}/pdf").data)
    assert "Персональные данные удалены" in text and "01.12.2026 12:30" in text


def test_an_undone_import_is_not_said_to_have_made_the_person(as_role, session, person):
    """An undone import's created range may cover a later record's id (SQLite
    reuses freed ids): it did not make the person, and is not listed."""
    from app.models import ImportCreated

    client = person["client"]
    undone = ImportJob(user_id=employee_id(session, "admin"), entity="clients",
                       file_name=_short("отменённый_") + ".csv", stored_path="/nowhere",
                       status="undone")
    session.add(undone)
    session.flush()
    session.add(ImportCreated(job_id=undone.id, table_name="client",
                              first_id=client.id - 1, last_id=client.id + 1))
    session.commit()
    _, data = _zip(as_role("admin").get(f"/subject-data/client/{client.id}/zip").data)
    listed = [job["job"] for job in data["sections"]["imports"]["rows"]]
    assert person["job"].id in listed and undone.id not in listed


def _imported(app, session, name, *surnames):
    """An AlmaCRM import of a person per surname, run: its job."""
    rows = [f"15.01.2026;{s};Анна;Петровна;Тверская область;Тверь;\"150 000,00\";"
            f"{phone()};02.03.1985;В обработке;" for s in surnames]
    job_id = queued_import(session, "\n".join([ALMA, *rows]) + "\n", name)
    assert import_jobs.run_now(app, job_id) == "done"
    return session.get(ImportJob, job_id)


def test_the_imports_that_made_and_changed_the_person_are_listed_once(
        app, as_role, session, define):
    """The AlmaCRM import that created the person, and one that changed a
    custom field of theirs, each listed once in both forms; another
    person's import is not."""
    from app.models import CustomFieldType

    surname, other = _short("Импортова"), _short("Чужеимпортова")
    made = _imported(app, session, _short("создавший_") + ".csv", surname)
    theirs = _imported(app, session, _short("чужой_") + ".csv", other)
    client = session.scalar(select(Client).where(Client.last_name == surname))
    income = define(label_ru=_short("Доход "), type=CustomFieldType.MONEY)
    # The ledger of an import that changed a custom field of the person.
    changed = ImportJob(user_id=employee_id(session, "admin"), entity="clients",
                        file_name=_short("поправивший_") + ".csv", stored_path="/nowhere",
                        status="done")
    session.add(changed)
    session.flush()
    session.add(ImportChange(job_id=changed.id, table_name=import_undo.CUSTOM + "client",
                             record_id=client.id, field=income.code, old_value=None,
                             new_value='"85000"'))
    session.commit()
    admin = as_role("admin")
    _, data = _zip(admin.get(f"/subject-data/client/{client.id}/zip").data)
    rows = {row["job"]: row for row in data["sections"]["imports"]["rows"]}
    assert made.id in rows and changed.id in rows and theirs.id not in rows
    assert len(data["sections"]["imports"]["rows"]) == len(rows)  # each once
    assert (rows[made.id]["file_name"], rows[made.id]["how"]) == (made.file_name,
                                                                  "создал запись")
    assert rows[made.id]["user"] == "Тестов Admin" and rows[made.id]["at"]
    assert (rows[changed.id]["how"], rows[changed.id]["fields"]) == ("изменил запись",
                                                                     [income.label_ru])
    text = _pdf_text(admin.get(f"/subject-data/client/{client.id}/pdf").data)
    assert made.file_name in text and "создал запись" in text
    assert changed.file_name in text and income.label_ru in text
    assert theirs.file_name not in text


def test_an_undone_import_whose_undo_kept_the_person_made_them(app, as_role, session):
    """A colleague's deal keeps an imported person through «Отменить
    импорт»: the import still made them (and erasure takes its file)."""
    surname = _short("Оставленова")
    job = _imported(app, session, _short("отменённый_") + ".csv", surname)
    client = session.scalar(select(Client).where(Client.last_name == surname))
    session.add(Deal(title=_short("Сделка коллеги "), client_id=client.id))
    session.commit()
    import_undo.undo(session, job, employee_id(session, "admin"))
    session.commit()
    assert session.get(ImportJob, job.id).status == "undone"
    assert session.get(Client, client.id) is not None
    admin = as_role("admin")
    _, data = _zip(admin.get(f"/subject-data/client/{client.id}/zip").data)
    [row] = [r for r in data["sections"]["imports"]["rows"] if r["job"] == job.id]
    assert row["how"] == "создал запись"
    assert job.file_name in _pdf_text(admin.get(f"/subject-data/client/{client.id}/pdf").data)
    files = erasure.erase(session, Client, client.id, confirmed=True)
    assert job.stored_path in files
    session.rollback()
