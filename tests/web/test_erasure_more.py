"""Erasure and retention beyond a person's own records (services/erasure.py):
contact persons in the retention review, the stored files of the imports
that wrote an erased person, the notifications naming them, and the index
the import ledger is read by."""
import datetime
import json
import os

from sqlalchemy import select, text, update

from app.models import (
    Client,
    ClientKind,
    ContactPerson,
    CounterpartyAction,
    HistoryEntry,
    ImportChange,
    ImportJob,
    Note,
    Notification,
)
from app.services import erasure, import_jobs
from tests.conftest import employee_id, queued_import
from tests.import_screens import ALMA, phone
from tests.web.test_erasure import _word

# Older than anything other tests of this module back-date: first in the list.
OLDEST = datetime.datetime(1970, 6, 1)


def _back_date(session, client_ids, contact_ids):
    session.execute(update(Client).where(Client.id.in_(client_ids))
                    .values(created_at=OLDEST, updated_at=OLDEST))
    session.execute(update(HistoryEntry).where(
        HistoryEntry.client_id.in_(client_ids)
        | ((HistoryEntry.entity == "contact") & HistoryEntry.entity_id.in_(contact_ids)))
        .values(at=OLDEST))
    session.commit()


def test_retention_lists_a_quiet_contact_person_and_pages_them(as_role, session, monkeypatch):
    manager = employee_id(session, "manager")
    quiet_company, busy_company = (Client(kind=ClientKind.COMPANY, name=f"ООО {_word()}",
                                          responsible_id=manager) for _ in range(2))
    session.add_all([quiet_company, busy_company])
    session.flush()
    surname = _word()
    names = ("тихий", "второй", "с действием", "правленый", "удалённый", "занятого клиента")
    contacts = [ContactPerson(client_id=(busy_company if n == "занятого клиента"
                                         else quiet_company).id, name=f"{surname} {n}")
                for n in names]
    session.add_all(contacts)
    session.commit()
    quiet, second, acted, edited, erased, of_busy = (c.id for c in contacts)
    _back_date(session, [quiet_company.id, busy_company.id], [c.id for c in contacts])
    now = datetime.datetime.now()
    session.add_all([
        # An action with the contact planned now; the contact's own change
        # today; a note of the other client today.
        CounterpartyAction(contact_id=acted, responsible_id=manager, planned_at=now),
        HistoryEntry(entity="contact", entity_id=edited, action="update", field="phone",
                     at=now),
        Note(client_id=busy_company.id, text="Звонили", author_id=manager)])
    session.execute(update(ContactPerson).where(ContactPerson.id == erased)
                    .values(erased_at=now))
    session.commit()
    listed = set(session.scalars(select(ContactPerson.id).where(
        ContactPerson.id.in_([c.id for c in contacts]),
        erasure.expired_condition(1095, model=ContactPerson))))
    assert listed == {quiet, second}
    rows, total = erasure.expired(session, 1095, 0, 1, model=ContactPerson)
    assert total >= 2 and [(r.id, r.updated_at) for r in rows] == [(quiet, OLDEST)]
    session.rollback()

    admin = as_role("admin")
    page = admin.get("/erasure/retention/").text
    assert "Истёк срок хранения: Контактные лица" in page and "Контактное лицо" in page
    for shown in (quiet, second):
        assert f"/erasure/contact/{shown}\"" in page
    for hidden in (acted, edited, erased, of_busy):
        assert f"/erasure/contact/{hidden}\"" not in page
    # Paged like the other sections: a page of one shows the second on page 2.
    monkeypatch.setattr("app.views.erasure.PAGE_SIZE", 1)
    first, next_page = (admin.get("/erasure/retention/", query_string={"page_contact": n}).text
                        for n in (0, 1))
    assert f"/erasure/contact/{quiet}\"" in first and f"/erasure/contact/{second}\"" not in first
    assert f"/erasure/contact/{second}\"" in next_page and "page_contact=1" in first
    monkeypatch.undo()
    # The button leads to the contact person's erasure; erased, they leave the list.
    assert admin.get(f"/erasure/contact/{quiet}").status_code == 200
    admin.post(f"/erasure/contact/{quiet}")
    session.expire_all()
    assert session.get(ContactPerson, quiet).name == f"Субъект №{quiet}"
    assert f"/erasure/contact/{quiet}\"" not in admin.get("/erasure/retention/").text
    for role in ("head", "manager", "auditor"):
        assert as_role(role).get("/erasure/retention/").status_code == 403


def _alma(surname, number, first="Иван"):
    return (f"15.01.2026;{surname};{first};Петрович;Московская область;Подольск;"
            f"\"150 000,00\";{number};02.03.1985;В обработке;звонил {surname}")


def _read(path):
    with open(path, encoding="cp1251") as fh:
        return fh.read()


