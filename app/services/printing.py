"""Printing documents: user-written HTML templates rendered in a Jinja2
sandbox, then converted to PDF with xhtml2pdf.

Templates are written by users in the app's editor, so a template may read only the
context it is given, may not run for long or build huge values, and the PDF
step may fetch nothing from the network and read no file but the app's own
fonts and static files.

Why so much machinery around ``ImmutableSandboxedEnvironment``: the sandbox
blocks attribute walks (``''.__class__.__mro__``) and caps ``range``, but
``'a' * 10**9``, ``s|replace('a', s)``, ``'{0}' * n`` formatted with a big
value, or a ``{% set %}`` block that collects a million copies of a long
string each allocate gigabytes in one step, and a loop that prints nothing
never reaches the output stream where a time check could stop it. So:

* every value an operation produces is checked (strings and lists by
  length, ints by bits, Decimals by exponent), and the few operations whose
  result can be far larger than their inputs are checked *before* they run;
* every ``{% for %}`` iterates through a guard that checks the deadline, and
  so do calls, attribute look-ups and operators;
* every piece of output, including output captured by macros and
  ``{% set %}`` blocks, is charged against a budget before it is joined.

The checks are hooked in where Jinja offers hooks (``call``, ``getattr``,
``call_binop``, the filter table) and, for loops and output, by wrapping
nodes of the parsed template in internal filters (``_parse``).

This module must not import Flask, so its messages are English msgids
marked with ``N_`` and carried in ``Message`` objects with their parameters;
the web layer translates them with the project's Babel catalogue
(``TemplateError.text(gettext)``, ``PdfError.text(gettext)``).
"""
import base64
import contextvars
import decimal
import functools
import io
import re
import string
import time
import types
from collections.abc import Mapping, MappingView, Sequence, Set
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from jinja2 import (
    Environment,
    FunctionLoader,
    Undefined,
    nodes,
    pass_context,
    pass_environment,
    pass_eval_context,
)
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy
from xhtml2pdf.default import DEFAULT_CSS

from app.services import declension, values
from app.services.words import amount_in_words, to_decimal

MAX_SOURCE = 500_000  # characters of template source
MAX_RANGE = 100_000  # items in one range(), as Jinja's own sandbox
MAX_INT_BITS = 4096  # about 1,200 decimal digits
MAX_FORMAT_FIELDS = 10_000  # placeholders or arguments of one format operation
MAX_DECIMAL_EXPONENT = 1000  # int(Decimal("1e999999")) alone takes 30 s
# Output is charged where it is produced, so text built by a macro and then
# printed counts twice; the budget allows for that.
OUTPUT_WORK_FACTOR = 8
PDF_MAX_SECONDS = 20  # below gunicorn's default 30 s worker timeout

MONEY_LIMIT = Decimal(10**15)


def N_(msgid):
    """Marks a msgid for the catalogue (pybabel -k N_)."""
    return msgid


class Message:
    """A msgid and its parameters, translated where it is shown. Parameters
    may be Messages themselves. ``str()`` gives the English text."""

    def __init__(self, msgid, **params):
        self.msgid = msgid
        self.params = params

    def translate(self, gettext):
        params = {key: value.translate(gettext) if isinstance(value, Message) else value
                  for key, value in self.params.items()}
        return gettext(self.msgid, **params) if params else gettext(self.msgid)

    def __str__(self):
        return self.translate(lambda msgid, **params: msgid % params if params else msgid)

    def __repr__(self):
        return f"Message({str(self)!r})"


def _plain(text, **params):
    return text % params if params else text


def _detail(exc):
    """The reason an exception gives: its Message, or its text."""
    arg = exc.args[0] if exc.args else None
    if isinstance(arg, Message):
        return arg
    return str(exc) or type(exc).__name__


