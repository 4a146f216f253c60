"""REST API (FAB ModelRestApi, OpenAPI at /api/v1/_openapi) for every
register, under the same permissions and row-level rules as the screens.

Signed-in browsers may call it with their session (the JSON-only body and
the SameSite session cookie keep other sites out); scripts sign in with
POST /api/v1/security/login and send the JWT."""
from decimal import Decimal, InvalidOperation

from flask import g, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext
from sqlalchemy import inspect, select

from app import db
from app.models import (
    Application,
    Client,
    ContactPerson,
    CounterpartyAction,
    Deal,
    FunnelStage,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Lead,
    Note,
    Project,
    Task,
    dictionary_models,
)
from app.services import (
    access,
    actions,
    assignment,
    deals,
    dictionaries,
    invoices,
    leads,
    validation,
)
from app.views.api_custom_fields import CustomFieldsApiMixin
from app.views.api_fields import guard_schema
from app.views.datamodel import ListInterface
from app.views.refusal import translated
from app.views.rowaccess import ROW_ACCESS, may_attach, restricted_user_id

# Fields checked and normalised as on the screens.
NORMALISED = {"phone": validation.phone, "phone2": validation.phone, "inn": validation.inn,
              "ogrn": validation.ogrn, "kpp": validation.kpp, "bik": validation.bik}
RELATED = {name: ROW_ACCESS for name in
           ("client", "deal", "application", "invoice", "based_on")}


class Refusal(Exception):
    """Raised by the pre_* hooks; FAB's own handler would make it a 500."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def _refuse(status, message):
    raise Refusal(status, message)


class GuardedApi(ModelRestApi):
    """Lets the pre_* hooks refuse with a status and a message: FAB's own
    handler would turn any exception raised there into a 500."""

    allow_browser_login = True

    def _answer(self, handler, *args):
        try:
            return handler(*args)
        except Refusal as refusal:
            return self.response(refusal.status, message=refusal.message)

    def post_headless(self):
        return self._answer(super().post_headless)

    def put_headless(self, pk):
        return self._answer(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._answer(super().delete_headless, pk)


class RegisterApi(CustomFieldsApiMixin, GuardedApi):
    base_filters = ROW_ACCESS
    add_query_rel_fields = RELATED
    edit_query_rel_fields = RELATED
    page_size = 50

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # FAB makes every NOT NULL enum required, even with a default.
        columns = self.datamodel.obj.__table__.columns
        for name, field in self.add_model_schema.fields.items():
            if name in columns and columns[name].default is not None:
                field.required = False
        # Bodies checked by the rules of the forms (lengths, numbers, e-mail,
        # related records that exist): 422 naming the field, never a 500.
        guard_schema(self.add_model_schema, self.datamodel.obj)
        guard_schema(self.edit_model_schema, self.datamodel.obj)

    def _check_values(self, item, new):
        """Phones, INN and the like normalised as on the screens, and the
        custom fields checked: every problem answered at once (422)."""
        errors = self.custom_errors(new)
        for field, check in NORMALISED.items():
            value = getattr(item, field, None)
            if value:
                try:
                    setattr(item, field, check(value))
                except validation.ValidationError as exc:
                    errors[field] = [str(exc)]
        if errors:
            db.session.rollback()
            _refuse(422, errors)

    def _check_client(self, item):
        if not may_attach(item):
            db.session.rollback()
            _refuse(403, gettext("You may not change records of this client"))

    def _check_writable(self, item):
        user_id = restricted_user_id()
        if user_id is not None and not access.can_write(
                db.session, self.datamodel.obj, item.id, user_id):
            db.session.rollback()
            _refuse(403, gettext("This record is read-only for you"))

    def put_headless(self, pk):
        if self.datamodel.obj is Deal and str(pk).isdigit():
            # Read before the body is copied onto the deal (it may flush).
            g.deal_before = deals.snapshot(db.session, int(pk))
        return super().put_headless(pk)

    def _rules(self, item):
        """The services' rules of a deal or an action, as on the screens."""
        try:
            if isinstance(item, Deal):
                deals.prepare(db.session, item, g.pop("deal_before", None))
            elif isinstance(item, CounterpartyAction):
                actions.prepare(db.session, item)
        except deals.DealError as exc:
            db.session.rollback()
            _refuse(422, {exc.field or "_schema": [str(exc)]})
        except actions.ActionError as exc:
            db.session.rollback()
            _refuse(422, {"action_result": [str(exc)]})

    def pre_add(self, item):
        self._check_values(item, new=True)
        if isinstance(item, Client):
            assignment.default_responsible(db.session, item, g.user.id)
        access.claim(db.session, item, g.user.id)
        self._check_client(item)
        self._rules(item)
        self._invoice_rules(item, new=True)
        self.custom_stage(item)

    def pre_update(self, item):
        self._check_values(item, new=False)
        self._check_writable(item)
        self._check_client(item)
        self._rules(item)
        self._invoice_rules(item, new=False)
        self.custom_stage(item)

    def pre_delete(self, item):
        self._check_writable(item)
        if isinstance(item, Deal):
            deals.forget(db.session, item)
        model = self.datamodel.obj
        if model is Client:
            self._invoice_rule(invoices.check_client_deletable, db.session, item.id)
        elif model is Invoice:
            self._invoice_rule(invoices.ensure_deletable, db.session, item)
        elif model is InvoiceLine:
            self._invoice_rule(invoices.ensure_editable, db.session, item.invoice)

    # Invoices follow the rules of their screens (services/invoices.py).

    def _invoice_rule(self, rule, *args, **kwargs):
        try:
            with db.session.no_autoflush:
                rule(*args, **kwargs)
        except invoices.InvoiceError as exc:
            db.session.rollback()
            _refuse(422, translated(exc))

    def _invoice_rules(self, item, new):
        model = self.datamodel.obj
        if model is Invoice:
            if new:
                self._invoice_rule(invoices.prepare, db.session, item, new=True)
                return
            # The checks above may have flushed the request's changes, so
            # the stored state is read outside this transaction.
            stored, changed = _committed_changes(item)
            if stored.status is not InvoiceStatus.DRAFT and changed - {"status"}:
                db.session.rollback()
                _refuse(422, gettext("Only a draft invoice can be changed; "
                                     "return it to draft first"))
            if "status" in changed:
                self._invoice_rule(invoices.set_status, db.session, item, item.status)
            if stored.status is InvoiceStatus.DRAFT:
                self._invoice_rule(invoices.prepare, db.session, item, new=False, check=False)
        elif model is InvoiceLine:
            if item.invoice is not None:
                self._check_writable_invoice(item.invoice)
            self._invoice_rule(invoices.prepare_line, db.session, item)

    def _check_writable_invoice(self, invoice):
        user_id = restricted_user_id()
        with db.session.no_autoflush:
            if user_id is not None and not access.can_write(db.session, Invoice, invoice.id,
                                                            user_id):
                db.session.rollback()
                _refuse(403, gettext("This record is read-only for you"))

    def post_add(self, item):
        if self.datamodel.obj is InvoiceLine:
            _recalculate(item.invoice_id)

    post_update = post_delete = post_add


