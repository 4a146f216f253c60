"""Document printing: the template sandbox and its limits, the filters, and
HTML to PDF with Cyrillic text and no fetches or local reads."""
import base64
import builtins
import io
import os
import socket
import time
import urllib.request
from datetime import date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from app.services import printing
from app.services.printing import (
    PdfError,
    TemplateError,
    format_date_ru,
    format_money,
    html_to_pdf,
    render_template_string,
)

# A bomb is stopped, not run to its end (that takes minutes or the memory);
# generous, so that a busy CI machine does not fail a render that was cut.
BOUNDED_S = 5

D = Decimal
# Reachable from this module's globals: a payload that walks from an object
# in the context to its module's globals would print it.
SECRET_VALUE = "SECRET-do-not-print-4f1c"


class Client:
    def __init__(self):
        self.name = "ООО «Ромашка»"
        self.token = SECRET_VALUE


def helper():
    return SECRET_VALUE


def context():
    return {"x": Client(), "client": Client(), "fn": helper, "amount": D("123.45")}


def render(source, **kwargs):
    return render_template_string(source, context(), **kwargs)


def assert_no_leak(text):
    """No value reached through a walk: globals, functions, modules, classes."""
    for marker in ("SECRET", "<function", "<module", "__builtins__", "<class"):
        assert marker not in text


# --- rendering and filters ---------------------------------------------------------

def test_renders_context_and_filters():
    source = (
        "{{ client.name }}: {{ amount|money }} ({{ amount|amount_in_words }}), "
        "{{ day|date_ru }} / {{ day|date_ru('long') }}"
    )
    ctx = {"client": Client(), "amount": D("1234567.891"), "day": date(2026, 11, 23)}
    assert render_template_string(source, ctx) == (
        "ООО «Ромашка»: 1\u00a0234\u00a0567,89 (Один миллион двести тридцать четыре "
        "тысячи пятьсот шестьдесят семь рублей 89 копеек), 23.11.2026 / 23 ноября 2026 г."
    )


@pytest.mark.parametrize(
    "value, text",
    [
        (D("0"), "0,00"),
        (D("5.5"), "5,50"),
        (D("999.995"), "1\u00a0000,00"),
        (1234567, "1\u00a0234\u00a0567,00"),
        (D("-1234.5"), "-1\u00a0234,50"),
        ("100.1", "100,10"),
        (None, ""),
    ],
)
def test_format_money(value, text):
    assert format_money(value) == text


def test_format_date_ru():
    assert format_date_ru(date(2026, 1, 5)) == "05.01.2026"
    assert format_date_ru(date(2026, 1, 5), "long") == "5 января 2026 г."
    assert format_date_ru(datetime(2026, 5, 1, 13, 30), "long") == "1 мая 2026 г."
    assert format_date_ru("2026-12-31") == "31.12.2026"
    assert format_date_ru(None) == ""
    with pytest.raises(ValueError):
        format_date_ru(date(2026, 1, 5), "full")


def test_filter_errors_are_template_errors():
    with pytest.raises(TemplateError, match="отрицательной"):
        render("{{ -5|amount_in_words }}")
    with pytest.raises(TemplateError, match="Не число"):
        render("{{ 'abc'|money }}")


def test_autoescape_keeps_markup_in_data_inert():
    ctx = {"client": {"name": '<img src="http://evil/x.png">'}}
    out = render_template_string("<p>{{ client.name }}</p>", ctx)
    assert out == "<p>&lt;img src=&#34;http://evil/x.png&#34;&gt;</p>"


def test_missing_attribute_renders_empty():
    assert render("[{{ client.nickname }}][{{ nothing }}]") == "[][]"


def test_loops_and_common_constructs_still_work():
    source = (
        "{% for i in items %}{{ loop.index }}/{{ loop.length }}"
        "{{ ',' if not loop.last }}{% endfor %}|"
        "{% for i in [] %}x{% else %}empty{% endfor %}|"
        "{{ items|map('string')|join('-') }}|{{ items|sum }}|"
        "{{ '%.2f'|format(2.5) }}|{{ '{:>4}'.format('a') }}|{{ 'a' ~ 'b' }}|"
        "{% macro m(v) %}<{{ v }}>{% endmacro %}{{ m(1) }}|{{ 'ab'.upper() }}"
    )
    out = render_template_string(source, {"items": [1, 2, 3]})
    assert out == "1/3,2/3,3/3|empty|1-2-3|6|2.50|   a|ab|<1>|AB"


