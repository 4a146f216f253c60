"""Web-to-lead form: settings screen and snippet, the public endpoint's
validation, honeypot, size limit, CORS, rate limit and switches, and the
round-robin routing of the leads."""
import itertools
import json

import pytest
from sqlalchemy import func, select

from app.models import (
    Client,
    ClientOrigin,
    FieldMode,
    Lead,
    MarketSegment,
    WebForm,
)
from app.services import assignment, webforms
from tests.conftest import employee, unique

SITE = "https://shop.example.ru"
_addresses = itertools.count(1)


def _address():
    """Each test posts from its own address: the rate limit is per address."""
    n = next(_addresses)
    return f"10.9.{n // 250}.{n % 250 + 1}"


def _form(session, **fields):
    fields.setdefault("name", unique("Форма"))
    fields.setdefault("allowed_origins", SITE)
    fields.setdefault("default_manager", employee(session, "manager"))
    form = WebForm(key=webforms.new_key(), **fields)
    session.add(form)
    session.commit()
    return form


def _leads(session, form):
    session.expire_all()
    return session.scalars(select(Lead).where(Lead.web_form_id == form.id)).all()


def _post(app, form, data=None, as_json=True, origin=SITE, address=None, **kw):
    http = app.test_client()
    headers = {"Origin": origin} if origin else {}
    environ = {"REMOTE_ADDR": address or _address()}
    if as_json:
        return http.post(f"/webform/{form.key}", data=json.dumps(data or {}),
                         content_type="application/json", headers=headers,
                         environ_base=environ, **kw)
    return http.post(f"/webform/{form.key}", data=data or {}, headers=headers,
                     environ_base=environ, **kw)


def test_valid_json_submission_creates_a_lead_for_the_default_manager(app, session):
    form = _form(session)
    response = _post(app, form, {"name": "Анна", "phone": "8 916 123-45-67",
                                 "email": "Anna@Example.com", "message": "Перезвоните"})
    assert response.status_code == 201 and response.json["ok"] is True
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    [lead] = _leads(session, form)
    assert lead.contact_name == "Анна" and lead.phone == "+79161234567"
    assert lead.email == "anna@example.com" and lead.comment == "Перезвоните"
    assert lead.responsible.username == "manager"
    assert lead.origin is not None and lead.origin.name == "Сайт"
    assert lead.title.startswith(form.name)
    from app.models import Notification

    [note] = session.scalars(select(Notification).where(
        Notification.key == f"lead:{lead.id}")).all()
    assert note.user_id == lead.responsible_id and note.link == f"/leads/show/{lead.id}"
    assert note.text.startswith("Новый лид с сайта") and "Анна" in note.text


def test_form_encoded_submission_without_script_gets_a_page(app, session):
    form = _form(session)
    response = _post(app, form, {"name": "Борис", "phone": "+79161234568"}, as_json=False)
    assert response.status_code == 201 and "text/html" in response.content_type
    assert "Спасибо" in response.text
    assert len(_leads(session, form)) == 1


def test_invalid_submission_gets_per_field_errors_and_creates_nothing(app, session):
    form = _form(session, field_company=FieldMode.REQUIRED, field_inn=FieldMode.OPTIONAL)
    response = _post(app, form, {"name": "", "phone": "12", "email": "не почта",
                                 "inn": "1234567890", "company": "x" * 300})
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {"name", "phone", "email", "inn", "company"}
    assert errors["name"] == ["Заполните это поле"]
    assert "Не более 255 символов" in errors["company"]
    assert _leads(session, form) == []
    response = _post(app, form, {"name": "Нет связи", "company": "ООО"},
                     address=_address())
    assert response.status_code == 422 and "phone" in response.json["errors"]
    response = _post(app, form, ["не", "объект"])
    assert response.status_code == 400
    assert _leads(session, form) == []


def test_honeypot_is_answered_politely_and_creates_nothing(app, session):
    form = _form(session)
    response = _post(app, form, {"name": "Бот", "phone": "+79161234569",
                                 webforms.HONEYPOT: "http://spam.example"})
    assert response.status_code == 201
    assert _leads(session, form) == []


def test_too_large_a_body_is_refused(app, session):
    form = _form(session)
    response = _post(app, form, {"name": "Длинный", "phone": "+79161234570",
                                 "message": "я" * 20000})
    assert response.status_code == 413
    assert _leads(session, form) == []


