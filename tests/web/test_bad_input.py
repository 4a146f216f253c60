"""Bad input gets a message, never a 500 or raw SQL: list
parameters of every screen and of the API, unknown bulk actions, the error
pages, and the security headers of every response."""
import pytest
from flask import flash, redirect, url_for
from flask_appbuilder.baseviews import BaseCRUDView
from sqlalchemy import delete, select, text

from app import db
from app.models import Client
from app.views import errors
from app.views.requestargs import MAX_PAGE_SIZE
from tests.conftest import make_app, unique

# Each parameter is checked on its own, so one request carries several bad
# ones: every bad value below is tried on every list.
BAD_LIST_ARGS = [
    "page_{v}=abc&psize_{v}=abc&_oc_{v}=nonexistent&_od_{v}=asc",
    "page_{v}=-1&psize_{v}=-5&_oc_{v}=__class__&_od_{v}=desc",
    # a full-width digit: int() takes it, SQL not
    "page_{v}=1e3&psize_{v}=%EF%BC%91&_oc_{v}=id&_od_{v}=sideways",
    "page_{v}=99999999999999999999999&psize_{v}=99999999999999999999999&_oc_{v}=nonexistent",
    "page_{v}=abc&page_{v}=1&psize_{v}=0&_od_{v}=desc",
    "page_Nosuchview=abc&psize_Nosuchview=x",
]
SQL_WORDS = ("INSERT", "SELECT", "[SQL", "[parameters", "secret-param", "Traceback")


def _list_urls(app):
    with app.test_request_context():
        return [(type(view).__name__, url_for(type(view).__name__ + ".list"))
                for view in app.appbuilder.baseviews
                if isinstance(view, BaseCRUDView) and hasattr(view, "list")]


def test_every_list_ignores_bad_parameters(app, as_role):
    admin = as_role("admin")
    urls = _list_urls(app)
    assert len(urls) > 30, urls  # every register, dictionary and admin screen
    failed = []
    for name, url in urls:
        for args in BAD_LIST_ARGS:
            response = admin.get(f"{url}?{args.format(v=name)}")
            if response.status_code >= 500:
                failed.append((url, args, response.status_code))
    assert not failed


@pytest.fixture
def a_client(session):
    client = Client(name=unique("Плохой ввод"))
    session.add(client)
    session.commit()
    yield client.id
    session.execute(delete(Client).where(Client.id == client.id))
    session.commit()


def test_related_lists_of_a_record_page_ignore_bad_parameters(app, as_role, a_client):
    admin = as_role("admin")
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "ClientView")
    related = [type(r).__name__ for r in view.get_init_inner_views()]
    assert related
    for name in related:
        args = "&".join(arg.format(v=name) for arg in (
            "page_{v}=abc", "psize_{v}=-1", "_oc_{v}=nonexistent", "_od_{v}=asc"))
        for url in (f"/clients/show/{a_client}", f"/clients/edit/{a_client}"):
            response = admin.get(f"{url}?{args}")
            assert response.status_code == 200, (url, name)


def test_export_and_task_print_ignore_an_unknown_order(as_role):
    admin = as_role("admin")
    response = admin.get("/clients/export/?_oc_ClientView=nonexistent&_od_ClientView=asc")
    assert response.status_code == 200
    response = admin.get("/tasks/print?_oc_TaskView=nonexistent&_od_TaskView=asc"
                         "&page_TaskView=abc")
    assert response.status_code == 200


def test_page_size_is_capped(as_role, many_tags):
    admin = as_role("admin")
    html = admin.get(f"/tags/list/?_flt_0_name={many_tags}&psize_TagView=20000").text
    shown = sum(f"{many_tags} {i:03}" in html for i in range(MAX_PAGE_SIZE + 5))
    assert shown == MAX_PAGE_SIZE
    # A size the pager offers is kept.
    html = admin.get(f"/tags/list/?_flt_0_name={many_tags}&psize_TagView=25").text
    assert sum(f"{many_tags} {i:03}" in html for i in range(MAX_PAGE_SIZE + 5)) == 25


def test_a_valid_order_still_sorts(as_role, session):
    tag = unique("Порядок")
    session.add_all([Client(name=f"{tag} а"), Client(name=f"{tag} я")])
    session.commit()
    try:
        html = as_role("admin").get(
            f"/clients/list/?_flt_0_name={tag}&_oc_ClientView=name&_od_ClientView=desc").text
        assert html.index(f"{tag} я") < html.index(f"{tag} а")
    finally:
        session.execute(delete(Client).where(Client.name.startswith(tag)))
        session.commit()


def test_api_page_size_is_capped(as_role, many_tags):
    admin = as_role("admin")
    response = admin.get(
        f"/api/v1/tag/?q=(filters:!((col:name,opr:sw,value:'{many_tags}')),page_size:20000)")
    assert response.status_code == 200, response.json
    assert len(response.json["result"]) == 100
    assert response.json["count"] == MAX_PAGE_SIZE + 5


@pytest.mark.parametrize("query", ["(page:-1)", "(page:99999999999999999999)",
                                   "(page:-1,page_size:10)"])
def test_api_bad_page_is_400_with_a_message(as_role, query):
    for resource in ("client", "tag"):
        response = as_role("admin").get(f"/api/v1/{resource}/?q={query}")
        assert response.status_code == 400, (resource, response.status_code)
        assert "Номер страницы" in response.json["message"]


