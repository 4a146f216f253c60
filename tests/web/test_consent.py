"""Consent to the processing of personal data on a person client, a contact
person and a lead: set and withdrawn through the forms, shown on the
record page, kept in the history; a withdrawal without a consent date is
refused; a web form may require the visitor's consent and the lead keeps
it; the CSV import takes a consent column."""
import datetime
import json

from sqlalchemy import select

from app.models import (
    Client,
    ClientKind,
    ConsentForm,
    ContactPerson,
    HistoryEntry,
    Lead,
    WebForm,
)
from app.services import webforms
from tests.conftest import employee, employee_id, jwt_headers, unique, with_history
from tests.import_screens import job, job_id_of, mapping_form, phone, run, upload

REFUSED = "Нельзя отозвать согласие, если не указана дата, когда оно было дано"


def _client(session, owner="manager", **fields):
    fields.setdefault("name", unique("Согласнов"))
    client = Client(kind=ClientKind.PERSON, responsible_id=employee_id(session, owner),
                    **fields)
    session.add(client)
    session.commit()
    return client


def _client_form(session, client, **fields):
    # A browser posts the drop-down's empty choice.
    return {"kind": "person", "name": client.name, "public_access": "private",
            "responsible": str(client.responsible_id), "consent_form": "", **fields}


def test_manager_sets_and_withdraws_the_consent_of_own_client(as_role, session):
    client = _client(session)
    manager = as_role("manager")
    manager.post(f"/clients/edit/{client.id}", _client_form(
        session, client, consent_date="01.02.2026", consent_form="written",
        consent_purpose="Оформление займа"))
    session.expire_all()
    stored = session.get(Client, client.id)
    assert stored.consent_date == datetime.date(2026, 2, 1)
    assert stored.consent_form is ConsentForm.WRITTEN
    assert stored.consent_purpose == "Оформление займа" and stored.consent_withdrawn is None
    page = with_history(manager, f"/clients/show/{client.id}")
    assert "Согласие на обработку персональных данных" in page
    assert "01.02.2026" in page and "Письменное" in page and "Оформление займа" in page
    assert "written" not in page.split('id="history"')[0]
    history_part = page.split('id="history"')[1]
    assert "Дата согласия на обработку персональных данных" in history_part
    assert "Форма согласия" in history_part and "Письменное" in history_part
    # The edit form types the date the Russian way.
    assert 'value="01.02.2026"' in manager.get(f"/clients/edit/{client.id}").text

    manager.post(f"/clients/edit/{client.id}", _client_form(
        session, client, consent_date="01.02.2026", consent_form="written",
        consent_purpose="Оформление займа", consent_withdrawn="10.03.2026"))
    session.expire_all()
    assert session.get(Client, client.id).consent_withdrawn == datetime.date(2026, 3, 10)
    rows = session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == client.id,
        HistoryEntry.field == "consent_withdrawn")).all()
    assert [(r.old_value, r.new_value) for r in rows] == [(None, "10.03.2026")]
    session.rollback()


def test_a_withdrawal_without_a_consent_date_is_refused(as_role, session):
    client = _client(session, city="Тула")
    manager = as_role("manager")
    response = manager.post(f"/clients/edit/{client.id}", _client_form(
        session, client, city="Тверь", consent_withdrawn="10.03.2026"))
    assert REFUSED in response.text
    session.expire_all()
    stored = session.get(Client, client.id)
    assert stored.consent_withdrawn is None and stored.city == "Тула"
    response = manager.post(f"/clients/edit/{client.id}", _client_form(
        session, client, consent_date="10.03.2026", consent_withdrawn="01.03.2026"))
    assert "Согласие нельзя отозвать раньше даты" in response.text
    session.expire_all()
    assert session.get(Client, client.id).consent_date is None
    session.rollback()


def test_contact_person_and_lead_keep_their_consent(as_role, session):
    client = _client(session)
    contact = ContactPerson(client_id=client.id, name=unique("Контактов"))
    lead = Lead(title=unique("Лид"), responsible_id=client.responsible_id,
                client_id=client.id)
    session.add_all([contact, lead])
    session.commit()
    manager = as_role("manager")
    manager.post(f"/contacts/edit/{contact.id}", {
        "client": str(client.id), "name": contact.name, "consent_date": "05.01.2026",
        "consent_form": "oral", "consent_purpose": "Связь по договору"})
    manager.post(f"/leads/edit/{lead.id}", {
        "title": lead.title, "client": str(client.id), "status": "new",
        "responsible": str(client.responsible_id), "consent_date": "06.01.2026",
        "consent_form": "electronic"})
    session.expire_all()
    stored_contact, stored_lead = session.get(ContactPerson, contact.id), session.get(Lead, lead.id)
    assert stored_contact.consent_date == datetime.date(2026, 1, 5)
    assert stored_contact.consent_form is ConsentForm.ORAL
    assert stored_lead.consent_date == datetime.date(2026, 1, 6)
    assert stored_lead.consent_form is ConsentForm.ELECTRONIC
    assert "Устное или по телефону" in manager.get(f"/contacts/show/{contact.id}").text
    assert "Электронное (веб-форма)" in manager.get(f"/leads/show/{lead.id}").text
    response = manager.post(f"/contacts/edit/{contact.id}", {
        "client": str(client.id), "name": contact.name, "consent_date": "",
        "consent_form": "oral", "consent_withdrawn": "07.01.2026"})
    assert REFUSED in response.text
    session.expire_all()
    assert session.get(ContactPerson, contact.id).consent_date == datetime.date(2026, 1, 5)
    session.rollback()