class _Translatable(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.reason = message

    def text(self, gettext=_plain):
        reason = self.reason
        return reason.translate(gettext) if isinstance(reason, Message) else str(reason)


class TemplateError(_Translatable):
    """A template that cannot be rendered; ``line`` is the template line
    when known. ``text(gettext)`` is the message to show, with the line."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line

    @property
    def message(self):
        """The English text, with the line."""
        return self.text()

    def text(self, gettext=_plain):
        reason = super().text(gettext)
        if self.line:
            return gettext(N_("Line %(line)s: %(reason)s"), line=self.line, reason=reason)
        return reason


class PdfError(_Translatable):
    """The HTML could not be converted to PDF."""


class _LimitError(Exception):
    """A template went past a size or time limit (its argument a Message)."""


# --- amounts and dates, also exposed as template filters ---------------------

def format_money(value):
    """``Decimal("1234567.891")`` -> "1 234 567,89" (non-breaking spaces),
    rounded half up; None or undefined -> ""."""
    if value is None or isinstance(value, Undefined):
        return ""
    amount = to_decimal(value)
    if abs(amount) >= MONEY_LIMIT:
        raise ValueError(Message(N_("The amount is too large")))
    return values.money(amount)


def format_number(value):
    """A number as a person writes it: ``Decimal("50.000")`` -> "50",
    ``Decimal("1.500")`` -> "1,5", 1234567 -> "1 234 567" (non-breaking
    spaces), never "5E+1"; None or undefined -> "". Text is returned as it
    is. (The one place printing formats a plain number; money is
    format_money.)"""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        return value
    return values.number_text(value, grouped=True)


def format_value(value):
    """How ``{{ value }}`` prints (the sandbox's ``finalize``): nothing for
    None or an undefined placeholder, amounts with kopecks as money
    ("300 000,00"), other Decimals and floats as numbers ("50", "1,5"),
    dates as ДД.ММ.ГГГГ, date-times as ДД.ММ.ГГГГ ЧЧ:ММ, yes/no as «да»/«нет».
    Whole numbers print as they are: they are mostly numbers of documents."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return values.yes_no_text(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value.as_tuple().exponent == -2 and abs(value) < MONEY_LIMIT:
            return format_money(value)
        return format_number(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, datetime):
        return values.datetime_text(value)
    if isinstance(value, date):
        return values.date_text(value)
    return value


BLANK_MAX = 80  # underscores of one blank line


def blank(value, width=12):
    """The value, or a line to fill in by hand ("____________") when it is
    empty, as on a paper form: ``{{ client.passport_series|blank }}``."""
    if value is None or isinstance(value, Undefined) or \
            (isinstance(value, str) and not value.strip()):
        width = width if isinstance(width, int) and not isinstance(width, bool) else 12
        return "_" * max(1, min(width, BLANK_MAX))
    return value


def format_date_ru(value, style="short"):
    """A date as "23.11.2026", or with ``style="long"`` "23 ноября 2026 г.".
    Accepts date, datetime or an ISO string; None, "" or undefined -> ""."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        if not value.strip():
            return ""
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(Message(N_("Not a date: %(value)s"), value=repr(value))) from None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValueError(Message(N_("Not a date: %(value)s"), value=repr(value)))
    if style == "short":
        return values.date_text(value)
    if style == "long":
        return values.date_long(value)
    raise ValueError(Message(N_("Unknown date style %(style)s (there are short and long)"),
                             style=repr(style)))


def _text_filter(func):
    """A filter of words: text in, text out; empty or undefined -> ""."""

    @functools.wraps(func)
    def apply(value):
        if value is None or isinstance(value, Undefined):
            return ""
        return func(str(value))

    return apply


def format_roubles(value):
    """An amount as offices write it in a sentence: ``Decimal("28670")`` ->
    "28 670 руб. 00 коп." (no-break spaces); None or undefined -> ""."""
    if value is None or isinstance(value, Undefined):
        return ""
    text = format_money(value)
    roubles, _, kopecks = text.rpartition(values.POINT)
    return f"{roubles}\u00a0руб. {kopecks}\u00a0коп."


def _words_filter(value):
    if value is None or isinstance(value, Undefined):
        return ""
    return amount_in_words(value)


# --- limits of one render ------------------------------------------------------

class _Budget:
    """Deadline and size limits of the render in progress."""

    def __init__(self, max_output, timeout_s):
        self.max_len = max_output
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.work_left = max_output * OUTPUT_WORK_FACTOR

    def tick(self):
        if time.monotonic() > self.deadline:
            raise _LimitError(Message(
                N_("The template runs too long (over %(seconds)s s)"),
                seconds=f"{self.timeout_s:g}"))

    def too_big(self):
        return _LimitError(Message(
            N_("Too large a value in the template (over %(limit)s characters)"),
            limit=self.max_len))

    def check(self, value):
        """Refuse a value whose text would be longer than the output may be."""
        if _size(value, self.max_len) > self.max_len:
            raise self.too_big()
        return value

    def check_result(self, value):
        """Refuse a value no document needs: checked on everything operators,
        calls and filters produce, so that inputs of later steps are bounded."""
        if isinstance(value, (str, bytes, bytearray, list, tuple, dict)):
            if len(value) > self.max_len:
                raise self.too_big()
        elif isinstance(value, int):
            if value.bit_length() > MAX_INT_BITS:
                raise _LimitError(Message(N_("Too large a number in the template")))
        elif isinstance(value, Decimal) and value.is_finite() and value:
            if abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
                raise _LimitError(Message(N_("Too large a number in the template")))
        return value

    def charge(self, n):
        self.work_left -= n
        if self.work_left < 0:
            raise _LimitError(_too_long(self.max_len))


_BUDGET = contextvars.ContextVar("printing_budget", default=None)


def _size(value, limit, depth=0):
    """Roughly how many characters ``str(value)`` takes, counted only until
    it passes ``limit``: a list of a million references to one long string
    is small in memory but huge as text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bytes, bytearray)):
        return 4 * len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, (range, Undefined)):
        return 32
    if isinstance(value, (Mapping, MappingView, Sequence, Set)):
        if depth > 20:
            raise _LimitError(Message(N_("Too deeply nested data in the template")))
        items = value.items() if isinstance(value, Mapping) else value
        total = 2
        for item in items:
            total += 2 + _size(item, limit - total, depth + 1)
            if total > limit:
                break
        return total
    return len(str(value))


def _budget():
    return _BUDGET.get()


# --- what a template may do ----------------------------------------------------

