"""Bulk actions of every register list: «Создать задачу», «Сменить
ответственного», «Изменить поле» on the selected rows or on every row of
the list's filter, per role, through the write rule of the forms (history,
the deal's stage → probability, the row rule, whom one may assign)."""
import datetime
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import db
from app.models import (
    Client,
    ClientStatus,
    Currency,
    Deal,
    Department,
    Employee,
    FunnelStage,
    HistoryEntry,
    Invoice,
    InvoiceStatus,
    Lead,
    RefusalReason,
    Task,
    TaskType,
)
from app.security import ASSIGN_COLLEAGUES, MANAGER, READ_ONLY, ROLES
from app.services import tasks as task_service
from tests.conftest import PASSWORD, employee_id, unique


def _clients(session, tag, owners):
    rows = [Client(name=f"{tag} {i}", responsible_id=owner) for i, owner in enumerate(owners)]
    session.add_all(rows)
    session.commit()
    return rows


def _task_form(session, **extra):
    kind = session.scalar(select(TaskType).where(TaskType.name == "Звонок"))
    return {"type": str(kind.id), "description": "Позвонить по акции",
            "planned_at": "10.12.2031 10:00", "deadline": "", **extra}


def _choices(page, name):
    """The values offered by the drop-down ``name`` of ``page``."""
    select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    return set(re.findall(r'value="([^"]*)"', select_.group(1))) if select_ else set()


def _text(page):
    return " ".join(re.findall(r"alert-[a-z]+[^>]*>(.*?)</div>", page, re.S))


def _ids(rows):
    return ",".join(str(row.id) for row in rows)


def _history(session, entity, entity_id, field=None, action="update"):
    query = select(HistoryEntry).where(HistoryEntry.entity == entity,
                                       HistoryEntry.entity_id == entity_id,
                                       HistoryEntry.action == action)
    if field:
        query = query.where(HistoryEntry.field == field)
    return session.scalars(query).all()


@pytest.fixture
def colleagues(app):
    """A manager allowed to assign colleagues, a colleague of the same
    department, a manager of no department and a plain manager of the
    same department: {name: id}."""
    tag = unique("u").split()[-1]
    with app.app_context():
        sm = app.appbuilder.sm
        allowed = sm.add_role(f"Assign colleagues {tag}")
        sm.add_permission_role(allowed, sm.find_permission_view_menu(*ASSIGN_COLLEAGUES))
        department = Department(name=f"Отдел {tag}")
        db.session.add(department)
        db.session.commit()
        roles = {"lead": [sm.find_role(MANAGER), allowed], "mate": [sm.find_role(MANAGER)],
                 "plain": [sm.find_role(MANAGER)], "stranger": [sm.find_role(MANAGER)]}
        # Russian names: the whole run's screens are crawled for English words.
        first = {"lead": "Ведущий", "mate": "Коллега", "plain": "Простой", "stranger": "Чужой"}
        users = {}
        for name, role in roles.items():
            user = sm.add_user(username=f"{name}_{tag}", first_name=first[name],
                               last_name="Коллегов", email=f"{name}{tag}@example.com",
                               role=role, password=PASSWORD)
            users[name] = user.id
        for name in ("lead", "mate", "plain"):
            db.session.get(Employee, users[name]).department_id = department.id
        db.session.commit()
    users["tag"] = tag
    return users


def _sign_in(client_class, username):
    client_class.login(username)
    return client_class


# --- «Создать задачу» ----------------------------------------------------------

def test_manager_creates_a_task_for_each_selected_own_client(as_role, session):
    tag = unique("Задачи")
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    own = _clients(session, tag, [manager, manager])
    foreign = _clients(session, tag, [head])
    browser = as_role("manager")
    listing = browser.get("/clients/list/").text
    assert "Создать задачу" in listing and "Сменить ответственного" in listing
    assert "/clients/bulk_change/task?all=1" in listing
    response = browser.post("/clients/action_post", {"action": "bulk_task",
                                                      "rowid": [str(c.id) for c in own + foreign]},
                            follow=False)
    assert response.status_code == 302 and "/clients/bulk_change/task" in response.location
    page = browser.get(response.location).text
    assert "Выбрано записей, которые вы можете изменить: 2" in page
    assert "вы не можете их изменять: 1" in page
    assert 'name="planned_at"' in page and "sdelka-quick-deadline" in page
    done = browser.post(response.location, _task_form(
        session, assignee=str(manager), deadline="11.12.2031 18:00")).text
    assert "Создано задач: 2" in done and "Пропущено: 1" in done
    made = session.scalars(select(Task).where(Task.client_id.in_([c.id for c in own + foreign]))
                           .order_by(Task.client_id)).all()
    assert [t.client_id for t in made] == [c.id for c in own]
    first = task_service.first_status(session)
    for task in made:
        assert task.assignee_id == manager and task.author_id == manager
        assert task.status_id == first.id and task.description == "Позвонить по акции"
        # Typed in the office's time (Moscow), kept in UTC.
        assert task.planned_at == datetime.datetime(2031, 12, 10, 7, 0)
        assert task.deadline == datetime.datetime(2031, 12, 11, 15, 0)
        assert _history(session, "task", task.id, action="create")


