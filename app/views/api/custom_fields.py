"""Custom fields in the REST API: a ``custom_fields`` object in every
record of an entity that has them, keyed by field code.

Read from the active definitions on each request (and so the OpenAPI spec,
which FAB builds per request), so a field the admin adds is in the next
answer without a restart. Values are checked by the same parser as forms and
CSV and staged with the record, so history records them as for a screen."""
from flask import g, request
from flask_appbuilder.const import API_SELECT_COLUMNS_RIS_KEY, API_SELECT_SEL_COLUMNS_RIS_KEY
from flask_babel import gettext

from app import db
from app.models import CustomFieldType
from app.services import custom_fields
from app.views.custom_fields import ADDITIONAL, CustomDefinitions, label_of

KEY = "custom_fields"

# JSON Schema of a value of each type (services/custom_fields.json_of).
TYPES = {
    CustomFieldType.TEXT: {"type": "string", "maxLength": custom_fields.TEXT_LIMIT},
    CustomFieldType.LONG_TEXT: {"type": "string", "maxLength": custom_fields.LONG_TEXT_LIMIT},
    CustomFieldType.CHOICE: {"type": "string"},
    CustomFieldType.MULTI_CHOICE: {"type": "array", "items": {"type": "string"}},
    CustomFieldType.INTEGER: {"type": "integer"},
    CustomFieldType.DECIMAL: {"type": "string", "format": "decimal", "example": "12.5"},
    CustomFieldType.MONEY: {"type": "string", "format": "decimal", "example": "150000.00"},
    CustomFieldType.BOOLEAN: {"type": "boolean"},
    CustomFieldType.DATE: {"type": "string", "format": "date"},
    CustomFieldType.DICTIONARY: {"type": "integer"},
}


def value_schema(definition):
    kind = CustomFieldType(definition.type)
    schema = {**TYPES[kind], "title": definition.label_ru}
    notes = [definition.help_text] if definition.help_text else []
    choices = custom_fields.choices_of(definition)
    if kind == CustomFieldType.MULTI_CHOICE:
        schema["items"] = {"type": "string", "enum": choices}
    else:
        schema["nullable"] = True  # an empty value is null (a list is empty)
    if kind == CustomFieldType.CHOICE:
        schema["enum"] = [*choices, None]
    model = custom_fields.dictionary_of(definition)
    if kind == CustomFieldType.DICTIONARY and model is not None:
        notes.append(f"Id of a row of /api/v1/{model.__tablename__}/")
    if notes:
        schema["description"] = ". ".join(notes)
    return schema


def object_schema(definitions, new):
    """The ``custom_fields`` object; on POST, the required fields that have
    no default must be given."""
    schema = {"type": "object", "additionalProperties": False,
              "description": "Custom fields, keyed by code (defined by the admin)",
              "properties": {d.code: value_schema(d) for d in definitions}}
    required = [d.code for d in definitions if d.required and new
                and custom_fields.default_of(db.session, d) is None]
    if required:
        schema["required"] = required
    return schema