_PERCENT = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
_DIGITS = re.compile(r"\d+")
# Methods refused outright: their result can dwarf their inputs (expandtabs,
# translate, int.to_bytes) or is bytes (encode), and no document needs them.
_REFUSED_METHODS = frozenset({"encode", "expandtabs", "translate", "to_bytes"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_format_size(budget, fmt_len, fields, widths, args):
    """A format string with ``fields`` placeholders of total ``widths`` over
    ``args`` makes at most this much text: ``('{0}' * 10**5).format(s)``
    repeats one argument many times."""
    if fields > MAX_FORMAT_FIELDS or len(args) > MAX_FORMAT_FIELDS:
        raise _too_many_fields()
    values = list(args.values()) if isinstance(args, Mapping) else list(args)
    biggest = max((_size(v, budget.max_len) for v in values), default=0)
    if fmt_len + fields * biggest + widths > budget.max_len:
        raise budget.too_big()


def _too_many_fields():
    return _LimitError(Message(N_("Too many fields in one format operation (over %(limit)s)"),
                               limit=MAX_FORMAT_FIELDS))


def _check_percent(budget, fmt, args):
    # Counted before parsing: a two-million-field format takes seconds to scan.
    if fmt.count("%") > 2 * MAX_FORMAT_FIELDS:
        raise _too_many_fields()
    directives = [m for m in _PERCENT.finditer(fmt) if not m.group(0).endswith("%%")]
    if any("*" in (m.group(1) or "", m.group(2) or "") for m in directives):
        raise SecurityError(Message(N_("the width \"*\" is not supported in formatting")))
    widths = sum(int(n) for m in directives for n in (m.group(1), m.group(2)) if n)
    if not isinstance(args, (tuple, Mapping)):
        args = (args,)
    _check_format_size(budget, len(fmt), len(directives), widths, args)


def _check_str_format(budget, fmt, args, kwargs):
    if fmt.count("{") > 2 * MAX_FORMAT_FIELDS:
        raise _too_many_fields()
    fields = widths = 0
    for _, field, spec, _ in string.Formatter().parse(fmt):
        if field is None:
            continue
        if spec and "{" in spec:
            raise SecurityError(Message(N_("nested fields are not supported in a format")))
        fields += 1
        widths += sum(int(n) for n in _DIGITS.findall(spec or ""))
    _check_format_size(budget, len(fmt), fields, widths, [*args, *kwargs.values()])


def _check_replace(budget, s, old, new, count=-1):
    s, old, new = str(s), str(old), str(new)
    hits = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(s) + hits * len(new) > budget.max_len:
        raise budget.too_big()


def _check_method(budget, method, args, kwargs):
    """Checks a call of a str/bytes method before it runs."""
    name = method.__name__
    if name in _REFUSED_METHODS:
        raise SecurityError(Message(N_("the method %(name)s() is not available"), name=name))
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int) and width > budget.max_len:
            raise budget.too_big()
    elif name == "replace":
        _check_replace(budget, method.__self__, *args[:3])
    elif name == "join" and args:
        items = list(args[0])
        budget.check(items)
        if len(method.__self__) * len(items) > budget.max_len:
            raise budget.too_big()
        args = (items, *args[1:])
    return args


def _check_binop(budget, operator, left, right):
    sized = (str, bytes, bytearray, list, tuple)
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(n, int):
                if len(seq) * max(n, 0) > budget.max_len:
                    raise budget.too_big()
    elif operator == "**":
        # Decimal powers are cheap (rounded to the context's precision) and
        # their results are checked; an int power is computed exactly.
        if isinstance(left, int) and isinstance(right, int):
            if abs(right) * max(left.bit_length(), 1) > MAX_INT_BITS:
                raise _LimitError(Message(N_("Too large a number in the template")))
    elif operator == "+":
        if isinstance(left, sized) and isinstance(right, sized):
            if len(left) + len(right) > budget.max_len:
                raise budget.too_big()
    elif operator == "%" and isinstance(left, str):
        _check_percent(budget, left, right)


def _guarded(func, *, stringifies=True):
    """A filter that checks the deadline, its inputs (when it turns them into
    text) and its result."""

    @functools.wraps(func)  # keeps jinja_pass_arg (pass_context & co.)
    def wrapper(*args, **kwargs):
        budget = _budget()
        if budget is None:
            return func(*args, **kwargs)
        budget.tick()
        if stringifies:
            for arg in (*args, *kwargs.values()):
                if not isinstance(arg, (Context, EvalContext, Environment)):
                    budget.check(arg)
        return budget.check_result(func(*args, **kwargs))

    return wrapper


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    budget = _budget()
    if budget is not None:
        budget.check(items)
        if len(str(d)) * len(items) > budget.max_len:
            raise budget.too_big()
    return FILTERS["join"](eval_ctx, items, d)


@pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    if _budget() is not None:
        _check_replace(_budget(), s, old, new, count)
    return FILTERS["replace"](eval_ctx, s, old, new, count)


def _format(value, *args, **kwargs):
    if _budget() is not None:
        _check_percent(_budget(), str(value), kwargs or args)
    return FILTERS["format"](value, *args, **kwargs)


def _batch(value, linecount, fill_with=None):
    if isinstance(linecount, int) and linecount > MAX_RANGE:
        raise _LimitError(Message(N_("batch(): at most %(limit)s items in a row"),
                                  limit=MAX_RANGE))
    return FILTERS["batch"](value, linecount, fill_with)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    """Numbers only: summing lists or strings is quadratic."""
    if not isinstance(start, (int, float, Decimal)):
        raise SecurityError(Message(N_("sum() adds up numbers only")))
    return FILTERS["sum"](environment, iterable, attribute, start)


# Filters whose arguments are not turned into text, so their (possibly big)
# lists need no size check on the way in.
_STRUCTURAL = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "join", "last", "length", "list", "map", "max", "min",
    "reject", "rejectattr", "round", "select", "selectattr", "sort", "sum", "unique",
})
# Kept from Jinja's defaults; dropped: center, indent, wordwrap, slice and
# tojson (their width/count arguments multiply the output), pprint (object
# reprs), random, urlize and xmlattr (no use in a printed document).
_KEPT_FILTERS = _STRUCTURAL | {
    "capitalize", "e", "escape", "filesizeformat", "forceescape", "format", "lower",
    "replace", "reverse", "safe", "string", "striptags", "title", "trim", "truncate",
    "upper", "urlencode", "wordcount",
}
_OVERRIDES = {"join": _join, "replace": _replace, "format": _format,
              "batch": _batch, "sum": _sum}


def _range(*args):
    budget = _budget()
    if budget is not None:
        budget.tick()
    rng = range(*args)
    try:
        too_long = len(rng) > MAX_RANGE
    except OverflowError:
        too_long = True
    if too_long:
        raise _LimitError(Message(N_("range(): at most %(limit)s items"), limit=MAX_RANGE))
    return rng


