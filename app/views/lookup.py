"""Search-as-you-type link fields (services/lookups.py): a form never loads
a whole register into a drop-down. Each register answers ``/<route>/lookup``
with what its list's quick search finds (its list permission, its row rule);
a link to a client's records (a task's deal) offers the chosen client's."""
from flask import jsonify, request, url_for
from flask_appbuilder import expose, has_access, permission_name
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.validators import DataRequired, Optional, StopValidation

from app import db
from app.models import Application, Client, ContactPerson, CounterpartyAction, Deal, Invoice, Lead
from app.services import lookups
from app.services.search import number_of
from app.views.rowaccess import restricted_user_id

# Outside the f-string: Babel's extractor does not look inside f-strings.
PLACEHOLDER = _l("Start typing a name or a phone")
PLACEHOLDER_RECORD = _l("Type a number, a name or the client, or pick from the list")
CHOOSE_CLIENT = _l("Choose a client from the list")
CHOOSE_RECORD = _l("Choose a value from the list")


class LookupWidget:
    def __call__(self, field, **kwargs):
        option = ""
        if field.data is not None:
            option = (f'<option value="{field.data.id}" selected>'
                      f'{escape(lookups.label(field.data))}</option>')
        client_of = f' data-client-field="{escape(field.client_field)}"' \
            if field.client_field else ""
        # A client is looked for by what is typed; a client's records are
        # few enough to offer on opening.
        placeholder, least = (PLACEHOLDER, 1) if field.model is Client \
            else (PLACEHOLDER_RECORD, 0)
        return Markup(
            f'<select class="form-control lookup" id="{escape(field.id)}" '
            f'name="{escape(field.name)}" data-url="{escape(field.url)}"{client_of} '
            f'data-min-length="{least}" data-placeholder="{escape(str(placeholder))}">'
            f'<option value=""></option>{option}</select>'
        )


class LookupField(Field):
    """A link to a record of ``model`` found through ``endpoint`` (a view's
    ``lookup``); ``client_field`` names the form's client field that
    narrows the choice."""

    widget = LookupWidget()

    def __init__(self, label=None, validators=None, model=Client,
                 endpoint="ClientView.lookup", client_field=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model, self.endpoint, self.client_field = model, endpoint, client_field
        self._raw = None

    @property
    def url(self):
        return url_for(self.endpoint)

    def process_formdata(self, valuelist):
        self._raw = valuelist[0] if valuelist and valuelist[0] else None
        number = number_of(self._raw) if self._raw and self._raw.isascii() else None
        self.data = None if number is None else lookups.get(
            db.session, self.model, number, restricted_user_id())

    def pre_validate(self, form):
        if self._raw and self.data is None:
            raise StopValidation(CHOOSE_CLIENT if self.model is Client else CHOOSE_RECORD)


# The view that finds the records of each register a form links to.
ENDPOINTS = {Client: "ClientView.lookup", Deal: "DealView.lookup", Lead: "LeadView.lookup",
             ContactPerson: "ContactPersonView.lookup", Invoice: "InvoiceView.lookup",
             CounterpartyAction: "CounterpartyActionView.lookup",
             Application: "ApplicationView.lookup"}


def link_fields(model, columns, labels):
    """A LookupField for each link of ``columns`` to a register, required
    when the link is; a link to a client's records follows the form's client."""
    fields = {}
    for rel in model.__mapper__.relationships:
        target = rel.mapper.class_
        if rel.key not in columns or target not in ENDPOINTS or rel.uselist:
            continue
        required = not all(column.nullable for column in rel.local_columns)
        follows = "client" if "client" in columns and target is not Client \
            and hasattr(target, "client_id") else None
        fields[rel.key] = LookupField(labels.get(rel.key, rel.key),
                                      [DataRequired()] if required else [Optional()],
                                      model=target, endpoint=ENDPOINTS[target],
                                      client_field=follows)
    return fields


class LookupMixin:
    """``/<route>/lookup?q=…&client=<id>``: JSON for a LookupField, under
    the list's permission."""

    @expose("/lookup")
    @has_access
    @permission_name("list")
    def lookup(self):
        client_id = number_of(request.args.get("client"))
        found = lookups.find(db.session, self.datamodel.obj, request.args.get("q"),
                             restricted_user_id(), client_id)
        return jsonify(results=[{"id": r.id, "text": lookups.label(r)} for r in found])
