"""«Виды» on the lists: a user's saved filters, sort and page size, the
administrator's shared views, and what nobody may do with them."""
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from app.models import Client, Deal, Employee, SavedView
from app.views.search import QUICK_ARG
from tests.conftest import new_user, signed_in, unique

LIST = "/deals/list/"


@pytest.fixture
def colleague(app):
    """A second manager: (employee id, signed-in test client)."""
    login, employee_id = new_user(app, prefix="views")
    return employee_id, signed_in(app, login)


def _query(word, **extra):
    args = {QUICK_ARG: word, "_oc_DealView": "amount", "_od_DealView": "asc",
            "psize_DealView": "10", **extra}
    return "&".join(f"{k}={v}" for k, v in args.items())


def _save(http, title, query, view="DealView", **form):
    return http.post("/saved-views/save", {"view": view, "title": title, "query": query,
                                           **form}, follow=False)


def _views(session, title):
    session.expire_all()
    return session.scalars(select(SavedView).where(SavedView.title == title)).all()


def _args(location):
    parts = urlsplit(location)
    return parts.path, dict(parse_qsl(parts.query))


@pytest.mark.parametrize("role", ["admin", "head", "manager"])
def test_save_and_open_a_view(as_role, session, role):
    http = as_role(role)
    word, title = unique("вид").split()[1], unique("Мои крупные")
    response = _save(http, title, _query(word, page_DealView="3"))
    assert response.status_code == 302
    path, args = _args(response.headers["Location"])
    assert path == LIST
    assert args == {QUICK_ARG: word, "_oc_DealView": "amount", "_od_DealView": "asc",
                    "psize_DealView": "10"}  # the page is not part of a view
    page = http.get(response.headers["Location"]).text
    assert f"Вид «{title}» сохранён" in page
    (saved,) = _views(session, title)
    assert saved.view_name == "DealView" and not saved.shared
    assert f'/saved-views/open/{saved.id}"' in page and title in page
    # Elsewhere the list has no filters; the view brings them back.
    plain = http.get(LIST).text
    assert "Виды" in plain and "Сохранить вид" in plain and title in plain
    opened = http.get(f"/saved-views/open/{saved.id}")
    assert opened.status_code == 302 and _args(opened.headers["Location"]) == (path, args)
    # Delete one's own.
    response = http.post(f"/saved-views/delete/{saved.id}", {"query": ""}, follow=False)
    assert response.status_code == 302 and _args(response.headers["Location"])[0] == LIST
    assert _views(session, title) == []


def test_read_only_opens_shared_views_but_saves_none(as_role, session):
    admin, auditor = as_role("admin"), as_role("auditor")
    title = unique("Общий для аудитора")
    _save(admin, title, _query("x"), shared="1")
    (shared,) = _views(session, title)
    page = auditor.get(LIST).text
    assert "Виды" in page and title in page and "Сохранить вид" not in page
    assert auditor.get(f"/saved-views/open/{shared.id}").status_code == 302
    mine = unique("Аудитор")
    response = _save(auditor, mine, _query("x"))
    assert response.status_code in (302, 403) and _views(session, mine) == []
    assert auditor.post(f"/saved-views/delete/{shared.id}").status_code == 403
    assert len(_views(session, title)) == 1


def test_bad_input_is_refused_with_a_message(as_role, session):
    http = as_role("manager")
    page = http.get(_save(http, "   ", _query("x")).headers["Location"]).text
    assert "Вид не сохранён: Укажите название вида" in page
    page = http.get(_save(http, "Я" * 101, _query("x")).headers["Location"]).text
    assert "Название длиннее 100 символов" in page
    title = unique("Дважды")
    _save(http, title, _query("x"))
    response = _save(http, f"  {title} ", _query("y"))
    page = http.get(response.headers["Location"]).text
    assert f"У вас уже есть вид «{title}» этого списка" in page
    assert len(_views(session, title)) == 1
    # The same title on another list is another view.
    assert _save(http, title, "", view="TaskView").status_code == 302
    assert len(_views(session, title)) == 2
    # A list that is not there, or not this user's to open.
    assert _save(http, unique("Никакой"), "", view="NoSuchView").status_code == 404
    assert _save(http, unique("Роли"), "", view="RoleModelView").status_code == 404
    assert _save(http, unique("Сотрудники"), "", view="EmployeeView").status_code == 404
    # Only an administrator shares.
    shared = unique("Общий от менеджера")
    page = http.get(_save(http, shared, "", shared="1").headers["Location"]).text
    assert "Сделать вид общим может только администратор" in page
    assert _views(session, shared) == []
    # No CSRF token, no view.
    title = unique("Без токена")
    response = http.post("/saved-views/save", {"view": "DealView", "title": title,
                                               "query": ""}, csrf=False, follow=False)
    assert response.status_code == 400 and _views(session, title) == []
    assert http.get("/saved-views/open/999999999").status_code == 404


def test_only_the_lists_own_arguments_are_kept(as_role, session):
    http = as_role("manager")
    title = unique("Чистый")
    query = ("next=//evil.example/x&_flt_0_nosuchcolumn=1&_oc_DealView=password"
             "&_od_DealView=sideways&psize_DealView=5000&page_DealView=2&_oc_ClientView=name"
             f"&{QUICK_ARG}=&url=https://evil.example&{QUICK_ARG}=Ромашка")
    response = _save(http, title, query)
    (saved,) = _views(session, title)
    assert dict(parse_qsl(saved.query)) == {QUICK_ARG: "Ромашка"}
    assert _args(response.headers["Location"]) == (LIST, {QUICK_ARG: "Ромашка"})


