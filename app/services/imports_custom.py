"""Custom fields in CSV imports.

``extend`` adds an entity's active custom fields to its import fields, so
they are auto-mapped by their Russian or English label (or code), offered on
the mapping screen and written in the template file. Their cells are checked
by ``custom_fields.parse`` (one parser and one set of messages for forms,
CSV and the API); a bad cell is a row error under the field's label.

Values are written per batch of the ``Importer``, never per row: the new
records are inserted with their ids returned, then all their values in one
INSERT; updated records get theirs replaced with one DELETE per field and
one INSERT. As for built-in columns, created rows get no history entry and
updated ones get a row per changed field. Without custom fields (or with
none mapped and no defaults) the importer runs exactly as before."""
import dataclasses

from app.models import CustomFieldType
from app.services import custom_fields, history, import_undo
from app.services.imports import Bad, Field, _same_keys

KIND = "custom"
# Kinds of few distinct values: each text is parsed once per import.
REMEMBERED = {CustomFieldType.BOOLEAN, CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE,
              CustomFieldType.DICTIONARY}


class Label:
    """A custom field's label, in the interface language when shown (the
    mapping screen, the report of a run)."""

    def __init__(self, definition):
        self.definition = definition

    def __str__(self):
        return custom_fields.label_of(self.definition)


def extend(session, entity):
    """``entity`` with its active custom fields after the built-in ones; the
    AlmaCRM format (and None) stay as they are."""
    if entity is None or entity.alma:
        return entity
    name = custom_fields.ENTITY_OF.get(entity.model)
    definitions = custom_fields.fields_of(session, name) if name else []
    if not definitions:
        return entity
    columns = Columns(session, name, definitions)
    return dataclasses.replace(entity, fields=entity.fields + columns.fields, custom=columns)


class Columns:
    """The import fields of an entity's custom fields."""

    def __init__(self, session, entity, definitions):
        self.session = session
        self.entity = entity
        # What a new record gets when the file gives no value (as the add
        # form is filled in): a required field with a default needs no column.
        self.defaults = {}
        for definition in definitions:
            default = custom_fields.default_of(session, definition)
            if default is not None:
                self.defaults[definition] = default
        self.definitions = {custom_fields.PREFIX + d.code: d for d in definitions}
        self.fields = [self._field(name, d) for name, d in self.definitions.items()]

    def _field(self, name, definition):
        aliases = tuple(t for t in (definition.label_ru, definition.label_en, definition.code)
                        if t)
        return Field(name, Label(definition), KIND, name,
                     required=definition.required and definition not in self.defaults,
                     check=self._parser(definition), aliases=aliases)

    def _parser(self, definition):
        kind = CustomFieldType(definition.type)
        remembered, names = {}, []

        def parse(text):
            found = remembered.get(text)
            if found is not None:
                return found
            if kind == CustomFieldType.DICTIONARY and not names:
                names.append(custom_fields.dictionary_rows(self.session, definition))
            try:
                value = custom_fields.parse(self.session, definition, text,
                                            names[0] if names else None)
            except custom_fields.CustomValueError as error:
                raise Bad(error.message) from None
            if kind in REMEMBERED and len(remembered) < 1000:
                remembered[text] = value
            return value

        return parse

    def start(self, session, mapped):
        """The writer of one run, or None when it has nothing to write."""
        given = {name: d for name, d in self.definitions.items() if name in mapped}
        if not given and not self.defaults:
            return None
        return Writer(session, self.entity, given, self.defaults)


class Writer:
    def __init__(self, session, entity, given, defaults):
        self.session = session
        self.entity = entity
        self.given = given
        self.defaults = defaults

    def _values(self, row, new):
        values = {d: row.values[name] for name, d in self.given.items()
                  if row.values.get(name) is not None}
        if new:
            for definition, default in self.defaults.items():
                values.setdefault(definition, default)
        return values

    def insert(self, importer, rows, records):
        """Insert the new records (``records``, the column values of
        ``rows``) and their custom values."""
        row_of = {id(record): row for row, record in zip(rows, records)}
        table = importer.entity.model.__table__
        wanted = {}
        for group in _same_keys(records):
            ids = importer._insert_with_ids(table, group)
            for record, record_id in zip(group, ids):
                values = self._values(row_of[id(record)], new=True)
                if values:
                    wanted[record_id] = values
        custom_fields.write(self.session, self.entity, wanted, new=True)

    def update(self, rows, objects, ledger=None):
        """Replace the values the file gives (an empty cell keeps the stored
        value, as for built-in columns); history rows for the changes, and
        ledger ones for an undo."""
        wanted = {}
        for row in rows:
            values = self._values(row, new=False)
            if values:
                wanted.setdefault(row.existing_id, {}).update(values)
        client_ids = {record_id: history.client_id_of(objects[record_id])
                      for record_id in wanted}
        changes = custom_fields.write(self.session, self.entity, wanted, client_ids)
        if ledger is not None:
            for record_id, definition, before, value in changes:
                ledger.changed(import_undo.CUSTOM + self.entity, record_id, definition.code,
                               before, value)
