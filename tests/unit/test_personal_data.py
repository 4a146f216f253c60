"""The consent rules and the web form's check box, without a database."""
import datetime

import pytest

from app.models import Client, ClientKind, ContactPerson, Lead
from app.services import personal_data, webforms
from app.services.errors import Refused

DAY = datetime.date(2026, 2, 1)


@pytest.mark.parametrize("given, withdrawn, refused", [
    (None, None, None), (DAY, None, None), (DAY, DAY, None),
    (DAY, DAY + datetime.timedelta(days=1), None),
    (None, DAY, personal_data.WITHDRAWN_WITHOUT_CONSENT),
    (DAY, DAY - datetime.timedelta(days=1), personal_data.WITHDRAWN_BEFORE_CONSENT),
])
def test_a_withdrawal_needs_an_earlier_consent(given, withdrawn, refused):
    values = {"consent_date": given, "consent_withdrawn": withdrawn}
    assert personal_data.consent_problem(values) is refused
    record = Lead(**values)
    if refused is None:
        personal_data.check_consent(record)
    else:
        with pytest.raises(Refused) as caught:
            personal_data.check_consent(record)
        assert caught.value.field == "consent_withdrawn" and caught.value.message is refused


def test_persons_are_people_not_companies():
    assert personal_data.is_person(Client(kind=ClientKind.PERSON))
    assert personal_data.is_person(Client(kind=ClientKind.SOLE_PROPRIETOR))
    assert not personal_data.is_person(Client(kind=ClientKind.COMPANY))
    assert personal_data.is_person(ContactPerson()) and personal_data.is_person(Lead())


@pytest.mark.parametrize("value, ticked", [
    ("1", True), ("on", True), ("true", True), (True, True), ("да", True), (1, True),
    ("", False), (None, False), ("0", False), (False, False), ("off", False), ([1], False),
])
def test_the_consent_box_as_forms_and_scripts_post_it(value, ticked):
    assert webforms.ticked(value) is ticked