def test_erasing_an_imported_person_removes_the_import_files(app, as_role, session):
    surname, other = _word(), _word()
    number, other_number = phone(), phone()
    # The person twice (the second row a duplicate in the file: the report
    # quotes the phone), and someone else's import that must stay.
    mine = queued_import(session, "\n".join([ALMA, _alma(surname, number),
                                             _alma(surname, number, "Иоанн")]) + "\n",
                         "persons.csv")
    theirs = queued_import(session, "\n".join([ALMA, _alma(other, other_number)]) + "\n",
                           "others.csv")
    assert import_jobs.run_now(app, mine) == "done"
    assert import_jobs.run_now(app, theirs) == "done"
    job = session.get(ImportJob, mine)
    stored, other_path = job.stored_path, session.get(ImportJob, theirs).stored_path
    assert surname in _read(stored) and number[2:] in _read(stored)
    assert number[2:] in job.report
    person = session.scalar(select(Client).where(Client.last_name == surname))
    error_file = stored + ".errors.csv"
    with open(error_file, "w", encoding="utf-8") as fh:  # as a run with bad rows leaves
        fh.write(f"{surname};{number}\n")
    session.execute(update(ImportJob).where(ImportJob.id == mine).values(error_file=error_file))
    session.commit()

    # In the caller's transaction: nothing leaves the disk before the commit.
    files = erasure.erase(session, Client, person.id, confirmed=True)
    assert stored in files and error_file in files and os.path.exists(stored)
    session.rollback()
    assert os.path.exists(stored)

    as_role("admin").post(f"/erasure/client/{person.id}")
    session.expire_all()
    job = session.get(ImportJob, mine)
    assert not os.path.exists(stored) and not os.path.exists(error_file)
    assert job.files_removed_at is not None and job.error_file is None
    report = json.loads(job.report)
    assert report["files_erased"] is True
    assert surname not in job.report and number[2:] not in job.report
    assert report["created"] == 1  # the figures stay
    # Someone else's import keeps its file and its data.
    assert other in _read(other_path) and session.get(ImportJob, theirs).files_removed_at is None
    page = as_role("admin").get(f"/import/job/{mine}/report").text
    assert "персональные данные" in page and surname not in page
    session.rollback()


def test_an_import_that_changed_the_person_loses_its_file_too(app, as_role, session):
    surname = _word()
    number = phone()
    client = Client(kind=ClientKind.PERSON, name=f"{surname} Анна", last_name=surname,
                    phone=number)
    session.add(client)
    session.commit()
    job_id = queued_import(session, "\n".join([ALMA, _alma(surname, phone())]) + "\n")
    assert import_jobs.run_now(app, job_id) == "done"
    stored = session.get(ImportJob, job_id).stored_path
    # The ledger says the import changed the person (a duplicate updated).
    session.add(ImportChange(job_id=job_id, table_name="client", record_id=client.id,
                             field="phone", old_value=json.dumps(number),
                             new_value=json.dumps("+70000000000")))
    session.commit()
    as_role("admin").post(f"/erasure/client/{client.id}")
    session.expire_all()
    assert not os.path.exists(stored)
    assert session.get(ImportJob, job_id).files_removed_at is not None
    assert session.scalar(select(ImportChange.old_value).where(
        ImportChange.job_id == job_id, ImportChange.record_id == client.id)) is None
    session.rollback()


def test_notifications_naming_the_person_lose_the_name(as_role, session):
    manager = employee_id(session, "manager")
    surname = _word()
    full = f"{surname} Мария Ивановна"
    client = Client(kind=ClientKind.PERSON, name=full, last_name=surname)
    session.add(client)
    session.commit()
    texts = {"named": f"Перезвонить: {full}, просила утром",
             "surname": f"Другой {surname} звонил",
             "longer": f"Письмо от {full}ой"}
    notices = {key: Notification(user_id=manager, text=value, link="/stats/")
               for key, value in texts.items()}
    session.add_all(notices.values())
    session.commit()
    ids = {key: n.id for key, n in notices.items()}
    as_role("admin").post(f"/erasure/client/{client.id}")
    session.expire_all()
    after = {key: session.get(Notification, pk).text for key, pk in ids.items()}
    assert after["named"] == f"Перезвонить: Субъект №{client.id}, просила утром"
    # A surname alone names other people too; a longer word is another name.
    assert after["surname"] == texts["surname"] and after["longer"] == texts["longer"]
    assert session.get(Notification, ids["named"]).link == "/stats/"
    session.rollback()


def test_the_import_ledger_of_a_record_is_read_by_its_index(session):
    if session.get_bind().dialect.name != "sqlite":
        names = session.scalars(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'import_change' "
            "AND schemaname = current_schema()")).all()
        assert "ix_import_change_table_record" in names
        return
    query = select(ImportChange.job_id).where(
        ImportChange.table_name.in_(("client", "custom:client")), ImportChange.record_id == 7)
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    session.rollback()
    assert any("USING INDEX ix_import_change_table_record" in step for step in plan), plan


def test_an_import_whose_file_went_for_personal_data_says_so(as_role, session):
    job_id = queued_import(session, "\n".join([ALMA, _alma(_word(), phone())]) + "\n")
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
        status="checked", files_removed_at=datetime.datetime.now(),
        report=json.dumps({"total": 1, "files_erased": True})))
    session.commit()
    admin = as_role("admin")
    response = admin.post(f"/import/job/{job_id}/run").text
    assert "в нём были персональные данные лица, чьи данные удалены" in response
    assert "дн. после импорта" not in response and "import-files-removed" in response
    session.expire_all()
    assert session.get(ImportJob, job_id).status == "checked"
    session.rollback()
