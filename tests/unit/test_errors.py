"""The one error of a business rule: its message (translated when shown),
its field, and the subclasses callers tell apart."""
import os

import pytest
from flask import Flask
from flask_babel import Babel, force_locale
from flask_babel import lazy_gettext as _l

from app.services import custom_fields, records, validation, values
from app.services.errors import Refused

TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "app", "translations")


@pytest.fixture(scope="module")
def babel_app():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = TRANSLATIONS
    Babel(app)
    return app


def test_a_refusal_carries_its_message_and_field(babel_app):
    refused = Refused(_l("Enter the deal's title"), "title")
    assert refused.field == "title" and refused.errors == {"title": refused.message}
    # The message is translated when it is shown, in the language of then.
    with babel_app.test_request_context():
        with force_locale("ru"):
            assert str(refused) == str(refused.message) == "Введите название сделки"
        with force_locale("en"):
            assert str(refused) == "Enter the deal's title"


def test_a_refusal_without_a_field_is_of_the_record_as_a_whole():
    refused = Refused(_l("A group cannot be inside itself"))
    assert refused.field is None and refused.errors == {None: refused.message}


def test_several_fields_refused_at_once_keep_their_order():
    errors = {"status": _l("Choose a status"), "assignee": _l("Choose an employee")}
    refused = Refused.several(errors)
    assert list(refused.errors) == ["status", "assignee"]
    assert (refused.field, refused.message) == ("status", errors["status"])
    assert refused.errors is not errors


def test_the_subclasses_are_refusals():
    assert issubclass(records.Forbidden, Refused)
    assert validation.ValidationError is values.ValidationError
    # A value that cannot be read is a ValueError too, as Python's parsers raise.
    assert issubclass(values.ValidationError, Refused)
    assert issubclass(values.ValidationError, ValueError)
    assert issubclass(custom_fields.CustomValueError, values.ValidationError)
    assert not issubclass(Refused, ValueError)
    with pytest.raises(Refused) as caught:
        validation.inn("12345")
    assert caught.value.field is None and caught.value.args == (caught.value.message,)
