"""Every value of every list and record page as a person reads it, FAB's
own screens (employees, roles) included.

FAB hands its list and show widgets what ``getattr`` gives, with enum
members replaced by their stored value: a column without a formatter
showed «company», «None», «True», a raw UTC time with microseconds. Here
FAB's interface keeps the enum member (so a formatter such as
``enum_label`` gets the member itself), and the widgets show every value of
a column that has no formatter by its type (``show.shown``: the enum's
label, «Да»/«Нет», nothing for an empty value, office time to the minute).
"""
from flask_appbuilder.models.base import BaseInterface
from flask_appbuilder.widgets import RenderTemplateWidget

_installed = False


def _attr_value(item, col):
    if not hasattr(item, col):
        try:
            value = item
            for part in col.split("."):
                value = getattr(value, part)
            return value
        except Exception:  # noqa: BLE001  (FAB's own rule: an unreadable path is empty)
            return ""
    value = getattr(item, col)
    return value() if callable(value) else value


def _readable(args):
    from app.views.show import shown

    columns = args.get("include_columns")
    values = args.get("value_columns")
    if not columns or values is None:
        return args
    formatted = args.get("formatters_columns") or {}
    if isinstance(values, list) and len(values) == len(columns) and not (
            values and isinstance(values[0], dict)):
        # A record page: one value per column.
        args["value_columns"] = [value if column in formatted else shown(value)
                                 for column, value in zip(columns, values)]
    else:
        # A list: a row (a dict by column) per record, often a generator.
        args["value_columns"] = [
            {column: (value if column in formatted else shown(value))
             for column, value in row.items()}
            for row in values]
    return args


def _call(self, **kwargs):
    from flask import current_app

    template = current_app.jinja_env.get_template(self.template)
    args = self.template_args.copy()
    args.update(kwargs)
    return template.render(_readable(args))


def install():
    global _installed
    if _installed:
        return
    BaseInterface._get_attr_value = staticmethod(_attr_value)
    # A role reads by its label wherever it is shown (an employee's roles,
    # drop-downs); repr() keeps the stored name.
    from flask_appbuilder.security.sqla.models import Role

    from app.views.roles import role_label

    Role.__str__ = lambda self: str(role_label(self.name))
    # A step of work with a counterparty names its planned time in office
    # time to the minute (the "based on" drop-down), not a raw UTC stamp.
    from app.models import CounterpartyAction
    from app.views.fields import datetime_text

    CounterpartyAction.__str__ = lambda self: (
        f"{self.action_type or ''} {datetime_text(self.planned_at)}".strip())
    RenderTemplateWidget.__call__ = _call
    _installed = True