class CustomFieldsApiMixin(CustomDefinitions):
    """Reads, writes and documents the active custom fields of a
    ModelRestApi's entity; does nothing for a model without them.

    Only public ModelRestApi methods are overridden. What one of them learns
    for a later one of the same request goes in ``flask.g``, as FAB calls
    them with its own arguments and the API object is shared by every
    request: whether the answer carries ``custom_fields`` (``custom_read``,
    ``custom_only``: from get_headless's ``columns`` to pre_get), the body's
    object (``custom_body``: taken out before FAB's schema reads the body)
    and its checked values (``custom_api_values``: from pre_add /
    pre_update's check to staging). None of them chooses which rows or
    columns a query reads: the row rule and the columns are FAB's, as for
    any record."""

    # --- Reading -------------------------------------------------------------

    def _read_custom(self, kwargs):
        """Answer with ``custom_fields`` by default, or when the ``columns``
        (``select_columns``) argument names it; FAB does not know the name, so
        it is taken out of the argument before FAB reads it."""
        args = kwargs.get("rison") or {}
        g.custom_read, g.custom_only = bool(self.custom_entity), False
        for key in (API_SELECT_COLUMNS_RIS_KEY, API_SELECT_SEL_COLUMNS_RIS_KEY):
            if args.get(key):
                g.custom_read = g.custom_read and KEY in args[key]
                args[key] = [column for column in args[key] if column != KEY]
                g.custom_only = g.custom_read and not args[key]

    def get_headless(self, pk, **kwargs):
        self._read_custom(kwargs)
        return super().get_headless(pk, **kwargs)

    def get_list_headless(self, **kwargs):
        self._read_custom(kwargs)
        return super().get_list_headless(**kwargs)

    def custom_json(self, ids):
        """{record id: {code: JSON value}} of every active field, one query."""
        definitions = self.custom_definitions()
        values = custom_fields.load(db.session, self.custom_entity, ids, definitions)
        return {record_id: {d.code: custom_fields.json_of(d, row.get(d.code))
                            for d in definitions}
                for record_id, row in values.items()}

    def _merge_custom(self, data, columns_key, rows, ids):
        if not g.get("custom_read"):
            return
        values = self.custom_json(ids)
        for row, record_id in zip(rows, ids):
            if g.custom_only:
                row.clear()
            row[KEY] = values[record_id]
        if columns_key in data:
            data[columns_key] = ([] if g.custom_only else list(data[columns_key])) + [KEY]
        if "label_columns" in data:
            data["label_columns"][KEY] = str(ADDITIONAL)
            data["label_columns"].update({f"{KEY}.{d.code}": label_of(d)
                                          for d in self.custom_definitions()})

    def pre_get(self, data):
        super().pre_get(data)
        self._merge_custom(data, "show_columns", [data["result"]], [data["id"]])

    def pre_get_list(self, data):
        super().pre_get_list(data)
        self._merge_custom(data, "list_columns", data["result"], data["ids"])

    # --- Writing -------------------------------------------------------------

    def _take_custom_body(self):
        """Takes ``custom_fields`` out of the body before FAB's schema, which
        refuses names it does not know, reads it."""
        body = request.get_json(silent=True)
        if self.custom_entity and isinstance(body, dict):
            g.custom_body = body.pop(KEY, None)

    def custom_errors(self, new):
        """Checks the body's custom fields (from pre_add / pre_update):
        {"custom_fields": {code: [message]}} of what can't be accepted."""
        if not self.custom_entity:
            return {}
        raw = g.pop("custom_body", None)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            return {KEY: [gettext("Expected an object keyed by field code")]}
        # FAB has put the body's record together; it is not to be flushed yet.
        with db.session.no_autoflush:
            values, errors = custom_fields.parse_values(db.session, self.custom_definitions(),
                                                        raw, new)
        g.custom_api_values = values
        return {KEY: {code: [str(message)] for code, message in errors.items()}} if errors \
            else {}

    def custom_stage(self, item):
        """The checked values are written when the record commits."""
        custom_fields.stage(db.session, item, g.pop("custom_api_values", {}))

    def _answer_with_custom(self, response, pk):
        """A saved record's answer carries its custom fields too."""
        if response.status_code not in (200, 201) or not self.custom_entity:
            return response
        payload = response.get_json()
        record_id = int(payload.get("id", pk))
        payload["result"][KEY] = self.custom_json([record_id])[record_id]
        return self.response(response.status_code, **payload)

    def post_headless(self):
        self._take_custom_body()
        return self._answer_with_custom(super().post_headless(), None)

    def put_headless(self, pk):
        self._take_custom_body()
        return self._answer_with_custom(super().put_headless(pk), pk)

    # --- OpenAPI -------------------------------------------------------------

    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        if not self.custom_entity:
            return
        definitions = self.custom_definitions()
        schemas = api_spec.components.schemas
        for name in (self.list_model_schema_name, self.show_model_schema_name,
                     self.edit_model_schema_name, self.add_model_schema_name):
            new = name == self.add_model_schema_name
            schemas[name]["properties"][KEY] = object_schema(definitions, new)
