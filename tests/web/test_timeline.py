"""The timeline of the client, deal and lead pages (services/timeline.py,
views/timeline.py): every kind of entry, newest first, in office time, paged;
the quick note and quick task boxes through the add forms' own rules; row
access and the read-only role."""
import datetime
import io
import re

import pytest
from sqlalchemy import select

from app.models import (
    ActionResult,
    ActionType,
    Client,
    CounterpartyAction,
    Deal,
    FunnelStage,
    Lead,
    Note,
    PrintedDocument,
    PublicAccess,
    StatusKind,
    Task,
    TaskStatus,
    TemplateEntity,
)
from app.services import history, timeline
from tests.conftest import statements_sent, timeline_entries, unique


def at(day, hour):
    """A UTC moment of March 2026 (Moscow: three hours later)."""
    return datetime.datetime(2026, 3, day, hour, 0)


def _named(session, model, name):
    return session.scalar(select(model).where(model.name == name))


def _client(session, owner_id, **kw):
    client = Client(name=unique("Лента"), responsible_id=owner_id, **kw)
    session.add(client)
    session.commit()
    return client


@pytest.fixture
def full_client(session, manager_id):
    """A manager's client with one entry of each kind, a day apart."""
    client = _client(session, manager_id)
    call = _named(session, ActionType, "Звонок")
    reached = session.scalar(select(ActionResult).where(
        ActionResult.name == "Дозвонились", ActionResult.action_type_id == call.id))
    done = session.scalar(select(TaskStatus).where(TaskStatus.kind == StatusKind.DONE)
                          .order_by(TaskStatus.sort_order, TaskStatus.id))
    cid = client.id
    session.add_all([
        Note(client_id=cid, text="Заметка первая", author_id=manager_id,
             created_at=at(1, 9)),
        Task(client_id=cid, description="Открытая задача", assignee_id=manager_id,
             author_id=manager_id, planned_at=at(20, 7), created_at=at(2, 9)),
        Task(client_id=cid, description="Сделанная задача", assignee_id=manager_id,
             author_id=manager_id, planned_at=at(3, 6), created_at=at(1, 8),
             started_at=at(3, 8), finished_at=at(3, 9), status=done, result="Договорились"),
        CounterpartyAction(client_id=cid, action_type=call, action_result=reached,
                           result="Перезвонит в пятницу", done_at=at(4, 9),
                           responsible_id=manager_id),
        PrintedDocument(template_name="Договор", entity=TemplateEntity.CLIENT,
                        entity_id=cid, client_id=cid, author_id=manager_id,
                        created_at=at(5, 9), file_name="Договор клиента.pdf", size=4,
                        content=b"%PDF"),
    ])
    first, second = (_named(session, FunnelStage, name) for name in ("Звонок", "Встреча"))
    deal = Deal(title=unique("Сделка ленты"), client=client, stage=first,
                responsible_id=manager_id)
    session.add(deal)
    session.commit()
    token = history.acting_user_id.set(manager_id)
    try:
        deal.stage = second  # written now: the newest entry
        session.commit()
    finally:
        history.acting_user_id.reset(token)
    return client, deal


def test_client_timeline_shows_each_kind_newest_first_in_office_time(as_role, full_client):
    client, deal = full_client
    page = as_role("manager").get(f"/clients/show/{client.id}").text
    assert 'href="#timeline"' in page and ">Лента<" in page
    entries = timeline_entries(page)
    wanted = [
        f"Сделка №{deal.id}: смена стадии",  # now
        "05.03.2026 12:00 Напечатан документ: Договор",
        "04.03.2026 12:00 Звонок",
        "03.03.2026 12:00 Задача",  # done on the 3rd
        "02.03.2026 12:00 Задача",  # open, created on the 2nd
        "01.03.2026 12:00 Заметка",
    ]
    positions = []
    for text in wanted:
        found = [i for i, entry in enumerate(entries) if text in entry]
        assert found, (text, entries)
        positions.append(found[0])
    assert positions == sorted(positions)
    stage = entries[positions[0]]
    assert "Стадия: Звонок → Встреча" in stage and "Тестов Manager" in stage
    assert "Договор клиента.pdf" in entries[positions[1]]
    action = entries[positions[2]]
    assert "Результат: Дозвонились — Перезвонит в пятницу" in action
    done_task = entries[positions[3]]
    assert "Сделанная задача" in done_task and "Статус: Завершена" in done_task
    assert "Договорились" in done_task
    open_task = entries[positions[4]]
    assert "Открытая задача" in open_task and "Запланировано: 20.03.2026 10:00" in open_task
    assert "Заметка первая" in entries[positions[5]]
    # No raw codes, no English.
    assert not any(word in " ".join(entries) for word in ("None", "update", "stage_id"))


