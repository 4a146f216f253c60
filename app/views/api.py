"""REST API (FAB ModelRestApi, OpenAPI at /api/v1/_openapi) for every
register, under the same permissions and row-level rules as the screens.

Signed-in browsers may call it with their session (the JSON-only body and
the SameSite session cookie keep other sites out); scripts sign in with
POST /api/v1/security/login and send the JWT."""

import logging

from flask import g, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.models.mixins import FileColumn
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import ONETOMANY

from app import db
from app.models import (
    Client,
    Deal,
    Employee,
    FunnelStage,
    Invoice,
    InvoiceLine,
    Lead,
    dictionary_models,
)
from app.services import (
    deals,
    dictionaries,
    invoices,
    leads,
    validation,
)
from app.views.actions import CounterpartyActionView
from app.views.api_custom_fields import CustomFieldsApiMixin
from app.views.api_fields import guard_schema
from app.views.applications import ApplicationView
from app.views.clients import ClientView, ContactPersonView, NoteView, ProjectView
from app.views.datamodel import ListInterface
from app.views.deals import DealView
from app.views.errors import NOT_SAVED
from app.views.invoices import InvoiceLineView, InvoiceView
from app.views.labels import FIELDS
from app.views.leads import LeadView
from app.views.refusal import translated
from app.views.rowaccess import (
    LINK_CHOICES,
    MAX_ID,
    NEW_LINK_CHOICES,
    ROW_ACCESS,
    may_change,
    remember_stored,
    write,
)
from app.views.tasks import TaskView

# Fields checked and normalised as on the screens.
NORMALISED = {"phone": validation.phone, "phone2": validation.phone, "inn": validation.inn,
              "ogrn": validation.ogrn, "kpp": validation.kpp, "bik": validation.bik}
log = logging.getLogger(__name__)

# Written by the server, never taken from a request body (ignored there).
SERVER_SET = ("id", "author", "created_at", "updated_at", "closed_at")
# Computed by the server as well, per model.
READ_ONLY_COLUMNS = {Invoice: ("number", "subtotal", "tax_amount", "total"),
                     InvoiceLine: ("amount", "tax_amount")}
AMOUNT = (Deal.amount.type.precision, Deal.amount.type.scale)
# Left empty, the record's rules fill these in.
FILLED_BY_RULES = {Client: ("name",)}
# Set on a screen by an action of its own, in the API as a field.
API_ONLY_COLUMNS = {Invoice: ("status",)}


def _title_columns(model):
    """The columns that name a record of ``model`` in an answer: never an
    employee's password, e-mail or sign-in counters."""
    if issubclass(model, Employee):
        return ("first_name", "last_name", "middle_name")
    title = getattr(model, "__title__", None) or (
        "number" if model is Invoice else "name" if "name" in model.__table__.columns else None)
    return (title,) if title else ()


def answer_columns(model, names):
    """The columns of the API's answers for the attributes ``names`` of
    ``model``: a linked record (or several) as its id and name only."""
    mapper = inspect(model)
    columns = ["id"]
    for name in names:
        name = name.split(".")[0]
        if name in mapper.relationships:
            target = mapper.relationships[name].mapper.class_
            columns += [f"{name}.{column}" for column in ("id", *_title_columns(target))]
        elif name in mapper.column_attrs and not mapper.column_attrs[name].columns[0].foreign_keys:
            columns.append(name)
    return list(dict.fromkeys(columns))


