"""Bulk market segments and mailing types on the client and contact lists,
mailing exports with opt-outs, and work with a counterparty: results per
action and "create based on this one"."""
from sqlalchemy import select

from app.models import (
    ActionResult,
    ActionType,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    HistoryEntry,
    Lead,
    MailingType,
    MarketSegment,
)
from app.services import actions, mailing
from app.services.errors import Refused
from tests.conftest import employee, unique


def _clients(session, tag, n, **fields):
    rows = [Client(name=f"{tag} {i}", email=f"{tag.split()[-1]}{i}@example.com", **fields)
            for i in range(n)]
    session.add_all(rows)
    session.commit()
    return rows


def test_bulk_segment_on_selected_clients(as_role, session):
    tag = unique("Сегменты")
    rows = _clients(session, tag, 3, responsible=employee(session, "manager"))
    segment = MarketSegment(name=unique("Опт"), managers=[employee(session, "head")])
    session.add(segment)
    session.commit()
    manager = as_role("manager")
    ids = [str(c.id) for c in rows[:2]]
    response = manager.post("/clients/action_post", {"action": "set_segment", "rowid": ids},
                            follow=False)
    assert response.status_code == 302 and "/clients/bulk/segment" in response.location
    page = manager.get(response.location)
    assert "Выбрано записей, которые вы можете изменить: 2" in page.text
    done = manager.post(response.location, {"target": segment.id})
    assert "изменено записей: 2" in done.text
    session.expire_all()
    assert [session.get(Client, c.id).segment_id for c in rows] == [segment.id] * 2 + [None]
    assert session.scalar(select(HistoryEntry).where(
        HistoryEntry.client_id == rows[0].id, HistoryEntry.field == "segment")) is not None


def test_bulk_segment_on_all_filtered_clients_with_reassignment(as_role, session):
    tag = unique("Фильтр")
    rows = _clients(session, tag, 3, responsible=employee(session, "head"))
    others = _clients(session, unique("Мимо"), 1, responsible=employee(session, "head"))
    segment = MarketSegment(name=unique("Розница"), managers=[employee(session, "manager")])
    session.add(segment)
    session.commit()
    head = as_role("head")
    url = f"/clients/bulk/segment?all=1&_flt_0_name={tag.replace(' ', '+')}"
    listing = head.get(f"/clients/list/?_flt_0_name={tag}").text
    assert "/clients/bulk/segment?all=1" in listing
    page = head.get(url)
    assert "Записей по фильтру списка, которые вы можете изменить: 3" in page.text
    head.post(url, {"target": segment.id, "option": "y"})
    session.expire_all()
    for client in rows:
        saved = session.get(Client, client.id)
        assert saved.segment_id == segment.id and saved.responsible.username == "manager"
    assert session.get(Client, others[0].id).segment_id is None


def test_manager_changes_only_clients_they_may_change(as_role, session):
    tag = unique("Чужие")
    own = _clients(session, tag, 1, responsible=employee(session, "manager"))
    foreign = _clients(session, tag, 1, responsible=employee(session, "head"))
    segment = session.scalars(select(MarketSegment)).first()
    manager = as_role("manager")
    url = f"/clients/bulk/segment?ids={own[0].id},{foreign[0].id}"
    manager.post(url, {"target": segment.id})
    session.expire_all()
    assert session.get(Client, own[0].id).segment_id == segment.id
    assert session.get(Client, foreign[0].id).segment_id is None


def test_read_only_role_has_no_bulk_operations(as_role, session):
    auditor = as_role("auditor")
    assert "/clients/bulk/" not in auditor.get("/clients/list/").text
    assert auditor.get("/clients/bulk/segment?ids=1").status_code in (302, 403)


def test_mailing_types_in_bulk_and_the_export(as_role, session):
    tag = unique("Рассылка")
    head = employee(session, "head")
    rows = _clients(session, tag, 3, responsible=head)
    rows[2].mailing_opt_out = True
    contact = ContactPerson(client=rows[0], name=f"{tag} контакт",
                            email="contact@example.com")
    silent = ContactPerson(client=rows[0], name=f"{tag} молчун", email="no@example.com",
                           mailing_opt_out=True)
    kind = MailingType(name=unique("Новости"))
    session.add_all([contact, silent, kind])
    session.commit()
    browser = as_role("head")
    browser.post(f"/clients/bulk/mailing?ids={','.join(str(c.id) for c in rows)}",
                 {"target": kind.id})
    browser.post(f"/contacts/bulk/mailing?ids={contact.id},{silent.id}", {"target": kind.id})
    session.expire_all()
    assert kind in session.get(Client, rows[1].id).mailing_types
    emails = [r[0] for r in mailing.recipients(session, kind.id)]
    assert emails == sorted([rows[0].email, rows[1].email]) + ["contact@example.com"]
    page = browser.get(f"/mailing-types/show/{kind.id}")
    assert rows[0].email in page.text and rows[2].email not in page.text
    export = browser.get(f"/mailing-types/recipients/{kind.id}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    text = export.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Эл. почта;")
    assert rows[0].email in text and "contact@example.com" in text
    assert rows[2].email not in text and "no@example.com" not in text
    # Taken off again.
    browser.post(f"/clients/bulk/mailing?ids={rows[1].id}", {"target": kind.id, "option": "y"})
    assert rows[1].email not in [r[0] for r in mailing.recipients(session, kind.id)]