def _committed_changes(item):
    """(stored row, names of changed columns) of an invoice, the stored row
    read on a connection of its own: what was committed before this request."""
    table = Invoice.__table__
    with db.engine.connect() as conn:
        stored = conn.execute(select(table).where(table.c.id == item.id)).one()
    mapper = inspect(Invoice)
    changed = {prop.key for prop in mapper.column_attrs
               if prop.key not in ("created_at", "updated_at")
               and getattr(item, prop.key) != getattr(stored, prop.columns[0].name)}
    return stored, changed


def _recalculate(invoice_id):
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is not None:
        invoices.recalculate(db.session, invoice)
        db.session.commit()


# Computed by the server, never taken from a request.
READ_ONLY_COLUMNS = {Invoice: ["number", "subtotal", "tax_amount", "total"],
                     InvoiceLine: ["amount", "tax_amount"]}


def _api(model, resource):
    attrs = {"resource_name": resource, "datamodel": ListInterface(model)}
    if model in READ_ONLY_COLUMNS:
        attrs["add_exclude_columns"] = attrs["edit_exclude_columns"] = READ_ONLY_COLUMNS[model]
    return type(f"{model.__name__}Api", (RegisterApi,), attrs)


class LeadApi(RegisterApi):
    resource_name = "lead"
    datamodel = ListInterface(Lead)
    @expose("/<int:pk>/convert", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def convert(self, pk):
        """Convert a lead to a deal (seed 002), as the lead's screen does.
        Body (all optional): client (id; a new one from the lead if absent),
        title, amount, stage (id). Answers 201 {"deal": id, "client": id}."""
        lead = db.session.get(Lead, pk)
        user_id = restricted_user_id()
        if lead is None or (user_id is not None and not access.can_write(
                db.session, Lead, pk, user_id)):
            return self.response_404()
        body = request.get_json(silent=True) or {}
        try:
            client = None
            if body.get("client") is not None:
                client = db.session.get(Client, int(body["client"]))
                if client is None or (user_id is not None and not access.can_write_client(
                        db.session, client.id, user_id)):
                    return self.response(422, message={"client": [gettext(
                        "Choose a client from the list")]})
            stage = db.session.get(FunnelStage, int(body["stage"])) if body.get("stage") \
                else None
            amount = Decimal(str(body["amount"])) if body.get("amount") is not None else None
            deal = leads.convert(db.session, lead, client=client, title=body.get("title"),
                                 amount=amount, stage=stage, responsible=g.user)
        except (ValueError, InvalidOperation, leads.LeadError, deals.DealError) as exc:
            db.session.rollback()
            return self.response(422, message=str(exc))
        db.session.commit()
        return self.response(201, deal=deal.id, client=deal.client_id)


APIS = [LeadApi] + [_api(model, resource) for model, resource in (
    (Client, "client"), (ContactPerson, "contact"), (Application, "application"),
    (Deal, "deal"), (Task, "task"), (Note, "note"), (Project, "project"),
    (CounterpartyAction, "counterparty_action"), (Invoice, "invoice"),
    (InvoiceLine, "invoice_line"),
)]


class DictionaryApi(GuardedApi):
    """A dictionary over the API, with the rules of its screen."""

    page_size = 100

    def _init_model_schemas(self):
        super()._init_model_schemas()
        guard_schema(self.add_model_schema, self.datamodel.obj)
        guard_schema(self.edit_model_schema, self.datamodel.obj)

    def _check(self, check, *args):
        try:
            check(*args)
        except dictionaries.DictionaryError as exc:
            db.session.rollback()
            raise Refusal(422, str(exc)) from None

    def pre_add(self, item):
        if hasattr(item, "parent"):
            self._check(dictionaries.check_parent, item)
        if hasattr(item, "is_base"):
            self._check(dictionaries.check_single_base, db.session, item.is_base, item.id)

    pre_update = pre_add

    def pre_delete(self, item):
        self._check(dictionaries.check_can_delete, db.session, item)


DICTIONARY_APIS = [
    type(f"{model.__name__}Api", (DictionaryApi,), {
        "resource_name": model.__tablename__, "datamodel": SQLAInterface(model)})
    for model in dictionary_models()
]


def register(appbuilder):
    for api in APIS + DICTIONARY_APIS:
        appbuilder.add_api(api)
