"""Erasure of a person's personal data (services/erasure.py,
views/erasure.py) and the list of persons past the retention period: only
the administrator erases or sees the list (others 403, the REST API has no
way to it); an erased person is found by no quick search, list filter,
export, REST API read or printed template; their notes' files leave the
disk and the history keeps no value; an open deal or an unpaid invoice
blocks until the admin confirms; the list holds an old quiet person and
not an active one."""
import datetime
import os
import random
import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import or_, select, text, update

from app.models import (
    AccessAction,
    Client,
    ClientKind,
    ConsentForm,
    ContactPerson,
    CounterpartyAction,
    Deal,
    DealStatus,
    HistoryEntry,
    Invoice,
    InvoiceStatus,
    Lead,
    Note,
    Notification,
    PersonalDataLog,
    PrintedDocument,
    Task,
    TemplateEntity,
)
from app.services import documents, erasure, search
from app.services.errors import Refused
from tests.conftest import employee, employee_id, jwt_headers

Q = "_flt_0_quick"
ROLES_REFUSED = ["head", "manager", "auditor"]
LONG_AGO = datetime.datetime(1971, 1, 1)


def _word():
    """A Cyrillic surname no other test's data holds."""
    return ("Ж" + "".join(random.choice("бвгдзклмнпрстфх") + random.choice("аоуея")
                          for _ in range(4)) + uuid.uuid4().hex[:4])


@pytest.fixture
def person(app, session):
    """A person of the manager with every kind of personal data, a lead,
    a note with a file on disk, a closed deal named after them, a printed
    document and a change in the history."""
    manager = employee_id(session, "manager")
    surname = _word()
    digits = "".join(random.choice("0123456789") for _ in range(7))
    inn = "50" + "".join(random.choice("0123456789") for _ in range(10))
    client = Client(kind=ClientKind.PERSON, name=f"{surname} Иван Петрович", last_name=surname,
                    first_name="Иван", middle_name="Петрович",
                    birth_date=datetime.date(1980, 5, 17), passport_series="4510",
                    passport_number=digits[:6], passport_issued_by=f"ОВД {surname}",
                    inn=inn, phone=f"+7916{digits}", email=f"{surname.lower()}@example.com",
                    address=f"ул. {surname}, 1", comments=f"Любит {surname}",
                    responsible_id=manager, consent_date=datetime.date(2024, 1, 10),
                    consent_form=ConsentForm.WRITTEN, consent_purpose="Кредитование")
    session.add(client)
    session.flush()
    hex_name = uuid.uuid4().hex
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, hex_name)
    with open(path, "wb") as fh:
        fh.write(b"passport scan")
    deal = Deal(client_id=client.id, title=f"Кредит {surname}", amount=Decimal("150000.00"),
                status=DealStatus.WON, responsible_id=manager)
    lead = Lead(title=f"Заявка {surname}", client_id=client.id, contact_name=surname,
                phone=client.phone, email=client.email, responsible_id=manager)
    session.add_all([
        deal, lead,
        Note(client_id=client.id, text=f"Звонил {surname}, паспорт", author_id=manager,
             file=f"{hex_name}_sep_паспорт.pdf"),
        Task(client_id=client.id, description=f"Позвонить {surname}", assignee_id=manager,
             author_id=manager),
        PrintedDocument(template_name="Договор", entity=TemplateEntity.CLIENT,
                        entity_id=client.id, client_id=client.id, file_name="d.pdf",
                        content=b"%PDF " + surname.encode()),
    ])
    session.commit()
    task_id = session.scalar(select(Task.id).where(Task.client_id == client.id))
    session.add_all([
        Notification(user_id=manager, text=f"Новый лид с сайта: {surname}",
                     link=f"/leads/show/{lead.id}"),
        Notification(user_id=manager, text=f"Напоминание: позвонить {surname}",
                     link=f"/tasks/work/{task_id}"),
        Notification(user_id=manager, text=f"Другое {surname}", link="/stats/")])
    client.phone2 = f"+7925{digits}"  # a change: the history keeps old -> new
    session.commit()
    return {"id": client.id, "surname": surname, "digits": digits, "inn": inn,
            "email": client.email, "path": path, "deal": deal.id, "lead": lead.id}


def _found(user, path, typed):
    return set(map(int, re.findall(r"/show/(\d+)", user.get(path, query_string={Q: typed}).text)))


def _by_name(user, typed):
    """The clients the list's filter «Название содержит» finds."""
    page = user.get("/clients/list/", query_string={"_flt_2_name": typed}).text
    return set(map(int, re.findall(r"/clients/show/(\d+)", page)))