# --- sandbox -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ x.__class__.__init__.__globals__ }}",
        "{{ fn.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ '{0.__init__.__globals__}'.format(x) }}",
        "{{ '%s'|format(x.__class__) }}",
        "{{ x|attr('__class__') }}",
        "{{ x['__class__'] }}",
        "{{ ('{0.__class__}'|attr('format'))(x) }}",
        "{{ 'x'.encode() }}",
        # more walks towards globals, builtins, subclasses and os
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ ().__class__.__bases__[0].__subclasses__() }}",
        "{{ x.__dict__ }}",
        "{{ x.__init__ }}",
        "{{ fn.__code__.co_consts }}",
        "{{ fn.__closure__ }}",
        "{{ amount.__class__.__module__ }}",
        "{{ client.name.__class__.__mro__[1].__subclasses__() }}",
        "{{ (client|attr('__class__')).__init__.__globals__ }}",
        "{{ '{0.__init__.__globals__[SECRET_VALUE]}'.format(x) }}",
        "{{ '{0.__class__.__mro__}'.format_map({}) }}",
        "{{ '{x.__class__}'.format_map({'x': x}) }}",
        "{{ '%(a)s'.__mod__ }}",
        "{{ ''.join.__self__.__class__ }}",
        "{{ range.__globals__ }}",
        "{{ '{0:{1}}'.format(1, 999999999) }}",
        "{{ '%*d' % (999999999, 1) }}",
    ],
)
def test_attribute_walks_are_refused(payload):
    with pytest.raises(TemplateError) as info:
        render(payload)
    assert_no_leak(info.value.message)


@pytest.mark.parametrize(
    "payload",
    ["{{ config }}", "{{ request }}", "{{ self }}", "{{ g }}", "{{ session }}",
     "{{ range.__self__ }}", "{{ x.token.__len__ }}",
     # the usual SSTI entry points are simply absent
     "{{ config.items() }}", "{{ config.SECRET_KEY }}", "{{ config.__class__.__init__ }}",
     "{{ request.environ }}", "{{ request.application.__globals__ }}",
     "{{ self.__init__.__globals__ }}", "{{ self._TemplateReference__context.keys() }}",
     "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
     "{{ lipsum.__globals__['os'].popen('id').read() }}", "{{ lipsum() }}", "{{ cycler(1) }}",
     "{{ joiner() }}", "{{ url_for.__globals__ }}", "{{ get_flashed_messages.__globals__ }}",
     "{{ __builtins__ }}", "{{ _ }}", "{{ gettext }}",
     "{% import 'os' as os %}", "{% include '/etc/passwd' %}", "{% extends '/etc/passwd' %}"],
)
def test_names_outside_the_context_expose_nothing(payload):
    try:
        out = render(payload)
    except TemplateError as exc:
        out = exc.message
    assert_no_leak(out)
    assert "__globals__" not in out


def test_security_message():
    with pytest.raises(TemplateError) as info:
        render("line 1\n{{ ''.__class__ }}")
    assert info.value.message.startswith("Line 2: Forbidden operation in the template")
    assert info.value.line == 2


def test_only_range_is_global():
    assert render("{{ range(3)|list }}") == "[0, 1, 2]"
    for name in ("lipsum", "cycler", "joiner", "namespace", "dict"):
        assert render("{{ %s }}" % name) == ""
        with pytest.raises(TemplateError):
            render("{{ %s() }}" % name)


@pytest.mark.parametrize(
    "payload",
    [
        "{% for i in range(10**9) %}{% endfor %}",
        "{{ range(10**30) }}",
        "{{ 'a' * 10**9 }}",
        "{{ 'a' * 1000000 * 1000 }}",
        "{{ ['a'] * 10**9 }}",
        "{{ 2 ** (10**9) }}",
        "{{ 'x'.center(10**9) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:999999999}'.format(1) }}",
        "{{ (1).to_bytes(10**9, 'big') }}",
        "{{ amount.scaleb(999990)|int }}",
        "{% set s = 'a' * 1000000 %}{{ s|replace('a', s) }}",
        "{% set s = 'a' * 1000000 %}{{ s.replace('a', s) }}",
        "{% set s = 'a' * 1000000 %}{{ ([s] * 1000000)|join }}",
        "{% set s = 'a' * 1000000 %}{{ [s] * 1000000 }}",
        "{% set s = 'a' * 1000000 %}{{ ('{0}' * 100000).format(s) }}",
        "{% set s = 'a' * 1000000 %}{{ ('%(a)s' * 100000) % {'a': s} }}",
        "{% set s = 'a' * 1000000 %}{{ {}.fromkeys(range(100000), s) }}",
        "{% set s = 'a' * 1000000 %}{% set t = s ~ s %}{% set u = t ~ t %}{{ u ~ u }}",
        "{% set s = 'a' * 1000000 %}{% set b %}{% for i in range(100000) %}{{ s }}"
        "{% endfor %}{% endset %}{{ b|length }}",
        "{% set f = ('{0}' * 100000)|attr('format') %}{{ f('a' * 1000000) }}",
        "{{ range(10)|sum(start=[]) }}",
        "{{ 'x'|center(10**9) }}",
        # exponential strings and big numbers
        "{% set s = 'ab' * 500 %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}"
        "{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}"
        "{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
        "{{ 9 ** (9 ** 9) }}",
        "{{ ('{}' * 10**6).format(*range(10**5)) }}",
        "{{ (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) }}",
        "{{ 'x' ~ 'y' * 10**9 }}",
        "{{ ('%s' * 10**6) % ((1,) * 10**6) }}",
        "{{ '{}'.format('a' * 10**6) * 10 }}",
    ],
)
def test_size_bombs_are_refused_quickly(payload):
    started = time.monotonic()
    with pytest.raises(TemplateError) as info:
        render(payload)
    assert time.monotonic() - started < BOUNDED_S
    assert info.value.line == 1


