"""WTForms validators shared by the generated screens. Each wraps a check
from app/services/validation.py, so every screen, import and API answers
with the same message and stores the same normal form."""
import copy
import datetime

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DecimalField, Field, IntegerField
from wtforms.fields.core import UnboundField
from wtforms.utils import unset_value
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import html_params

from app.services import localtime, validation, values


class Normalised:
    """Runs ``check`` on a non-empty value and stores its normal form."""

    def __init__(self, check):
        self.check = check

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        try:
            field.data = self.check(field.data)
        except validation.ValidationError as exc:
            raise StopValidation(str(exc)) from None


class ColumnRules:
    """The checks of a table column (``validation.column_checks``: length
    and control characters of a text, an e-mail address, the precision of
    a decimal, the range of an integer), run first; the field keeps the
    normal form. A number the field could not read stops here with its
    own message, before NumberRange and the like add theirs."""

    def __init__(self, checks):
        self.checks = checks

    def __call__(self, form, field):
        if field.process_errors:
            raise StopValidation()
        if field.data is None or field.data == "":
            return
        try:
            for check in self.checks:
                field.data = check(field.data)
        except validation.ValidationError as exc:
            raise StopValidation(str(exc)) from None


class _ReadsTyped:
    """A field whose typed text ``read`` turns into its value: empty is
    None; what cannot be read is refused with the reader's message at the
    field (and shown again as typed), never dropped."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0]
        if raw is None or not str(raw).strip():
            self.data = None
            return
        try:
            self.data = self.read(raw)
        except values.ValidationError as exc:
            self.data = None
            raise ValueError(str(exc)) from None


class _TypedNumber(_ReadsTyped):
    """Reads the typed text with ``validation.number`` (ASCII digits, no
    exponent, "300 000,00" and "14,5" as well) instead of Decimal() or
    int(), which take "Infinity", "1e10" and "٣٠٠"."""

    read = staticmethod(validation.number)


    def _value(self):
        # As the lists write it («300 000,00»), and as typed after a refusal.
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        places = getattr(self, "places", None)
        return values.number_text(self.data, places, grouped=True) if places is not None \
            else values.decimal_text(self.data)


class _TypedInteger(_TypedNumber):
    read = staticmethod(validation.integer)

    def _value(self):
        return IntegerField._value(self)


_TYPED = {}


def _typed(field_class):
    """``field_class`` reading numbers by the rule of ``_TypedNumber``."""
    if issubclass(field_class, IntegerField):
        mixin = _TypedInteger
    elif issubclass(field_class, DecimalField):
        mixin = _TypedNumber
    else:
        return field_class
    if field_class not in _TYPED:
        _TYPED[field_class] = type(field_class.__name__, (mixin, field_class), {})
    return _TYPED[field_class]


def column_checked(form_class, model):
    """A subclass of ``form_class`` whose fields of ``model``'s columns,
    generated or extra, check their values as the column requires
    (``ColumnRules`` before their own validators) and read numbers by one
    rule. The original unbound fields are left as they were: a view's
    extra fields are shared by its add and edit forms."""
    if form_class is None:
        return None
    columns = model.__mapper__.columns
    overrides = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField) or name not in columns:
            continue
        checks = validation.column_checks(columns[name], name)
        if not checks:
            continue
        field = copy.copy(unbound)  # keeps creation_counter: the order stays
        field.field_class = _typed(unbound.field_class)
        args, kwargs = list(unbound.args), dict(unbound.kwargs)
        if "validators" in kwargs or len(args) < 2:
            kwargs["validators"] = [ColumnRules(checks), *(kwargs.get("validators") or [])]
        else:
            args[1] = [ColumnRules(checks), *(args[1] or [])]
        field.args, field.kwargs = tuple(args), kwargs
        overrides[name] = field
    return type(form_class.__name__, (form_class,), overrides) if overrides else form_class


class AccountOfBank:
    """An account number checked against the BIK entered in the same form."""

    def __init__(self, check, bik_field="bik"):
        self.check = check
        self.bik_field = bik_field

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        bik = form[self.bik_field].data
        try:
            bik = validation.bik(bik) if bik else None
        except validation.ValidationError:
            bik = None  # the BIK field reports its own error
        try:
            field.data = self.check(field.data, bik)
        except validation.ValidationError as exc:
            raise StopValidation(str(exc)) from None


def min_length(n):
    def check(form, field):
        if field.data and len(field.data) < n:
            raise ValidationError(_l("At least %(n)d characters", n=n))

    return check


def enum_field(label, enum_cls, blank=False, **kwargs):
    """A drop-down of an enum's members with translated labels. FAB's own
    EnumField looks members up by name and breaks on value-stored enums.
    ``blank``: the column may be empty, and the first choice leaves it so."""
    from flask_appbuilder.fieldwidgets import Select2Widget
    from wtforms import SelectField

    from app.labels import ENUMS

    def coerce(value):
        if blank and value == "":
            return None
        return value if value is None or isinstance(value, enum_cls) else enum_cls(
            type(next(iter(enum_cls)).value)(value))

    choices = [(member.value, text) for member, text in ENUMS[enum_cls].items()]
    return SelectField(label, coerce=coerce, widget=Select2Widget(),
                       choices=[("", ""), *choices] if blank else choices, **kwargs)


def office_zone():
    from flask import current_app

    return current_app.config.get("APP_TIMEZONE", "Europe/Moscow")


date_text = values.date_text


def datetime_text(value):
    """A stored (UTC) time in the office's zone, as every screen shows it."""
    return "" if value is None else values.datetime_text(
        localtime.to_local(value, office_zone()))