def test_tasks_for_deals_and_leads_link_to_the_record_and_its_client(as_role, session):
    head = employee_id(session, "head")
    client = _clients(session, unique("Сделки"), [head])[0]
    deals = [Deal(title=unique("Сделка"), client_id=client.id, responsible_id=head)
             for _ in range(2)]
    lead = Lead(title=unique("Лид"), client_id=client.id, responsible_id=head)
    session.add_all(deals + [lead])
    session.commit()
    browser = as_role("head")
    done = browser.post(f"/deals/bulk_change/task?ids={_ids(deals)}", _task_form(
        session, assignee=str(head))).text
    assert "Создано задач: 2" in done
    made = session.scalars(select(Task).where(Task.deal_id.in_([d.id for d in deals]))).all()
    assert sorted(t.deal_id for t in made) == sorted(d.id for d in deals)
    assert {t.client_id for t in made} == {client.id}
    browser.post(f"/leads/bulk_change/task?ids={lead.id}", _task_form(
        session, assignee=str(head)))
    task = session.scalar(select(Task).where(Task.description.like(f"%{lead.title}%")))
    assert task.client_id == client.id and task.lead_id == lead.id
    assert task.description == f"Лид «{lead.title}»: Позвонить по акции"
    # A lead without a client: the task is the lead's alone.
    alone = Lead(title=unique("Лид без клиента"), responsible_id=head)
    session.add(alone)
    session.commit()
    browser.post(f"/leads/bulk_change/task?ids={alone.id}", _task_form(
        session, assignee=str(head)))
    task = session.scalar(select(Task).where(Task.description.like(f"%{alone.title}%")))
    assert task.lead_id == alone.id and task.client_id is None


def test_a_manager_gives_bulk_tasks_only_to_himself(as_role, session):
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    own = _clients(session, unique("Себе"), [manager])
    browser = as_role("manager")
    url = f"/clients/bulk_change/task?ids={_ids(own)}"
    page = browser.get(url).text
    assert _choices(page, "assignee") == {str(manager)}
    refused = browser.post(url, _task_form(session, assignee=str(head))).text
    assert "Создано задач" not in refused
    assert session.scalar(select(Task).where(Task.client_id == own[0].id)) is None


def test_a_refused_form_keeps_what_was_typed(as_role, session):
    manager = employee_id(session, "manager")
    own = _clients(session, unique("Ошибка"), [manager])
    page = as_role("manager").post(f"/clients/bulk_change/task?ids={_ids(own)}", _task_form(
        session, assignee=str(manager), planned_at="31.02.2031 10:00",
        description="Проверка")).text
    assert "Создано задач" not in page and "Проверка" in page
    assert session.scalar(select(Task).where(Task.client_id == own[0].id)) is None


# --- «Изменить поле» -------------------------------------------------------------

def test_head_changes_the_stage_of_deals_by_the_stage_rule(as_role, session):
    head = employee_id(session, "head")
    stages = session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                             .order_by(FunnelStage.sort_order)).all()
    first, later = stages[0], stages[2]
    client = _clients(session, unique("Этапы"), [head])[0]
    deals = [Deal(title=unique("Этап"), client_id=client.id, stage_id=first.id,
                  probability=first.probability, responsible_id=head) for _ in range(2)]
    already = Deal(title=unique("Этап"), client_id=client.id, stage_id=later.id,
                   probability=later.probability, responsible_id=head)
    session.add_all(deals + [already])
    session.commit()
    browser = as_role("head")
    url = f"/deals/bulk_change/field?ids={_ids(deals + [already])}"
    choice = browser.get(url).text
    assert 'name="field"' in choice and "Стадия" in choice
    assert "Валюта" in choice
    page = browser.get(url + "&field=stage").text
    assert later.name in page
    done = browser.post(url + "&field=stage", {"value": str(later.id)}).text
    assert "Изменено записей: 2" in done and "Пропущено: 1" in done
    session.expire_all()
    for deal in deals:
        saved = session.get(Deal, deal.id)
        assert saved.stage_id == later.id and saved.probability == later.probability
        entries = _history(session, "deal", deal.id, "stage")
        assert entries and entries[0].new_value == later.name
        assert _history(session, "deal", deal.id, "probability")
    assert session.get(Client, client.id).funnel_stage_id == later.id


