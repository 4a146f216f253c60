"""Language, migrations, the first admin and error pages."""
import flask_migrate
from click.testing import CliRunner  # noqa: F401  (flask's runner wraps it)

from app.cli import sdelka_cli
from tests.conftest import make_app


def test_interface_is_russian_by_default_and_english_selectable(as_role):
    client = as_role("manager")
    assert "Отделы" in client.get("/departments/list/").text
    client.get("/lang/en")
    page = client.get("/departments/list/").text
    assert "Departments" in page and "Отделы" not in page
    client.get("/lang/ru")
    assert "Отделы" in client.get("/departments/list/").text


def test_every_message_of_ours_has_a_russian_translation():
    from babel.messages.pofile import read_po

    with open("app/translations/ru/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    assert not catalog.fuzzy, "a fuzzy catalogue is skipped by pybabel compile"
    assert len(catalog) > 50


def test_every_message_in_the_code_is_in_the_catalogue():
    """Fails when a new label was added without `make messages` + translation."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    keywords = dict(DEFAULT_KEYWORDS, _l=None, N_=None, lazy_gettext=None)
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = {message[2] if isinstance(message[2], str) else message[2][0]
             for message in extract_from_dir("app", method_map, keywords=keywords)}
    with open("app/translations/ru/LC_MESSAGES/messages.po", "rb") as fh:
        # A plural message's id is (singular, plural), as extracted.
        catalogue = {m.id if isinstance(m.id, str) else m.id[0]
                     for m in read_po(fh) if m.string}
    assert len(found) > 100
    assert sorted(found - catalogue) == []


def test_migrations_match_the_models(app):
    """A model change without its Alembic revision fails here."""
    with app.app_context():
        flask_migrate.check()


def test_init_creates_the_first_admin_once(tmp_path, monkeypatch):
    url = "sqlite:///" + str(tmp_path / "fresh.db")
    fresh = make_app(url)
    with fresh.app_context():
        flask_migrate.upgrade()
    runner = fresh.test_cli_runner()
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    first = runner.invoke(sdelka_cli, ["init"])
    assert first.exit_code == 0, first.output
    assert "login:    admin" in first.output
    password = first.output.split("password: ")[1].split()[0]
    again = runner.invoke(sdelka_cli, ["init"])
    assert "password" not in again.output
    from tests.conftest import Client

    assert "/logout" in Client(fresh).login("admin", password).text


def test_init_takes_admin_password_from_the_environment(tmp_path, monkeypatch):
    fresh = make_app("sqlite:///" + str(tmp_path / "env.db"))
    with fresh.app_context():
        flask_migrate.upgrade()
    monkeypatch.setenv("ADMIN_PASSWORD", "Chosen-pass-789")
    result = fresh.test_cli_runner().invoke(sdelka_cli, ["init"])
    assert "Chosen-pass-789" in result.output
    from tests.conftest import Client

    assert "/logout" in Client(fresh).login("admin", "Chosen-pass-789").text


def test_unknown_page_is_a_russian_404(as_role):
    response = as_role("manager").get("/no/such/page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text


def test_openapi_spec_is_served_to_signed_in_users(as_role):
    response = as_role("manager").get("/api/v1/_openapi")
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.")
