"""Lead → deal conversion (one transaction), participants' access, the
deal stage rules and the client's funnel stage."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import (
    Client,
    Deal,
    DealStatus,
    FunnelStage,
    HistoryEntry,
    Lead,
    LeadStatus,
    RefusalReason,
)
from app.services import deals, leads
from app.services.errors import Refused
from tests.conftest import employee, unique


def _stages(session):
    """The funnel as the rules read it: active stages, in order (a test may
    have left an inactive one)."""
    return list(session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                                .order_by(FunnelStage.sort_order, FunnelStage.id)))


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _lead(session, **fields):
    fields.setdefault("title", unique("Лид"))
    fields.setdefault("responsible", employee(session, "manager"))
    lead = Lead(**fields)
    session.add(lead)
    session.commit()
    return lead


# --- services ------------------------------------------------------------------


def test_convert_creates_client_and_deal_and_closes_the_lead(session):
    head = employee(session, "head")
    lead = _lead(session, contact_name="Иван Петров", company_name=unique("ООО Ромашка"),
                 phone="+79161230001", email="ivan@example.com", amount=Decimal("5000"),
                 participants=[head])
    deal = leads.convert(session, lead)
    session.commit()
    assert lead.status == LeadStatus.CONVERTED and lead.closed_at is not None
    assert lead.deal is deal and lead.client is deal.client
    client = deal.client
    assert client.name.startswith("ООО Ромашка") and client.phone == "+79161230001"
    assert [c.name for c in client.contacts] == ["Иван Петров"]
    assert deal.amount == Decimal("5000") and deal.title == lead.title
    first = _stages(session)[0]
    assert deal.stage == first and deal.probability == first.probability
    assert head in deal.participants and head in client.participants
    assert client.funnel_stage == first
    entries = session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == "lead", HistoryEntry.entity_id == lead.id)).all()
    assert any(e.action == "convert" and str(deal.id) in e.new_value for e in entries)
    assert any(e.field == "status" and e.new_value == "converted" for e in entries)
    with pytest.raises(Refused):
        leads.convert(session, lead)
    session.rollback()


def test_convert_links_an_existing_client_found_by_phone_inn_or_email(session):
    client = Client(name=unique("Найденный"), phone="+79161230002", inn="7707083893",
                    email="found@example.com")
    session.add(client)
    session.commit()
    for probe in (dict(phone="+79161230002"), dict(inn="7707083893"),
                  dict(email="FOUND@example.com".lower())):
        lead = _lead(session, **probe)
        assert client in leads.candidates(session, lead)
    lead = _lead(session, phone="+79161230002")
    deal = leads.convert(session, lead, client=client, title="Сделка", amount=Decimal("1"))
    session.commit()
    assert deal.client is client and lead.client is client


def test_conversion_rolls_back_every_part_when_one_fails(session, monkeypatch):
    lead = _lead(session, contact_name=unique("Откат"), phone="+79161230003")
    before = (_count(session, Client), _count(session, Deal), _count(session, HistoryEntry))

    def broken(session, *args):
        raise RuntimeError("history is down")

    monkeypatch.setattr(leads.history, "record", broken)
    with pytest.raises(RuntimeError):
        leads.convert(session, lead)
    session.rollback()
    session.expire_all()
    assert (_count(session, Client), _count(session, Deal),
            _count(session, HistoryEntry)) == before
    lead = session.get(Lead, lead.id)
    assert lead.status == LeadStatus.NEW and lead.deal_id is None and lead.client_id is None


def test_bulk_conversion_keeps_good_leads_and_reports_bad_ones(session):
    good = _lead(session, contact_name=unique("Пакет"), phone="+79161230004")
    done = _lead(session, contact_name=unique("Уже"), status=LeadStatus.REJECTED)
    result = leads.convert_many(session, [good, done])
    session.commit()
    assert [lead.id for lead, _ in result.converted] == [good.id]
    assert [lead.id for lead, _ in result.skipped] == [done.id]
    assert session.get(Lead, good.id).deal_id is not None
    assert session.get(Lead, done.id).deal_id is None


def test_stage_sets_probability_unless_it_was_edited(session):
    stages = _stages(session)
    client = Client(name=unique("Воронка"))
    deal = Deal(title="Сделка", client=client, stage=stages[1])
    session.add(deal)
    deals.prepare(session, deal)
    session.commit()
    assert deal.probability == stages[1].probability
    deal.stage = stages[3]
    deals.prepare(session, deal)
    session.commit()
    assert deal.probability == stages[3].probability
    deal.stage, deal.probability = stages[2], 55
    deals.prepare(session, deal)
    session.commit()
    assert deal.probability == 55


def test_won_and_lost_close_the_deal_and_lost_needs_a_reason(session):
    deal = Deal(title="Закрытие", client=Client(name=unique("Закрытие")),
                stage=_stages(session)[0])
    session.add(deal)
    deals.prepare(session, deal)
    session.commit()
    deal.status = DealStatus.LOST
    with pytest.raises(Refused) as error:
        deals.prepare(session, deal)
    assert error.value.field == "loss_reason"
    session.rollback()
    deal.status = DealStatus.LOST
    deal.loss_reason = session.scalars(select(RefusalReason)).first()
    deals.prepare(session, deal)
    session.commit()
    assert deal.closed_at is not None and deal.probability == 0
    deal.status = DealStatus.WON
    deals.prepare(session, deal)
    session.commit()
    assert deal.probability == 100 and deal.loss_reason is None and deal.closed_at
    deal.status = DealStatus.OPEN
    deals.prepare(session, deal)
    assert deal.closed_at is None


def test_client_stage_follows_the_most_advanced_open_deal(session):
    stages = _stages(session)
    client = Client(name=unique("Стадия"))
    first = Deal(title="Первая", client=client, stage=stages[1])
    session.add(first)
    deals.prepare(session, first)
    session.commit()
    assert client.funnel_stage == stages[1]
    second = Deal(title="Вторая", client=client, stage=stages[3])
    session.add(second)
    deals.prepare(session, second)
    session.commit()
    assert client.funnel_stage == stages[3]
    second.status = DealStatus.WON
    deals.prepare(session, second)
    session.commit()
    assert client.funnel_stage == stages[1]  # the only open deal left
    first.stage = stages[4]
    deals.prepare(session, first)
    session.commit()
    assert client.funnel_stage == stages[4]


# --- screens --------------------------------------------------------------------


def test_manager_converts_a_lead_through_the_form(as_role, session):
    lead = _lead(session, contact_name=unique("Форма"), phone="+79161230005",
                 amount=Decimal("700"))
    manager = as_role("manager")
    page = manager.get(f"/leads/show/{lead.id}")
    assert f"/leads/convert/{lead.id}" in page.text
    form = manager.get(f"/leads/convert/{lead.id}")
    assert form.status_code == 200 and lead.title in form.text
    stage = _stages(session)[2]
    response = manager.post(f"/leads/convert/{lead.id}", {
        "client_choice": "new", "client_name": "Новый из лида", "title": "Сделка из лида",
        "amount": "1 500,50", "stage": stage.id, "expected_close": ""})
    assert response.status_code == 200
    session.expire_all()
    lead = session.get(Lead, lead.id)
    assert lead.status == LeadStatus.CONVERTED
    assert lead.deal.title == "Сделка из лида" and lead.deal.amount == Decimal("1500.50")
    assert lead.deal.stage_id == stage.id and lead.client.name == "Новый из лида"
    assert lead.deal.responsible.username == "manager"
    assert "Сделка из лида" in response.text


def test_conversion_form_refuses_a_missing_title_and_saves_nothing(as_role, session):
    lead = _lead(session, contact_name=unique("Пусто"))
    deals_before = _count(session, Deal)
    response = as_role("manager").post(f"/leads/convert/{lead.id}", {
        "client_choice": "new", "title": "", "stage": _stages(session)[0].id})
    assert response.status_code == 200 and "convert-lead" in response.text
    assert _count(session, Deal) == deals_before


def test_bulk_convert_action_reports_the_result(as_role, session):
    leads_ = [_lead(session, contact_name=unique("Массово")) for _ in range(2)]
    response = as_role("manager").post("/leads/action_post", {
        "action": "convert_selected", "rowid": [str(lead.id) for lead in leads_]})
    assert response.status_code == 200
    assert "Лиды переведены в сделки: 2" in response.text
    session.expire_all()
    assert all(session.get(Lead, lead.id).deal_id for lead in leads_)


def test_read_only_role_cannot_convert(as_role, session):
    lead = _lead(session, contact_name=unique("Аудит"))
    auditor = as_role("auditor")
    assert "/leads/convert/" not in auditor.get(f"/leads/show/{lead.id}").text
    auditor.post(f"/leads/convert/{lead.id}", {"client_choice": "new", "title": "x",
                                               "stage": _stages(session)[0].id})
    session.expire_all()
    assert session.get(Lead, lead.id).deal_id is None


def test_participants_see_leads_and_deals_others_do_not(as_role, session):
    manager, head = employee(session, "manager"), employee(session, "head")
    tag = unique("Участник")
    shared = Lead(title=f"{tag} лид общий", responsible=head, participants=[manager])
    hidden = Lead(title=f"{tag} лид чужой", responsible=head)
    client = Client(name=f"{tag} клиент", responsible=head)
    shared_deal = Deal(title=f"{tag} сделка общая", client=client, responsible=head,
                       participants=[manager])
    hidden_deal = Deal(title=f"{tag} сделка чужая", client=client, responsible=head)
    session.add_all([shared, hidden, shared_deal, hidden_deal])
    session.commit()
    browser = as_role("manager")
    leads_page = browser.get("/leads/list/?psize_LeadView=100").text
    assert f"{tag} лид общий" in leads_page and f"{tag} лид чужой" not in leads_page
    deals_page = browser.get("/deals/list/?psize_DealView=100").text
    assert f"{tag} сделка общая" in deals_page and f"{tag} сделка чужая" not in deals_page
    assert browser.get(f"/leads/show/{shared.id}").status_code == 200
    assert browser.get(f"/leads/edit/{hidden.id}").status_code in (403, 404)
    assert browser.get(f"/leads/edit/{shared.id}").status_code == 200
    assert browser.get(f"/deals/edit/{shared_deal.id}").status_code == 200
    assert browser.get(f"/deals/edit/{hidden_deal.id}").status_code in (403, 404)


def test_deal_form_lost_without_reason_is_refused(as_role, session):
    manager = employee(session, "manager")
    client = Client(name=unique("Форма сделки"), responsible=manager)
    deal = Deal(title=unique("Сделка формы"), client=client, responsible=manager,
                stage=_stages(session)[0], probability=10)
    session.add(deal)
    session.commit()
    browser = as_role("manager")
    response = browser.post(f"/deals/edit/{deal.id}", {
        "title": deal.title, "client": client.id, "amount": "10", "stage": _stages(session)[3].id,
        "probability": "", "status": "lost", "responsible": manager.id})
    assert "Для проигранной сделки нужна причина проигрыша" in response.text
    session.expire_all()
    assert session.get(Deal, deal.id).status == DealStatus.OPEN
    response = browser.post(f"/deals/edit/{deal.id}", {
        "title": deal.title, "client": client.id, "amount": "10",
        "stage": _stages(session)[3].id, "probability": "10", "status": "open",
        "responsible": manager.id})
    session.expire_all()
    saved = session.get(Deal, deal.id)
    assert saved.stage_id == _stages(session)[3].id
    assert saved.probability == _stages(session)[3].probability
    assert saved.client.funnel_stage_id == saved.stage_id


def test_deal_moves_through_the_stages_to_won_on_its_page(as_role, session):
    manager = employee(session, "manager")
    client = Client(name=unique("Путь сделки"), responsible=manager)
    deal = Deal(title=unique("Путь"), client=client, responsible=manager)
    session.add(deal)
    session.commit()
    browser = as_role("manager")
    assert "deal-move" in browser.get(f"/deals/show/{deal.id}").text
    stages = _stages(session)
    for stage in stages[1:]:
        browser.post(f"/deals/move/{deal.id}", {"stage": stage.id, "status": "open"})
        session.expire_all()
        saved = session.get(Deal, deal.id)
        assert saved.probability == stage.probability
        assert saved.client.funnel_stage_id == stage.id
    response = browser.post(f"/deals/move/{deal.id}", {"stage": stages[-1].id,
                                                       "status": "lost"})
    assert "Для проигранной сделки нужна причина проигрыша" in response.text
    response = browser.post(f"/deals/move/{deal.id}", {"stage": stages[-1].id,
                                                       "status": "won"})
    session.expire_all()
    saved = session.get(Deal, deal.id)
    assert saved.status == DealStatus.WON and saved.probability == 100 and saved.closed_at
    assert "deal-move" not in as_role("auditor").get(f"/deals/show/{deal.id}").text


def test_deal_rules_over_the_api(as_role, session):
    manager = employee(session, "manager")
    client = Client(name=unique("API сделки"), responsible=manager)
    session.add(client)
    session.commit()
    stages = _stages(session)
    api = as_role("manager").http
    created = api.post("/api/v1/deal/", json={"title": "API", "client": client.id,
                                               "stage": stages[2].id})
    assert created.status_code == 201, created.json
    deal_id = created.json["id"]
    assert session.get(Deal, deal_id).probability == stages[2].probability
    refused = api.put(f"/api/v1/deal/{deal_id}", json={"status": "lost"})
    assert refused.status_code == 422 and "loss_reason" in refused.json["message"]
    moved = api.put(f"/api/v1/deal/{deal_id}", json={"stage": stages[3].id})
    assert moved.status_code == 200
    session.expire_all()
    assert session.get(Deal, deal_id).probability == stages[3].probability
    assert session.get(Client, client.id).funnel_stage_id == stages[3].id


def test_unassigned_lead_goes_to_whoever_converts_it(session):
    head = employee(session, "head")
    lead = _lead(session, contact_name=unique("Ничей"), responsible=None)
    deal = leads.convert(session, lead, responsible=head)
    session.commit()
    assert deal.responsible is head and deal.client.responsible is head


def test_lead_conversion_over_the_api(as_role, session):
    lead = _lead(session, contact_name=unique("API лид"), phone="+79161230099")
    api = as_role("manager").http
    response = api.post(f"/api/v1/lead/{lead.id}/convert", json={"title": "Из API",
                                                                  "amount": "99.5"})
    assert response.status_code == 201, response.json
    deal = session.get(Deal, response.json["deal"])
    assert deal.title == "Из API" and deal.amount == Decimal("99.50")
    assert deal.client_id == response.json["client"]
    again = api.post(f"/api/v1/lead/{lead.id}/convert", json={})
    assert again.status_code == 422
    hidden = _lead(session, contact_name=unique("Чужой API"), responsible=employee(session, "head"))
    assert api.post(f"/api/v1/lead/{hidden.id}/convert", json={}).status_code == 404
    assert as_role("auditor").http.post(f"/api/v1/lead/{lead.id}/convert",
                                        json={}).status_code in (401, 403)
