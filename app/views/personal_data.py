"""«Журнал доступа к персональным данным»: who opened, exported, printed or
changed a person's record, for the administrator alone (app/security.py).
The rows are written by services/personal_data.py; here they are only read."""
from flask import url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.models import PersonalDataLog
from app.views.fields import EnumFieldsMixin, datetime_text
from app.views.filters import FilterInPeriod, add_search_filter
from app.views.labels import enum_label

ENTITY_LABELS = {"client": _l("Client"), "contact": _l("Contact person"), "lead": _l("Lead")}
SHOW_OF = {"client": "ClientView.show", "contact": "ContactPersonView.show",
           "lead": "LeadView.show"}


def entity_text(entity):
    return ENTITY_LABELS.get(entity, entity or "")


class LogInterface(SQLAInterface):
    """The «Запись» column is told from the whole row (its entity and id)."""

    def _get_attr_value(self, item, col):
        if col == "entity_id" and isinstance(item, PersonalDataLog):
            return item
        return SQLAInterface._get_attr_value(item, col)


def record_link(row):
    """A link to the record's page; an export names no record."""
    if not isinstance(row, PersonalDataLog):
        return "" if row is None else row
    if row.entity_id is None:
        return ""
    endpoint = SHOW_OF.get(row.entity)
    if endpoint is None:
        return f"№{row.entity_id}"
    return Markup('<a href="{}">№{}</a>').format(url_for(endpoint, pk=row.entity_id),
                                                 row.entity_id)


class PersonalDataLogView(EnumFieldsMixin, ModelView):
    route_base = "/personal-data-log"
    datamodel = LogInterface(PersonalDataLog)
    base_permissions = ["can_list", "can_show"]
    base_order = ("at", "desc")
    list_title = _l("Personal data access log")
    show_title = _l("Personal data access log: entry")
    list_columns = ["at", "user", "action", "entity", "entity_id", "rows"]
    show_columns = list_columns
    search_columns = ["at", "user", "action", "entity", "entity_id"]
    label_columns = {
        "at": _l("Time"), "user": _l("Employee"), "action": _l("Action"),
        "entity": _l("Record kind"), "entity_id": _l("Record"),
        "rows": _l("Rows exported"),
    }
    formatters_columns = {"at": datetime_text, "action": enum_label, "entity": entity_text,
                          "entity_id": record_link}
    page_size = 50

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        add_search_filter(self._filters, "at", FilterInPeriod)


def register(appbuilder):
    appbuilder.add_view(
        PersonalDataLogView, "Personal data access log",
        label=_l("Personal data access log"), icon="fa-user-secret",
        category="Settings", category_label=_l("Settings"), category_icon="fa-cogs",
    )