# Internal filters the parsed template is wrapped in (see _Sandbox._parse).
# pass_context keeps Jinja from evaluating them once at compile time.

@pass_context
def _guard_iter(context, iterable):
    budget = _budget()
    for item in iterable:
        if budget is not None:
            budget.tick()
        yield item


@pass_context
def _guard_value(context, value):
    budget = _budget()
    return value if budget is None else budget.check(value)


@pass_context
def _guard_output(context, value):
    budget = _budget()
    if budget is not None:
        budget.tick()
        size = _size(value, budget.max_len)
        if size > budget.max_len:
            raise budget.too_big()
        budget.charge(size)
    return value


@pass_context
def _guard_static(context, size):
    budget = _budget()
    if budget is not None:
        budget.charge(size)
    return ""


def _filter(node, name):
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


# Snippets a user's template may include by name, as Flask's templates do:
# {% include "print/_stamp_signatures.html" %}. Only these files, rendered
# in the same sandbox with the including template's context.
SNIPPET_DIR = (Path(__file__).resolve().parent.parent / "templates" / "print").resolve()
_SNIPPET_NAME = re.compile(r"print/(_[a-z0-9_]+\.html)")


def _snippet(name):
    match = _SNIPPET_NAME.fullmatch(name or "")
    if match is None:
        return None
    path = SNIPPET_DIR / match.group(1)
    if not path.is_file():
        return None
    mtime = path.stat().st_mtime
    return (path.read_text(encoding="utf-8"), str(path),
            lambda: path.is_file() and path.stat().st_mtime == mtime)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus the limits described in the module doc."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self):
        super().__init__(autoescape=True, finalize=format_value,
                         loader=FunctionLoader(_snippet))
        # Only range: lipsum, cycler, joiner, namespace and dict are removed;
        # templates get their data from the context and dict literals.
        self.globals = {"range": _range}
        self.filters = {
            name: _guarded(_OVERRIDES.get(name, FILTERS[name]),
                           stringifies=name not in _STRUCTURAL)
            for name in _KEPT_FILTERS
        }
        self.filters.update(
            amount_in_words=_guarded(_words_filter),
            blank=_guarded(blank, stringifies=False),
            date_ru=_guarded(format_date_ru),
            genitive=_guarded(_text_filter(declension.genitive)),
            initials=_guarded(_text_filter(declension.initials)),
            money=_guarded(format_money),
            name_genitive=_guarded(_text_filter(declension.name_genitive)),
            number=_guarded(format_number),
            roubles=_guarded(format_roubles),
            _guard_iter=_guard_iter,
            _guard_value=_guard_value,
            _guard_output=_guard_output,
            _guard_static=_guard_static,
        )

    def _parse(self, source, name, filename):
        # Private Jinja hook (3.1.x): if an upgrade stops calling it, the loop
        # and output guards vanish and test_render_time_is_capped fails.
        tree = super()._parse(source, name, filename)
        for loop in list(tree.find_all(nodes.For)):
            loop.iter = _filter(loop.iter, "_guard_iter")
        for concat in list(tree.find_all(nodes.Concat)):
            concat.nodes = [_filter(n, "_guard_value") for n in concat.nodes]
        for output in list(tree.find_all(nodes.Output)):
            static = sum(len(n.data) for n in output.nodes
                         if isinstance(n, nodes.TemplateData))
            output.nodes = [n if isinstance(n, nodes.TemplateData)
                            else _filter(n, "_guard_output") for n in output.nodes]
            if static:
                output.nodes.append(_filter(nodes.Const(static), "_guard_static"))
        tree.set_environment(self)
        return tree

    def getattr(self, obj, attribute):
        if (budget := _budget()) is not None:
            budget.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if (budget := _budget()) is not None:
            budget.tick()
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj, attribute):
        """An error, not an empty value, so that probing shows up at once."""
        raise SecurityError(Message(
            N_("access to the attribute %(attribute)s of a %(type)s object is forbidden"),
            attribute=repr(attribute), type=type(obj).__name__))

    def call_binop(self, context, operator, left, right):
        budget = _budget()
        if budget is None:
            return super().call_binop(context, operator, left, right)
        budget.tick()
        _check_binop(budget, operator, left, right)
        return budget.check_result(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        budget = _budget()
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.tick()
        if isinstance(__obj, (types.BuiltinMethodType, types.MethodType)) and isinstance(
            getattr(__obj, "__self__", None), (str, bytes, bytearray, int)
        ):
            args = _check_method(budget, __obj, args, kwargs)
        return budget.check_result(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        @functools.wraps(wrapped)
        def checked(*args, **kwargs):
            budget = _budget()
            if budget is not None:
                budget.tick()
                if value.__name__ == "format_map":
                    _check_str_format(budget, fmt, (), dict(args[0]) if args else {})
                else:
                    _check_str_format(budget, fmt, args, kwargs)
            result = wrapped(*args, **kwargs)
            return result if budget is None else budget.check_result(result)

        return checked


_ENV = _Sandbox()


@functools.lru_cache(maxsize=64)
def _compiled(source):
    """Compiling takes longer than rendering a short document: the same
    template text is compiled once (a compiled template holds no data)."""
    return _ENV.from_string(source)


def _template_line(exc):
    """The template line of the innermost template frame of ``exc``: Jinja
    rewrites tracebacks so that template frames carry template lines."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _too_long(limit):
    return Message(N_("The document gets too large (over %(limit)s characters)"),
                   limit=limit)


def render_template_string(source, context, *, max_output=2_000_000, timeout_s=2.0):
    """Render a user's template with ``context`` as its only data.

    Raises TemplateError for syntax errors, forbidden operations, limits
    (output longer than ``max_output`` characters, more than ``timeout_s``
    seconds) and any other failure of the template. An attribute missing
    on a given object renders empty, as Jinja's default Undefined does.

    The sandbox guards Python internals, not the app's objects: a template
    may read any public attribute and call any public method of what it is
    given. Pass plain values (dicts, strings, Decimals, dates), not ORM
    objects, whose relationships would lead to users, password hashes and
    lazy queries.
    """
    if len(source) > MAX_SOURCE:
        raise TemplateError(Message(N_("The template is too large (over %(limit)s characters)"),
                                    limit=MAX_SOURCE))
    budget = _Budget(max_output, timeout_s)
    token = _BUDGET.set(budget)
    chunks = None
    try:
        template = _compiled(source)
        chunks = template.generate(dict(context))
        parts, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > max_output:
                raise _LimitError(_too_long(max_output))
            budget.tick()
            parts.append(chunk)
        return "".join(parts)
    except TemplateSyntaxError as exc:
        raise syntax_error(exc, source) from exc
    except SecurityError as exc:
        line = _template_line(exc)
        raise TemplateError(Message(N_("Forbidden operation in the template: %(detail)s"),
                                    detail=_security_reason(exc)), line) from exc
    except _LimitError as exc:
        line = _template_line(exc)
        raise TemplateError(_detail(exc), line) from exc
    except MemoryError as exc:
        raise TemplateError(Message(N_("The template ran out of memory"))) from exc
    except Exception as exc:  # a user's template may fail in any way
        line = _template_line(exc)
        raise TemplateError(Message(N_("Error in the template: %(detail)s"),
                                    detail=_runtime_reason(exc)), line) from exc
    finally:
        if chunks is not None:
            chunks.close()
        _BUDGET.reset(token)


# --- errors in words a person reads, on the line where they are ----------------------

# Jinja's names of tokens in its messages, as they are typed in a template.
_TOKEN_TEXT = {"end of print statement": "}}", "end of statement block": "%}",
               "begin of print statement": "{{", "begin of statement block": "{%",
               "end of template": "…", "name": "…"}
# Tags that open a block closed by "end<tag>" ({% set x %} only without "=").
_BLOCK_TAGS = frozenset({"if", "for", "macro", "call", "filter", "with", "block",
                         "autoescape", "trans", "set", "raw"})


def _token(text):
    return _TOKEN_TEXT.get(text, text)


def _open_blocks(source):
    """(unclosed, mismatch): the blocks still open at the end of ``source``
    as [(tag, line)], and the innermost open block met by an end tag that
    does not close it (or None). Read with Jinja's own lexer."""
    stack, mismatch = [], None
    try:
        tokens = [t for t in _ENV.lex(source) if t[1] != "whitespace"]
    except TemplateSyntaxError:
        return stack, None
    index = 0
    while index < len(tokens):
        lineno, kind, value = tokens[index]
        index += 1
        if kind != "block_begin" or index >= len(tokens) or tokens[index][1] != "name":
            continue
        tag = tokens[index][2]
        rest = []
        while index < len(tokens) and tokens[index][1] != "block_end":
            rest.append(tokens[index][1:])
            index += 1
        if tag in _BLOCK_TAGS and not (tag == "set" and ("operator", "=") in rest):
            stack.append((tag, lineno))
        elif tag.startswith("end") and tag[3:] in _BLOCK_TAGS:
            if stack and stack[-1][0] == tag[3:]:
                stack.pop()
            elif mismatch is None:
                mismatch = stack[-1] if stack else None
    return stack, mismatch


_SYNTAX_PATTERNS = (
    (re.compile(r"Encountered unknown tag '(\w+)'\. You probably made a nesting mistake"),
     "nesting"),
    (re.compile(r"Encountered unknown tag '(\w+)'"), "tag"),
    (re.compile(r"Unexpected end of template\. Jinja was looking for"), "unclosed"),
    (re.compile(r"unexpected end of template", re.IGNORECASE), "end"),
    (re.compile(r"Expected an expression, got '(.+?)'"), "expression"),
    (re.compile(r"No filter named '([^']+)'"), "filter"),
    (re.compile(r"No test named '([^']+)'"), "test"),
    (re.compile(r"unexpected char '(.+)' at \d+"), "char"),
    (re.compile(r"expected token '(.+?)', got '(.+?)'"), "expected"),
    (re.compile(r"unexpected '(.+?)', expected '(.+?)'"), "unexpected_expected"),
    (re.compile(r"unexpected '(.+?)'"), "unexpected"),
)


def syntax_error(exc, source):
    """A TemplateError for Jinja's syntax error ``exc``: the reason in the
    project's msgids (Jinja's English text never reaches the user) and the
    line to look at — for a block left open, the line that opened it."""
    text = exc.message or ""
    line = exc.lineno
    reason = Message(N_("check the {{ }} and {% %} brackets on this line"))
    for pattern, kind in _SYNTAX_PATTERNS:
        found = pattern.search(text)
        if not found:
            continue
        if kind == "nesting" or (kind == "tag" and found.group(1).startswith("end")):
            _, block = _open_blocks(source)
            if block is not None:
                reason = Message(N_("{%% %(tag)s %%} does not close {%% %(block)s %%} of line "
                                    "%(open)s: close that block first with {%% end%(block)s %%}"),
                                 tag=found.group(1), block=block[0], open=block[1])
            else:
                reason = Message(N_("{%% %(tag)s %%} closes no open block"),
                                 tag=found.group(1))
        elif kind == "tag":
            tag = found.group(1)
            reason = Message(N_("{%% %(tag)s %%} closes no open block"), tag=tag) \
                if tag.startswith("end") or tag in ("else", "elif") \
                else Message(N_("unknown tag {%% %(tag)s %%}"), tag=tag)
        elif kind == "unclosed":
            unclosed, _ = _open_blocks(source)
            if unclosed:
                block, line = unclosed[-1]
                reason = Message(N_("{%% %(block)s %%} is not closed: {%% end%(block)s %%} "
                                    "is missing"), block=block)
            else:
                reason = Message(N_("a block is not closed"))
        elif kind == "end":
            reason = Message(N_("the template ends inside {{ … }} or {% … %}: the closing "
                                "brackets are missing"))
        elif kind == "expression":
            reason = Message(N_("a value is missing before «%(found)s»"),
                             found=_token(found.group(1)))
        elif kind == "filter":
            reason = Message(N_("unknown filter «%(name)s»"), name=found.group(1))
        elif kind == "test":
            reason = Message(N_("unknown test «%(name)s»"), name=found.group(1))
        elif kind == "char":
            reason = Message(N_("unexpected character «%(char)s»"), char=found.group(1))
        elif kind == "expected":
            reason = Message(N_("«%(expected)s» expected, «%(found)s» found"),
                             expected=_token(found.group(1)), found=_token(found.group(2)))
        elif kind == "unexpected_expected":
            reason = Message(N_("«%(expected)s» expected, «%(found)s» found"),
                             expected=_token(found.group(2)), found=_token(found.group(1)))
        else:
            reason = Message(N_("unexpected «%(found)s»"), found=_token(found.group(1)))
        break
    return TemplateError(Message(N_("Syntax error in the template: %(detail)s"),
                                 detail=reason), line)


def _security_reason(exc):
    arg = exc.args[0] if exc.args else None
    if isinstance(arg, Message):
        return arg
    found = re.search(r"(.+?) is not safely callable", str(arg or ""))
    if found:
        return Message(N_("calling %(name)s is not allowed"), name=found.group(1)[:60])
    return Message(N_("the sandbox does not allow it"))


def _runtime_reason(exc):
    """Why a template failed while rendering, in the project's msgids."""
    arg = exc.args[0] if exc.args else None
    if isinstance(arg, Message):
        return arg
    text = str(arg or "")
    if isinstance(exc, ZeroDivisionError) or isinstance(exc, decimal.DivisionByZero):
        return Message(N_("division by zero"))
    found = re.match(r"'(.+?)' is undefined", text)
    if found:
        return Message(N_("unknown placeholder «%(name)s»"), name=found.group(1))
    found = re.search(r"has no attribute '(.+?)'", text)
    if found:
        return Message(N_("unknown placeholder «%(name)s»"), name=found.group(1))
    if isinstance(exc, (TypeError, decimal.InvalidOperation)):
        return Message(N_("these values cannot be combined so (a number with text, "
                          "or an empty value)"))
    return text or type(exc).__name__


# --- checking a template before it is saved ----------------------------------------------

# Names a template may expect from other Jinja setups; ours has none of them.
FORBIDDEN_NAMES = frozenset({"config", "request", "session", "g", "url_for", "self",
                             "get_flashed_messages", "cycler", "joiner", "lipsum",
                             "namespace", "dict", "varargs", "kwargs", "caller"})
_UNKNOWN = object()


class _Checker:
    """Walks a parsed template and finds what would print blank or fail for
    every record: placeholders the context does not have, and names and
    attributes the sandbox refuses. ``context`` is sample data of the same
    shape as a real one (documents.sample_context)."""

    def __init__(self, context, declared):
        self.context = context
        self.declared = declared  # names the template itself sets
        self.issues = []  # TemplateError, each with .fatal
        self.seen = set()

    def report(self, fatal, line, msgid, **params):
        key = (msgid, tuple(sorted(params.items())))
        if key in self.seen:
            return
        self.seen.add(key)
        issue = TemplateError(Message(msgid, **params), line)
        issue.fatal = fatal
        self.issues.append(issue)

    def path(self, node):
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            return f"{self.path(node.node)}.{node.attr}"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            return f"{self.path(node.node)}.{node.arg.value}"
        return "…"

    def value(self, node, scope):
        """The sample value ``node`` stands for, or _UNKNOWN."""
        if isinstance(node, nodes.Filter) and node.name.startswith("_guard"):
            return self.value(node.node, scope)  # our own wrapping (_Sandbox._parse)
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in self.context:
                return self.context[node.name]
            if node.name in _ENV.globals or node.name in self.declared or node.name == "loop":
                return _UNKNOWN
            if node.name in FORBIDDEN_NAMES:
                self.report(True, node.lineno, N_("«%(name)s» is not available in templates"),
                            name=node.name)
            else:
                self.report(False, node.lineno, N_("unknown placeholder «%(name)s»"),
                            name=node.name)
            return _UNKNOWN
        if isinstance(node, nodes.Getattr):
            return self.attribute(node, node.node, node.attr, scope)
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self.attribute(node, node.node, node.arg.value, scope)
            self.visit(node, scope)
            return _UNKNOWN
        self.visit(node, scope)
        return _UNKNOWN

    def attribute(self, node, base_node, name, scope):
        base = self.value(base_node, scope)
        if name.startswith("_"):
            self.report(True, node.lineno, N_("«%(name)s» cannot be read in a template "
                                              "(the sandbox forbids it)"),
                        name=self.path(node))
            return _UNKNOWN
        if base is _UNKNOWN:
            return _UNKNOWN
        if base is None:
            if isinstance(base_node, nodes.Name) and base_node.name in self.context:
                self.report(False, node.lineno, N_("«%(name)s» is empty in templates of this "
                                                   "kind"), name=self.path(node))
            return _UNKNOWN
        if isinstance(base, Mapping):
            if name in base:
                return base[name]
            if hasattr(base, name):  # items(), get()
                return _UNKNOWN
            self.report(False, node.lineno, N_("unknown placeholder «%(name)s»"),
                        name=self.path(node))
            return _UNKNOWN
        if not hasattr(base, name):
            self.report(False, node.lineno, N_("unknown placeholder «%(name)s»"),
                        name=self.path(node))
        elif not _ENV.is_safe_attribute(base, name, getattr(base, name)):
            self.report(True, node.lineno, N_("«%(name)s» cannot be read in a template "
                                              "(the sandbox forbids it)"),
                        name=self.path(node))
        return _UNKNOWN

    def visit(self, node, scope):
        if isinstance(node, nodes.For):
            items = self.value(node.iter, scope)
            inner = dict(scope)
            targets = [node.target] if isinstance(node.target, nodes.Name) else \
                list(node.target.find_all(nodes.Name))
            for target in targets:
                inner[target.name] = _UNKNOWN
            if isinstance(node.target, nodes.Name) and isinstance(items, (list, tuple)) \
                    and items:
                inner[node.target.name] = items[0]
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)):
            self.value(node, scope)
            return
        if isinstance(node, nodes.Filter) and node.name.startswith("_guard"):
            if node.node is not None:
                self.visit(node.node, scope)
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)


