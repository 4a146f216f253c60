"""Dictionary screens (справочники): one generated list/edit screen per
dictionary, all built on DictionaryView."""
import re

from flask import Response, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2Widget,
)
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import asc, desc
from wtforms import BooleanField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    InputRequired,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from app import db
from app.labels import DICTIONARY_FIELDS
from app.models import (
    ActionResult,
    ActionType,
    ClientGroup,
    ClientOrigin,
    ClientStatus,
    ClientType,
    Currency,
    FunnelStage,
    LoanPurpose,
    MailingType,
    MarketSegment,
    Product,
    RefusalReason,
    Region,
    StatusKind,
    Tag,
    TaskStatus,
    TaskType,
    Tax,
)
from app.permissions import DICTIONARY_CATEGORY, DICTIONARY_SCREENS
from app.services import dictionaries, mailing
from app.services.errors import Refused
from app.views.export import CsvMixin
from app.views.fields import column_checked
from app.views.filters import FilterInBranch, add_search_filter
from app.views.labels import blank_if_none, money
from app.views.refusal import KeepTypedMixin, refuse_on

LABELS = DICTIONARY_FIELDS
DESCRIPTIONS = {
    "synonyms": _l("Other ways a file writes this value («Мск», «г. Москва»), one a line or "
                   "separated by «;»; an import matches them. Letter case, ё and е, spaces, "
                   "punctuation and words like «г.» or «обл.» do not matter"),
    "is_active": _l("Untick instead of deleting a value that records already use"),
    "sort_order": _l("Lists show smaller numbers first, then go by name"),
    "parent": _l("Leave empty for a top-level group; groups nest at most three levels"),
    "color": _l("#RRGGBB, for example #28a745"),
    "kind": _l("How statistics count a task in this status"),
    "takes_dates": _l("A task in this status gets a start and an end date"),
    "probability": _l("Chance of closing the deal at this stage, 0–100"),
}
KINDS = {
    StatusKind.OPEN: _l("In work"),
    StatusKind.DONE: _l("Completed"),
    StatusKind.REFUSED: _l("Refused"),
    StatusKind.JUNK: _l("Junk"),
}

COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}\Z")


# --- form pieces ---------------------------------------------------------------


def _check(rule, *args):
    """A service refusal as a message under the form field."""
    try:
        rule(*args)
    except Refused as exc:
        raise ValidationError(str(exc)) from None


def _flag(name, default=False):
    # FAB puts InputRequired on NOT NULL columns, which an unticked box fails.
    return BooleanField(LABELS[name], description=DESCRIPTIONS.get(name, ""),
                        default=default)


class ColourWidget(BS3TextFieldWidget):
    input_type = "color"


def _colour_field():
    return StringField(
        LABELS["color"], description=DESCRIPTIONS["color"], widget=ColourWidget(),
        default="#ffffff",
        validators=[InputRequired(), Regexp(COLOUR, message=_l(
            "A colour is written as #RRGGBB, for example #28a745"))],
    )