def register_template_values(app):
    """Templates format values as screens do: ``money(x)``, ``date_text(d)``,
    ``datetime_text(t)`` (a naive time as it is), ``month_text(d)``,
    ``number_text(x)`` («9,9»); the
    filter ``local_datetime`` shows a stored UTC time in the office's zone."""
    app.jinja_env.globals.update(money=values.money, date_text=values.date_text,
                                 datetime_text=values.datetime_text,
                                 month_text=values.month_text, number_text=values.number_text)
    app.jinja_env.filters["local_datetime"] = datetime_text


class DateInputWidget:
    """A text input for a date («ДД.ММ.ГГГГ») or a date and time
    («ДД.ММ.ГГГГ ЧЧ:ММ») with a calendar button. static/js/dates.js turns it
    into a Russian flatpickr (Monday first, month names, a time part) that
    keeps what is typed; without the script it is a plain text input the
    server reads the same way. Not FAB's DatePickerWidget: its
    bootstrap-datepicker picks dates only, in English, and rewrites typed
    text on blur."""

    def __init__(self, with_time=False):
        self.with_time = with_time

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        kwargs.pop("type", None)
        placeholder = values.DATETIME_FORMAT if self.with_time else values.DATE_FORMAT
        kwargs.setdefault("placeholder", placeholder)
        kwargs["class"] = ("form-control sdelka-date " + kwargs.get("class", "")).strip()
        params = html_params(type="text", value=field._value(), autocomplete="off",
                             data_kind="datetime" if self.with_time else "date", **kwargs)
        return (Markup('<div class="input-group sdelka-date-group"><input ') + Markup(params)
                + Markup('><span class="input-group-btn"><button type="button" tabindex="-1" '
                         'class="btn btn-default sdelka-date-toggle" title="%s">'
                         '<i class="fa fa-calendar"></i></button></span></div>')
                % _l("Calendar"))


def task_day_end(config=None):
    """``TASK_DAY_ENDS`` («18:00»): when the office's working day ends."""
    from flask import current_app

    text = str((config or current_app.config).get("TASK_DAY_ENDS") or "18:00").strip()
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return datetime.time(hours, minutes)
    except ValueError:
        raise ValueError(f"TASK_DAY_ENDS must be a time as ЧЧ:ММ, not {text!r}") from None


# The quick deadlines: a label, its title and the days after the office's today.
QUICK_DEADLINES = (
    (_l("Today"), _l("Deadline: today at the end of the working day"), 0),
    (_l("Tomorrow"), _l("Deadline: tomorrow at the end of the working day"), 1),
    (_l("3 days"), _l("Deadline: in 3 days at the end of the working day"), 3),
    (_l("Week"), _l("Deadline: in a week at the end of the working day"), 7),
)


class QuickDeadlineWidget(DateInputWidget):
    """The date-and-time input with buttons «Сегодня», «Завтра», «3 дня»,
    «Неделя» under it: a click (or Enter, Space) writes that office day at
    the end of the working day (``TASK_DAY_ENDS``) into the input as it is
    typed, «ДД.ММ.ГГГГ ЧЧ:ММ» (static/js/quick_deadlines.js). The office's
    today comes from the server (``APP_TIMEZONE``), not the browser's
    clock, which may be in another zone; the values are written here."""

    def __init__(self):
        super().__init__(with_time=True)

    def __call__(self, field, **kwargs):
        today = localtime.today(office_zone())
        end = task_day_end()
        buttons = Markup("").join(
            Markup('<button type="button" class="btn btn-default sdelka-quick-deadline" ')
            + Markup(html_params(
                title=f"{title} ({values.datetime_text(moment)})", data_days=days,
                data_value=values.datetime_text(moment)))
            + Markup(">%s</button>") % label
            for label, title, days in QUICK_DEADLINES
            for moment in [datetime.datetime.combine(today + datetime.timedelta(days=days), end)])
        group = html_params(class_="btn-group btn-group-xs sdelka-quick-deadlines", role="group",
                            aria_label=_l("Quick deadline"), data_for=kwargs.get("id", field.id),
                            data_today=today.isoformat(), data_day_end=end.strftime("%H:%M"))
        return (super().__call__(field, **kwargs)
                + Markup('<div style="margin-top: 4px" ') + Markup(group) + Markup(">")
                + buttons + Markup("</div>"))


