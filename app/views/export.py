"""«Экспорт CSV» and «Импорт» on every list screen (registers and
dictionaries).

Export reuses the list's own filters joined with the base filters (so the
row-level rule of a Manager applies) and the list's sort, without paging,
and streams the rows from a server-side cursor (``yield_per``): a million
rows leave the process's memory where it was. The method has its own FAB
permission, ``can_export`` on the view."""
import copy
import datetime
import enum
import itertools
import operator
from decimal import Decimal

from flask import Response, g, request, stream_with_context, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args, get_order_args
from sqlalchemy import select
from sqlalchemy.orm import MANYTOONE, aliased, selectinload

from app.labels import ENUMS, FIELDS
from app.models import CustomFieldType, CustomValue, DictionaryMixin, Employee
from app.services import csv_io, custom_fields, history, imports, personal_data, values
from app.services.localtime import to_local
from app.views.fields import office_zone

YIELD_PER = 1000


class CsvMixin:
    """Mix into a ModelView. ``csv_enum_labels`` names enum values in the
    file; ``csv_duplicate_keys`` are the fields that mark a duplicate."""

    list_template = "sdelka/list.html"
    export_columns = None
    csv_enum_labels = ENUMS
    csv_duplicate_keys = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        key = self.csv_key()
        imports.ENTITIES[key] = imports.entity_for(
            key, self.datamodel.obj, self.add_columns or [], self._labels(),
            self.csv_enum_labels, self.csv_duplicate_keys)
        imports.ENTITY_VIEWS[key] = self.class_permission_name

    @classmethod
    def csv_key(cls):
        return cls.route_base.strip("/").replace("/", "-")

    def _labels(self):
        # FAB fills in "Id" for the key; the file says "ID" as the lists do.
        return {**FIELDS, **(self.label_columns or {}), "id": FIELDS["id"]}

    # -- export ---------------------------------------------------------------

    def csv_columns(self):
        """The record's fields as its page shows them, ID first; collections
        (tags, participants) are left out. A record of a client also gets
        the client's ID, so the file imports back unambiguously."""
        if self.export_columns:
            return list(self.export_columns)
        mapper = self.datamodel.obj.__mapper__
        columns = ["id"]
        for name in self.show_columns or self.list_columns:
            relation = mapper.relationships.get(name)
            if relation is not None and relation.uselist:
                continue
            if name == "client" and "client.id" not in columns:
                columns.append("client.id")
            if name not in columns:
                columns.append(name)
        return columns

    @expose("/export/")
    @has_access
    def export(self):
        encoding = "cp1251" if request.args.get("encoding") == "cp1251" else "utf-8"
        # A copy of the list's filters (Filters.copy() would drop the search
        # columns, and with them every filter of the request).
        filters = copy.copy(self._filters)
        get_filter_args(filters)
        order_column, direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if not order_column and self.base_order:
            order_column, direction = self.base_order
        joined = filters.get_joined_filters(self._base_filters)
        columns = self.csv_columns()
        datamodel = self.datamodel
        # SQLAInterface's own apply_all: the eager loads a list adds are the
        # page's (views/datamodel.py); the export chooses its own.
        query = SQLAInterface.apply_all(datamodel, datamodel.session.query(datamodel.obj),
                                        joined, order_column, direction)
        if order_column != "id":  # rows that tie come in the same order every time
            key = datamodel.obj.id
            query = query.order_by(key.desc() if direction == "desc" else key)
        custom = self._custom_fields()
        rows_query = self._as_rows(query, columns) if "id" in columns or not custom else None
        as_rows = rows_query is not None
        query = (rows_query if as_rows else query.options(*self._eager(columns))).yield_per(
            YIELD_PER)
        labels = self._labels()
        header = [labels.get(c, c) for c in columns] + [custom_fields.label_of(d)
                                                       for d in custom]
        tz = office_zone()
        scales = self._scales(columns)
        rows = self._rows(query, columns, tz, scales, custom, as_rows)
        if self.datamodel.obj in personal_data.ENTITIES:
            rows = _logged(rows, self.datamodel.obj, history.acting_user_id.get())
        filename = f"{self.csv_key()}-{datetime.date.today():%Y-%m-%d}.csv"
        charset = "windows-1251" if encoding == "cp1251" else "utf-8"
        response = Response(stream_with_context(csv_io.stream_csv(header, rows, encoding)),
                            mimetype=f"text/csv; charset={charset}")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _custom_fields(self):
        """The active custom fields of the list's entity: columns after the
        built-in ones."""
        from app import db

        entity = custom_fields.ENTITY_OF.get(self.datamodel.obj)
        return custom_fields.fields_of(db.session, entity) if entity else []

    def _rows(self, query, columns, tz, scales, custom=(), as_rows=False):
        """The rows, read while the response streams. stream_with_context
        runs this in a fresh app context, whose session Flask-SQLAlchemy
        closes when the stream ends; the query (built in the request, with
        its row-level rule) is moved onto that session, or it would reopen
        the request's finished one and leave its transaction open. Custom
        values come with each batch of rows, in one query. ``as_rows``: the
        query reads the columns' values (``_as_rows``), not objects."""
        from app import db

        session = db.session()
        items = query.with_session(session)
        cells = _Cells(self.csv_enum_labels, tz)
        specs, paths = [], []
        for column in columns:
            # A dictionary value or an employee: the row's own key, named
            # from the whole (small) table read once, instead of loading
            # the related object of every row.
            relation = self._small_relation(column)
            enum_class = imports.INTEGER_ENUMS.get(column)
            if enum_class is not None:  # a number that stands for a choice
                labels = self.csv_enum_labels.get(enum_class, {})
                specs.append((None, {m.value: str(labels.get(m, m.value)) for m in enum_class}))
                paths.append([column])
            elif relation is None:
                specs.append((scales.get(column), None))
                paths.append(column.split("."))
            else:
                specs.append((None, _Names(session, relation.mapper.class_)))
                paths.append([_key_of(relation)])
        if as_rows:  # custom fields need the id: export() then reads it in the rows
            read, id_of = _same, operator.itemgetter(columns.index("id") if custom else 0)
        else:
            read, id_of = (lambda item: [_walk(item, path) for path in paths]), _id
        if not custom:
            for item in items:
                yield cells.values(read(item), specs)
            return
        entity = custom_fields.ENTITY_OF[self.datamodel.obj]
        names = {d.code: custom_fields.dictionary_rows(session, d) for d in custom
                 if CustomFieldType(d.type) == CustomFieldType.DICTIONARY}
        items = iter(items)  # one server-side cursor, read a batch at a time
        while batch := list(itertools.islice(items, YIELD_PER)):
            values = custom_fields.load(session, entity, [id_of(item) for item in batch], custom)
            for item in batch:
                row = values[id_of(item)]
                yield cells.values(read(item), specs) + [
                    self._custom_cell(cells, d, row.get(d.code), names.get(d.code))
                    for d in custom]

    @staticmethod
    def _custom_cell(cells, definition, value, names):
        """A custom value as a built-in one of its kind: money and decimals
        at their column's scale, dates, yes/no; choices and dictionary rows
        as the record page writes them."""
        kind = CustomFieldType(definition.type)
        if kind in (CustomFieldType.MULTI_CHOICE, CustomFieldType.DICTIONARY):
            value = custom_fields.text_of(None, definition, value, names) or None
        scale = {CustomFieldType.MONEY: 2,
                 CustomFieldType.DECIMAL: CustomValue.number_value.type.scale}.get(kind)
        return cells.cell(value, scale)

    def _as_rows(self, query, columns):
        """``query`` reading the values of ``columns`` as plain rows: each is
        a column of the model, the key of a small relation, or a column of a
        many-to-one relation (outer-joined, aliased apart from any join of
        the list's filters or sort), its text being the column its model
        names ``__title__``. None when a column is only an object's (a
        property): the rows are then read as objects. Building an object per
        row and reading its attributes was most of an export's time."""
        model = self.datamodel.obj
        mapper = model.__mapper__
        selected, joined = [], {}
        for column in columns:
            first, _, second = column.partition(".")
            relation = mapper.relationships.get(first)
            if not second:
                if relation is None and first in mapper.columns:
                    selected.append(getattr(model, first))
                    continue
                if self._small_relation(column) is not None:
                    selected.append(getattr(model, _key_of(relation)))
                    continue
                second = getattr(relation and relation.mapper.class_, "__title__", None)
                if second is None:
                    return None
            if relation is None or relation.direction is not MANYTOONE \
                    or second not in relation.mapper.columns:
                return None
            if first not in joined:
                joined[first] = aliased(relation.mapper.class_)
                query = query.outerjoin(joined[first], getattr(model, first))
            selected.append(getattr(joined[first], second))
        return query.with_entities(*selected)

    def _small_relation(self, column):
        """The many-to-one relation ``column`` names, when it leads to a
        dictionary or an employee; else None."""
        relation = self.datamodel.obj.__mapper__.relationships.get(column)
        if relation is None or relation.direction is not MANYTOONE \
                or len(relation.local_columns) != 1:
            return None
        target = relation.mapper.class_
        return relation if issubclass(target, (DictionaryMixin, Employee)) else None

    def _eager(self, columns):
        mapper = self.datamodel.obj.__mapper__
        options = []
        for column in columns:
            parts = column.split(".")
            relation = mapper.relationships.get(parts[0])
            if relation is None or relation.uselist or self._small_relation(column):
                continue
            option = selectinload(getattr(self.datamodel.obj, parts[0]))
            if len(parts) > 1:
                second = relation.mapper.relationships.get(parts[1])
                if second is not None and not second.uselist:
                    option = option.selectinload(getattr(relation.mapper.class_, parts[1]))
            options.append(option)
        return options

    def _scales(self, columns):
        scales = {}
        for column in columns:
            model = self.datamodel.obj
            *path, name = column.split(".")
            for part in path:
                model = model.__mapper__.relationships[part].mapper.class_
            col = model.__table__.columns.get(name)
            if col is not None and getattr(col.type, "scale", None) is not None:
                scales[column] = col.type.scale
        return scales


    # -- buttons on the list --------------------------------------------------------

    def csv_links(self):
        sm = self.appbuilder.sm
        name = self.class_permission_name
        links = {}
        if sm.has_access("can_export", name):
            args = request.args.to_dict(flat=True)
            links["export_utf8"] = url_for(f"{self.endpoint}.export", **args, encoding="utf-8")
            links["export_cp1251"] = url_for(f"{self.endpoint}.export", **args,
                                             encoding="cp1251")
        if sm.has_access("can_add", name) and sm.has_access("can_upload", "ImportView"):
            links["import"] = url_for("ImportView.upload", key=self.csv_key())
            links["template"] = url_for("ImportView.template", key=self.csv_key())
            if self.csv_key() in imports.ALMA_TARGETS and \
                    all(sm.has_access("can_add", v) for v in imports.ALMA_VIEWS):
                links["alma"] = url_for("ImportView.upload", key=imports.ALMA_KEY)
        return links

    def render_template(self, template, **kwargs):
        if template == self.list_template and getattr(g, "user", None) is not None:
            kwargs["csv_links"] = self.csv_links()
        return super().render_template(template, **kwargs)


