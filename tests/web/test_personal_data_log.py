"""The personal data access log: one row per record page of a person
(client, contact person, lead), per export of a list of them, per print and
per change, none per list row and none for a company; the administrator's
«Журнал доступа к персональным данным» (others get 403) with its filters;
the job that deletes rows older than PERSONAL_DATA_LOG_DAYS; a failing
INSERT does not fail the page."""
import datetime

import pytest
from sqlalchemy import delete, func, select

from app.models import (
    AccessAction,
    Client,
    ClientKind,
    ContactPerson,
    DocumentTemplate,
    Lead,
    PersonalDataLog,
    TemplateEntity,
    utcnow,
)
from app.services import localtime, personal_data
from tests.conftest import employee_id, unique

TITLE = "Журнал доступа к персональным данным"


def _rows(session, **where):
    session.expire_all()
    query = select(PersonalDataLog).where(
        *(getattr(PersonalDataLog, k) == v for k, v in where.items()))
    found = session.scalars(query.order_by(PersonalDataLog.id)).all()
    session.rollback()
    return found


def _client(session, kind=ClientKind.PERSON, owner="manager"):
    client = Client(kind=kind, name=unique("Субъектов"),
                    responsible_id=employee_id(session, owner))
    session.add(client)
    session.commit()
    return client


@pytest.mark.parametrize("role, status", [("admin", 200), ("head", 403), ("manager", 403),
                                          ("auditor", 403)])
def test_only_the_admin_opens_the_log(as_role, role, status):
    user = as_role(role)
    response = user.get("/personal-data-log/list/", follow_redirects=True)
    assert response.status_code == status
    if status == 200:
        assert TITLE in response.text
    else:
        assert TITLE not in user.get("/").text  # nor in the menu


def test_record_pages_log_one_row_each_and_lists_none(as_role, session):
    person, company = _client(session), _client(session, ClientKind.COMPANY)
    contact = ContactPerson(client_id=company.id, name=unique("Контактов"))
    lead = Lead(title=unique("Лид"), responsible_id=person.responsible_id)
    session.add_all([contact, lead])
    session.commit()
    manager_id = employee_id(session, "manager")
    manager = as_role("manager")
    before = _rows(session)
    assert manager.get("/clients/list/").status_code == 200
    assert manager.get("/contacts/list/").status_code == 200
    assert manager.get("/leads/list/").status_code == 200
    assert len(_rows(session)) == len(before)  # no row per list row
    for url in (f"/clients/show/{person.id}", f"/clients/show/{company.id}",
                f"/contacts/show/{contact.id}", f"/leads/show/{lead.id}"):
        page = manager.get(url)
        assert page.status_code == 200
        page.close()  # the row is written once the page has gone
    assert [(r.entity, r.entity_id, r.user_id) for r in _rows(
        session, action=AccessAction.VIEW) if r.id > (before[-1].id if before else 0)] == [
        ("client", person.id, manager_id), ("contact", contact.id, manager_id),
        ("lead", lead.id, manager_id)]


def test_an_export_is_one_row_with_its_row_count(as_role, session):
    name = unique("Выгрузкин")
    for i in range(3):
        session.add(Client(kind=ClientKind.PERSON, name=f"{name} {i}",
                           responsible_id=employee_id(session, "head")))
    session.commit()
    head = as_role("head")
    before = len(_rows(session, action=AccessAction.EXPORT))
    response = head.get("/clients/export/", query_string={"_flt_2_name": name})
    body = response.get_data(as_text=True)
    assert body.count(name) == 3
    [row] = _rows(session, action=AccessAction.EXPORT)[before:]
    assert (row.entity, row.entity_id, row.rows) == ("client", None, 3)
    assert row.user_id == employee_id(session, "head")
    session.rollback()


def test_a_print_for_a_person_is_logged_and_one_for_a_company_is_not(as_role, session):
    template = DocumentTemplate(name=unique("Анкета"), entity=TemplateEntity.CLIENT,
                                body="<p>Анкета клиента</p>")
    session.add(template)
    session.commit()
    person, company = _client(session), _client(session, ClientKind.COMPANY)
    manager = as_role("manager")
    for client in (person, company):
        response = manager.post(f"/documents/print/client/{client.id}",
                                {"template": str(template.id)}, follow=False)
        assert response.mimetype == "application/pdf", response.text[:1000]
    assert [(r.entity, r.entity_id) for r in _rows(session, action=AccessAction.PRINT)
            if r.entity_id in (person.id, company.id)] == [("client", person.id)]