def _declared(tree):
    """Names the template sets itself: {% set %}, macros, their arguments,
    {% with %} and loop targets."""
    names = set()
    for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.With)):
        targets = node.targets if isinstance(node, nodes.With) else [node.target]
        for target in targets:
            names.update(n.name for n in target.find_all(nodes.Name))
            if isinstance(target, nodes.Name):
                names.add(target.name)
    for node in tree.find_all((nodes.Macro, nodes.CallBlock)):
        if isinstance(node, nodes.Macro):
            names.add(node.name)
        names.update(arg.name for arg in node.args)
        names.add("caller")
    for node in tree.find_all(nodes.For):
        names.update(n.name for n in node.target.find_all(nodes.Name))
        if isinstance(node.target, nodes.Name):
            names.add(node.target.name)
    return names


def check_template(source, context):
    """What is wrong with a template before anything is printed: raises
    TemplateError for a syntax error (with the line to look at) and returns
    the other findings as TemplateErrors with their lines, each with
    ``fatal`` set when it fails for every record (a name or attribute the
    sandbox forbids) and not when it only prints blank (an unknown or
    mistyped placeholder, a record this kind of template does not have)."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(Message(N_("The template is too large (over %(limit)s characters)"),
                                    limit=MAX_SOURCE))
    try:
        _compiled(source)  # unknown filters and tests are found when compiling
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise syntax_error(exc, source) from exc
    checker = _Checker(dict(context), _declared(tree))
    checker.visit(tree, {})
    return sorted(checker.issues, key=lambda issue: (issue.line or 0))


# --- HTML to PDF -----------------------------------------------------------------

FONT_DIR = Path(str(files("font_roboto") / "files")).resolve()
STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
_ROOTS = (FONT_DIR, STATIC_DIR)
_FACES = (
    ("Roboto-Regular.ttf", "normal", "normal"),
    ("Roboto-Bold.ttf", "bold", "normal"),
    ("Roboto-Italic.ttf", "normal", "italic"),
    ("Roboto-BoldItalic.ttf", "bold", "italic"),
)
# Registered under the names templates are likely to ask for, so that
# "font-family: Arial" or "Times New Roman" prints Cyrillic too. Lower case:
# xhtml2pdf 0.2.28 looks families up lower-cased but stores aliases as given.
# "helvetica" is also its fallback for unknown families.
_FAMILIES = (
    'roboto, arial, helvetica, "helvetica neue", verdana, tahoma, calibri, '
    '"segoe ui", "pt sans", sans-serif, times, "times new roman", georgia, '
    'cambria, "pt serif", serif, courier, "courier new", consolas, monospace'
)
PAGE_CSS = "@page { size: a4 portrait; margin: 2cm 1.5cm 2cm 2.5cm; }\n"
# Wide forms (the UPD): html_to_pdf(page_css=LANDSCAPE_CSS).
LANDSCAPE_CSS = "@page { size: a4 landscape; margin: 0.8cm 1cm 0.8cm 1.5cm; }\n"
PRINT_CSS = "".join(
    f'@font-face {{ font-family: {_FAMILIES}; src: url("{FONT_DIR / name}"); '
    f"font-weight: {weight}; font-style: {style}; }}\n"
    for name, weight, style in _FACES
) + PAGE_CSS + """
html, body, p, div, span, table, thead, tbody, tfoot, tr, td, th, ul, ol, li,
h1, h2, h3, h4, h5, h6, pre, code, b, strong, i, em, small, blockquote {
    font-family: roboto;
}
body { font-size: 11pt; }
table { border-collapse: collapse; }
td, th { padding: 2pt 4pt; vertical-align: top; }
"""


# Width of the text column of PAGE_CSS (A4, 2.5 cm and 1.5 cm side margins), in points.
PAGE_TEXT_WIDTH = (21.0 - 2.5 - 1.5) / 2.54 * 72
_MEASURE_FONTS = {False: ("SdelkaMeasure", "Roboto-Regular.ttf"),
                  True: ("SdelkaMeasureBold", "Roboto-Bold.ttf")}


def text_width(text, size, bold=False):
    """Width in points of ``text`` in the PDFs' font (Roboto) at ``size``."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name, filename = _MEASURE_FONTS[bool(bold)]
    try:
        pdfmetrics.getFont(name)
    except KeyError:
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    return pdfmetrics.stringWidth(str(text), name, size)