def test_output_size_is_capped():
    source = (
        "{% for i in range(100000) %}{% for j in range(100000) %}"
        "{{ 'x' * 1000 }}{% endfor %}{% endfor %}"
    )
    with pytest.raises(TemplateError, match="document gets too large"):
        render(source)
    with pytest.raises(TemplateError, match="document gets too large"):
        render("{% for i in range(1000) %}{{ 'я' * 100 }}{% endfor %}", max_output=50_000)
    assert len(render("{% for i in range(1000) %}{{ 'я' * 10 }}{% endfor %}",
                      max_output=10_000)) == 10_000


@pytest.mark.parametrize(
    "payload",
    [
        # No output and no calls inside: only the loop guard sees these.
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set s = 'a' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    ],
)
def test_render_time_is_capped(payload):
    started = time.monotonic()
    with pytest.raises(TemplateError, match="runs too long"):
        render(payload, timeout_s=0.3)
    assert time.monotonic() - started < BOUNDED_S


def test_recursion_is_an_error():
    with pytest.raises(TemplateError):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


@pytest.mark.parametrize(
    "source, line",
    [
        ("{{ foo(", 1),
        ("a\nb\n{% if %}", 3),
        ("a\n{% for x in y %}\nb\n", 2),  # the block left open
        ("a\nb\nc\n{{ x }\n", 4),
        ("{% include 'other.html' %}", 1),
        ("a\n\n{{ 1 / 0 }}", 3),
    ],
)
def test_errors_report_the_line(source, line):
    with pytest.raises(TemplateError) as info:
        render(source)
    assert info.value.line == line
    assert info.value.message.startswith(f"Line {line}: ")


def test_syntax_error_message():
    with pytest.raises(TemplateError, match="^Syntax error in the template"):
        render("{% endfor %}")


# --- PDF -----------------------------------------------------------------------------

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю"


def pdf_text(pdf):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_prints_cyrillic_as_text():
    html = render_template_string(
        "<h1>Счёт № {{ n }}</h1><p>{{ text }}</p><p><b>Итого: {{ amount|money }} ₽</b></p>"
        "<p style=\"font-family: 'Times New Roman'\"><i>{{ amount|amount_in_words }}</i></p>"
        "<pre>Моноширинный</pre>",
        {"n": 17, "text": RUSSIAN, "amount": D("1234.5")},
    )
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in ("Счёт № 17", RUSSIAN, "Итого: 1 234,50 ₽",
                     "Одна тысяча двести тридцать четыре рубля 50 копеек", "Моноширинный"):
        assert expected in text.replace("\u00a0", " ")
    assert b"Roboto" in pdf


