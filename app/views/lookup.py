"""A search-as-you-type field for a client: forms never load the whole
client table into a drop-down, which at a million rows would not open."""
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import Field
from wtforms.validators import StopValidation

from app import db
from app.models import Client
from app.services import access, clients
from app.views.rowaccess import restricted_user_id

# Outside the f-string: Babel's extractor does not look inside f-strings.
PLACEHOLDER = _l("Start typing a name or a phone")


class LookupWidget:
    def __call__(self, field, **kwargs):
        option = ""
        if field.data is not None:
            option = (f'<option value="{field.data.id}" selected>'
                      f'{escape(clients.label(field.data))}</option>')
        placeholder = escape(str(PLACEHOLDER))
        return Markup(
            f'<select class="form-control lookup" id="{escape(field.id)}" '
            f'name="{escape(field.name)}" data-url="{escape(field.url)}" '
            f'data-placeholder="{placeholder}">'
            f'<option value=""></option>{option}</select>'
        )


class ClientLookupField(Field):
    widget = LookupWidget()

    def __init__(self, label=None, validators=None, url="/clients/lookup", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.url = url
        self._raw = None

    def process_formdata(self, valuelist):
        self._raw = valuelist[0] if valuelist and valuelist[0] else None
        self.data = None
        # An id an INTEGER holds: a longer one overflows SQLite's driver.
        if self._raw and self._raw.isascii() and self._raw.isdigit() \
                and int(self._raw) < 2 ** 31:
            query = select(Client).where(Client.id == int(self._raw))
            user_id = restricted_user_id()
            if user_id is not None:
                query = query.where(access.clause(Client, user_id))
            self.data = db.session.scalar(query)

    def pre_validate(self, form):
        if self._raw and self.data is None:
            raise StopValidation(_l("Choose a client from the list"))