def _texts(session, person):
    """Every history value of the person's rows."""
    session.expire_all()
    rows = session.execute(select(HistoryEntry.old_value, HistoryEntry.new_value).where(
        or_(HistoryEntry.client_id == person["id"],
            (HistoryEntry.entity == "lead") & (HistoryEntry.entity_id == person["lead"])))).all()
    session.rollback()
    return " ".join(str(v) for row in rows for v in row if v)


@pytest.mark.parametrize("role", ROLES_REFUSED)
def test_only_the_admin_may_erase_or_see_the_retention_list(as_role, session, person, role):
    user = as_role(role)
    for url in (f"/erasure/client/{person['id']}", "/erasure/retention/"):
        assert user.get(url, follow_redirects=True).status_code == 403
    assert user.post(f"/erasure/client/{person['id']}", {"confirm": "1"}).status_code == 403
    assert "Истёк срок хранения" not in user.get("/", follow_redirects=True).text
    page = user.get(f"/clients/show/{person['id']}").text
    assert "Удалить персональные данные" not in page
    session.expire_all()
    assert session.get(Client, person["id"]).last_name == person["surname"]


def test_the_admin_sees_the_button_the_page_and_the_menu(as_role, person):
    admin = as_role("admin")
    assert "Истёк срок хранения" in admin.get("/", follow_redirects=True).text
    page = admin.get(f"/clients/show/{person['id']}").text
    assert f"/erasure/client/{person['id']}" in page
    assert f"/erasure/lead/{person['lead']}" in admin.get(f"/leads/show/{person['lead']}").text
    confirm = admin.get(f"/erasure/client/{person['id']}")
    assert confirm.status_code == 200
    assert f"Субъект №{person['id']}" in confirm.text
    assert "Отменить это нельзя" in confirm.text
    assert 'name="confirm"' not in confirm.text  # nothing blocks: no box to tick


def test_the_api_has_no_way_to_erase(app, session, person):
    http, headers = app.test_client(), jwt_headers(app, "admin")
    for method in (http.get, http.post):
        response = method(f"/erasure/client/{person['id']}", headers=headers)
        assert response.status_code in (302, 400, 401, 403)  # a token is no sign-in
    spec = app.test_client().get("/api/v1/_openapi", headers=headers)
    assert "erase" not in spec.text.lower()
    session.expire_all()
    assert session.get(Client, person["id"]).erased_at is None


def test_an_erased_person_is_found_nowhere(app, as_role, session, person, database_url):
    admin = as_role("admin")
    surname, client_id = person["surname"], person["id"]
    assert client_id in _found(admin, "/clients/list/", surname)  # found before
    assert client_id in _by_name(admin, surname)
    response = admin.post(f"/erasure/client/{client_id}")
    assert "Персональные данные удалены" in response.text
    subject = f"Субъект №{client_id}"
    for typed in (surname, surname.lower(), person["digits"], f"8916{person['digits']}",
                  person["email"], person["inn"]):
        assert client_id not in _found(admin, "/clients/list/", typed), typed
        for path in ("/leads/list/", "/notes/list/", "/deals/list/", "/tasks/list/"):
            assert not _found(admin, path, typed), (path, typed)
    assert client_id in _found(admin, "/clients/list/", subject)
    assert client_id not in _by_name(admin, surname)
    if database_url.startswith("postgresql"):
        # The registers' copies of the client's words (migration 0036) too.
        for table in search.CLIENT_WORDS_TABLES:
            kept = session.execute(text(
                f"SELECT {search.CLIENT_WORDS} FROM {table} WHERE client_id = :c"),
                {"c": client_id}).scalars().all()
            assert not any(surname.lower() in (w or "") or person["digits"] in (w or "")
                           for w in kept), table
    export = admin.get(f"/clients/export/?{Q}={surname}").data.decode("utf-8-sig")
    assert surname not in export and len(export.strip().splitlines()) == 1  # the header
    export = admin.get(f"/leads/export/?{Q}={surname}").data.decode("utf-8-sig")
    assert surname not in export
    # The REST API reads the anonymised record and finds nothing by the name.
    http, headers = app.test_client(), jwt_headers(app, "admin")
    shown = http.get(f"/api/v1/client/{client_id}", headers=headers).json["result"]
    assert shown["name"] == subject
    assert not any(surname in str(v) or person["digits"] in str(v) for v in shown.values())
    listed = http.get(f"/api/v1/client/?q=(filters:!((col:name,opr:ct,value:'{surname}')))",
                      headers=headers).json
    assert listed["count"] == 0
    lead = http.get(f"/api/v1/lead/{person['lead']}", headers=headers).json["result"]
    assert surname not in str(lead)
    # A printed template has nothing of the person either.
    session.expire_all()
    client = session.get(Client, client_id)
    context = documents.build_context(session, "client", client, employee(session, "admin"))
    html = documents.render_html(
        "{{ client.name }} {{ client.passport_number }} {{ client.phone }} "
        "{{ client.address }} {{ client.birth_date }}", context)
    assert surname not in html and person["digits"][:6] not in html and "1980" not in html
    assert subject in html
    session.rollback()