def test_cors_preflight_and_posts_from_other_sites(app, session):
    form = _form(session)
    http = app.test_client()
    ok = http.options(f"/webform/{form.key}", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    bad = http.options(f"/webform/{form.key}", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert bad.status_code == 403 and "Access-Control-Allow-Origin" not in bad.headers
    response = _post(app, form, {"name": "Чужой", "phone": "+79161234571"},
                     origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert _leads(session, form) == []
    # A server posting without an Origin header (the site's own back end).
    assert _post(app, form, {"name": "Сервер", "phone": "+79161234572"},
                 origin=None).status_code == 201


def test_switched_off_form_and_unknown_key(app, session):
    form = _form(session, is_enabled=False)
    response = _post(app, form, {"name": "Выкл", "phone": "+79161234573"})
    assert response.status_code == 403 and _leads(session, form) == []
    assert app.test_client().post("/webform/nope", json={}).status_code == 404
    on = _form(session)
    app.config["WEBFORMS_ENABLED"] = False
    try:
        assert _post(app, on, {"name": "Всё выкл", "phone": "+79161234574"}).status_code == 404
    finally:
        app.config["WEBFORMS_ENABLED"] = True
    assert _leads(session, on) == []


def test_rate_limit_per_address(app, session):
    form = _form(session)
    address = _address()
    limit = app.config["WEBFORM_RATE_LIMIT"]
    app.config["WEBFORM_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [_post(app, form, {"name": f"Поток {i}", "phone": f"+7916123460{i}"},
                       address=address).status_code for i in range(4)]
        other = _post(app, form, {"name": "Другой", "phone": "+79161234609"})
    finally:
        app.config["WEBFORM_RATE_LIMIT"] = limit
    assert codes[:2] == [201, 201] and codes[2:] == [429, 429]
    assert other.status_code == 201
    assert len(_leads(session, form)) == 3


def test_csrf_still_guards_every_other_post(app):
    http = app.test_client()
    assert http.post("/login/", data={"username": "admin", "password": "x"}).status_code == 400


# --- round-robin ------------------------------------------------------------------


def _segment(session, *usernames):
    segment = MarketSegment(name=unique("Сегмент"),
                            managers=[employee(session, u) for u in usernames])
    session.add(segment)
    session.commit()
    return segment


def test_round_robin_over_the_segment_managers(session):
    segment = _segment(session, "manager", "head")
    ids = sorted(employee(session, u).id for u in ("manager", "head"))
    turns = [assignment.next_manager(session, segment) for _ in range(5)]
    session.commit()
    assert turns == [ids[0], ids[1], ids[0], ids[1], ids[0]]
    assert assignment.next_manager(session, _segment(session)) is None


def test_web_leads_go_round_robin_to_the_segment_managers(app, session):
    segment = _segment(session, "manager", "head")
    form = _form(session, segment=segment)
    for i in range(4):
        assert _post(app, form, {"name": f"Круг {i}", "phone": f"+7916555000{i}"}
                     ).status_code == 201
    owners = [lead.responsible.username for lead in
              sorted(_leads(session, form), key=lambda lead: lead.id)]
    assert owners[0] != owners[1] and owners[:2] == owners[2:]
    assert {lead.segment_id for lead in _leads(session, form)} == {segment.id}


def test_a_known_client_brings_its_segment(app, session):
    own_segment = _segment(session, "head")
    client = Client(name=unique("Известный"), phone="+79165550100", segment=own_segment)
    session.add(client)
    session.commit()
    form = _form(session, segment=_segment(session, "manager"))
    assert _post(app, form, {"name": "Снова я", "phone": "+7 916 555-01-00"}
                 ).status_code == 201
    [lead] = _leads(session, form)
    assert lead.client_id == client.id and lead.responsible.username == "head"


def test_new_client_of_a_segment_goes_to_its_manager(as_role, session):
    segment = _segment(session, "manager")
    name = unique("Сегментный")
    as_role("head").post("/clients/add", {"kind": "person", "name": name,
                                          "segment": segment.id, "public_access": "private"})
    client = session.scalar(select(Client).where(Client.name == name))
    assert client is not None and client.responsible.username == "manager"


# --- the admin's screen ----------------------------------------------------------


def test_admin_creates_a_form_and_gets_a_snippet(as_role, session):
    admin = as_role("admin")
    name = unique("Сайт")
    admin.post("/web-forms/add", {
        "name": name, "is_enabled": "y", "heading": "Напишите нам",
        "field_name": "required", "field_phone": "required", "field_email": "optional",
        "field_company": "off", "field_inn": "off", "field_message": "optional",
        "allowed_origins": SITE + "/", "default_manager": employee(session, "manager").id})
    form = session.scalar(select(WebForm).where(WebForm.name == name))
    assert form is not None and len(form.key) >= 20 and form.origin.name == "Сайт"
    page = admin.get(f"/web-forms/show/{form.id}").text
    assert f"/webform/{form.key}" in page and "web-form-snippet" in page
    assert webforms.HONEYPOT in page and "Напишите нам" in page
    bad = admin.post("/web-forms/add", {
        "name": unique("Плохая"), "field_name": "required", "field_phone": "off",
        "field_email": "off", "field_company": "off", "field_inn": "off",
        "field_message": "off", "allowed_origins": "not a site"})
    assert "Форма должна спрашивать телефон или e-mail" in bad.text


@pytest.mark.parametrize("role", ["head", "manager", "auditor"])
def test_only_the_admin_edits_web_forms(as_role, role):
    assert as_role(role).get("/web-forms/list/").status_code in (302, 403)


def test_origin_normalisation():
    assert webforms.normalise_origin("https://Shop.Example.ru/") == "https://shop.example.ru"
    assert webforms.normalise_origin("http://localhost:8000") == "http://localhost:8000"
    assert webforms.normalise_origin("https://x.ru:443") == "https://x.ru"
    for bad in ("shop.example.ru", "ftp://x.ru", "https://x.ru/page", "null", ""):
        assert webforms.normalise_origin(bad) is None


def test_count_sanity(session):
    assert session.scalar(select(func.count()).select_from(ClientOrigin)) >= 1
