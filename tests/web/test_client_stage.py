"""The client's funnel stage changed from the client's page: the edit
form's permission, row rule and write rule (history recorded), per role."""
import pytest
from sqlalchemy import select

from app.models import Client, FunnelStage, HistoryEntry, PublicAccess
from tests.conftest import employee_id, unique, with_history


def _stage(session, name):
    return session.scalar(select(FunnelStage).where(FunnelStage.name == name))


def _client(session, owner_id, **kw):
    client = Client(name=unique("Стадия"), responsible_id=owner_id,
                    funnel_stage=_stage(session, "Звонок"), **kw)
    session.add(client)
    session.commit()
    return client


def _stage_of(session, client_id):
    session.expire_all()
    return session.scalar(select(FunnelStage.name).join(
        Client, Client.funnel_stage_id == FunnelStage.id).where(Client.id == client_id))


def test_manager_changes_the_stage_of_own_client(as_role, session):
    manager_id = employee_id(session, "manager")
    client = _client(session, manager_id)
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{client.id}").text
    form = page.split('id="client-stage"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form and "Сменить стадию" in form
    assert f'action="/clients/stage/{client.id}"' in page
    meeting = _stage(session, "Встреча")
    response = manager.post(f"/clients/stage/{client.id}", {"stage": meeting.id},
                            follow=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/show/{client.id}")
    page = with_history(manager, response.headers["Location"])
    assert "Стадия воронки изменена: Встреча" in page
    assert _stage_of(session, client.id) == "Встреча"
    entry = session.scalar(select(HistoryEntry).where(
        HistoryEntry.entity == "client", HistoryEntry.entity_id == client.id,
        HistoryEntry.field == "funnel_stage"))
    assert (entry.old_value, entry.new_value, entry.user_id) == ("Звонок", "Встреча",
                                                                 manager_id)
    assert any("Стадия воронки" in row and "Встреча" in row
               for row in page.split('id="history"', 1)[1].split("</table>")[0].split("<tr>"))


def test_bad_or_inactive_stage_is_refused_with_a_message(as_role, session):
    client = _client(session, employee_id(session, "manager"))
    manager = as_role("manager")
    for value in ("", "abc", "999999", "-1"):
        page = manager.post(f"/clients/stage/{client.id}", {"stage": value}).text
        assert "Выберите стадию воронки из списка" in page
    # Last in the funnel's order: other tests read the funnel's first stages.
    old = FunnelStage(name=unique("Старая стадия"), is_active=False, sort_order=999)
    session.add(old)
    session.commit()
    assert "Выберите стадию воронки из списка" in manager.post(
        f"/clients/stage/{client.id}", {"stage": old.id}).text
    assert old.name not in manager.get(f"/clients/show/{client.id}").text.split(
        'id="client-stage"', 1)[1].split("</form>", 1)[0]
    page = manager.post(f"/clients/stage/{client.id}",
                        {"stage": _stage(session, "Звонок").id}).text
    assert "Клиент уже на этой стадии" in page
    assert _stage_of(session, client.id) == "Звонок"


def test_manager_cannot_change_another_managers_client(as_role, session, other_manager):
    hidden = _client(session, other_manager)
    readable = _client(session, other_manager, public_access=PublicAccess.READ)
    manager = as_role("manager")
    meeting = _stage(session, "Встреча").id
    assert manager.post(f"/clients/stage/{hidden.id}", {"stage": meeting},
                        follow=False).status_code == 404
    assert 'id="client-stage"' not in manager.get(f"/clients/show/{readable.id}").text
    assert manager.post(f"/clients/stage/{readable.id}", {"stage": meeting},
                        follow=False).status_code == 403
    assert _stage_of(session, hidden.id) == _stage_of(session, readable.id) == "Звонок"


@pytest.mark.parametrize("username", ["head", "admin"])
def test_head_and_admin_change_anyones_client(as_role, session, other_manager, username):
    client = _client(session, other_manager)
    user = as_role(username)
    assert 'id="client-stage"' in user.get(f"/clients/show/{client.id}").text
    page = user.post(f"/clients/stage/{client.id}",
                     {"stage": _stage(session, "Договор").id}).text
    assert "Стадия воронки изменена: Договор" in page
    assert _stage_of(session, client.id) == "Договор"


def test_read_only_role_has_no_form_and_is_refused(as_role, session):
    client = _client(session, employee_id(session, "manager"))
    auditor = as_role("auditor")
    assert 'id="client-stage"' not in auditor.get(f"/clients/show/{client.id}").text
    response = auditor.post(f"/clients/stage/{client.id}",
                            {"stage": _stage(session, "Договор").id}, follow=False)
    assert response.status_code in (302, 403)
    assert _stage_of(session, client.id) == "Звонок"


def test_the_stage_needs_the_csrf_token(as_role, session):
    client = _client(session, employee_id(session, "manager"))
    response = as_role("manager").post(f"/clients/stage/{client.id}",
                                       {"stage": _stage(session, "Договор").id},
                                       csrf=False, follow=False)
    assert response.status_code == 400
    assert _stage_of(session, client.id) == "Звонок"


def test_stage_box_keeps_the_funnel_until_it_changes(app, as_role, session):
    """The box's stages are read again only when the funnel changed (its
    table's stamp): a second visit reads none; a stage added meanwhile is
    offered on the next page, in the funnel's order; a client on a stage
    switched off still sees its own stage, chosen."""
    from tests.conftest import statements_sent

    client = _client(session, employee_id(session, "manager"))
    manager = as_role("manager")

    def box():
        page = manager.get(f"/clients/show/{client.id}").text
        return page.split('id="client-stage"', 1)[1].split("</form>", 1)[0]

    box()
    with statements_sent(app) as sent:
        assert "Звонок" in box()
    assert not [s for s in sent if "FROM funnel_stage" in s], sent
    added = FunnelStage(name=unique("Новая стадия"), is_active=True, sort_order=998)
    session.add(added)
    session.commit()
    offered = box()
    assert added.name in offered
    assert offered.index("Звонок") < offered.index(added.name)
    added.is_active = False
    client.funnel_stage_id = added.id
    session.commit()
    offered = box()
    assert f'<option value="{added.id}" selected>{added.name}</option>' in offered
    assert "Звонок" in offered
