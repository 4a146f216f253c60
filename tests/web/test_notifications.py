"""The bell, the notifications page and the "without plans" page
as Manager, Head of sales and Read-only."""
import re

from app.models import Client, Deal, Notification
from app.services import notifications
from tests.conftest import employee, statements_sent, unique


def _bell(page):
    match = re.search(r'id="notification-count">([^<]+)<', page)
    return match.group(1) if match else None


def _notify(session, username, text, link="/tasks/"):
    note_id = notifications.notify(session, employee(session, username).id, text, link=link,
                                   email=False)
    session.commit()
    return note_id


def test_bell_counts_unread_and_the_page_lists_own_only(as_role, session):
    manager = as_role("manager")
    manager.post("/notifications/read-all")
    assert _bell(manager.get("/").text) is None
    mine = unique("Позвонить клиенту")
    theirs = unique("Не для менеджера")
    _notify(session, "manager", mine)
    _notify(session, "head", theirs)
    page = manager.get("/").text
    assert 'id="notification-bell"' in page and _bell(page) == "1"
    listing = manager.get("/notifications/").text
    assert mine in listing and theirs not in listing
    assert "Уведомления" in listing and "Отметить все прочитанными" in listing


def test_a_page_reads_its_user_permission_stamp_and_bell_in_one_statement(app, as_role,
                                                                         session):
    manager = as_role("manager")
    manager.post("/notifications/read-all")
    _notify(session, "manager", unique("одна"))
    with statements_sent(app) as sent:
        page = manager.get("/clients/list/").text
    assert _bell(page) == "1"
    mentions = [s for s in sent if "permission_stamp" in s or "FROM notification" in s]
    assert len(mentions) == 1 and "FROM ab_user" in mentions[0], mentions


def test_mark_one_read_and_open_follows_the_link(as_role, session):
    manager = as_role("manager")
    manager.post("/notifications/read-all")
    first = _notify(session, "manager", unique("первое"), link="/calendar/")
    _notify(session, "manager", unique("второе"))
    assert _bell(manager.get("/").text) == "2"
    manager.post(f"/notifications/read/{first}")
    assert _bell(manager.get("/").text) == "1"
    third = _notify(session, "manager", unique("третье"), link="/calendar/")
    response = manager.get(f"/notifications/open/{third}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/calendar/")
    session.expire_all()
    assert session.get(Notification, third).read_at is not None
    manager.post("/notifications/read-all")
    assert _bell(manager.get("/").text) is None


def test_someone_elses_notification_is_not_found(as_role, session):
    theirs = _notify(session, "head", unique("руководителю"))
    manager = as_role("manager")
    assert manager.get(f"/notifications/open/{theirs}").status_code == 404
    assert manager.post(f"/notifications/read/{theirs}", follow=False).status_code == 404
    manager.post("/notifications/read-all")
    session.expire_all()
    assert session.get(Notification, theirs).read_at is None


def test_marking_read_needs_csrf(as_role, session):
    note = _notify(session, "manager", unique("csrf"))
    response = as_role("manager").post(f"/notifications/read/{note}", csrf=False, follow=False)
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Notification, note).read_at is None


def test_read_only_and_head_see_their_notifications(as_role, session):
    for username in ("auditor", "head"):
        text = unique("для " + username)
        _notify(session, username, text)
        user = as_role(username)
        assert text in user.get("/notifications/").text
        assert _bell(user.get("/", follow_redirects=True).text)  # the head lands on /stats/


def test_signed_out_visitor_has_no_bell(client):
    assert 'id="notification-bell"' not in client.get("/login/").text
    assert client.get("/notifications/").status_code in (302, 401)


def test_unplanned_page_for_head_and_manager(as_role, session):
    manager, head = employee(session, "manager"), employee(session, "head")
    own = Client(name=unique("Мой без планов"), responsible_id=manager.id)
    other = Client(name=unique("Чужой без планов"), responsible_id=head.id)
    session.add_all([own, other])
    session.flush()
    own_deal = Deal(title=unique("Моя сделка"), client_id=own.id, responsible_id=manager.id)
    other_deal = Deal(title=unique("Чужая сделка"), client_id=other.id,
                      responsible_id=head.id)
    session.add_all([own_deal, other_deal])
    session.commit()
    page = as_role("head").get("/followup/unplanned/").text
    assert own_deal.title in page and other_deal.title in page
    assert own.name in page and "Открытые сделки без запланированной задачи" in page
    page = as_role("manager").get("/followup/unplanned/").text
    assert own_deal.title in page and other_deal.title not in page
    assert other.name not in page


def test_new_task_reminds_a_day_before_by_default_with_every_choice(as_role):
    form = as_role("manager").get("/tasks/add").text
    select_html = form.split('name="reminder_minutes"')[1].split("</select>")[0]
    assert re.search(r'<option selected value="1440">|<option value="1440" selected',
                     select_html), select_html
    for label in ("Не напоминать", "За 5 минут", "За 15 минут", "За 30 минут", "За 1 час",
                  "За 2 часа", "За 1 день"):
        assert label in select_html, label