def table_layout(header, rows, *, size=8.0, padding=6.0, width=PAGE_TEXT_WIDTH,
                 smallest=6.0):
    """Column widths (percent of the page's text width) and the font size of
    a report table, so that no header or cell runs into its neighbour:
    xhtml2pdf wraps text only at spaces and draws a longer word across the
    next column. Every column gets at least its longest word (bold in the
    header, a cell with no-break spaces is one word) plus ``padding``; the
    room left goes to the columns whose whole texts are wider than that.
    When even the longest words do not fit, the font shrinks (to
    ``smallest``). ``rows`` hold the texts as printed.

    Returns {"widths": [percent, ...], "size": points}."""
    columns = len(header)
    while True:
        least, wish = [], []
        for index in range(columns):
            cells = [str(row[index]) for row in rows if index < len(row)]
            words = str(header[index]).split(" ")
            need = max(text_width(w, size, bold=True) for w in words) if words else 0
            full = text_width(header[index], size, bold=True) / 2
            for cell in cells:
                need = max(need, *(text_width(w, size) for w in cell.split(" ")))
                full = max(full, text_width(cell, size))
            least.append(need + padding + 1)
            wish.append(max(full + padding + 1, need + padding + 1))
        if sum(least) <= width or size <= smallest:
            break
        size -= 0.5
    if sum(wish) <= width:
        points = [w * width / sum(wish) for w in wish]
    else:
        spare = width - sum(least)
        extra = [w - m for w, m in zip(wish, least)]
        total = sum(extra) or 1
        points = [m + max(spare, 0) * e / total for m, e in zip(least, extra)]
    scale = 100 / sum(points)
    return {"widths": [round(p * scale, 2) for p in points], "size": size}