def test_api_bad_order_and_types_stay_400(as_role):
    admin = as_role("admin")
    for query in ("(order_column:nonexistent,order_direction:asc)",
                  "(order_column:name,order_direction:sideways)", "(page:abc)", "(page"):
        assert admin.get(f"/api/v1/client/?q={query}").status_code == 400, query


def test_unknown_bulk_action_is_refused(as_role, a_client):
    admin = as_role("admin")
    for url, data in (("/clients/action_post", {"action": "nonexistent",
                                                 "rowid": str(a_client)}),
                      (f"/clients/action/nonexistent/{a_client}", {})):
        response = admin.post(url, data)
        assert response.status_code == 400, url
        assert "Такого действия нет" in response.text
    # Without a name FAB answers 400 itself.
    assert admin.post("/clients/action_post", {}).status_code == 400


@pytest.fixture(scope="module")
def failing_app(app, database_url):
    """An app of its own, on the shared app's migrated database, with
    test-only routes that fail (routes cannot be added to the shared app
    once it has served a request)."""
    app = make_app(database_url)

    @app.route("/test-only/sql-error")
    def sql_error():
        # A real database error: its text holds the statement and the
        # parameter; on PostgreSQL it also aborts the transaction, so the
        # error page's menu renders only after a rollback.
        db.session.execute(text("SELECT name FROM no_such_table WHERE name = :p"),
                           {"p": "secret-param"})

    @app.route("/api/v1/test-only/sql-error")
    def api_sql_error():
        return sql_error()

    @app.route("/test-only/flash-sql")
    def flash_sql():
        # What FAB's add does with a database error: flash(str(e)).
        try:
            sql_error()
        except Exception as exc:  # noqa: BLE001
            db.session.rollback()
            flash(str(exc))
        return redirect("/login/")

    @app.route("/test-only/own-headers")
    def own_headers():
        return "framed", 200, {"X-Frame-Options": "DENY",
                               "Content-Security-Policy": "default-src 'none'"}

    yield app
    with app.app_context():
        db.session.remove()


def test_500_page_is_russian_without_sql(failing_app, caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py) disables the loggers that
    # existed when the test database was migrated in this process.
    monkeypatch.setattr(errors.log, "disabled", False)
    http = failing_app.test_client()
    response = http.get("/test-only/sql-error")
    assert response.status_code == 500
    assert "На сервере произошла ошибка" in response.text
    assert "Сделка CRM" in response.text  # the app's layout
    for word in SQL_WORDS:
        assert word not in response.text, word
    logged = [r for r in caplog.records if r.name == errors.log.name and r.exc_info]
    assert logged and "no_such_table" in str(logged[0].exc_info[1])
    # The session was rolled back: the next request works.
    assert http.get("/login/").status_code == 200


def test_a_flashed_database_error_shows_no_sql(failing_app):
    response = failing_app.test_client().get("/test-only/flash-sql", follow_redirects=True)
    assert response.status_code == 200
    assert "Запись не сохранена" in response.text
    for word in SQL_WORDS:
        assert word not in response.text, word


def test_500_of_the_api_is_json_without_sql(failing_app):
    response = failing_app.test_client().get("/api/v1/test-only/sql-error")
    assert response.status_code == 500
    assert response.is_json
    assert "На сервере произошла ошибка" in response.json["message"]
    for word in SQL_WORDS:
        assert word not in response.text, word


def test_http_errors_keep_their_codes_with_russian_messages(as_role):
    admin = as_role("admin")
    response = admin.post("/clients/list/", {})
    assert response.status_code == 405
    assert "Эту страницу нельзя открыть таким способом" in response.text
    assert "GET" in response.headers["Allow"]
    response = admin.get("/no-such-page/")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text
    response = admin.get("/api/v1/no-such-api/")
    assert response.status_code == 404
    assert response.json["message"]
    response = admin.post("/clients/add", {"name": "x"}, csrf=False)
    assert response.status_code == 400
    assert "Обновите страницу" in response.text
    # A redirect stays a redirect.
    assert admin.get("/clients/list", follow_redirects=False).status_code in (301, 308)


def test_security_headers_on_every_response(as_role, client, failing_app):
    admin = as_role("admin")
    for response in (client.get("/login/"), admin.get("/clients/list/"),
                     admin.get("/no-such-page/"), admin.get("/api/v1/client/"),
                     admin.get("/static/appbuilder/css/bootstrap.min.css"),
                     failing_app.test_client().get("/test-only/sql-error")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    # A response that sets its own (a served file, a preview) keeps them.
    response = failing_app.test_client().get("/test-only/own-headers")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"


def test_template_preview_keeps_its_own_policy(as_role):
    response = as_role("admin").post("/templates/preview",
                                      {"body": "<p>{{ 1 + 1 }}</p>", "entity": "client"})
    assert response.status_code == 200, response.text[:300]
    assert "Content-Security-Policy" in response.json["html"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_client_name_too_long_or_with_nul_shows_no_sql(as_role, session):
    admin = as_role("admin")
    for name in ("Д" * 300, unique("нуль") + "\x00"):
        response = admin.post("/clients/add", {"name": name})
        assert response.status_code < 500
        for word in SQL_WORDS:
            assert word not in response.text, (word, name[:20])
    assert not session.scalar(select(Client.id).where(Client.name == "Д" * 300))