def test_erasure_clears_data_files_and_history_and_keeps_the_figures(app, as_role, session,
                                                                     person):
    admin_id = employee_id(session, "admin")
    assert os.path.exists(person["path"])
    assert person["surname"] in _texts(session, person)
    assert person["digits"] in _texts(session, person)
    as_role("admin").post(f"/erasure/client/{person['id']}")
    session.expire_all()
    client = session.get(Client, person["id"])
    assert client.name == f"Субъект №{client.id}"
    for field in erasure.CLIENT_FIELDS:
        assert getattr(client, field) is None, field
    assert client.erased_at is not None and client.mailing_opt_out
    # The consent stays: the proof of the processing before.
    assert (client.consent_date, client.consent_form) == (datetime.date(2024, 1, 10),
                                                          ConsentForm.WRITTEN)
    assert not os.path.exists(person["path"])
    note = session.scalar(select(Note).where(Note.client_id == client.id))
    assert note.file is None and person["surname"] not in note.text
    task = session.scalar(select(Task).where(Task.client_id == client.id))
    assert task.description is None
    deal = session.get(Deal, person["deal"])
    assert (deal.amount, deal.status) == (Decimal("150000.00"), DealStatus.WON)
    assert person["surname"] not in deal.title
    lead = session.get(Lead, person["lead"])
    assert lead.contact_name == f"Субъект №{lead.id}" and lead.phone is None
    assert session.scalar(select(PrintedDocument).where(
        PrintedDocument.client_id == client.id)) is None
    texts = _texts(session, person)
    assert person["surname"] not in texts and person["digits"] not in texts
    assert person["email"] not in texts
    notices = session.scalars(select(Notification.text).where(
        Notification.text.contains(person["surname"]))).all()
    assert notices == [f"Другое {person['surname']}"]  # linked elsewhere: not the person's
    assert session.scalar(select(Notification.text).where(
        Notification.link == f"/leads/show/{lead.id}")) == (
        f"Субъект №{lead.id}: персональные данные удалены")
    logged = session.scalars(select(PersonalDataLog).where(
        PersonalDataLog.action == AccessAction.ERASE,
        PersonalDataLog.entity_id.in_([client.id, lead.id]))).all()
    assert {(r.entity, r.entity_id, r.user_id) for r in logged} == {
        ("client", client.id, admin_id), ("lead", lead.id, admin_id)}
    session.rollback()
    page = as_role("admin").get(f"/clients/show/{client.id}").text
    assert "персональные данные удалены" in page  # the history's row of the erasure


def test_open_deal_and_unpaid_invoice_block_until_confirmed(as_role, session, person):
    manager = employee_id(session, "manager")
    deal = Deal(client_id=person["id"], title="Открытая сделка", amount=Decimal("10"),
                status=DealStatus.OPEN, responsible_id=manager)
    invoice = Invoice(client_id=person["id"], number=uuid.uuid4().hex[:12],
                      status=InvoiceStatus.ISSUED, responsible_id=manager)
    session.add_all([deal, invoice])
    session.commit()
    admin = as_role("admin")
    page = admin.get(f"/erasure/client/{person['id']}").text
    assert "Открытая сделка" in page and invoice.number in page and 'name="confirm"' in page
    refused = admin.post(f"/erasure/client/{person['id']}")
    assert "подтвердите удаление" in refused.text and "Открытая сделка" in refused.text
    session.expire_all()
    assert session.get(Client, person["id"]).last_name == person["surname"]
    assert os.path.exists(person["path"])
    admin.post(f"/erasure/client/{person['id']}", {"confirm": "1"})
    session.expire_all()
    client = session.get(Client, person["id"])
    assert client.last_name is None and client.erased_at is not None
    assert session.get(Deal, deal.id).status == DealStatus.OPEN  # kept
    assert not os.path.exists(person["path"])