def _web_form(session, **fields):
    form = WebForm(key=webforms.new_key(), name=unique("Форма"),
                   allowed_origins="https://shop.example.ru",
                   default_manager=employee(session, "manager"), **fields)
    session.add(form)
    session.commit()
    return form


def _submit(app, form, data, address):
    return app.test_client().post(
        f"/webform/{form.key}", data=json.dumps(data), content_type="application/json",
        headers={"Origin": "https://shop.example.ru"}, environ_base={"REMOTE_ADDR": address})


def test_web_form_requiring_consent_refuses_without_the_tick_and_keeps_it(app, session):
    text = "Я согласен на обработку моих персональных данных для ответа на запрос"
    form = _web_form(session, consent_required=True, consent_text=text)
    snippet = webforms.snippet(form, "https://crm.example.ru/webform/x")
    assert 'type="checkbox" name="consent"' in snippet and text in snippet
    number = phone()
    refused = _submit(app, form, {"name": "Вера", "phone": number}, "10.23.0.1")
    assert refused.status_code == 422
    assert refused.json["errors"]["consent"] == [
        "Отметьте согласие на обработку персональных данных"]
    assert session.scalars(select(Lead).where(Lead.web_form_id == form.id)).all() == []
    taken = _submit(app, form, {"name": "Вера", "phone": number, "consent": "1"}, "10.23.0.2")
    assert taken.status_code == 201, taken.json
    session.expire_all()
    [lead] = session.scalars(select(Lead).where(Lead.web_form_id == form.id)).all()
    assert lead.consent_date == datetime.date.today()
    assert lead.consent_form is ConsentForm.ELECTRONIC and lead.consent_purpose == text
    # A form that does not ask for consent stores none.
    plain = _web_form(session)
    assert _submit(app, plain, {"name": "Глеб", "phone": phone()}, "10.23.0.3").status_code \
        == 201
    [other] = session.scalars(select(Lead).where(Lead.web_form_id == plain.id)).all()
    assert other.consent_date is None and other.consent_form is None
    session.rollback()


def test_web_form_settings_need_the_consent_text(as_role, session):
    admin = as_role("admin")
    name = unique("Форма с согласием")
    response = admin.post("/web-forms/add", {
        "name": name, "is_enabled": "y", "field_name": "required", "field_phone": "required",
        "field_email": "optional", "field_company": "off", "field_inn": "off",
        "field_message": "optional", "consent_required": "y", "consent_text": ""})
    assert "Напишите текст согласия для посетителя" in response.text
    assert session.scalar(select(WebForm).where(WebForm.name == name)) is None
    admin.post("/web-forms/add", {
        "name": name, "is_enabled": "y", "field_name": "required", "field_phone": "required",
        "field_email": "optional", "field_company": "off", "field_inn": "off",
        "field_message": "optional", "consent_required": "y",
        "consent_text": "Согласен на обработку данных"})
    form = session.scalar(select(WebForm).where(WebForm.name == name))
    assert form.consent_required and form.consent_text == "Согласен на обработку данных"
    page = admin.get(f"/web-forms/show/{form.id}").text
    assert "Требовать согласие на обработку персональных данных" in page
    session.rollback()


def test_import_takes_a_consent_column(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Импортов").replace(" ", "")
    first, second, third = phone(), phone(), phone()
    body = ("Фамилия;Имя;Телефон;Согласие на обработку ПД;Форма согласия;Согласие отозвано\r\n"
            f"{surname};Анна;{first};15.01.2026;Письменное;\r\n"
            f"{surname};Борис;{second};;;\r\n"
            f"{surname};Вера;{third};;;20.01.2026\r\n")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    form = mapping_form(app, job_id)
    assert [form[f"map_{i}"] for i in range(6)] == [
        "last_name", "first_name", "phone", "consent_date", "consent_form",
        "consent_withdrawn"]
    run(admin, app, job_id, action="run", mode="good")
    done = job(app, job_id)
    assert done.created == 2 and done.error_count == 1
    assert REFUSED in " ".join(p["message"] for p in done.report_data["problems"])
    anna = session.scalar(select(Client).where(Client.phone == first))
    assert anna.consent_date == datetime.date(2026, 1, 15)
    assert anna.consent_form is ConsentForm.WRITTEN
    assert session.scalar(select(Client).where(Client.phone == second)).consent_date is None
    assert session.scalar(select(Client).where(Client.phone == third)) is None
    session.rollback()


def test_the_api_sets_consent_by_the_same_rule(app, session):

    client = _client(session)
    headers = jwt_headers(app, "manager")
    http = app.test_client()
    refused = http.put(f"/api/v1/client/{client.id}", json={"consent_withdrawn": "2026-03-01"},
                       headers=headers)
    assert refused.status_code == 422
    assert refused.json["message"]["consent_withdrawn"] == [REFUSED]
    taken = http.put(f"/api/v1/client/{client.id}", json={
        "consent_date": "2026-02-01", "consent_form": "electronic",
        "consent_purpose": "Рассылка"}, headers=headers)
    assert taken.status_code == 200, taken.json
    # Another field changed later leaves the consent as it is, and an empty
    # form of consent may be sent back.
    assert http.put(f"/api/v1/client/{client.id}", json={"city": "Омск", "consent_form": None},
                    headers=headers).status_code == 200
    session.expire_all()
    stored = session.get(Client, client.id)
    assert stored.consent_date == datetime.date(2026, 2, 1) and stored.consent_form is None
    assert stored.city == "Омск" and stored.consent_purpose == "Рассылка"
    session.rollback()