def test_a_value_the_rules_put_back_is_skipped(as_role, session):
    head = employee_id(session, "head")
    client = _clients(session, unique("Причина"), [head])[0]
    deal = Deal(title=unique("Открытая"), client_id=client.id, responsible_id=head)
    session.add(deal)
    session.commit()
    reason = session.scalar(select(RefusalReason).where(RefusalReason.is_active.is_(True)))
    done = as_role("head").post(f"/deals/bulk_change/field?ids={deal.id}&field=loss_reason",
                                {"value": str(reason.id)}).text
    assert "Изменено записей: 0" in done and "правила записи оставляют" in done
    session.expire_all()
    assert session.get(Deal, deal.id).loss_reason_id is None
    assert not _history(session, "deal", deal.id, "loss_reason")


def test_only_active_values_and_fields_of_the_edit_form(as_role, session):
    head = employee_id(session, "head")
    retired = ClientStatus(name=unique("Старый"), is_active=False)
    session.add(retired)
    session.commit()
    rows = _clients(session, unique("Поля"), [head])
    browser = as_role("head")
    url = f"/clients/bulk_change/field?ids={_ids(rows)}&field=status"
    assert retired.name not in browser.get(url).text
    browser.post(url, {"value": str(retired.id)})
    session.expire_all()
    assert session.get(Client, rows[0].id).status_id is None
    # A column that is no dictionary of the edit form is not a choice.
    assert browser.get(f"/clients/bulk_change/field?ids={_ids(rows)}&field=responsible"
                       ).text.count('id="bulk-field"') == 0


def test_a_rule_refusal_is_skipped_with_its_reason(as_role, session):
    head = employee_id(session, "head")
    client = _clients(session, unique("Счета"), [head])[0]
    currencies = session.scalars(select(Currency).order_by(Currency.id)).all()
    draft = Invoice(client_id=client.id, responsible_id=head, number=unique("Ч")[-10:],
                    currency_id=currencies[0].id)
    issued = Invoice(client_id=client.id, responsible_id=head, number=unique("В")[-10:],
                     currency_id=currencies[0].id, status=InvoiceStatus.ISSUED,
                     total=Decimal(100))
    session.add_all([draft, issued])
    session.commit()
    done = as_role("head").post(
        f"/invoices/bulk_change/field?ids={_ids([draft, issued])}&field=currency",
        {"value": str(currencies[1].id)}).text
    assert "Изменено записей: 1" in done and "Пропущено: 1" in done, _text(done)
    assert "Изменять можно только черновик счёта" in done
    session.expire_all()
    assert session.get(Invoice, draft.id).currency_id == currencies[1].id
    assert session.get(Invoice, issued.id).currency_id == currencies[0].id


def test_all_of_the_filter_changes_every_filtered_row_the_user_may_change(as_role, session):
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("Весь фильтр")
    own = _clients(session, tag, [manager, manager, manager])
    foreign = _clients(session, tag, [head])
    outside = _clients(session, unique("Мимо"), [manager])
    status = session.scalar(select(ClientStatus).where(ClientStatus.name == "В работе"))
    browser = as_role("manager")
    query = f"all=1&_flt_0_name={tag.replace(' ', '+')}&field=status"
    page = browser.get(f"/clients/bulk_change/field?{query}").text
    assert "Записей по фильтру списка, которые вы можете изменить: 3" in page
    done = browser.post(f"/clients/bulk_change/field?{query}", {"value": str(status.id)}).text
    assert "Изменено записей: 3" in done
    session.expire_all()
    assert [session.get(Client, c.id).status_id for c in own] == [status.id] * 3
    assert session.get(Client, foreign[0].id).status_id is None
    assert session.get(Client, outside[0].id).status_id is None
    assert _history(session, "client", own[0].id, "status")


