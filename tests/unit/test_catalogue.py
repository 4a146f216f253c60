"""app/catalogue.py: a request finds its catalogue of translations once,
and a change of language within it (flask_babel's force_locale, refresh)
is still seen at once."""
from flask import session
from flask_babel import Domain, force_locale, gettext, lazy_gettext, refresh


def test_a_request_finds_its_catalogue_once(app, monkeypatch):
    looked_up = []
    find = Domain.get_translations

    def counted(self):
        looked_up.append(1)
        return find(self)

    monkeypatch.setattr(Domain, "get_translations", counted)
    with app.test_request_context():
        words = {gettext("Save") for _ in range(50)} | {str(lazy_gettext("Save"))}
        assert words == {"Сохранить"}
        assert len(looked_up) == 1
    with app.test_request_context():
        session["locale"] = "en"
        assert gettext("Save") == "Save"
        assert len(looked_up) == 2  # the next request reads its own


def test_a_forced_language_is_used_within_a_request_and_then_left(app):
    with app.test_request_context():
        assert gettext("Save") == "Сохранить"
        with force_locale("en"):
            assert gettext("Save") == "Save"
            assert str(lazy_gettext("Cancel")) == "Cancel"
        assert gettext("Save") == "Сохранить"


def test_a_refresh_after_a_change_of_language_translates_in_the_new_one(app):
    with app.test_request_context():
        assert gettext("Save") == "Сохранить"
        session["locale"] = "en"
        refresh()
        assert gettext("Save") == "Save"