def test_deal_and_lead_pages_have_their_own_timeline(as_role, session, full_client,
                                                     manager_id):
    client, deal = full_client
    session.add(Note(client=client, deal=deal, text="О сделке", author_id=manager_id))
    lead = Lead(title=unique("Лид ленты"), responsible_id=manager_id)
    session.add(lead)
    session.commit()
    manager = as_role("manager")
    entries = timeline_entries(manager.get(f"/deals/show/{deal.id}").text)
    assert any("О сделке" in e for e in entries)
    assert any("Стадия: Звонок → Встреча" in e for e in entries)
    assert not any("Заметка первая" in e for e in entries)  # the client's, not the deal's
    page = manager.get(f"/leads/show/{lead.id}").text
    assert any(f"Лид №{lead.id}: создан" in e for e in timeline_entries(page))
    # A lead without a client has notes and tasks of its own.
    assert 'id="quick-note"' in page and 'id="quick-task"' in page
    assert 'name="client"' not in page.split('id="quick-note"', 1)[1].split("</form>", 1)[0]
    session.add(Note(lead=lead, text="О лиде", author_id=manager_id))
    lead.client_id = client.id
    session.commit()
    page = manager.get(f"/leads/show/{lead.id}").text
    entries = timeline_entries(page)
    assert 'id="quick-note"' in page and any("О лиде" in e for e in entries)
    assert not any("Заметка первая" in e for e in entries)  # the client's, not the lead's


def test_paging_shows_every_entry_once_even_at_one_moment(session, manager_id):
    client = _client(session, manager_id)
    same = at(6, 9)
    session.add_all([Note(client=client, text=f"Заметка {n}", author_id=manager_id,
                          created_at=same if n % 2 else at(6, n)) for n in range(7)])
    session.add_all([Task(client=client, description=f"Задача {n}", author_id=manager_id,
                          planned_at=same, created_at=same) for n in range(3)])
    session.commit()
    seen, older, pages = [], None, 0
    while True:
        page = timeline.page(session, "client", client.id, None, older=older, size=3)
        seen += [(e.kind, e.id) for e in page.entries if e.kind != "change"]
        keys = [e.key for e in page.entries]
        assert keys == sorted(keys, reverse=True)
        pages += 1
        if page.older is None:
            break
        older = page.older
    assert len(seen) == len(set(seen)) == 10 and pages >= 4
    assert timeline.parse_cursor("junk") is None
    assert timeline.page(session, "client", client.id, None, older="junk").entries


def test_older_link_pages_the_screen(as_role, session, manager_id, monkeypatch):
    client = _client(session, manager_id)
    session.add_all([Note(client=client, text=f"Старая {n}", author_id=manager_id,
                          created_at=at(7, n)) for n in range(5)])
    session.commit()
    monkeypatch.setattr(timeline, "PAGE_SIZE", 3)
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{client.id}").text
    link = re.search(r'id="timeline-older" href="([^"]+)"', page).group(1)
    assert "Показать ещё" in page
    older = manager.get(link.replace("&amp;", "&")).text
    first, second = timeline_entries(page), timeline_entries(older)
    assert len(first) == 3 and not set(first) & set(second)
    assert 'id="timeline-newest"' in older