def test_tasks_for_every_filtered_task(as_role, session):
    admin = employee_id(session, "admin")
    tag = unique("Повтор")
    client = _clients(session, unique("Повторы"), [admin])[0]
    source = [Task(client_id=client.id, description=f"{tag} {i}", assignee_id=admin,
                   author_id=admin) for i in range(2)]
    session.add_all(source)
    session.commit()
    done = as_role("admin").post(
        f"/tasks/bulk_change/task?all=1&_flt_2_description={tag.replace(' ', '+')}",
        _task_form(session, assignee=str(admin), description="Ещё раз")).text
    assert "Создано задач: 2" in done
    assert len(session.scalars(select(Task).where(Task.client_id == client.id,
                                                  Task.description == "Ещё раз")).all()) == 2


# --- «Сменить ответственного» ------------------------------------------------------

def test_head_hands_clients_and_tasks_to_a_manager(as_role, session):
    head, manager = employee_id(session, "head"), employee_id(session, "manager")
    rows = _clients(session, unique("Передать"), [head, head])
    task = Task(client_id=rows[0].id, description=unique("Передать"), assignee_id=head,
                author_id=head)
    session.add(task)
    session.commit()
    browser = as_role("head")
    done = browser.post(f"/clients/bulk_change/responsible?ids={_ids(rows)}",
                        {"employee": str(manager)}).text
    assert "Изменено записей: 2" in done
    browser.post(f"/tasks/bulk_change/responsible?ids={task.id}", {"employee": str(manager)})
    session.expire_all()
    assert [session.get(Client, c.id).responsible_id for c in rows] == [manager] * 2
    assert session.get(Task, task.id).assignee_id == manager
    assert _history(session, "client", rows[0].id, "responsible")
    assert _history(session, "task", task.id, "assignee")


def test_a_plain_manager_may_not_hand_records_to_others(as_role, session):
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    own = _clients(session, unique("Мои"), [manager])
    browser = as_role("manager")
    url = f"/clients/bulk_change/responsible?ids={_ids(own)}"
    page = browser.get(url).text
    assert "может только руководитель" in page
    assert _choices(page, "employee") == {str(manager)}
    browser.post(url, {"employee": str(head)})
    session.expire_all()
    assert session.get(Client, own[0].id).responsible_id == manager


def test_a_manager_allowed_to_assign_colleagues(app, session, colleagues):
    from tests.conftest import Client as Browser

    lead, mate, stranger = colleagues["lead"], colleagues["mate"], colleagues["stranger"]
    rows = _clients(session, unique("Коллеге"), [lead, lead])
    browser = _sign_in(Browser(app), f"lead_{colleagues['tag']}")
    url = f"/clients/bulk_change/responsible?ids={_ids(rows)}"
    # The department's colleagues, with or without the permission themselves.
    assert _choices(browser.get(url).text, "employee") == {
        str(lead), str(mate), str(colleagues["plain"])}
    browser.post(url, {"employee": str(stranger)})
    session.expire_all()
    assert session.get(Client, rows[0].id).responsible_id == lead
    done = browser.post(url, {"employee": str(mate)}).text
    assert "Изменено записей: 2" in done
    session.expire_all()
    assert [session.get(Client, c.id).responsible_id for c in rows] == [mate] * 2
    # The ordinary add form offers the colleague and saves with them.
    assert _choices(browser.get("/clients/add").text, "responsible") >= {str(lead), str(mate)}
    assert str(stranger) not in _choices(browser.get("/clients/add").text, "responsible")
    name = unique("Новый для коллеги")
    browser.post("/clients/add", {"kind": "company", "public_access": "private", "name": name,
                                  "responsible": str(mate)})
    assert session.scalar(select(Client.responsible_id).where(Client.name == name)) == mate
    # The edit form may hand a stored record to a colleague, not to a stranger.
    mine = _clients(session, unique("Правка"), [lead])[0]
    browser.post(f"/clients/edit/{mine.id}", {"kind": "company", "public_access": "private",
                                              "name": mine.name, "responsible": str(stranger)})
    session.expire_all()
    assert session.get(Client, mine.id).responsible_id == lead
    browser.post(f"/clients/edit/{mine.id}", {"kind": "company", "public_access": "private",
                                              "name": mine.name, "responsible": str(mate)})
    session.expire_all()
    assert session.get(Client, mine.id).responsible_id == mate


def test_a_manager_without_the_permission_keeps_the_old_rule(app, session, colleagues):
    from tests.conftest import Client as Browser

    plain, mate = colleagues["plain"], colleagues["mate"]
    browser = _sign_in(Browser(app), f"plain_{colleagues['tag']}")
    assert _choices(browser.get("/clients/add").text, "responsible") - {"__None"} == {
        str(plain)}
    name = unique("Не коллеге")
    page = browser.post("/clients/add", {"kind": "company", "public_access": "private",
                                         "name": name, "responsible": str(mate)}).text
    assert session.scalar(select(Client.id).where(Client.name == name)) is None, page[:200]


