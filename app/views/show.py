"""The record page: every value as a person reads it, and a link to edit
the record for whoever may.

FAB hands the show widget what ``getattr`` gives, with enum members
replaced by their stored value: the page showed "None", "person", "False",
"[]" and raw UTC timestamps. Here a column's own formatter gets the value
itself (an enum member, so ``enum_label`` finds its label), and any other
column is shown by its type."""
import datetime
import decimal
import enum

from flask import after_this_request, g, url_for
from flask_babel import lazy_gettext as _l

from app import db
from app.services import history, personal_data, values
from app.views.fields import date_text, datetime_text
from app.views.labels import enum_label


def shown(value):
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return enum_label(value)
    if isinstance(value, bool):
        return _l("Yes") if value else _l("No")
    if isinstance(value, datetime.datetime):
        return datetime_text(value)
    if isinstance(value, datetime.date):
        return date_text(value)
    if isinstance(value, decimal.Decimal):
        return values.number_text(value, grouped=True)  # «14,5», «1 000»
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(shown(v)) for v in value)
    return value


def first_on_page(name):
    """True the first time a page asks for ``name``: FAB's record widget
    includes its confirmation and alert dialogs again, beside the layout's,
    and a page held two elements of each id (the browser's script found
    one, a screen reader read both)."""
    drawn = g.setdefault("drawn_once", set())
    if name in drawn:
        return False
    drawn.add(name)
    return True


def _own_value(item, column, given):
    """The attribute itself where FAB gave its enum's stored value."""
    if "." in column or not hasattr(item, column):
        return given
    value = getattr(item, column)
    return given if callable(value) else value


class RecordPageMixin:
    """Mix into a ModelView whose show widget renders ``edit_url``
    (sdelka/widgets/show.html)."""

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets, actions, show_fieldsets)
        args = widgets["show"].template_args
        formatted = self.formatters_columns
        args["value_columns"] = [
            value if column in formatted else shown(value)
            for column, value in ((column, _own_value(item, column, given))
                                  for column, given in zip(args["include_columns"],
                                                           args["value_columns"]))]
        # By name: a refused quick box (views/timeline.py) shows this page
        # from another view's route.
        args["edit_url"] = url_for(f"{self.endpoint}.edit", pk=pk) if self._may_edit(pk) \
            else None
        personal_data.viewed(db.engine, item, history.acting_user_id.get(), later=_after_sent)
        return widgets

    def _may_edit(self, pk):
        """The edit permission, and row-level access where the view has it."""
        if not self.appbuilder.sm.has_access("can_edit", self.class_permission_name):
            return False
        may_write = getattr(self, "may_write", None)
        return may_write is None or may_write(pk)


def _after_sent(write):
    """Run ``write`` once the response has gone to the browser."""
    @after_this_request
    def _on_close(response):
        response.call_on_close(write)
        return response
