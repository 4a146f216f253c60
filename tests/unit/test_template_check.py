"""Printed values and template errors as a person reads them: numbers as
people write them, empty values, syntax errors with
their reason in the catalogue's words and the right line, and the
editor's check of placeholders before saving (services/printing.py)."""
import datetime
from decimal import Decimal

import pytest

from app.services.printing import (
    TemplateError,
    check_template,
    format_number,
    format_value,
    render_template_string,
)


@pytest.mark.parametrize("value, text", [
    (Decimal("50.000"), "50"), (Decimal("100.000"), "100"), (Decimal("1.500"), "1,5"),
    (Decimal("1234567.250"), "1\u00a0234\u00a0567,25"), (Decimal("-0.5"), "-0,5"),
    (Decimal("0E-3"), "0"), (7, "7"), (2.5, "2,5"), (None, ""), ("50", "50"),
])
def test_numbers_as_people_write_them(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize("value, text", [
    (Decimal("300000.00"), "300\u00a0000,00"), (Decimal("50.000"), "50"),
    (Decimal("14.5"), "14,5"), (None, ""), (True, "да"), (False, "нет"),
    (datetime.date(2026, 1, 2), "02.01.2026"),
    (datetime.datetime(2026, 1, 2, 9, 5), "02.01.2026 09:05"), (12345, "12345"),
    ("текст", "текст"),
])
def test_a_placeholder_prints_as_a_russian_form_reads(value, text):
    assert str(format_value(value)) == text
    assert render_template_string("{{ v }}", {"v": value}) == text


def test_filters_for_empty_values_and_cases():
    context = {"empty": "", "none": None, "date": "", "name": "Иванов Иван Иванович",
               "position": "Генеральный директор", "qty": Decimal("50.000")}
    body = ("{{ empty|blank }}|{{ none|blank(4) }}|{{ missing|blank(3) }}|{{ date|date_ru }}|"
            "{{ name|name_genitive }}|{{ position|genitive }}|{{ name|initials }}|"
            "{{ qty|number }}|{{ qty }}|{{ 'есть'|blank }}")
    assert render_template_string(body, context) == (
        "____________|____|___||Иванова Ивана Ивановича|Генерального директора|"
        "Иванов\u00a0И.\u00a0И.|50|50|есть")
    assert render_template_string("{{ x|blank(10**9) }}", {"x": ""}) == "_" * 80


def test_a_bad_date_text_is_a_russian_message_not_isoformat():
    with pytest.raises(TemplateError) as caught:
        render_template_string("a\n{{ 'завтра'|date_ru }}", {})
    assert caught.value.line == 2 and "isoformat" not in caught.value.message
    assert "Not a date" in caught.value.message


@pytest.mark.parametrize("body, line, words", [
    ("a\nb\n{% if x %}\nc\nd", 3, "{% if %} is not closed: {% endif %} is missing"),
    ("{% if a %}\n{% for x in y %}\n\n{% endif %}", 4,
     "{% endif %} does not close {% for %} of line 2"),
    ("{% set a %}x{% endset %}\n{% set b = 1 %}{% if 1 %}\n{% endfor %}", 3,
     "{% endfor %} does not close {% if %} of line 2"),
    ("a\n{% endif %}", 2, "{% endif %} closes no open block"),
    ("{% foo %}", 1, "unknown tag {% foo %}"),
    ("a\n{{ x|nofilter }}", 2, "unknown filter «nofilter»"),
    ("a\n{{ x is nothing }}", 2, "unknown test «nothing»"),
    ("a\n{{ x.y(  }}", 2, "«)» expected, «}» found"),
    ("{% for x in %}", 1, "a value is missing before «%}»"),
    ("a\n{{ 'x' !! }}", 2, "unexpected character «!»"),
    ("a\n{{ x", 2, "the template ends inside"),
])
def test_syntax_errors_name_the_reason_and_the_line(body, line, words):
    with pytest.raises(TemplateError) as caught:
        render_template_string(body, {})
    assert caught.value.line == line
    message = caught.value.message
    assert message.startswith(f"Line {line}: Syntax error in the template: ")
    assert words in message, message
    assert "Jinja" not in message and "Encountered" not in message
    with pytest.raises(TemplateError) as again:
        check_template(body, {})
    assert again.value.message == message


@pytest.mark.parametrize("body, line, words", [
    ("a\n{{ 1/0 }}", 2, "division by zero"),
    ("a\n\n{{ 1 + 'a' }}", 3, "these values cannot be combined so"),
])
def test_runtime_errors_in_the_catalogues_words(body, line, words):
    with pytest.raises(TemplateError) as caught:
        render_template_string(body, {})
    assert caught.value.line == line and words in caught.value.message


CONTEXT = {
    "client": {"name": "Иванов", "custom": {"income": "1"}},
    "invoice": {"lines": [{"number": 1, "quantity": Decimal(1)}], "recipient": None},
    "deal": None, "today": datetime.date(2026, 1, 1),
}


def _found(body):
    return [(issue.line, issue.fatal, issue.message.split(": ", 1)[1])
            for issue in check_template(body, CONTEXT)]


def test_check_finds_mistyped_placeholders_with_their_lines():
    body = ("{{ client.name }}{{ client.nmae }}\n"
            "{% for line in invoice.lines %}{{ line.number }}{{ line.numbr }}{% endfor %}\n"
            "{{ clinet.name }}{{ client.custom.income }}{{ client.custom.incme }}\n"
            "{{ today.year }}{{ today.yaer }}{{ invoice.recipient.name }}")
    assert _found(body) == [
        (1, False, "unknown placeholder «client.nmae»"),
        (2, False, "unknown placeholder «line.numbr»"),
        (3, False, "unknown placeholder «clinet»"),
        (3, False, "unknown placeholder «client.custom.incme»"),
        (4, False, "unknown placeholder «today.yaer»"),
    ]


def test_check_knows_what_the_template_sets_itself():
    body = ("{% set total = 1 %}{{ total }}{% macro row(a) %}{{ a }}{% endmacro %}{{ row(1) }}"
            "{% for k, v in client.items() %}{{ k }}{{ v }}{{ loop.index }}{% endfor %}"
            "{{ range(3)|list }}{{ client.name.upper() }}{{ client['name'] }}"
            "{% with x = 1 %}{{ x }}{% endwith %}")
    assert _found(body) == []


def test_check_finds_records_this_kind_of_template_has_not():
    assert _found("\n{{ deal.title }}") == [
        (2, False, "«deal.title» is empty in templates of this kind")]


def test_check_finds_what_the_sandbox_forbids():
    found = _found("{{ client.name.__class__ }}\n{{ config }}\n{{ self }}\n"
                   "{{ client.__len__ }}\n{{ client.name.format }}")
    assert (1, True, "«client.name.__class__» cannot be read in a template "
                     "(the sandbox forbids it)") in found
    assert (2, True, "«config» is not available in templates") in found
    assert (3, True, "«self» is not available in templates") in found
    assert (4, True, "«client.__len__» cannot be read in a template "
                     "(the sandbox forbids it)") in found
    assert all(issue[1] for issue in found)


def test_a_seeded_template_passes_the_check():
    from app.services.seed import SEED_TEMPLATES_DIR

    context = dict(CONTEXT, company={"name": ""}, application={}, schedule=None,
                   employee={})
    body = (SEED_TEMPLATES_DIR / "loan_agreement.html").read_text(encoding="utf-8")
    assert [i for i in check_template(body, context) if i.fatal] == []