def test_the_service_refuses_a_company_and_blocks_without_confirmation(app, session, person):
    company = Client(kind=ClientKind.COMPANY, name="ООО «Ромашка»")
    session.add(company)
    session.commit()
    with pytest.raises(Refused):
        erasure.erase(session, Client, company.id)
    deal = Deal(client_id=person["id"], title="Открытая", status=DealStatus.OPEN)
    session.add(deal)
    session.commit()
    with pytest.raises(erasure.Blocked) as refused:
        erasure.erase(session, Client, person["id"])
    assert [(b["kind"], b["id"]) for b in refused.value.blockers] == [("deal", deal.id)]
    assert session.get(Client, person["id"]).erased_at is None
    files = erasure.erase(session, Client, person["id"], confirmed=True)
    session.commit()
    assert session.get(Client, person["id"]).erased_at is not None
    assert os.path.exists(person["path"])  # until the caller has committed and asks
    assert erasure.remove_files(app.config["UPLOAD_FOLDER"], files) == 1
    assert not os.path.exists(person["path"])


def test_a_contact_person_and_a_lead_are_erased_alone(as_role, session):
    company = Client(kind=ClientKind.COMPANY, name=f"ООО {_word()}")
    session.add(company)
    session.flush()
    surname = _word()
    contact = ContactPerson(client_id=company.id, name=f"{surname} Анна", phone="+79161112233",
                            email=f"{surname.lower()}@example.com", position="Бухгалтер")
    lead = Lead(title=f"Лид {surname}", contact_name=f"{surname} Олег", phone="+79164445566")
    session.add_all([contact, lead])
    session.flush()
    session.add(CounterpartyAction(client_id=company.id, contact_id=contact.id,
                                   result=f"Говорил с {surname}"))
    session.commit()
    contact.phone = "+79160000000"
    session.commit()
    admin = as_role("admin")
    refused = admin.get(f"/erasure/client/{company.id}", follow_redirects=True).text
    assert "Удалить можно только персональные данные физического лица" in refused
    admin.post(f"/erasure/contact/{contact.id}")
    admin.post(f"/erasure/lead/{lead.id}")
    session.expire_all()
    contact, lead = session.get(ContactPerson, contact.id), session.get(Lead, lead.id)
    assert (contact.name, contact.phone, contact.email) == (f"Субъект №{contact.id}", None, None)
    assert (lead.title, lead.contact_name, lead.phone) == (
        f"Субъект №{lead.id}", f"Субъект №{lead.id}", None)
    assert session.get(Client, company.id).name.startswith("ООО")  # the company stays
    assert session.scalar(select(CounterpartyAction.result).where(
        CounterpartyAction.contact_id == contact.id)) is None
    texts = session.scalars(select(HistoryEntry.old_value).where(
        HistoryEntry.entity.in_(["contact", "lead"]),
        HistoryEntry.entity_id.in_([contact.id, lead.id]))).all()
    assert not any(t and (surname in t or "1112233" in t) for t in texts)
    assert not _found(admin, "/contacts/list/", surname)
    assert not _found(admin, "/leads/list/", surname)
    session.rollback()


def _quiet(session, client_id, when=LONG_AGO):
    """Back-date the client and everything of it: no activity since ``when``."""
    session.execute(update(Client).where(Client.id == client_id)
                    .values(created_at=when, updated_at=when))
    session.execute(update(HistoryEntry).where(HistoryEntry.client_id == client_id)
                    .values(at=when))
    session.commit()


def test_retention_lists_an_old_quiet_person_and_not_an_active_one(as_role, session):
    manager = employee_id(session, "manager")
    quiet, active, noted, company = (
        Client(kind=kind, name=f"{_word()} {label}", responsible_id=manager)
        for kind, label in ((ClientKind.PERSON, "тихий"), (ClientKind.PERSON, "активный"),
                            (ClientKind.SOLE_PROPRIETOR, "с заметкой"),
                            (ClientKind.COMPANY, "компания")))
    session.add_all([quiet, active, noted, company])
    session.commit()
    ids = [c.id for c in (quiet, active, noted, company)]
    for client_id in ids:
        _quiet(session, client_id)
    # The active one got a task planned last week; the other one a note today.
    session.add_all([
        Task(client_id=ids[1], assignee_id=manager, author_id=manager,
             planned_at=datetime.datetime.now() - datetime.timedelta(days=7),
             created_at=LONG_AGO),
        Note(client_id=ids[2], text="Позвонил", author_id=manager)])
    session.commit()
    session.execute(update(HistoryEntry).where(HistoryEntry.client_id == ids[1])
                    .values(at=LONG_AGO))
    session.commit()
    listed = set(session.scalars(select(Client.id).where(
        Client.id.in_(ids), erasure.expired_condition(1095))))
    assert listed == {ids[0]}
    admin = as_role("admin")
    page = admin.get("/erasure/retention/")
    assert page.status_code == 200 and "Истёк срок хранения" in page.text
    assert f"/erasure/client/{ids[0]}" in page.text
    for other in ids[1:]:
        assert f"/erasure/client/{other}\"" not in page.text
    assert "01.01.1971" in page.text
    # Erased, the person leaves the list.
    admin.post(f"/erasure/client/{ids[0]}")
    assert f"/erasure/client/{ids[0]}\"" not in admin.get("/erasure/retention/").text


