"""A lead's own notes and tasks (note.lead_id, task.lead_id): the quick boxes
of the lead's page, the row rule of a lead's records (services/access.py)
and the links a writer may make (services/records.py) on the screens and in
the API, the «Лид» field of the note and task screens, and the conversion
that hands them to the new client and deal."""
import io
import re

import pytest
from sqlalchemy import select

from app.models import Client, Deal, Employee, Lead, Note, Task
from app.services import access, leads
from tests.conftest import employee, jwt_headers, timeline_entries, unique


def _box(page, name):
    return page.split(f'id="quick-{name}"', 1)[1].split("</form>", 1)[0]


def _lead(session, owner_id, **kw):
    lead = Lead(title=unique("Лид заметок"), responsible_id=owner_id, **kw)
    session.add(lead)
    session.commit()
    return lead


def _notes(session, lead_id):
    session.expire_all()
    return session.scalars(select(Note).where(Note.lead_id == lead_id)).all()


def _tasks(session, lead_id):
    session.expire_all()
    return session.scalars(select(Task).where(Task.lead_id == lead_id)).all()


# --- the lead's page ---------------------------------------------------------


def test_quick_note_and_task_on_a_lead_without_a_client(as_role, session, manager_id):
    lead = _lead(session, manager_id)
    manager = as_role("manager")
    page = manager.get(f"/leads/show/{lead.id}").text
    note_box, task_box = _box(page, "note"), _box(page, "task")
    assert f'name="lead" value="{lead.id}"' in note_box and 'name="client"' not in note_box
    assert f'name="lead" value="{lead.id}"' in task_box
    response = manager.post(f"/notes/quick/lead/{lead.id}", {
        "lead": lead.id, "text": "Просил прайс",
        "file": (io.BytesIO(b"scan"), "Запрос.pdf")}, follow=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/leads/show/{lead.id}#timeline")
    response = manager.post(f"/tasks/quick/lead/{lead.id}", {
        "lead": lead.id, "description": "Перезвонить лиду",
        "planned_at": "12.03.2026 11:00", "assignee": manager_id}, follow=False)
    assert response.status_code == 302
    page = manager.get(f"/leads/show/{lead.id}").text
    assert "Запись добавлена" in page
    entries = timeline_entries(page)
    note_entry = next(e for e in entries if "Просил прайс" in e)
    assert "Запрос.pdf" in note_entry and "Тестов Manager" in note_entry
    assert any("Перезвонить лиду" in e and "Запланировано: 12.03.2026 11:00" in e
               for e in entries)
    [note], [task] = _notes(session, lead.id), _tasks(session, lead.id)
    assert note.client_id is None and note.author_id == manager_id
    assert task.client_id is None and task.author_id == manager_id
    assert task.assignee_id == manager_id and task.status is not None
    # Their own pages name the lead.
    show = manager.get(f"/notes/show/{note.id}").text
    assert "Лид" in show and lead.title in show
    assert lead.title in manager.get(f"/tasks/show/{task.id}").text


def test_a_leads_quick_note_goes_to_its_client_too(as_role, session, manager_id):
    client = Client(name=unique("Клиент лида"), responsible_id=manager_id)
    session.add(client)
    session.commit()
    lead = _lead(session, manager_id, client_id=client.id)
    manager = as_role("manager")
    assert f'name="client" value="{client.id}"' in _box(
        manager.get(f"/leads/show/{lead.id}").text, "note")
    manager.post(f"/notes/quick/lead/{lead.id}",
                 {"client": client.id, "lead": lead.id, "text": "Общая заметка"})
    [note] = _notes(session, lead.id)
    assert note.client_id == client.id
    assert any("Общая заметка" in e for e in timeline_entries(
        manager.get(f"/clients/show/{client.id}").text))
    # A box that leaves the lead's client out is not this page's.
    response = manager.post(f"/notes/quick/lead/{lead.id}",
                            {"lead": lead.id, "text": "Без клиента"}, follow=False)
    assert response.status_code == 400


def test_a_box_of_another_lead_is_not_this_pages(as_role, session, manager_id):
    mine, other = _lead(session, manager_id), _lead(session, manager_id)
    response = as_role("manager").post(f"/notes/quick/lead/{mine.id}",
                                       {"lead": other.id, "text": "Не туда"}, follow=False)
    assert response.status_code == 400
    assert _notes(session, other.id) == [] and _notes(session, mine.id) == []


def test_refused_quick_task_shows_the_lead_page_with_what_was_typed(as_role, session,
                                                                    manager_id):
    lead = _lead(session, manager_id)
    page = as_role("manager").post(f"/tasks/quick/lead/{lead.id}", {
        "lead": lead.id, "description": "Лиду позже", "planned_at": "31.02.2026 10:00",
        "assignee": manager_id}).text
    assert "Не сохранено: Запланировано:" in page and lead.title in page
    assert "Лиду позже" in _box(page, "task")
    assert _tasks(session, lead.id) == []


def test_manager_cannot_post_on_a_colleagues_private_lead(as_role, session, other_manager):
    lead = _lead(session, other_manager)
    manager = as_role("manager")
    for url, data in ((f"/notes/quick/lead/{lead.id}", {"text": "Чужое"}),
                      (f"/tasks/quick/lead/{lead.id}", {"description": "Чужое",
                                                        "planned_at": "10.03.2026 10:00"})):
        data["lead"] = lead.id
        assert manager.post(url, data, follow=False).status_code == 404
    assert _notes(session, lead.id) == [] and _tasks(session, lead.id) == []


def test_participant_of_a_lead_posts_and_sees_its_notes(as_role, session, other_manager,
                                                        manager_id):
    lead = _lead(session, other_manager)
    session.add(Note(lead_id=lead.id, text="Заметка коллеги", author_id=other_manager))
    session.commit()
    manager = as_role("manager")
    assert manager.get(f"/leads/show/{lead.id}", follow_redirects=True).status_code in (
        403, 404) or "Заметка коллеги" not in manager.get(f"/leads/show/{lead.id}").text
    lead.participants.append(session.get(Employee, manager_id))
    session.commit()
    page = manager.get(f"/leads/show/{lead.id}").text
    assert any("Заметка коллеги" in e for e in timeline_entries(page))
    assert 'id="quick-note"' in page
    manager.post(f"/notes/quick/lead/{lead.id}", {"lead": lead.id, "text": "Моя по лиду"})
    assert {n.text for n in _notes(session, lead.id)} == {"Заметка коллеги", "Моя по лиду"}


@pytest.mark.parametrize("username", ["head", "admin"])
def test_head_and_admin_post_on_anyones_lead(as_role, session, other_manager, username):
    lead = _lead(session, other_manager)
    user = as_role(username)
    page = user.get(f"/leads/show/{lead.id}").text
    assert 'id="quick-note"' in page and 'id="quick-task"' in page
    user.post(f"/notes/quick/lead/{lead.id}", {"lead": lead.id, "text": "От руководства"})
    assert [n.text for n in _notes(session, lead.id)] == ["От руководства"]


def test_read_only_role_sees_the_leads_timeline_but_cannot_post(as_role, session,
                                                                 manager_id):
    lead = _lead(session, manager_id)
    session.add(Note(lead_id=lead.id, text="Для аудитора", author_id=manager_id))
    session.commit()
    auditor = as_role("auditor")
    page = auditor.get(f"/leads/show/{lead.id}").text
    assert any("Для аудитора" in e for e in timeline_entries(page))
    assert 'id="quick-note"' not in page and 'id="quick-task"' not in page
    for url, data in ((f"/notes/quick/lead/{lead.id}", {"text": "Аудит"}),
                      (f"/tasks/quick/lead/{lead.id}", {"description": "Аудит",
                                                        "planned_at": "10.03.2026 10:00"})):
        data["lead"] = lead.id
        assert auditor.post(url, data, follow=False).status_code in (302, 403)
    assert [n.text for n in _notes(session, lead.id)] == ["Для аудитора"]
    assert _tasks(session, lead.id) == []


# --- the note and task screens -----------------------------------------------


def test_note_and_task_screens_have_the_lead_field(as_role, session, manager_id):
    lead = _lead(session, manager_id)
    session.add_all([Note(lead_id=lead.id, text=unique("В списке"), author_id=manager_id),
                     Task(lead_id=lead.id, description="В списке", author_id=manager_id,
                          assignee_id=manager_id)])
    session.commit()
    manager = as_role("manager")
    for url in ("/notes/add", "/tasks/add"):
        form = manager.get(url).text
        assert re.search(r'<label[^>]*for="lead"[^>]*>\s*Лид', form), url
        assert 'name="lead"' in form and 'data-url="/leads/lookup"' in form, url
    listed = manager.get("/notes/list/").text
    headers = [re.sub(r"<[^>]+>|\s+", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>",
                                                                   listed, re.S)]
    assert "Лид" in headers and lead.title in listed
    assert lead.title in manager.get("/tasks/list/").text


def test_add_form_links_a_note_and_a_task_to_ones_own_lead(as_role, session, manager_id):
    lead = _lead(session, manager_id)
    manager = as_role("manager")
    manager.post("/notes/add", {"lead": lead.id, "text": "Через форму"})
    manager.post("/tasks/add", {"lead": lead.id, "description": "Задача через форму",
                                "planned_at": "13.03.2026 09:00", "assignee": manager_id})
    assert [n.text for n in _notes(session, lead.id)] == ["Через форму"]
    assert [t.description for t in _tasks(session, lead.id)] == ["Задача через форму"]


def test_a_note_needs_a_client_or_a_lead(as_role, session):
    text = unique("Ничья")
    page = as_role("manager").post("/notes/add", {"text": text}).text
    assert "Выберите клиента или лид" in page
    assert session.scalar(select(Note.id).where(Note.text == text)) is None


def test_form_refuses_a_colleagues_private_lead(as_role, session, other_manager, manager_id):
    lead = _lead(session, other_manager)
    manager = as_role("manager")
    page = manager.post("/notes/add", {"lead": lead.id, "text": "Чужой лид"}).text
    assert "Выберите значение из списка" in page
    page = manager.post("/tasks/add", {"lead": lead.id, "description": "Чужой лид",
                                       "planned_at": "13.03.2026 09:00",
                                       "assignee": manager_id}).text
    assert "Выберите значение из списка" in page
    assert _notes(session, lead.id) == [] and _tasks(session, lead.id) == []
    # Nor moved there by an edit of one's own note.
    own = _lead(session, manager_id)
    note = Note(lead_id=own.id, text="Моя", author_id=manager_id)
    session.add(note)
    session.commit()
    manager.post(f"/notes/edit/{note.id}", {"lead": lead.id, "text": "Моя"})
    assert _notes(session, lead.id) == []


# --- the REST API --------------------------------------------------------------


def test_api_links_to_own_lead_and_refuses_a_colleagues(app, session, other_manager, manager_id):
    mine, theirs = _lead(session, manager_id), _lead(session, other_manager)
    headers = jwt_headers(app, "manager")
    http = app.test_client()
    response = http.post("/api/v1/note/", json={"lead": mine.id, "text": "API лиду"},
                         headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["result"]["lead"]["id"] == mine.id
    response = http.post("/api/v1/task/", json={
        "lead": mine.id, "description": "API задача", "planned_at": "2026-03-14 09:00:00",
        "assignee": manager_id}, headers=headers)
    assert response.status_code == 201, response.json
    for resource, body in (("note", {"text": "Чужой"}),
                           ("task", {"description": "Чужой",
                                     "planned_at": "2026-03-14 09:00:00"})):
        response = http.post(f"/api/v1/{resource}/", json={**body, "lead": theirs.id},
                             headers=headers)
        assert response.status_code == 403, (resource, response.json)
        assert response.json["message"] == {"lead": ["Нет такой записи среди доступных вам"]}
    note_id = _notes(session, mine.id)[0].id
    response = http.put(f"/api/v1/note/{note_id}", json={"lead": theirs.id}, headers=headers)
    assert response.status_code == 403, response.json
    # The choices of the API's form offer one's own lead, not a colleague's.
    info = http.get("/api/v1/note/_info?q=(add_columns:(lead:(page:0,page_size:1000)))",
                    headers=headers).json
    choices = next(field for field in info["add_columns"] if field["name"] == "lead")["values"]
    assert mine.id in {c["id"] for c in choices} and theirs.id not in {c["id"] for c in choices}
    assert _notes(session, theirs.id) == [] and _tasks(session, theirs.id) == []
    # The colleague's lead's records are not there for the manager.
    hidden = Note(lead_id=theirs.id, text="Скрытая", author_id=other_manager)
    session.add(hidden)
    session.commit()
    assert http.get(f"/api/v1/note/{hidden.id}", headers=headers).status_code == 404
    assert http.get(f"/api/v1/note/{hidden.id}",
                    headers=jwt_headers(app, "head")).status_code == 200


def test_api_refuses_the_read_only_role(app, session, manager_id):
    lead = _lead(session, manager_id)
    response = app.test_client().post("/api/v1/note/", json={"lead": lead.id, "text": "Аудит"},
                                      headers=jwt_headers(app, "auditor"))
    assert response.status_code in (401, 403)
    assert _notes(session, lead.id) == []


# --- the row rule ----------------------------------------------------------------


@pytest.mark.parametrize("driving", [False, True])
def test_a_leads_records_follow_the_lead(session, other_manager, manager_id, driving):
    lead = _lead(session, other_manager)
    note = Note(lead_id=lead.id, text="Лидова", author_id=other_manager)
    task = Task(lead_id=lead.id, description="Лидова", author_id=other_manager,
                assignee_id=other_manager)
    session.add_all([note, task])
    session.commit()

    def visible(model, row_id, write=False):
        return session.scalar(select(model.id).where(
            model.id == row_id, access.clause(model, manager_id, write, driving))) is not None

    assert not visible(Note, note.id) and not visible(Task, task.id)
    lead.participants.append(session.get(Employee, manager_id))
    session.commit()
    assert visible(Note, note.id) and visible(Task, task.id)
    assert visible(Note, note.id, write=True) and visible(Task, task.id, write=True)
    lead.participants.clear()
    lead.responsible_id = manager_id
    session.commit()
    assert visible(Note, note.id) and visible(Task, task.id, write=True)


# --- conversion ------------------------------------------------------------------


def test_conversion_hands_the_notes_and_tasks_to_the_client_and_deal(session, manager_id):
    lead = _lead(session, manager_id, contact_name=unique("Иван"))
    session.add_all([Note(lead_id=lead.id, text="До сделки", author_id=manager_id),
                     Task(lead_id=lead.id, description="До сделки", author_id=manager_id,
                          assignee_id=manager_id)])
    session.commit()
    deal = leads.convert(session, lead, responsible=employee(session, "manager"))
    session.commit()
    [note], [task] = _notes(session, lead.id), _tasks(session, lead.id)
    assert note.client_id == task.client_id == deal.client_id is not None
    assert note.deal_id == task.deal_id == deal.id


def test_conversion_through_the_form_keeps_them_on_the_timelines(as_role, session, manager_id):
    lead = _lead(session, manager_id, contact_name=unique("Пётр"))
    manager = as_role("manager")
    manager.post(f"/notes/quick/lead/{lead.id}", {"lead": lead.id, "text": "Заметка лида"})
    manager.post(f"/tasks/quick/lead/{lead.id}", {
        "lead": lead.id, "description": "Задача лида", "planned_at": "15.03.2026 10:00",
        "assignee": manager_id})
    first_stage = re.search(r'name="stage"[^>]*>\s*<option[^>]*value="(\d+)"',
                            manager.get(f"/leads/convert/{lead.id}").text).group(1)
    manager.post(f"/leads/convert/{lead.id}", {
        "client_choice": "new", "client_name": unique("Клиент из лида"),
        "title": "Сделка лида", "stage": first_stage})
    session.expire_all()
    lead = session.get(Lead, lead.id)
    assert lead.deal_id is not None
    for url in (f"/clients/show/{lead.client_id}", f"/deals/show/{lead.deal_id}",
                f"/leads/show/{lead.id}"):
        entries = timeline_entries(manager.get(url).text)
        assert any("Заметка лида" in e for e in entries), url
        assert any("Задача лида" in e for e in entries), url
    assert session.scalar(select(Deal.client_id).where(Deal.id == lead.deal_id)) \
        == lead.client_id


def test_deleting_a_lead_keeps_its_notes_and_tasks(as_role, session, manager_id):
    lead = _lead(session, manager_id)
    note = Note(lead_id=lead.id, text="Останется", author_id=manager_id)
    task = Task(lead_id=lead.id, description="Останется", author_id=manager_id,
                assignee_id=manager_id)
    session.add_all([note, task])
    session.commit()
    lead_id = lead.id
    as_role("admin").post(f"/leads/delete/{lead_id}", {})
    session.expire_all()
    assert session.get(Lead, lead_id) is None
    assert session.get(Note, note.id).lead_id is None
    assert session.get(Task, task.id).lead_id is None