class Refusal(Exception):
    """Raised by the pre_* hooks; FAB's own handler would make it a 500."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def _refuse(status, message):
    raise Refusal(status, message)


class GuardedApi(ModelRestApi):
    """Lets the pre_* hooks refuse with a status and a message: FAB's own
    handler would turn any exception raised there into a 500. A saved
    record is answered as a read shows it, with what the server computed."""

    allow_browser_login = True

    def _answer(self, handler, *args):
        try:
            return handler(*args)
        except Refusal as refusal:
            return self.response(refusal.status, message=refusal.message)
        except (IntegrityError, DataError):
            # FAB's @safe would answer an English 500: a value the database
            # refused is the request's fault, and its SQL is no one's business.
            log.exception("API write refused by the database")
            db.session.rollback()
            return self.response(422, message=str(NOT_SAVED))

    def _ignore_server_set(self):
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            for name in SERVER_SET + READ_ONLY_COLUMNS.get(self.datamodel.obj, ()):
                body.pop(name, None)

    def _as_shown(self, response, pk=None):
        if response.status_code not in (200, 201):
            return response
        payload = response.get_json()
        item = db.session.get(self.datamodel.obj, payload.get("id", pk))
        payload["result"] = self.show_model_schema.dump(item)
        return self.response(response.status_code, **payload)

    def post_headless(self):
        self._ignore_server_set()
        return self._as_shown(self._answer(super().post_headless))

    def put_headless(self, pk):
        self._ignore_server_set()
        return self._as_shown(self._answer(super().put_headless, pk), pk)

    def _get_field_info(self, field, filter_rel_field, page=None, page_size=None):
        """FAB looks up a missing description as gettext(""), the
        catalogue's header: a field without one has none."""
        info = super()._get_field_info(field, filter_rel_field, page=page,
                                       page_size=page_size)
        description = self.description_columns.get(field.name)
        if description:
            info["description"] = str(description)
        else:
            info.pop("description", None)
        return info

    def delete_headless(self, pk):
        return self._answer(super().delete_headless, pk)


class RegisterApi(CustomFieldsApiMixin, GuardedApi):
    """A register's API: the columns, labels and rules of its screen."""

    base_filters = ROW_ACCESS
    add_query_rel_fields = NEW_LINK_CHOICES
    edit_query_rel_fields = LINK_CHOICES
    page_size = 50

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # FAB makes every NOT NULL enum required, even with a default, and
        # a column the record's rules fill in (a client's name).
        model = self.datamodel.obj
        columns = model.__table__.columns
        for name, field in self.add_model_schema.fields.items():
            if name in columns and (columns[name].default is not None
                                    or name in FILLED_BY_RULES.get(model, ())):
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

    def _write(self, item, new):
        """The one write path (services/records.write): the record's rules and
        the access check; a refusal names its field (``_schema``: the record)."""
        refused = write(item, new)
        if refused:
            status, errors = refused
            _refuse(status, {field or "_schema": [str(message)]
                             for field, message in errors.items()})

    def _check_writable(self, item):
        with db.session.no_autoflush:  # the stored row, not the request's
            writable = may_change(self.datamodel.obj, item.id)
        if not writable:
            db.session.rollback()
            _refuse(403, gettext("This record is read-only for you"))

    def put_headless(self, pk):
        # Read before the body is copied onto the record (it may flush).
        if str(pk).isdigit() and int(pk) <= MAX_ID:
            remember_stored(self.datamodel.obj, pk)
        return super().put_headless(pk)

    def pre_add(self, item):
        self._check_values(item, new=True)
        self._write(item, new=True)
        self.custom_stage(item)

    def pre_update(self, item):
        self._check_writable(item)
        self._check_values(item, new=False)
        self._write(item, new=False)
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

    def _invoice_rule(self, rule, *args):
        try:
            with db.session.no_autoflush:
                rule(*args)
        except invoices.InvoiceError as exc:
            db.session.rollback()
            _refuse(422, translated(exc))

    def post_add(self, item):
        if self.datamodel.obj is InvoiceLine:
            invoices.recalculate_invoice(db.session, item.invoice_id)
            db.session.commit()

    post_update = post_delete = post_add


def _writable(model, names):
    """The attributes a request may set: neither what the server writes nor
    a file (uploaded on the screen)."""
    mapper, columns = inspect(model), model.__table__.columns
    server = SERVER_SET + READ_ONLY_COLUMNS.get(model, ())
    return [name for name in names if name in mapper.attrs and name not in server
            and not (name in columns and isinstance(columns[name].type, FileColumn))]