def test_default_roles_and_the_permission(app):
    with app.app_context():
        sm = app.appbuilder.sm
        granted = {role: sm.find_permission_view_menu(*ASSIGN_COLLEAGUES)
                   in sm.find_role(role).permissions for role in ROLES}
    assert granted == {"Admin": True, "Head of sales": True, "Manager": False,
                       READ_ONLY: False}


# --- refused ----------------------------------------------------------------------

def test_read_only_role_has_no_bulk_changes(as_role, session):
    head = employee_id(session, "head")
    rows = _clients(session, unique("Аудит"), [head])
    auditor = as_role("auditor")
    listing = auditor.get("/clients/list/").text
    assert "bulk_change" not in listing and "Создать задачу" not in listing
    for url in (f"/clients/bulk_change/task?ids={rows[0].id}",
                f"/deals/bulk_change/field?ids={rows[0].id}"):
        assert auditor.get(url).status_code in (302, 403)
    response = auditor.post(f"/clients/bulk_change/task?ids={rows[0].id}",
                            _task_form(session, assignee=str(head)), follow=False)
    assert response.status_code in (302, 403)
    auditor.post("/clients/action_post", {"action": "bulk_task", "rowid": [str(rows[0].id)]})
    assert session.scalar(select(Task).where(Task.client_id == rows[0].id)) is None


def test_posts_need_the_csrf_token(as_role, session):
    manager = employee_id(session, "manager")
    own = _clients(session, unique("Токен"), [manager])
    response = as_role("manager").post(f"/clients/bulk_change/task?ids={_ids(own)}",
                                       _task_form(session, assignee=str(manager)), csrf=False)
    assert response.status_code == 400
    assert session.scalar(select(Task).where(Task.client_id == own[0].id)) is None


def test_kinds_follow_the_records(as_role):
    head = as_role("head")
    # Notes have no responsible and no dictionary field: a task only.
    notes = head.get("/notes/list/").text
    assert "/notes/bulk_change/task?all=1" in notes
    assert "/notes/bulk_change/responsible" not in notes
    assert head.get("/notes/bulk_change/responsible?ids=1").status_code == 404
    assert head.get("/clients/bulk_change/nothing?ids=1").status_code == 404
    # Segments and mailing types are for clients and contacts alone.
    assert head.get("/deals/bulk/segment?ids=1").status_code == 404
    response = head.post("/notes/action_post", {"action": "bulk_field", "rowid": ["1"]},
                         follow=False)
    assert response.status_code == 400


# --- the rule itself ----------------------------------------------------------------

def test_whom_one_may_assign_per_scope(session, colleagues):
    from app.services import assignment, records

    lead, mate, plain = colleagues["lead"], colleagues["mate"], colleagues["plain"]
    stranger = colleagues["stranger"]
    retired = Employee(username=f"retired_{colleagues['tag']}", first_name="Бывший",
                       last_name="Коллегов", email=f"retired_{colleagues['tag']}@example.com",
                       active=False, department_id=session.get(Employee, mate).department_id)
    session.add(retired)
    session.commit()
    may = assignment.may_assign
    assert all(may(session, lead, assignment.ANYONE, other)
               for other in (mate, stranger, retired.id))
    assert [may(session, lead, assignment.COLLEAGUES, other)
            for other in (lead, mate, plain, stranger, retired.id)] == [
        True, True, True, False, False]
    assert [may(session, lead, assignment.ONESELF, other) for other in (lead, mate)] == [
        True, False]
    # A manager of no department has no colleagues.
    assert not may(session, stranger, assignment.COLLEAGUES, mate)
    refusal = records.owner_refusal
    assert refusal(session, lead, assignment.ONESELF, lead, new=True) is None
    assert refusal(session, lead, assignment.ONESELF, lead, new=False) == records.ONLY_YOURSELF
    assert refusal(session, lead, assignment.ONESELF, mate, new=True) == records.ONLY_YOURSELF
    assert refusal(session, lead, assignment.COLLEAGUES, mate, new=False) is None
    assert refusal(session, lead, assignment.COLLEAGUES, stranger, new=True) == \
        records.NOT_A_COLLEAGUE
    assert assignment.scope_of(True, False) == assignment.ANYONE
    assert assignment.scope_of(False, True) == assignment.COLLEAGUES
    assert assignment.scope_of(False, False) == assignment.ONESELF
