"""Custom fields in CSV imports.

``extend`` adds an entity's active custom fields to its import fields, so
they are auto-mapped by their Russian or English label (or code), offered on
the mapping screen and written in the template file. Their cells are checked
by ``custom_fields.parse`` (one parser and one set of messages for forms,
CSV and the API); a bad cell is a row error under the field's label. A text
of a choice, multi-choice or dictionary field that names none of its values
is counted for the mapping screen, where the user maps it to one of them
(``choosing``); new choices and dictionary values are not made by an import.

Values are written per batch of the ``Importer``, never per row: the new
records are inserted with their ids returned, then all their values in one
INSERT; updated records get theirs replaced with one DELETE per field and
one INSERT. As for built-in columns, created rows get no history entry and
updated ones get a row per changed field. Without custom fields (or with
none mapped and no defaults) the importer runs exactly as before."""
import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import CustomFieldType
from app.services import custom_fields, history, import_undo
from app.services.imports import Bad, Field, Unknown, _same_keys, normalise

KIND = "custom"
# Kinds of few distinct values: each text is parsed once per import.
REMEMBERED = {CustomFieldType.BOOLEAN, CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE,
              CustomFieldType.DICTIONARY}
# Kinds whose unknown texts get a meaning on the mapping screen.
CHOSEN = {CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE, CustomFieldType.DICTIONARY}


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

    def chooses(self, name):
        """True if unknown texts of the field ``name`` get a meaning chosen
        on the mapping screen."""
        definition = self.definitions.get(name)
        return definition is not None and CustomFieldType(definition.type) in CHOSEN

    def options(self, name, limit):
        """(value, label) of what an unknown text of the field ``name`` may
        mean: one of its choices, or an active value of its dictionary (by
        id), at most ``limit``."""
        definition = self.definitions[name]
        if CustomFieldType(definition.type) != CustomFieldType.DICTIONARY:
            return [(choice, choice) for choice in custom_fields.choices_of(definition)][:limit]
        model = custom_fields.dictionary_of(definition)
        if model is None:
            return []
        return [(str(row_id), label) for row_id, label in self.session.execute(
            select(model.id, model.name).where(model.is_active.is_(True))
            .order_by(model.sort_order, model.name).limit(limit))]

    def _meanings(self, definition, chosen):
        """{normalise(text): value} of the meanings chosen for unknown texts
        ({text: choice | dictionary id}), those that are values still."""
        if CustomFieldType(definition.type) != CustomFieldType.DICTIONARY:
            choices = set(custom_fields.choices_of(definition))
            return {normalise(text): str(v) for text, v in chosen.items() if str(v) in choices}
        model = custom_fields.dictionary_of(definition)
        ids = {normalise(text): int(v) for text, v in chosen.items()
               if isinstance(v, int) or str(v).isdigit()}
        if model is None or not ids:
            return {}
        real = set(self.session.scalars(select(model.id).where(model.id.in_(set(ids.values())))))
        return {key: v for key, v in ids.items() if v in real}

    def choosing(self, spec, chosen, note):
        """``spec`` of a choice, multi-choice or dictionary field whose
        cells also take the meanings chosen for unknown texts (``chosen``),
        and whose texts naming no value are told to ``note(name, text)``
        (an item of a multi-choice cell on its own) and make a row error
        pointing to the mapping screen. Known texts are parsed as before:
        the meanings are looked at on the error path only. Fields of other
        kinds are returned as they are."""
        if not self.chooses(spec.name):
            return spec
        definition = self.definitions[spec.name]
        many = CustomFieldType(definition.type) == CustomFieldType.MULTI_CHOICE
        order = custom_fields.choices_of(definition)
        meanings = self._meanings(definition, chosen)
        known, name, mapped = spec.check, spec.name, {}

        def unknown(texts):
            for text in texts:
                note(name, text)
            return Unknown(_l("Unknown value «%(value)s»: choose what it means on the column "
                              "mapping screen", value=texts[0][:50]))

        def parse(text):
            try:
                return known(text)
            except Bad:
                found = mapped.get(text)
            if found is not None:
                return found
            if many:
                values, missing = [], []
                for item in (i.strip() for i in text.split(";")):
                    if not item:
                        continue
                    try:
                        values += known(item)
                    except Bad:
                        meaning = meanings.get(normalise(item))
                        if meaning is None:
                            missing.append(item)
                        else:
                            values.append(meaning)
                if missing:
                    raise unknown(missing)
                found = sorted(set(values), key=order.index)
            else:
                found = meanings.get(normalise(text))
                if found is None:
                    raise unknown([text])
            if len(mapped) < 1000:
                mapped[text] = found
            return found

        return dataclasses.replace(spec, check=parse)

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
