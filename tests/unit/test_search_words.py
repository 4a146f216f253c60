"""A client's search text: its quick paths give what the general rule gives."""
import re

from hypothesis import given
from hypothesis import strategies as st

from app.services import search


def _digits_by_the_rule(value):
    digits = re.sub(r"\D", "", str(value or ""))
    return "7" + digits[1:] if len(digits) == 11 and digits[0] == "8" else digits


@given(st.one_of(st.none(), st.text(), st.from_regex(r"\+[0-9٣²]{0,12}", fullmatch=True)))
def test_phone_digits_as_the_rule_says(value):
    assert search.phone_digits(value) == _digits_by_the_rule(value)


@given(st.fixed_dictionaries({}, optional={
    key: st.one_of(st.none(), st.text(max_size=30))
    for key in ("name", "email", "inn", "phone", "phone2")}))
def test_client_words_join_the_forms_of_what_is_given(values):
    parts = [search.fold(values.get("name")), search.fold(values.get("email")),
             (values.get("inn") or "").strip(), _digits_by_the_rule(values.get("phone")),
             _digits_by_the_rule(values.get("phone2"))]
    assert search.client_words(values) == " ".join(part for part in parts if part)
