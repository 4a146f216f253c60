"""REST API (FAB ModelRestApi, OpenAPI at /api/v1/_openapi) for every
register, under the same permissions and row-level rules as the screens.

Signed-in browsers may call it with their session (the JSON-only body and
the SameSite session cookie keep other sites out); scripts sign in with
POST /api/v1/security/login and send the JWT.

``base`` holds what every resource shares and builds a register's resource
from its screen (its columns, labels, rules); ``fields`` and
``custom_fields`` check bodies; ``leads`` adds the conversion to a deal;
``dictionaries`` the reference books."""
from app.views.actions import CounterpartyActionView
from app.views.api import leads
from app.views.api.base import register_api
from app.views.api.dictionaries import DICTIONARY_APIS
from app.views.applications import ApplicationView
from app.views.clients import ClientView, ContactPersonView, NoteView, ProjectView
from app.views.deals import DealView
from app.views.invoices import InvoiceLineView, InvoiceView
from app.views.tasks import TaskView

APIS = [leads.Api] + [register_api(view, resource) for view, resource in (
    (ClientView, "client"), (ContactPersonView, "contact"), (ApplicationView, "application"),
    (DealView, "deal"), (TaskView, "task"), (NoteView, "note"), (ProjectView, "project"),
    (CounterpartyActionView, "counterparty_action"), (InvoiceView, "invoice"),
    (InvoiceLineView, "invoice_line"),
)]


def register(appbuilder):
    for api in APIS + DICTIONARY_APIS:
        appbuilder.add_api(api)