def _labels(labels, columns):
    """The screen's labels, and "Ответственный: Имя" for a linked record's
    column."""
    labels = dict(labels)
    for column in columns:
        if "." in column:
            record, field = column.split(".")
            labels[column] = _l("%(record)s: %(field)s", record=labels.get(record, record),
                                field=FIELDS.get(field, field))
    return labels


def _screen_columns(view, kind):
    """A screen's ``show``, ``add`` or ``edit`` columns, listed or in fieldsets."""
    return getattr(view, f"{kind}_columns") or [
        name for _, spec in getattr(view, f"{kind}_fieldsets") for name in spec["fields"]]


def _api(view, resource, base=None):
    """The API of a register, from its screen: the same columns (a file is
    uploaded on the screen), labels and descriptions."""
    model = view.datamodel.obj
    shown = answer_columns(model, _screen_columns(view, "show"))
    extra = list(API_ONLY_COLUMNS.get(model, ()))
    return type(f"{model.__name__}Api", (base or RegisterApi,), {
        "resource_name": resource, "datamodel": ListInterface(model),
        "list_columns": shown, "show_columns": shown,
        "add_columns": _writable(model, _screen_columns(view, "add") + extra),
        "edit_columns": _writable(model, _screen_columns(view, "edit") + extra),
        "label_columns": _labels(view.label_columns, shown),
        "description_columns": dict(view.description_columns or {}),
    })


class LeadApi(RegisterApi):
    @expose("/<int:pk>/convert", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def convert(self, pk):
        """Convert a lead to a deal (seed 002), as the lead's screen does.
        Body (all optional): client (id; a new one from the lead if absent),
        title, amount, stage (id). Answers 201 {"deal": id, "client": id}."""
        lead = db.session.get(Lead, pk) if pk <= MAX_ID else None
        if lead is None or not may_change(Lead, pk):
            return self.response_404()
        body = request.get_json(silent=True) or {}
        try:
            client = None
            if body.get("client") is not None:
                client = db.session.get(Client, validation.integer(body["client"], 1, MAX_ID))
                if client is None or not may_change(Client, client.id):
                    return self.response(422, message={"client": [gettext(
                        "Choose a client from the list")]})
            stage = db.session.get(FunnelStage, validation.integer(body["stage"], 1, MAX_ID)) \
                if body.get("stage") else None
            amount = validation.decimal(body["amount"], *AMOUNT) \
                if body.get("amount") is not None else None
            title = validation.text(body["title"], Deal.title.type.length) \
                if body.get("title") is not None else None
            deal = leads.convert(db.session, lead, client=client, title=title,
                                 amount=amount, stage=stage, responsible=g.user)
        except (ValueError, leads.LeadError, deals.DealError) as exc:
            db.session.rollback()
            return self.response(422, message=str(exc))
        db.session.commit()
        return self.response(201, deal=deal.id, client=deal.client_id)


APIS = [_api(LeadView, "lead", LeadApi)] + [_api(view, resource) for view, resource in (
    (ClientView, "client"), (ContactPersonView, "contact"), (ApplicationView, "application"),
    (DealView, "deal"), (TaskView, "task"), (NoteView, "note"), (ProjectView, "project"),
    (CounterpartyActionView, "counterparty_action"), (InvoiceView, "invoice"),
    (InvoiceLineView, "invoice_line"),
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


def _dictionary_api(model):
    mapper = inspect(model)
    names = [attr.key for attr in mapper.column_attrs] + [
        rel.key for rel in mapper.relationships if rel.direction is not ONETOMANY]
    shown = answer_columns(model, names)
    return type(f"{model.__name__}Api", (DictionaryApi,), {
        "resource_name": model.__tablename__, "datamodel": SQLAInterface(model),
        "list_columns": shown, "show_columns": shown})


DICTIONARY_APIS = [_dictionary_api(model) for model in dictionary_models()]


def register(appbuilder):
    for api in APIS + DICTIONARY_APIS:
        appbuilder.add_api(api)