# The first bytes of the image files a document may embed by name.
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def _image_data_uri(path):
    """The PNG or JPEG at ``path`` as a ``data:`` URI, else "data:,"."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "data:,"
    kind = next((kind for magic, kind in _IMAGE_MAGIC if data.startswith(magic)), None)
    if kind is None:
        return "data:,"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _link_callback(uri, rel, base_url=None, images=None):
    """Map a URI in the document to one of the app's own files, or to an
    empty ``data:`` URI. xhtml2pdf fetches the original URI when this
    returns "" or None, so every refusal is "data:,".

    Allowed: inline ``data:`` URIs, the bundled font files by absolute path,
    and files under app/static as "/static/x", "static/x" or "x" (and
    ``base_url`` + any of those, so absolute links to the app itself work
    offline); and the exact URIs of ``images`` ({URI: file}, the caller's
    list of uploaded images: the company's stamp and signatures), embedded
    as ``data:`` URIs when the file is a PNG or JPEG. Refused: any other
    scheme or host, ``..`` anywhere, and paths that resolve (after
    symlinks) outside those roots, the uploads folder included.
    """
    uri = str(uri or "").strip()
    if uri.startswith("data:"):
        return uri
    if images and uri in images:
        return _image_data_uri(images[uri])
    if base_url and uri.startswith(base_url):
        uri = "/" + uri[len(base_url):].lstrip("/")
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path or "\\" in path or "\x00" in path:
        return "data:,"
    if ".." in PurePosixPath(path).parts:
        return "data:,"
    for prefix in ("/static/", "static/"):
        if path.startswith(prefix):
            candidate = STATIC_DIR / path[len(prefix):]
            break
    else:
        candidate = Path(path) if path.startswith("/") else STATIC_DIR / path
    resolved = candidate.resolve()
    if resolved.is_file() and any(resolved.is_relative_to(root) for root in _ROOTS):
        return str(resolved)
    return "data:,"


def html_to_pdf(html, *, base_url=None, page_css=None, images=None):
    """Convert rendered HTML to PDF bytes: A4, the bundled Cyrillic font,
    nothing fetched from the network, no file read outside the app's font
    and static folders (both the link_callback and xhtml2pdf's own resource
    policy enforce this). Raises PdfError when xhtml2pdf reports errors.

    ``page_css`` replaces the default ``@page`` rule (A4 portrait): xhtml2pdf
    keeps the first ``@page`` it meets, so a document cannot override it.
    ``images`` ({URI: file}) are the only uploaded files the document may
    embed (documents.render_pdf passes the company's, services/company_images).

    xhtml2pdf renders one document at a time per process (a global lock),
    and gives up after PDF_MAX_SECONDS.
    """
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    policy = ResourceAccessPolicy.server(
        base_dir=None,
        extra_roots=_ROOTS,
        allow_remote=False,
        max_render_seconds=PDF_MAX_SECONDS,
    )
    out = io.BytesIO()
    try:
        result = pisa.CreatePDF(
            html,
            dest=out,
            link_callback=functools.partial(_link_callback, base_url=base_url,
                                            images=dict(images or {})),
            default_css=DEFAULT_CSS + (PRINT_CSS if page_css is None
                                       else PRINT_CSS.replace(PAGE_CSS, page_css)),
            encoding="utf-8",
            resource_policy=policy,
        )
    except RenderLimitError as exc:
        raise PdfError(Message(N_("The PDF takes too long or the document is too large: "
                                  "%(detail)s"), detail=str(exc))) from exc
    except Exception as exc:
        raise PdfError(Message(N_("Could not make the PDF: %(detail)s"),
                               detail=str(exc))) from exc
    if result.err:
        errors = "; ".join(str(msg) for mode, _, msg, _ in result.log if mode == "error")
        raise PdfError(Message(N_("Could not make the PDF: %(detail)s"),
                               detail=errors or "xhtml2pdf"))
    return out.getvalue()