def test_retention_setting_decides_the_period(app, session):
    client = Client(kind=ClientKind.PERSON, name=f"{_word()} недавний")
    session.add(client)
    session.commit()
    ten_days_ago = datetime.datetime.now() - datetime.timedelta(days=10)
    _quiet(session, client.id, ten_days_ago)
    assert app.config["PERSONAL_DATA_RETENTION_DAYS"] == 1095

    def listed(days):
        return session.scalar(select(Client.id).where(
            Client.id == client.id, erasure.expired_condition(days))) is not None

    assert not listed(1095) and listed(5)


def test_the_retention_query_walks_indexes_only(session):
    """SQLite's plan: the clients by the index of their last change, and one
    index probe per kind of activity (no table scanned). PostgreSQL's
    planner chooses by the table's size: its plan is left to it."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    query = (select(Client.id).where(erasure.expired_condition(1095))
             .order_by(Client.updated_at, Client.id).limit(50))
    sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = [row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    session.rollback()
    assert "SEARCH client USING INDEX ix_client_updated_id (updated_at<?)" in plan
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert len([step for step in plan if step.startswith("SEARCH")]) == 9


def test_custom_values_and_their_history_go(as_role, session, person, define):
    from app.models import CustomValue
    from app.services import custom_fields

    field = define(label_ru="СНИЛС субъекта", code="snils_erasure")
    definition = next(f for f in custom_fields.fields_of(session, "client", active=False)
                      if f.code == field.code)
    for value in ("123-456-789 00", f"987-654-321 {person['digits'][:2]}"):
        custom_fields.write(session, "client", {person["id"]: {definition: value}},
                            {person["id"]: person["id"]})
        session.commit()
    written = session.scalars(select(HistoryEntry.old_value).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == person["id"],
        HistoryEntry.field == field.label_ru)).all()
    assert "123-456-789 00" in written
    as_role("admin").post(f"/erasure/client/{person['id']}")
    session.expire_all()
    assert session.scalar(select(CustomValue).where(
        CustomValue.field_id == field.id, CustomValue.record_id == person["id"])) is None
    kept = session.execute(select(HistoryEntry.old_value, HistoryEntry.new_value).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == person["id"],
        HistoryEntry.field == field.label_ru)).all()
    assert kept and all(row == (None, None) for row in kept)
    session.rollback()


def test_retention_lists_an_old_quiet_lead_without_a_client(as_role, session):
    manager = employee_id(session, "manager")
    surname = _word()
    quiet, active, of_client = (Lead(title=f"Лид {surname} {n}", contact_name=f"{surname} {n}",
                                     responsible_id=manager) for n in ("1", "2", "3"))
    client = Client(kind=ClientKind.PERSON, name=f"{surname} клиент")
    session.add_all([quiet, active, of_client, client])
    session.flush()
    of_client.client_id = client.id
    session.commit()
    ids = [quiet.id, active.id, of_client.id]
    session.execute(update(Lead).where(Lead.id.in_(ids))
                    .values(created_at=LONG_AGO, updated_at=LONG_AGO))
    session.execute(update(HistoryEntry).where(HistoryEntry.entity == "lead",
                                               HistoryEntry.entity_id.in_(ids))
                    .values(at=LONG_AGO))
    session.add(CounterpartyAction(lead_id=active.id, responsible_id=manager,
                                   planned_at=datetime.datetime.now()))
    session.commit()
    listed = set(session.scalars(select(Lead.id).where(
        Lead.id.in_(ids), erasure.expired_condition(1095, model=Lead))))
    assert listed == {quiet.id}
    page = as_role("admin").get("/erasure/retention/").text
    assert f"/erasure/lead/{quiet.id}\"" in page and f"{surname} 1" in page
    assert f"/erasure/lead/{active.id}\"" not in page
    assert f"/erasure/lead/{of_client.id}\"" not in page
    assert "Лиды без клиента" in page
