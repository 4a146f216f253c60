"""Labels and formatters shared by the screens, so a field reads the same
on every screen, export and filter."""
import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import Boolean, DateTime, Enum

from app.labels import ENUMS, history_field
from app.models import Reminder
from app.services import values
from app.views.fields import datetime_text

# What a custom field may belong to (services/custom_fields.ENTITIES).
ENTITY_LABELS = {"client": _l("Clients"), "contact": _l("Contact persons"),
                 "application": _l("Applications"), "lead": _l("Leads"),
                 "deal": _l("Deals"), "task": _l("Tasks"), "invoice": _l("Invoices")}


def enum_label(value):
    """The interface label of an enum member (or of its stored value)."""
    if value is None:
        return ""
    for enum_cls, labels in ENUMS.items():
        if isinstance(value, enum_cls):
            return labels[value]
    return value


def blank_if_none(value):
    return "" if value is None else value


money = values.money  # 1234567.5 -> 1 234 567,50 (no-break spaces)


HISTORY_ACTIONS = {"create": _l("created"), "update": _l("changed"),
                   "delete": _l("deleted"), "print": _l("printed"),
                   "convert": _l("converted to a deal"),
                   "erase": _l("personal data erased"),
                   # A record without a client keeps its e-mailing here
                   # (services/deal_documents.record_sent); a noun: no agreement.
                   "email": _l("sending by e-mail")}
HISTORY_ENTITIES = {"client": _l("Client"), "application": _l("Application"),
                    "lead": _l("Lead"), "deal": _l("Deal"), "task": _l("Task"),
                    "invoice": _l("Invoice"), "contact": _l("Contact person"),
                    "project": _l("Project"), "act": _l("Act"), "upd": _l("UPD")}


# Russian agrees the action with the record: «Задача №3: создана»,
# «Контактное лицо №3: создано».
FEMININE = {"application", "deal", "task"}
NEUTER = {"contact"}


def _action_text(entity, action):
    if entity in FEMININE:
        feminine = {"create": pgettext("feminine", "created"),
                    "update": pgettext("feminine", "changed"),
                    "delete": pgettext("feminine", "deleted"),
                    "print": pgettext("feminine", "printed")}
        if action in feminine:
            return feminine[action]
    if entity in NEUTER:
        neuter = {"create": pgettext("neuter", "created"),
                  "update": pgettext("neuter", "changed"),
                  "delete": pgettext("neuter", "deleted")}
        if action in neuter:
            return neuter[action]
    return HISTORY_ACTIONS.get(action, action)


def _stored_time(text):
    """A history value written from a UTC time (older rows: ISO, with
    microseconds), read back; None when it is not one."""
    try:
        return values.datetime_local(text)
    except ValueError:  # values.ValidationError is one
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            return None


def history_value(entity, field, text):
    """A history row's old or new value as the screens show that field: an
    enum's label, «Да»/«Нет», a time in the office's zone to the minute.
    The row keeps what was written (stored values, UTC); reading it here
    also serves rows written before."""
    if text is None or not field:
        return text
    from app.services.history import model_of_entity

    model = model_of_entity(entity)
    column = model.__table__.columns.get(field) if model is not None else None
    if column is None:
        return text
    if field == "reminder_minutes" and text.isdigit():
        try:
            return enum_label(Reminder(int(text)))
        except ValueError:
            return text
    kind = column.type
    if isinstance(kind, Enum) and kind.enum_class is not None:
        try:
            return enum_label(kind.enum_class(text))
        except ValueError:
            return text
    if isinstance(kind, Boolean) and text in ("True", "False"):
        return _l("Yes") if text == "True" else _l("No")
    if isinstance(kind, DateTime):
        moment = _stored_time(text)
        return text if moment is None else datetime_text(moment)
    return text


def history_row(entry):
    """A history entry with the words a person reads."""
    entity = HISTORY_ENTITIES.get(entry.entity, entry.entity)
    entry.what = f"{entity} №{entry.entity_id}: {_action_text(entry.entity, entry.action)}"
    entry.field_label = history_field(entry.entity, entry.field)
    entry.at_local = datetime_text(entry.at)
    # Not written back onto the row's own columns: the session would save them.
    entry.old_text = history_value(entry.entity, entry.field, entry.old_value)
    entry.new_text = history_value(entry.entity, entry.field, entry.new_value)
    return entry