def test_a_change_is_one_row_per_record(as_role, session):
    person, company = _client(session), _client(session, ClientKind.COMPANY)
    # Made here, by no signed-in user: the creation is a change of its own.
    [created] = [r for r in _rows(session, action=AccessAction.CHANGE)
                 if r.entity == "client" and r.entity_id in (person.id, company.id)]
    assert (created.entity_id, created.user_id) == (person.id, None)
    manager = as_role("manager")
    for client in (person, company):
        manager.post(f"/clients/edit/{client.id}", {
            "kind": client.kind.value, "name": client.name, "public_access": "private",
            "responsible": str(client.responsible_id), "city": "Тверь", "phone": "",
            "consent_form": ""})
    session.expire_all()
    assert session.get(Client, person.id).city == "Тверь"
    changes = [r for r in _rows(session, action=AccessAction.CHANGE)
               if r.entity == "client" and r.entity_id in (person.id, company.id)]
    assert [(r.entity_id, r.user_id) for r in changes] == [
        (person.id, None), (person.id, employee_id(session, "manager"))]


def test_the_admin_filters_the_log(app, as_role, session):
    person = _client(session)
    head_id, manager_id = employee_id(session, "head"), employee_id(session, "manager")
    long_ago = utcnow() - datetime.timedelta(days=40)
    session.add_all([
        PersonalDataLog(at=long_ago, user_id=head_id, action=AccessAction.VIEW,
                        entity="client", entity_id=person.id),
        PersonalDataLog(user_id=manager_id, action=AccessAction.CHANGE, entity="client",
                        entity_id=person.id)])
    session.commit()
    admin = as_role("admin")
    page = admin.get("/personal-data-log/list/", query_string={
        "_flt_0_entity_id": str(person.id)}).text
    assert "Открыл карточку" in page and "Изменил запись" in page
    assert f'href="/clients/show/{person.id}"' in page and "Клиент" in page
    assert long_ago.strftime("%d.%m.%Y") in page or (
        long_ago + datetime.timedelta(hours=3)).strftime("%d.%m.%Y") in page
    by_action = admin.get("/personal-data-log/list/", query_string={
        "_flt_0_entity_id": str(person.id), "_flt_0_action": "change"}).text
    assert "Изменил запись" in by_action and "Открыл карточку" not in by_action
    # The list filters by the office's day, not the machine's (UTC).
    today = localtime.today(app.config["APP_TIMEZONE"]).strftime("%d.%m.%Y")
    recent = admin.get("/personal-data-log/list/", query_string={
        "_flt_0_entity_id": str(person.id), "_flt_4_at": f"{today}..{today}"}).text
    assert "Изменил запись" in recent and "Открыл карточку" not in recent
    by_user = admin.get("/personal-data-log/list/", query_string={
        "_flt_0_entity_id": str(person.id), "_flt_0_user": str(head_id)}).text
    assert "Открыл карточку" in by_user and "Изменил запись" not in by_user


def test_the_retention_job_deletes_old_rows_only(app, session):
    old = PersonalDataLog(at=utcnow() - datetime.timedelta(days=400), action=AccessAction.VIEW,
                          entity="client", entity_id=1)
    kept = PersonalDataLog(at=utcnow() - datetime.timedelta(days=300),
                           action=AccessAction.VIEW, entity="client", entity_id=1)
    session.add_all([old, kept])
    session.commit()
    old_id, kept_id = old.id, kept.id
    result = app.test_cli_runner().invoke(args=["jobs", "run", "personal-data-log"])
    assert result.exit_code == 0, result.output
    assert "access log rows removed" in result.output
    ids = set(session.scalars(select(PersonalDataLog.id).where(
        PersonalDataLog.id.in_([old_id, kept_id]))))
    assert ids == {kept_id}
    session.execute(delete(PersonalDataLog).where(PersonalDataLog.id == kept_id))
    session.commit()


def test_a_failing_log_does_not_fail_the_page(as_role, session, monkeypatch):
    person = _client(session)

    class Broken:
        def begin(self):
            raise RuntimeError("the log's table is locked")

    monkeypatch.setattr(personal_data, "viewed",
                        lambda engine, record, user_id, real=personal_data.viewed, **kw:
                        real(Broken(), record, user_id, **kw))
    manager = as_role("manager")
    response = manager.get(f"/clients/show/{person.id}")
    assert response.status_code == 200 and person.name in response.text
    response.close()
    assert session.scalar(select(func.count()).select_from(PersonalDataLog).where(
        PersonalDataLog.entity_id == person.id, PersonalDataLog.entity == "client",
        PersonalDataLog.action == AccessAction.VIEW)) == 0