class NumberField(DecimalField):
    """A decimal typed the Russian way too ("1 234,5"), shown without
    trailing zeros when ``places`` is None (a rate of 11.2345 stays exact)."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [re.sub(r"[\s\u00a0]", "", valuelist[0]).replace(",", ".")]
        super().process_formdata(valuelist)

    def _value(self):
        if self.raw_data or self.places is not None or self.data is None:
            return super()._value()
        return format(self.data.normalize(), "f")


def _number_field(label, *rules, places=2, description=""):
    return NumberField(label, validators=[InputRequired(), *rules], places=places,
                       description=description, widget=BS3TextFieldWidget())


def _synonyms_field():
    return TextAreaField(LABELS["synonyms"], description=DESCRIPTIONS["synonyms"],
                         widget=BS3TextAreaFieldWidget(), render_kw={"rows": 3},
                         validators=[Optional()])


def _kind_field():
    # FAB's own enum field looks members up by name; ours are stored by value.
    return SelectField(
        LABELS["kind"], description=DESCRIPTIONS["kind"], widget=Select2Widget(),
        choices=[(kind.value, label) for kind, label in KINDS.items()],
        coerce=StatusKind, default=StatusKind.OPEN,
    )


def _currency_code(form, field):
    field.data = (field.data or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", field.data):
        raise StopValidation(_l("Three Latin letters of ISO 4217, for example RUB or USD"))


def _single_base(form, field):
    # On edit FAB puts the record's id on the form as _id.
    _check(dictionaries.check_single_base, db.session, field.data, getattr(form, "_id", None))


def _base_rate_is_one(form, field):
    if form.is_base.data and field.data is not None and field.data != 1:
        raise ValidationError(_l("The rate of the base currency is 1"))


# --- list formatting -----------------------------------------------------------


def _yes_no(value):
    return _l("Yes") if value else _l("No")


def _swatch(value):
    """A square of the colour and its code. Only a well-formed code reaches
    the style attribute; anything else is shown as escaped text."""
    if not value or not COLOUR.match(value):
        return value or ""
    return Markup(
        '<span style="display:inline-block;width:1.4em;height:1.4em;'
        'vertical-align:middle;border:1px solid #999;background:{0}"></span> '
        "<code>{0}</code>"
    ).format(value)


def _kind(value):
    return KINDS.get(StatusKind(value), value) if value else ""


def _number(value):
    """11.200000 -> 11,2; 5000.00 -> 5 000 (no-break space)."""
    if value is None:
        return ""
    return format(value.normalize(), ",f").replace(",", "\u00a0").replace(".", ",")


def _names(values):
    return ", ".join(str(v) for v in values or ())


def _lines(value):
    return Markup("<br>").join((value or "").splitlines())


# --- views ---------------------------------------------------------------------------


class DictionaryInterface(SQLAInterface):
    """Rows with the same sort order follow in order of name."""

    def apply_order_by(self, query, order_column, order_direction, **kwargs):
        if order_column != "sort_order":
            return super().apply_order_by(query, order_column, order_direction, **kwargs)
        # FAB would put the id right after the sort order as a tie-breaker.
        direction = asc if order_direction == "asc" else desc
        return query.order_by(direction(self.obj.sort_order), direction(self.obj.name),
                              direction(self.obj.id))


class DictionaryView(KeepTypedMixin, CsvMixin, ModelView):
    """Common screen of a dictionary. A subclass names its model and its own
    ``fields``; the columns of every form and list are built from them:
    name, the fields, then the active flag and the sort order."""

    model = None
    fields = ()
    # Relations are left out of the search unless a subclass adds them:
    # every filter on a relation loads the whole related table.
    search_fields = ()
    show_fields = ()

    label_columns = LABELS
    description_columns = DESCRIPTIONS
    base_order = ("sort_order", "asc")
    page_size = 50
    formatters_columns = {
        "is_active": _yes_no, "takes_dates": _yes_no, "is_base": _yes_no, "is_exempt": _yes_no,
        "color": _swatch, "kind": _kind, "managers": _names, "children": _names,
        "results": _names, "action_type": blank_if_none, "synonyms": _lines,
        "price": money, "rate": _number,
        "parent": blank_if_none, "tax": blank_if_none,
    }
    validators_columns = {
        "probability": [NumberRange(min=0, max=100, message=_l(
            "Probability is a percentage from 0 to 100"))],
    }
    extra_fields = {"is_active": lambda: _flag("is_active", default=True),
                    "synonyms": _synonyms_field}
    csv_enum_labels = {StatusKind: KINDS}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.model is None:
            return
        cls.datamodel = DictionaryInterface(cls.model)
        # FAB adds labels to these dicts in place: one copy per screen.
        cls.label_columns = dict(cls.label_columns)
        cls.formatters_columns = dict(cls.formatters_columns)
        label = cls.model.__label__
        cls.list_title = label
        cls.show_title = _l("%(dictionary)s: record", dictionary=label)
        cls.add_title = _l("%(dictionary)s: new record", dictionary=label)
        cls.edit_title = _l("%(dictionary)s: editing", dictionary=label)
        columns = ["name", *cls.fields, "is_active", "sort_order"]
        # Synonyms are for imports; the list stays the values themselves.
        form = ["name", "synonyms", *columns[1:]]
        cls.list_columns, cls.add_columns, cls.edit_columns = columns, form, form[:]
        cls.show_columns = [*form, *cls.show_fields]
        cls.search_columns = ["name", "synonyms", *cls.search_fields, "is_active"]
        cls.add_form_extra_fields = cls.edit_form_extra_fields = {
            name: make() for name, make in cls.extra_fields.items() if name in form
        }

    def __init__(self, **kwargs):
        # FAB appends its own validators to these lists while building each
        # form; a copy per instance keeps the class's lists as declared.
        self.validators_columns = {col: list(rules)
                                   for col, rules in self.validators_columns.items()}
        super().__init__(**kwargs)
        # Values bounded by their columns, as in the registers (fields.py).
        self.add_form = column_checked(self.add_form, self.datamodel.obj)
        self.edit_form = column_checked(self.edit_form, self.datamodel.obj)

    def pre_add(self, item):
        refuse_on(dictionaries.check_synonyms, db.session, item)

    def pre_update(self, item):
        self.pre_add(item)

    def pre_delete(self, item):
        refuse_on(dictionaries.check_can_delete, db.session, item)


class TreeDictionaryView(DictionaryView):
    """A dictionary grouped in a tree up to three levels deep; the list can
    be narrowed to a branch: ``?_flt_<branch_filter>_parent=<id>``."""

    fields = ("parent",)
    search_fields = ("parent",)  # its own small table
    show_fields = ("children",)
    branch_filter = None

    def _init_properties(self):
        super()._init_properties()
        self.branch_filter = add_search_filter(self._filters, "parent", FilterInBranch)
        self.formatters_columns = dict(self.formatters_columns, parent=self._branch_link)

    def _branch_link(self, parent):
        """The parent group links to the list of its whole branch."""
        if parent is None:
            return ""
        href = url_for(".list", **{f"_flt_{self.branch_filter}_parent": parent.id})
        return Markup('<a href="{}" title="{}">{}</a>').format(
            href, _l("Show the whole branch"), parent)

    def pre_add(self, item):
        refuse_on(dictionaries.check_parent, item)
        super().pre_add(item)


class TaskTypeView(TreeDictionaryView):
    route_base = "/task-types"
    model = TaskType


class ClientGroupView(TreeDictionaryView):
    route_base = "/client-groups"
    model = ClientGroup


class TaskStatusView(DictionaryView):
    route_base = "/task-statuses"
    model = TaskStatus
    fields = ("color", "kind", "takes_dates")
    search_fields = ("kind", "takes_dates")
    extra_fields = dict(DictionaryView.extra_fields, color=_colour_field,
                        kind=_kind_field, takes_dates=lambda: _flag("takes_dates"))
    search_form_extra_fields = {"kind": _kind_field()}


class ClientStatusView(DictionaryView):
    route_base = "/client-statuses"
    model = ClientStatus


class ClientTypeView(DictionaryView):
    route_base = "/client-types"
    model = ClientType


class ClientOriginView(DictionaryView):
    route_base = "/client-origins"
    model = ClientOrigin


class MarketSegmentView(DictionaryView):
    route_base = "/market-segments"
    model = MarketSegment
    fields = ("managers",)
    description_columns = dict(DESCRIPTIONS, managers=_l(
        "Employees who work with clients of this segment"))
    # Only active employees are offered for a new segment. Not on edit: a
    # bound employee who left would make the saved choice invalid.
    add_form_query_rel_fields = {"managers": [["active", FilterEqual, True]]}


class FunnelStageView(DictionaryView):
    route_base = "/funnel-stages"
    model = FunnelStage
    fields = ("probability",)


class LoanPurposeView(DictionaryView):
    route_base = "/loan-purposes"
    model = LoanPurpose


class RegionView(DictionaryView):
    route_base = "/regions"
    model = Region
    fields = ("code",)
    search_fields = ("code",)
    label_columns = dict(LABELS, code=_l("Region code"))
    validators_columns = dict(DictionaryView.validators_columns, code=[
        Optional(), Regexp(r"^[0-9]{2,3}\Z", message=_l("Two or three digits, for example 77"))])


class TaxView(DictionaryView):
    route_base = "/taxes"
    model = Tax
    fields = ("rate", "is_exempt")
    label_columns = dict(LABELS, rate=_l("Rate, %"), is_exempt=_l("Without VAT"))
    extra_fields = dict(
        DictionaryView.extra_fields,
        rate=lambda: _number_field(
            _l("Rate, %"),
            NumberRange(min=0, max=100, message=_l("A tax rate is from 0 to 100 percent"))),
        # Not required: an unticked box is a plain "no".
        is_exempt=lambda: BooleanField(
            _l("Without VAT"),
            description=_l("«Без НДС»: documents print «Без НДС» rather than a rate; "
                           "the rate is not used")))


CURRENCY_LABELS = dict(LABELS, rate=_l("Rate in the base currency"))
CURRENCY_DESCRIPTIONS = dict(DESCRIPTIONS, **{
    "code": _l("ISO 4217 letter code: RUB, USD, EUR"),
    "rate": _l("How much one unit costs in the base currency"),
    "is_base": _l("The currency the others are counted in; only one can be"),
})


class CurrencyView(DictionaryView):
    route_base = "/currencies"
    model = Currency
    fields = ("code", "rate", "is_base")
    search_fields = ("code", "is_base")
    label_columns = CURRENCY_LABELS
    description_columns = CURRENCY_DESCRIPTIONS
    extra_fields = dict(
        DictionaryView.extra_fields,
        is_base=lambda: BooleanField(CURRENCY_LABELS["is_base"], validators=[_single_base],
                                     description=CURRENCY_DESCRIPTIONS["is_base"]),
        rate=lambda: _number_field(
            CURRENCY_LABELS["rate"],
            NumberRange(min=0.000001, message=_l("The rate must be greater than zero")),
            _base_rate_is_one, places=None, description=CURRENCY_DESCRIPTIONS["rate"]),
    )
    validators_columns = dict(DictionaryView.validators_columns, code=[_currency_code])


class ProductView(DictionaryView):
    route_base = "/products"
    model = Product
    fields = ("price", "unit", "tax")
    search_fields = ("unit", "tax")
    extra_fields = dict(DictionaryView.extra_fields, price=lambda: _number_field(
        LABELS["price"], NumberRange(min=0, message=_l("A price cannot be negative"))))
    add_form_query_rel_fields = {"tax": [["is_active", FilterEqual, True]]}


class TagView(DictionaryView):
    route_base = "/tags"
    model = Tag
    fields = ("color",)
    extra_fields = dict(DictionaryView.extra_fields, color=_colour_field)


class RefusalReasonView(DictionaryView):
    route_base = "/refusal-reasons"
    model = RefusalReason


class ActionTypeView(DictionaryView):
    route_base = "/action-types"
    model = ActionType
    show_fields = ("results",)


class ActionResultView(DictionaryView):
    """Results each action type allows."""

    route_base = "/action-results"
    model = ActionResult
    fields = ("action_type",)
    search_fields = ("action_type",)  # a small table
    description_columns = dict(DESCRIPTIONS, action_type=_l(
        "The action this result belongs to"))


class MailingTypeView(DictionaryView):
    """A mailing list: its page lists the recipients and exports them."""

    route_base = "/mailing-types"
    model = MailingType
    show_template = "sdelka/mailing_type_show.html"
    method_permission_name = {"recipients": "show"}
    SHOWN = 500

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            from app.views.rowaccess import restricted_user_id

            rows = mailing.recipients(db.session, int(kwargs["pk"]), restricted_user_id(),
                                      limit=self.SHOWN + 1)
            kwargs["recipients"] = rows[:self.SHOWN]
            kwargs["more"] = len(rows) > self.SHOWN
        return super().render_template(template, **kwargs)

    @expose("/recipients/<int:pk>")
    @has_access
    def recipients(self, pk):
        """The recipients as CSV for a mailing service (the list's own CSV
        export is ``export``, of the mailing types)."""
        from app.views.rowaccess import restricted_user_id

        item = db.session.get(MailingType, pk)
        if item is None:
            return Response(status=404)
        data = mailing.export_csv(db.session, pk, restricted_user_id())
        filename = f"mailing-{pk}.csv"
        return Response(data, mimetype="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{filename}"'})


# The screens in menu order, under the names roles are granted by.
MENU = tuple((globals()[view], name, icon) for view, name, icon in DICTIONARY_SCREENS)


def register(appbuilder):
    for view, name, icon in MENU:
        appbuilder.add_view(
            view, name, label=view.model.__label__, icon=icon,
            category=DICTIONARY_CATEGORY, category_label=_l("Dictionaries"),
            category_icon="fa-book",
        )