def test_pdf_page_is_a4():
    page = PdfReader(io.BytesIO(html_to_pdf("<p>Лист</p>"))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


HOSTILE = """<html><head>
<link rel="stylesheet" href="http://127.0.0.1:9/a.css">
<link rel="stylesheet" href="file:///etc/passwd">
<style>
@import url(http://127.0.0.1:9/b.css);
@import "https://example.com/c.css";
@font-face { font-family: evil; src: url(http://127.0.0.1:9/f.ttf) }
body { background-image: url(http://127.0.0.1:9/bg.png) }
</style></head><body>
<img src="http://127.0.0.1:9/x.png">
<img src="https://example.com/y.png">
<img src="file:///etc/passwd">
<img src="/etc/passwd">
<img src="../../../../etc/passwd">
<img src="static/../../../../etc/passwd">
<img src="%2e%2e/%2e%2e/%2e%2e/etc/passwd">
<img src="//127.0.0.1:9/z.png">
<p>Документ после картинок</p>
</body></html>"""


def test_pdf_fetches_nothing_and_reads_no_local_file(monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access: {args!r}")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)

    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, *args, **kwargs):
        if "passwd" in str(file):
            attempts.append(("open", file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        if "passwd" in str(path):
            attempts.append(("os.open", path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)

    pdf = html_to_pdf(HOSTILE)
    assert attempts == []
    text = pdf_text(pdf)
    assert "Документ после картинок" in text
    assert "root:" not in text and b"root:" not in pdf


def test_inline_svg_cannot_reach_files_or_network(monkeypatch):
    """data: URIs are let through (an inline logo); an SVG in one must not
    pull in an external entity or image."""
    svg = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' width="200" height="50"><text x="0" y="20">&x;</text>'
        b'<image xlink:href="file:///etc/passwd" width="10" height="10"/>'
        b'<image xlink:href="http://127.0.0.1:9/a.png" width="10" height="10"/></svg>'
    )
    attempts = []
    real_open = builtins.open

    def spy_open(file, *args, **kwargs):
        if "passwd" in str(file):
            attempts.append(file)
        return real_open(file, *args, **kwargs)

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    try:
        pdf = html_to_pdf(f'<p>Логотип</p><img src="{src}">')
    except PdfError:  # xhtml2pdf 0.2.28 fails on some SVG text; refusing is fine too
        pdf = b""
    assert attempts == []
    assert b"root:" not in pdf


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/x.png",
        "ftp://example.com/x.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "../../../../etc/passwd",
        "static/../../../etc/passwd",
        "/static/../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
        "//127.0.0.1/x.png",
        "C:/Windows/win.ini",
        "",
        None,
    ],
)
def test_link_callback_refuses(uri):
    assert printing._link_callback(uri, None) == "data:,"


def test_link_callback_maps_fonts_and_static(tmp_path, monkeypatch):
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    logo = static / "img" / "logo.png"
    logo.write_bytes(b"png")
    (static / "escape.png").symlink_to("/etc/passwd")
    monkeypatch.setattr(printing, "STATIC_DIR", static)
    monkeypatch.setattr(printing, "_ROOTS", (printing.FONT_DIR, static))

    font = printing.FONT_DIR / "Roboto-Regular.ttf"
    assert printing._link_callback(str(font), None) == str(font)
    for uri in ("/static/img/logo.png", "static/img/logo.png", "img/logo.png"):
        assert printing._link_callback(uri, None) == str(logo)
    assert printing._link_callback(
        "https://crm.example/static/img/logo.png", None, base_url="https://crm.example/"
    ) == str(logo)
    assert printing._link_callback("/static/escape.png", None) == "data:,"
    assert printing._link_callback("/static/missing.png", None) == "data:,"
    assert printing._link_callback("data:image/png;base64,AAAA", None).startswith("data:image")


def test_pdf_embeds_a_static_image(tmp_path, monkeypatch):
    from PIL import Image

    static = tmp_path / "static"
    static.mkdir()
    Image.new("RGB", (40, 20), "red").save(static / "logo.png")
    monkeypatch.setattr(printing, "STATIC_DIR", static)
    monkeypatch.setattr(printing, "_ROOTS", (printing.FONT_DIR, static))
    with_image = html_to_pdf('<img src="/static/logo.png"><p>Логотип</p>')
    without = html_to_pdf('<img src="/static/none.png"><p>Логотип</p>')
    assert b"/Subtype /Image" in with_image
    assert b"/Subtype /Image" not in without


def test_pdf_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(printing.pisa, "CreatePDF", broken)
    with pytest.raises(PdfError, match="boom"):
        html_to_pdf("<p>x</p>")


def test_time_one_a4_page(capsys):
    rows = "".join(
        f"<tr><td>{i}</td><td>Услуга по договору № {i}</td><td>{i * 1000},00</td></tr>"
        for i in range(1, 26)
    )
    html = (
        "<h1>Счёт на оплату № 42 от 23 ноября 2026 г.</h1>"
        f"<p>{RUSSIAN}. {RUSSIAN}.</p>"
        f"<table border='1'><tr><th>№</th><th>Наименование</th><th>Сумма</th></tr>{rows}</table>"
        "<p><b>Итого к оплате: триста двадцать пять тысяч рублей 00 копеек</b></p>"
    )
    html_to_pdf(html)  # warm-up: imports and first font parse
    started = time.perf_counter()
    pdf = html_to_pdf(html)
    elapsed = time.perf_counter() - started
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    with capsys.disabled():
        print(f"\n[printing] one A4 page: {elapsed * 1000:.0f} ms, {len(pdf)} bytes, "
              f"{pages} page(s)")
    assert pages == 1