def test_manager_exports_only_clients_they_see(as_role, session):
    kind = MailingType(name=unique("Видимые"))
    mine = Client(name=unique("Мой"), email="mine@example.com",
                  responsible=employee(session, "manager"), mailing_types=[kind])
    theirs = Client(name=unique("Чужой"), email="theirs@example.com",
                    responsible=employee(session, "head"), mailing_types=[kind])
    session.add_all([mine, theirs])
    session.commit()
    text = as_role("manager").get(f"/mailing-types/recipients/{kind.id}").data.decode("utf-8-sig")
    assert "mine@example.com" in text and "theirs@example.com" not in text


# --- work with a counterparty ------------------------------------------------------


def _type_and_results(session, type_name="Отправка документов"):
    action_type = session.scalar(select(ActionType).where(ActionType.name == type_name))
    return action_type, {r.name: r for r in action_type.results}


def test_result_must_belong_to_the_action(session):
    sending, results = _type_and_results(session)
    call, call_results = _type_and_results(session, "Звонок")
    client = Client(name=unique("Действие"))
    good = CounterpartyAction(client=client, action_type=sending,
                              action_result=results["Договор"])
    actions.prepare(session, good)
    wrong = CounterpartyAction(client=client, action_type=sending,
                               action_result=next(iter(call_results.values())))
    try:
        actions.prepare(session, wrong)
    except Refused as exc:
        assert "не относится" in str(exc) or "does not belong" in str(exc)
    else:
        raise AssertionError("a call's result was accepted for sending documents")
    session.rollback()


def test_action_takes_the_client_of_its_lead_deal_or_contact(session):
    client = Client(name=unique("Связи"))
    deal = Deal(title="Сделка", client=client)
    lead_without_client = Lead(title="Лид с сайта")
    for link in (dict(deal=deal), dict(contact=ContactPerson(client=client, name="К"))):
        action = CounterpartyAction(**link)
        actions.prepare(session, action)
        assert action.client is client
    action = CounterpartyAction(lead=lead_without_client)
    actions.prepare(session, action)
    assert action.client is None
    session.rollback()


def test_create_based_on_copies_for_the_next_step(as_role, session):
    manager = employee(session, "manager")
    client = Client(name=unique("Следующий шаг"), responsible=manager)
    sending, results = _type_and_results(session)
    first = CounterpartyAction(client=client, action_type=sending, responsible=manager,
                               action_result=results["Коммерческое предложение"],
                               result="Отправили КП")
    session.add(first)
    session.commit()
    browser = as_role("manager")
    page = browser.get(f"/counterparty-actions/show/{first.id}")
    assert "next-step" in page.text
    form = browser.post("/counterparty-actions/action_post",
                        {"action": "next_step", "rowid": str(first.id)})
    # A form to fill in: nothing is saved until the user saves it.
    assert form.request.path == "/counterparty-actions/add"
    assert "Следующий шаг на основании №" in form.text
    assert f'<option value="{client.id}" selected>' in form.text
    assert f'<option value="{first.id}" selected>' in form.text
    based = select(CounterpartyAction).where(CounterpartyAction.based_on_id == first.id)
    assert session.scalar(based) is None
    browser.post(f"/counterparty-actions/add?based_on={first.id}", {
        "client": client.id, "action_type": sending.id, "responsible": manager.id,
        "based_on": first.id, "planned_at": "05.12.2026 10:00", "result": ""})
    session.expire_all()
    copy = session.scalar(based)
    assert copy.client_id == client.id and copy.action_type_id == sending.id
    assert copy.action_result_id is None and not copy.result


def test_actions_tab_on_client_contact_lead_and_deal(as_role, session):
    manager = employee(session, "manager")
    client = Client(name=unique("Вкладки"), responsible=manager)
    contact = ContactPerson(client=client, name="Контакт вкладки")
    deal = Deal(title="Сделка вкладки", client=client, responsible=manager)
    lead = Lead(title="Лид вкладки", responsible=manager)
    note = unique("Действие вкладки")
    session.add(CounterpartyAction(client=client, contact=contact, deal=deal, lead=lead,
                                   responsible=manager, result=note))
    session.commit()
    browser = as_role("manager")
    for url in (f"/clients/show/{client.id}", f"/contacts/show/{contact.id}",
                f"/leads/show/{lead.id}", f"/deals/show/{deal.id}"):
        page = browser.get(url).text
        assert "CounterpartyActionView" in page, url
    # Added from the lead's tab: the lead is filled in from the filter.
    response = browser.post(f"/counterparty-actions/add?_flt_0_lead={lead.id}", {
        "action_type": _type_and_results(session)[0].id, "result": note + " 2"})
    assert response.status_code == 200
    added = session.scalar(select(CounterpartyAction).where(
        CounterpartyAction.result == note + " 2"))
    assert added is not None and added.lead_id == lead.id


def test_action_results_dictionary_screen(as_role, session):
    page = as_role("admin").get("/action-results/list/?psize_ActionResultView=100").text
    assert "Коммерческое предложение" in page
    assert session.scalar(select(ActionResult).where(ActionResult.name == "Договор"))
