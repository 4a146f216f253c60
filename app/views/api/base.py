"""What every resource of the REST API shares: refusals answered with a
status and a message (a service's ``Refused`` among them), bodies checked
as the forms check them, and a register's API built from its screen
(``register_api``) that writes and deletes through services/records.py."""

import logging

from flask import request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.mixins import FileColumn
from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, inspect
from sqlalchemy.exc import DataError, IntegrityError

from app import db
from app.labels import FIELDS
from app.models import Client, Employee, Invoice, InvoiceLine
from app.services import records, validation
from app.services.errors import Refused
from app.views.api.custom_fields import CustomFieldsApiMixin
from app.views.api.fields import guard_schema
from app.views.datamodel import ListInterface
from app.views.errors import NOT_SAVED
from app.views.rowaccess import (
    LINK_CHOICES,
    MAX_ID,
    NEW_LINK_CHOICES,
    ROW_ACCESS,
    after_write,
    delete,
    may_change,
    remember_stored,
    write,
)

# Fields checked and normalised as on the screens.
NORMALISED = {"phone": validation.phone, "phone2": validation.phone, "inn": validation.inn,
              "ogrn": validation.ogrn, "kpp": validation.kpp, "bik": validation.bik}
log = logging.getLogger(__name__)

# Written by the server, never taken from a request body (ignored there).
SERVER_SET = ("id", "author", "created_at", "updated_at", "closed_at")
# Computed by the server as well, per model.
READ_ONLY_COLUMNS = {Invoice: ("number", "subtotal", "tax_amount", "total"),
                     InvoiceLine: ("amount", "tax_amount")}
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
    handler would turn any exception raised there into a 500. A service's
    ``Refused`` is rolled back and answered 422 with its message (403 for
    ``records.Forbidden``). A saved record is answered as a read shows it,
    with what the server computed."""

    allow_browser_login = True

    def _answer(self, handler, *args):
        try:
            return handler(*args)
        except Refusal as refusal:
            return self.response(refusal.status, message=refusal.message)
        except Refused as refused:
            db.session.rollback()
            status = 403 if isinstance(refused, records.Forbidden) else 422
            return self.response(status, message=str(refused))
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
        # Nor does it let a nullable enum be empty (a consent's form), which
        # an edit of any other field sends back as stored.
        for schema in (self.add_model_schema, self.edit_model_schema):
            for name, field in schema.fields.items():
                if name in columns and columns[name].nullable and \
                        isinstance(columns[name].type, Enum):
                    field.allow_none = True
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

    @staticmethod
    def _refuse_if(refused):
        """Answer a refusal of services/records.py (rowaccess.write, .delete)
        naming its field (``_schema``: the record as a whole)."""
        if refused:
            status, errors = refused
            _refuse(status, {field or "_schema": [str(message)]
                             for field, message in errors.items()})

    def _check_writable(self, item):
        with db.session.no_autoflush:  # the stored row, not the request's
            writable = may_change(self.datamodel.obj, item.id)
        if not writable:
            db.session.rollback()
            _refuse(403, str(records.READ_ONLY))

    def put_headless(self, pk):
        # Read before the body is copied onto the record (it may flush).
        if str(pk).isdigit() and int(pk) <= MAX_ID:
            remember_stored(self.datamodel.obj, pk)
        return super().put_headless(pk)

    def pre_add(self, item):
        self._check_values(item, new=True)
        self._refuse_if(write(item, new=True))
        self.custom_stage(item)

    def pre_update(self, item):
        self._check_writable(item)
        self._check_values(item, new=False)
        self._refuse_if(write(item, new=False))
        self.custom_stage(item)

    def pre_delete(self, item):
        self._refuse_if(delete(item))

    def post_add(self, item):
        after_write(item)

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


def register_api(view, resource, base=None):
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