def test_quick_note_with_a_file_lands_back_with_a_message(as_role, session, manager_id):
    client = _client(session, manager_id)
    manager = as_role("manager")
    response = manager.post(f"/notes/quick/client/{client.id}", {
        "client": client.id, "text": "Клиент просил перезвонить",
        "file": (io.BytesIO(b"scan"), "Паспорт.pdf")}, follow=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/show/{client.id}#timeline")
    page = manager.get(response.headers["Location"]).text
    assert "Запись добавлена" in page
    entry = next(e for e in timeline_entries(page) if "Клиент просил перезвонить" in e)
    assert "Паспорт.pdf" in entry and "Тестов Manager" in entry
    note = session.scalar(select(Note).where(Note.client_id == client.id))
    assert note.author_id == manager_id and note.file.endswith("_sep_Паспорт.pdf")
    download = re.search(r'href="(/notes/download/[^"]+)"', page).group(1)
    assert manager.get(download).data == b"scan"


def test_quick_task_is_saved_in_utc_for_the_chosen_assignee(as_role, session, manager_id):
    client = _client(session, manager_id)
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{client.id}").text
    box = page.split('id="quick-task"', 1)[1].split("</form>", 1)[0]
    assert 'class="form-control sdelka-date"' in box  # the app's date input
    assert re.search(rf'<option selected value="{manager_id}">', box)  # oneself
    response = manager.post(f"/tasks/quick/client/{client.id}", {
        "client": client.id, "description": "Отправить договор",
        "planned_at": "10.03.2026 12:00", "assignee": manager_id}, follow=False)
    assert response.status_code == 302
    page = manager.get(response.headers["Location"]).text
    assert "Запись добавлена" in page
    assert any("Отправить договор" in e and "Запланировано: 10.03.2026 12:00" in e
               for e in timeline_entries(page))
    task = session.scalar(select(Task).where(Task.client_id == client.id))
    assert task.planned_at == at(10, 9) and task.assignee_id == manager_id
    assert task.author_id == manager_id and task.status is not None  # the first status


def test_quick_boxes_on_the_deal_page_link_the_deal(as_role, session, manager_id):
    client = _client(session, manager_id)
    deal = Deal(title=unique("Сделка"), client=client, responsible_id=manager_id)
    session.add(deal)
    session.commit()
    manager = as_role("manager")
    manager.post(f"/notes/quick/deal/{deal.id}", {"client": client.id, "deal": deal.id,
                                                  "text": "По сделке"})
    manager.post(f"/tasks/quick/deal/{deal.id}", {
        "client": client.id, "deal": deal.id, "description": "Выставить счёт",
        "planned_at": "11.03.2026 10:00", "assignee": manager_id})
    assert session.scalar(select(Note.deal_id).where(Note.client_id == client.id)) == deal.id
    assert session.scalar(select(Task.deal_id).where(Task.client_id == client.id)) == deal.id
    entries = timeline_entries(manager.get(f"/deals/show/{deal.id}").text)
    assert any("По сделке" in e for e in entries)
    assert any("Выставить счёт" in e for e in entries)


def test_bad_input_is_refused_with_a_message_and_kept(as_role, session, manager_id):
    client = _client(session, manager_id)
    manager = as_role("manager")
    response = manager.post(f"/notes/quick/client/{client.id}",
                            {"client": client.id, "text": ""})
    assert response.status_code == 200 and "Не сохранено: Текст:" in response.text
    response = manager.post(f"/tasks/quick/client/{client.id}", {
        "client": client.id, "description": "Позвонить Ивану",
        "planned_at": "31.02.2026 10:00", "assignee": manager_id})
    page = response.text
    assert "Не сохранено: Запланировано:" in page
    box = page.split('id="quick-task"', 1)[1].split("</form>", 1)[0]
    assert "Позвонить Ивану" in box and 'value="31.02.2026 10:00"' in box
    assert "has-error" in box
    assert f'href="/clients/edit/{client.id}"' in page  # the client's page, whole
    session.expire_all()
    assert session.scalar(select(Note.id).where(Note.client_id == client.id)) is None
    assert session.scalar(select(Task.id).where(Task.client_id == client.id)) is None


def test_a_refused_box_shows_the_deal_and_lead_page_again(as_role, session, manager_id):
    client = _client(session, manager_id)
    deal = Deal(title=unique("Сделка"), client_id=client.id, responsible_id=manager_id)
    lead = Lead(title=unique("Лид"), client_id=client.id, responsible_id=manager_id)
    session.add_all([deal, lead])
    session.commit()
    manager = as_role("manager")
    page = manager.post(f"/notes/quick/deal/{deal.id}",
                        {"client": client.id, "deal": deal.id, "text": ""}).text
    assert "Не сохранено: Текст:" in page and deal.title in page
    assert 'id="deal-move"' in page and f'href="/deals/edit/{deal.id}"' in page
    page = manager.post(f"/tasks/quick/lead/{lead.id}", {
        "client": client.id, "lead": lead.id, "description": "Лиду", "planned_at": ""}).text
    assert "Не сохранено: Запланировано:" in page and lead.title in page
    assert f'href="/leads/convert/{lead.id}"' in page and "Лиду" in page


def test_a_box_of_another_client_is_not_this_pages(as_role, session, manager_id):
    mine, other = _client(session, manager_id), _client(session, manager_id)
    response = as_role("manager").post(f"/notes/quick/client/{mine.id}",
                                       {"client": other.id, "text": "Не туда"}, follow=False)
    assert response.status_code == 400
    assert session.scalar(select(Note.id).where(Note.client_id == other.id)) is None


def test_manager_cannot_see_or_post_on_another_managers_client(as_role, session,
                                                                other_manager):
    hidden = _client(session, other_manager)
    readable = _client(session, other_manager, public_access=PublicAccess.READ)
    manager = as_role("manager")
    assert manager.get(f"/clients/show/{hidden.id}", follow_redirects=True).status_code \
        in (403, 404) or "Лента" not in manager.get(f"/clients/show/{hidden.id}").text
    for url, data in ((f"/notes/quick/client/{hidden.id}", {"text": "Чужое"}),
                      (f"/tasks/quick/client/{hidden.id}", {"description": "Чужое",
                                                            "planned_at": "10.03.2026 10:00"})):
        data["client"] = hidden.id
        assert manager.post(url, data, follow=False).status_code == 404
    # A client public for reading: its page, but no boxes and no posting.
    page = manager.get(f"/clients/show/{readable.id}").text
    assert 'id="timeline-entries"' in page and 'id="quick-note"' not in page
    response = manager.post(f"/notes/quick/client/{readable.id}",
                            {"client": readable.id, "text": "Чужое"}, follow=False)
    assert response.status_code == 403
    assert session.scalar(select(Note.id).where(
        Note.client_id.in_([hidden.id, readable.id]))) is None


def test_another_managers_notes_stay_hidden_on_a_shared_lead(session, manager_id,
                                                             other_manager):
    lead = Lead(title=unique("Лид"), responsible_id=other_manager)
    session.add(lead)
    session.commit()
    session.add(CounterpartyAction(lead=lead, responsible_id=other_manager,
                                   action_type=_named(session, ActionType, "Звонок"),
                                   done_at=at(8, 9)))
    session.commit()
    assert [e.kind for e in timeline.page(session, "lead", lead.id, other_manager).entries
            if e.kind == "action"] == ["action"]
    assert [e for e in timeline.page(session, "lead", lead.id, manager_id).entries
            if e.kind == "action"] == []


@pytest.mark.parametrize("username", ["head", "admin"])
def test_head_and_admin_post_on_anyones_client(as_role, session, other_manager, username):
    client = _client(session, other_manager)
    user = as_role(username)
    assert 'id="quick-note"' in user.get(f"/clients/show/{client.id}").text
    user.post(f"/notes/quick/client/{client.id}", {"client": client.id, "text": "От руководства"})
    assert session.scalar(select(Note.text).where(Note.client_id == client.id)) \
        == "От руководства"


def test_read_only_role_sees_the_timeline_but_cannot_post(as_role, session, full_client):
    client, _ = full_client
    auditor = as_role("auditor")
    page = auditor.get(f"/clients/show/{client.id}").text
    assert timeline_entries(page)
    assert 'id="quick-note"' not in page and 'id="quick-task"' not in page
    before = session.scalar(select(Note.id).where(Note.client_id == client.id))
    response = auditor.post(f"/notes/quick/client/{client.id}",
                            {"client": client.id, "text": "Аудит"}, follow=False)
    assert response.status_code in (302, 403)
    response = auditor.post(f"/tasks/quick/client/{client.id}", {
        "client": client.id, "description": "Аудит", "planned_at": "10.03.2026 10:00"},
        follow=False)
    assert response.status_code in (302, 403)
    assert session.scalars(select(Note.id).where(Note.client_id == client.id)).all() == [before]
    assert session.scalar(select(Task.id).where(Task.description == "Аудит")) is None


def test_posting_needs_the_csrf_token(as_role, session, manager_id):
    client = _client(session, manager_id)
    response = as_role("manager").post(f"/notes/quick/client/{client.id}",
                                       {"client": client.id, "text": "Без токена"},
                                       csrf=False, follow=False)
    assert response.status_code == 400
    assert session.scalar(select(Note.id).where(Note.client_id == client.id)) is None


def test_a_page_is_one_statement_and_one_per_kind_shown(app, session, full_client):
    """The page's entries are found in one statement, each kind shown is
    read in one more with its relations joined (a task's status, type and
    assignee, an action's type, result and contact, authors): a client
    with all five kinds costs six statements, not five and a dozen of
    their relations; an empty timeline one."""
    client, _deal = full_client
    client_id = client.id
    session.expire_all()  # nothing of it already in the session
    with statements_sent(app) as sent:
        entries = timeline.page(session, "client", client_id, None).entries
        kinds = {e.kind for e in entries}
        shown = [(e.kind, getattr(e.record, "status", None) and e.record.status.name,
                  getattr(e.record, "author", None) and e.record.author.last_name,
                  getattr(e.record, "action_type", None) and e.record.action_type.name)
                 for e in entries]
    assert kinds == set(timeline.KINDS), kinds
    assert len(sent) == 1 + len(kinds), sent
    assert ("action", None, None, "Звонок") in shown
    assert any(kind == "task" and status for kind, status, _a, _t in shown)
    with statements_sent(app) as sent:
        assert timeline.page(session, "deal", 2**31 - 1, None).entries == []
    assert len(sent) == 1, sent


def test_a_clients_entries_are_read_without_the_row_rule(app, session, manager_id,
                                                         other_manager):
    """Every entry of a client is a record of that client, which the page
    found readable: they are listed without asking the row rule per row
    (no per-row client test in the statements), the colleague's task and
    note on a public client included, as the rule itself would show them."""
    client = _client(session, other_manager, public_access=PublicAccess.READ)
    session.add_all([Note(client=client, text="Заметка коллеги", author_id=other_manager),
                     Task(client=client, description="Задача коллеги",
                          assignee_id=other_manager, author_id=other_manager)])
    session.commit()
    with statements_sent(app) as sent:
        kinds = {e.kind for e in timeline.page(session, "client", client.id,
                                               manager_id).entries}
    assert {"note", "task"} <= kinds
    assert sent and not any("visible_client" in statement for statement in sent), sent
    # A deal's entries still ask it: its records follow their own clients.
    with statements_sent(app) as sent:
        timeline.page(session, "deal", 2**31 - 1, manager_id)
    assert any("visible_client" in statement for statement in sent)


def test_the_first_pages_statements_are_built_once_for_every_record(session, manager_id,
                                                                    other_manager):
    """The newest entries of each kind come from statements built once per
    kind of subject and row rule (services/timeline._statements), the
    record, the viewer and the page's size their parameters: each record
    still gets its own entries, each viewer what the rule lets them see."""
    client = _client(session, manager_id)
    deals = [Deal(title=unique("Сделка ленты"), client=client, responsible_id=owner,
                  amount=1000) for owner in (manager_id, other_manager)]
    session.add_all(deals)
    session.flush()
    session.add_all([Note(client=client, deal=deal, text=f"Заметка {deal.title}",
                          author_id=deal.responsible_id) for deal in deals])
    session.commit()
    for deal in deals:
        notes = [e.record.text for e in timeline.page(session, "deal", deal.id, None,
                                                      size=5).entries if e.kind == "note"]
        assert notes == [f"Заметка {deal.title}"]
    # The colleague's deal is of the manager's own client: visible, through its client.
    mine = [e.record.text for e in timeline.page(session, "deal", deals[1].id,
                                                 manager_id).entries if e.kind == "note"]
    assert mine == [f"Заметка {deals[1].title}"]
    stranger = _client(session, other_manager)
    hidden = Deal(title=unique("Чужая сделка"), client=stranger, responsible_id=other_manager,
                  amount=1)
    session.add(hidden)
    session.flush()
    session.add(Note(client=stranger, deal=hidden, text="Чужая", author_id=other_manager))
    session.commit()
    assert [e for e in timeline.page(session, "deal", hidden.id, manager_id).entries
            if e.kind == "note"] == []
    assert [e.kind for e in timeline.page(session, "deal", hidden.id, other_manager).entries
            if e.kind == "note"] == ["note"]
    assert timeline._merged("deal", True, timeline.KINDS, None) is timeline._merged(
        "deal", True, timeline.KINDS, None)