def _logged(rows, model, user_id):
    """The rows of an export of persons; the file is logged once, with its
    row count, when the last row has gone (an export broken off is logged
    with the rows sent)."""
    from app import db

    count = 0
    try:
        for row in rows:
            count += 1
            yield row
    finally:
        personal_data.exported(db.engine, model, user_id, count)


def _key_of(relation):
    return next(iter(relation.local_columns)).key


def _walk(item, path):
    for part in path:
        item = getattr(item, part, None) if item is not None else None
    return item


def _same(row):
    return row


def _id(item):
    return item.id


class _Names(dict):
    """Id -> the text of a row of a small table, read whole at the start;
    a row added since is read when asked for."""

    def __init__(self, session, model):
        super().__init__((row.id, str(row)) for row in session.scalars(select(model)))
        self.session, self.model = session, model

    def __missing__(self, key):
        row = self.session.get(self.model, key)
        self[key] = value = None if row is None else str(row)
        return value


class _Cells:
    """The values of one export's rows as the file's cells. An enum member's
    label is translated once per export, not once per row (a million rows
    asked the translations several million times)."""

    def __init__(self, enum_labels, tz):
        self.enum_labels = enum_labels
        self.tz = tz
        self.labels = {}

    def values(self, values, specs):
        """``specs``: (decimal scale or None, names of the ids it holds or
        None) per value."""
        out = []
        for value, (scale, names) in zip(values, specs):
            if names is not None and value is not None:
                value = names[value]
            out.append(self.cell(value, scale))
        return out

    def cell(self, value, scale):
        if value is None or type(value) is str:  # most cells
            return value
        if isinstance(value, enum.Enum) and not isinstance(value, int):
            label = self.labels.get(value)
            if label is None:
                label = self.labels[value] = str(
                    self.enum_labels.get(type(value), {}).get(value, value.value))
            return label
        if isinstance(value, datetime.datetime):
            return values.datetime_text(to_local(value, self.tz))
        if isinstance(value, Decimal) and scale is not None and scale != 2:
            return values.plain_number(value.quantize(Decimal(1).scaleb(-scale)), scale)
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        if not isinstance(value, (str, bool, Decimal, datetime.date)):  # None left above
            return str(value)
        return value
