"""The REST API's bodies checked by the rules of the forms.

FAB builds the add and edit schemas of a ModelRestApi from the model with
marshmallow-sqlalchemy. ``guard_schema`` makes each field of a column run
``validation.column_checks`` on the value as sent (so "٣٠٠", "1e10" and
"Infinity" are refused before marshmallow's Decimal() would take them),
and each related record be one that exists: marshmallow-sqlalchemy's
``Related`` makes a new, empty object of an unknown id, which the flush
then tries to INSERT (a 500)."""
from flask_babel import gettext
from marshmallow import ValidationError
from marshmallow_sqlalchemy.fields import Related, RelatedList
from sqlalchemy import String, inspect

from app.services import validation


def _checked(field, checks, text):
    original = field._deserialize

    def deserialize(value, attr=None, data=None, **kwargs):
        if not (text and value == ""):  # "" as in forms: an empty text
            try:
                for check in checks:
                    value = check(value)
            except validation.ValidationError as exc:
                raise ValidationError(str(exc)) from None
        return original(value, attr, data, **kwargs)

    field._deserialize = deserialize


def _known(field):
    original = field._deserialize

    def deserialize(value, attr=None, data=None, **kwargs):
        keys = field.related_keys
        if len(keys) == 1:
            key = value.get(keys[0].key) if isinstance(value, dict) else value
            try:
                for check in validation.column_checks(keys[0].columns[0]):
                    key = check(key)
            except validation.ValidationError as exc:
                raise ValidationError(str(exc)) from None
            value = key
        result = original(value, attr, data, **kwargs)
        if not inspect(result).has_identity:  # made up, not found
            raise ValidationError(gettext("There is no record with ID %(id)s", id=value))
        return result

    field._deserialize = deserialize


def guard_schema(schema, model):
    """Checks on every loaded field of ``schema`` (FAB's add or edit schema
    of ``model``): the column's rules, or an existing related record."""
    if schema is None:
        return schema
    columns = model.__mapper__.columns
    for name, field in schema.load_fields.items():
        if isinstance(field, RelatedList) and isinstance(field.inner, Related):
            _known(field.inner)
        elif isinstance(field, Related):
            _known(field)
        elif (field.attribute or name) in columns:
            column = columns[field.attribute or name]
            checks = validation.column_checks(column, name)
            if checks:
                _checked(field, checks, text=isinstance(column.type, String))
    return schema