class _TypedDate(_ReadsTyped, Field):
    """A date typed the Russian way or in ISO form, read by ``values.date``."""

    widget = DateInputWidget()
    read = staticmethod(values.date)
    show = staticmethod(values.date_text)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.show(self.data) if self.data else ""

    def pre_validate(self, form):
        # The message of the unreadable text is enough: no "required" after it.
        if self.process_errors:
            raise StopValidation()


class RuDateField(_TypedDate):
    """A date field: «20.05.2005», «20.05.05», «2005-05-20»."""


class LocalDateTimeField(_TypedDate):
    """A date and time typed and shown in the office's zone («04.12.2026
    11:00», ISO too) and kept in UTC, as every stored time is. Its data (and
    a default) is local time; ``localtime`` is the one crossing."""

    widget = DateInputWidget(with_time=True)
    read = staticmethod(values.datetime_local)
    show = staticmethod(values.datetime_text)

    def process(self, formdata, data=unset_value, extra_filters=None):
        # A value from the record is UTC; a default is local already.
        if data is not unset_value and isinstance(data, datetime.datetime):
            data = localtime.to_local(data, office_zone())
        super().process(formdata, data, extra_filters)

    def populate_obj(self, obj, name):
        setattr(obj, name, localtime.to_utc(self.data, office_zone()))


def date_field(label, required=False, **kwargs):
    from wtforms.validators import DataRequired, Optional

    validators = kwargs.pop("validators", None) or \
        [DataRequired() if required else Optional()]
    return RuDateField(label, validators, **kwargs)


def local_datetime_field(label, required=False, **kwargs):
    from wtforms.validators import DataRequired, Optional

    return LocalDateTimeField(label, [DataRequired() if required else Optional()], **kwargs)


def _column_default(column):
    """A column's Python default as a form field's default (FAB gives its
    generated fields the same): a callable is called when the form is made."""
    default = column.default
    if default is None or getattr(default, "arg", None) is None:
        return None
    if getattr(default, "is_callable", False):
        return lambda: default.arg(None)
    return default.arg if getattr(default, "is_scalar", False) else None


class EnumFieldsMixin:
    """Form fields FAB gets wrong, fixed for every column of the model:
    enum columns get our translated drop-down (FAB's EnumField looks members
    up by name and fails), NOT NULL booleans a plain check box (FAB makes
    it required, so leaving it unticked could never be saved), dates are
    typed the Russian way or ISO (RuDateField; FAB's DateField takes ISO
    only), dates with a time also in the office's zone (LocalDateTimeField),
    and every
    value is checked by its column (``column_checked``)."""

    def __init__(self, **kwargs):
        from sqlalchemy import Boolean, Date, DateTime, Enum
        from wtforms import BooleanField

        from app.labels import ENUMS, FIELDS

        columns = self.datamodel.obj.__table__.columns
        labels = {**FIELDS, **(self.label_columns or {})}
        fields = {c.key: enum_field(labels.get(c.key, c.key), c.type.enum_class,
                                    blank=bool(c.nullable))
                  for c in columns
                  if isinstance(c.type, Enum) and c.type.enum_class in ENUMS}
        form_fields = dict(fields)
        form_fields.update({c.key: BooleanField(labels.get(c.key, c.key))
                            for c in columns
                            if isinstance(c.type, Boolean) and not c.nullable})
        form_fields.update({c.key: local_datetime_field(labels.get(c.key, c.key),
                                                        required=not c.nullable)
                            for c in columns if isinstance(c.type, DateTime)})
        form_fields.update({c.key: date_field(labels.get(c.key, c.key),
                                              required=not c.nullable,
                                              default=_column_default(c))
                            for c in columns if isinstance(c.type, Date)})
        # The list's filters type dates as the forms do (views/filters.py
        # reads them), not in FAB's English month-first picker.
        search_fields = {**fields, **{
            c.key: (local_datetime_field if isinstance(c.type, DateTime) else date_field)(
                labels.get(c.key, c.key)) for c in columns if isinstance(c.type, (Date, DateTime))}}
        for attr, extra in (("add_form_extra_fields", form_fields),
                            ("edit_form_extra_fields", form_fields),
                            ("search_form_extra_fields", search_fields)):
            setattr(self, attr, {**extra, **(getattr(self, attr) or {})})
        super().__init__(**kwargs)
        # Every value bounded by its column (length, digits, e-mail, no NUL).
        model = self.datamodel.obj
        self.add_form = column_checked(self.add_form, model)
        self.edit_form = column_checked(self.edit_form, model)