@pytest.mark.parametrize("stored", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)",
                                    "_flt_0_q=1\r\nLocation: https://evil.example"])
def test_no_open_redirect_from_a_stored_text(as_role, session, stored):
    http = as_role("manager")
    title = unique("Подменённый")
    _save(http, title, "")
    (saved,) = _views(session, title)
    saved.query = stored  # as if written around the service
    session.commit()
    response = http.get(f"/saved-views/open/{saved.id}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(LIST) or location.startswith("http://localhost" + LIST)
    assert "evil" not in urlsplit(location).netloc and "\n" not in location


def test_another_users_view_is_not_there_and_a_shared_one_is_the_admins(as_role, session,
                                                                       colleague):
    _, other = colleague
    manager, admin = as_role("manager"), as_role("admin")
    private = unique("Чужой")
    _save(other, private, _query("x"))
    (theirs,) = _views(session, private)
    assert private not in manager.get(LIST).text
    assert manager.get(f"/saved-views/open/{theirs.id}").status_code == 404
    assert manager.post(f"/saved-views/delete/{theirs.id}").status_code == 404
    assert manager.post(f"/saved-views/share/{theirs.id}", {"shared": "1"}).status_code == 404
    assert admin.post(f"/saved-views/share/{theirs.id}", {"shared": "1"}).status_code == 404
    assert len(_views(session, private)) == 1 and not _views(session, private)[0].shared

    public = unique("Общий")
    _save(admin, public, _query("x"), shared="1")
    (shared,) = _views(session, public)
    assert shared.shared
    for http in (manager, other):
        page = http.get(LIST).text
        assert public in page and f"/saved-views/open/{shared.id}" in page
        assert f"saved-view-delete-{shared.id}" not in page
        assert http.post(f"/saved-views/delete/{shared.id}").status_code == 403
        assert http.post(f"/saved-views/share/{shared.id}", {"shared": "0"}).status_code == 403
    session.expire_all()
    assert session.get(SavedView, shared.id).shared
    # The administrator shares own views and takes them back.
    assert f"saved-view-delete-{shared.id}" in admin.get(LIST).text
    response = admin.post(f"/saved-views/share/{shared.id}", {"shared": "0"}, follow=False)
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(SavedView, shared.id).shared
    assert public not in manager.get(LIST).text
    assert admin.post(f"/saved-views/delete/{shared.id}").status_code == 200
    assert _views(session, public) == []


def test_a_shared_view_shows_only_rows_the_user_may_see(as_role, session, colleague):
    other_id, other = colleague
    manager_id = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    word = unique("Видимость").split()[1]
    deals = {}
    for owner, key in ((manager_id, "mine"), (other_id, "theirs")):
        client = Client(name=unique("Клиент вида"), responsible_id=owner)
        deals[key] = Deal(title=f"Сделка {word} {key}", client=client, responsible_id=owner,
                          amount=1000)
        session.add(deals[key])
    session.commit()
    admin = as_role("admin")
    title = unique("Общий поиск")
    _save(admin, title, f"{QUICK_ARG}={word}", shared="1")
    (shared,) = _views(session, title)
    seen_by_admin = admin.get(admin.get(f"/saved-views/open/{shared.id}")
                              .headers["Location"]).text
    assert f"/deals/show/{deals['mine'].id}" in seen_by_admin
    assert f"/deals/show/{deals['theirs'].id}" in seen_by_admin
    manager = as_role("manager")
    page = manager.get(manager.get(f"/saved-views/open/{shared.id}").headers["Location"]).text
    assert f"/deals/show/{deals['mine'].id}" in page
    assert f"/deals/show/{deals['theirs'].id}" not in page


def test_every_register_list_has_views(as_role):
    http = as_role("manager")
    for url in ("/clients/list/", "/contacts/list/", "/applications/list/", "/leads/list/",
                LIST, "/tasks/list/", "/notes/list/", "/projects/list/",
                "/counterparty-actions/list/", "/invoices/list/"):
        response = http.get(url)
        if response.status_code != 200:
            continue
        assert 'id="saved-views-menu"' in response.text, url
        assert re.search(r'name="view" value="\w+View"', response.text), url


def test_a_list_reads_the_saved_views_only_when_they_changed(app, as_role, session):
    """The «Виды» menu is kept while the saved_view table's stamp stays
    (migration 0035): a second page sends no statement for it, and a view
    written by any writer (here plain SQL, as another server would) is in
    the menu of the very next page, and gone after its deletion."""
    from tests.conftest import employee_id, statements_sent

    http = as_role("manager")
    http.get(LIST)
    with statements_sent(app) as sent:
        assert http.get(LIST).status_code == 200
    assert not [s for s in sent if "saved_view" in s], sent
    title = unique("Из другого сервера")
    view = SavedView(user_id=employee_id(session, "manager"), view_name="DealView",
                     title=title, query=_query("x"))
    session.add(view)
    session.commit()
    page = http.get(LIST).text
    assert title in page and f"/saved-views/open/{view.id}" in page
    session.delete(view)
    session.commit()
    assert title not in http.get(LIST).text
