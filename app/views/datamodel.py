"""FAB's SQLAlchemy interface tuned for lists of a million rows.

FAB counts every matching row to draw the pager, which costs more than the
page itself, the more so when a manager's row-level rule and a filter leave
a small share of a big table. Counting stops a few pages past the one shown
(at least COUNT_LIMIT rows): the list then says "more than 250" and the
pager reaches further as the user pages on. Related records are loaded for
the whole page at once, and the row-level rule picks the form the database
can run fastest (see services/access.py)."""
import contextvars

from flask_appbuilder.models.sqla.filters import (
    FilterEqual,
    FilterRelationOneToManyEqual,
    SQLAFilterConverter,
)
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import ARRAY, and_, any_, asc, bindparam, desc, exists, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.models import Client, CustomValue, Department, DictionaryMixin, Employee
from app.services import access, custom_fields

CUSTOM_PREFIX = custom_fields.PREFIX

COUNT_LIMIT = 250
PAGES_AHEAD = 5
# How many of a manager's own records a list's count looks at first.
OWN_SAMPLE = 1000
# How many rows a filter known to leave few (a quick search) may count on
# PostgreSQL.
SELECTIVE_LIMIT = 2000
# Options a list's query carries (Query.execution_options). A filter that
# leaves few rows (an index found them) marks the query SELECTIVE; the count
# asks the row rule for its "driving" form (views/rowaccess.py,
# services/access.clause) with ROW_ACCESS_DRIVING; the row rule marks the
# query it narrowed to a user's visible rows with that user's id (ROW_SCOPE).
SELECTIVE = "sdelka_selective"
ROW_ACCESS_DRIVING = "sdelka_row_access_driving"
ROW_SCOPE = "sdelka_row_scope"
# Set while ``ListInterface.get`` reads one record.
_ONE_RECORD = contextvars.ContextVar("sdelka_one_record", default=False)


class AtLeast(int):
    """A count that hit the limit: arithmetic as the number, text as words."""

    def __str__(self):
        return gettext("more than %(n)s", n=f"{int(self):,}".replace(",", "\u00a0"))

    def __html__(self):
        return str(escape(str(self)))


def _one_client(filters):
    """Are the rows narrowed to one client's (its number, a tab of its page)?"""
    return filters is not None and any(
        f.column_name == "client" and isinstance(f, (FilterRelationOneToManyEqual, FilterEqual))
        for f in filters.filters)


class _FilterConverter(SQLAFilterConverter):
    """A search column that is not the model's (the quick search box) gets
    its filters from the view (views/search.install): no FAB warning for it
    at every start."""

    def convert(self, col_name):
        if col_name not in self.datamodel.obj.__mapper__.attrs:
            return []
        # FAB converts every column of the model each time it makes a
        # Filters object (each tab of a record page, each copy): a tenth of
        # a client page's CPU. The filters are stateless, so one set per
        # column serves all; the list is new, as FAB extends it in place.
        converted = self.datamodel.__dict__.setdefault("_converted_filters", {})
        if col_name not in converted:
            converted[col_name] = super().convert(col_name) or []
        return list(converted[col_name])


def _reference(model):
    """A dictionary, a department or an employee: a table of few rows."""
    return issubclass(model, (DictionaryMixin, Department, Employee))


class ListInterface(SQLAInterface):
    """``eager``: dotted relations loaded with a page besides the model's own
    many-to-one relations (FAB would load each one row by row)."""

    filter_converter_class = _FilterConverter

    def __init__(self, obj, eager=(), **kwargs):
        super().__init__(obj, **kwargs)
        self.eager = eager
        # Set by the view: the relations its list shows (None: all of them).
        self.listed = None

    def apply_all(self, query, filters=None, order_column="", order_direction="", page=None,
                  page_size=None, select_columns=None, outer_default_load=False):
        # FAB joins the relations of dotted select columns (the API's) itself.
        joined = {column.split(".")[0] for column in select_columns or () if "." in column}
        return super().apply_all(query, filters, order_column, order_direction, page,
                                 page_size, select_columns, outer_default_load,
                                 ).options(*self._eager_options(joined))

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):
        """One record (its page, its form, its deletion) with every
        many-to-one relation and every list of dictionary values or
        employees joined in the same statement: named one by one
        as the page showed them, a client's page spent seven round trips on
        them, each a wait for the interpreter's lock under load."""
        token = _ONE_RECORD.set(True)
        try:
            return super().get(id, filters, select_columns, outer_default_load)
        finally:
            _ONE_RECORD.reset(token)

    def _eager_options(self, joined=()):
        relations = [rel for rel in self.obj.__mapper__.relationships
                     if rel.direction.name == "MANYTOONE" and rel.key not in joined]
        if _ONE_RECORD.get():
            # With its lists of dictionary values and employees (a client's
            # tags, participants and mailing types): a few rows each, joined
            # rather than a statement each.
            relations += [rel for rel in self.obj.__mapper__.relationships
                          if rel.direction.name == "MANYTOMANY" and rel.key not in joined
                          and _reference(rel.mapper.class_)]
            return [joinedload(getattr(self.obj, rel.key)) for rel in relations]
        # A page's dictionary values and employees come joined: a few rows
        # each, looked up by key. Records (a task's client, deal, …) come
        # by selectin, their million rows kept out of the page's plan.
        options = [(joinedload if _reference(rel.mapper.class_) else selectinload)(
                   getattr(self.obj, rel.key)) for rel in relations
                   if self.listed is None or rel.key in self.listed]
        for path in self.eager:
            first, second = path.split(".")
            relation = getattr(self.obj, first)
            options.append(selectinload(relation).selectinload(
                getattr(relation.property.mapper.class_, second)))
        return options

    def get_related_interface(self, col_name):
        # FAB builds a new interface on every call, dozens of times a page.
        related = self.__dict__.setdefault("_related", {})
        if col_name not in related:
            interface = self.__class__(self.get_related_model(col_name))
            # It lists the choices of a drop-down, named by their own
            # columns: loading each choice's relations (an employee's
            # department, creator, editor) cost more than the choices.
            interface.listed = set()
            related[col_name] = interface
        return related[col_name]

    def get_related_obj(self, col_name, value):
        """The related record a relation filter names, read once a session
        (a request's). FAB read it by the address's text ("3") each time the
        filter was applied, four times on a manager's task list by status:
        the identity map holds a row only while something refers to it.
        Kept in the session's own ``info``, and only while it is in it."""
        model = self.get_related_model(col_name)
        (key,) = model.__mapper__.primary_key
        if isinstance(value, (list, tuple)):
            # An add form's preset gives its primary key as a list.
            value = value[0] if len(value) == 1 else tuple(value)
        try:
            value = key.type.python_type(value)
        except (TypeError, ValueError, NotImplementedError):
            pass  # as typed: the database finds no such row
        kept = self.session.info.setdefault("sdelka_related_objects", {})
        found = kept.get((model, value))
        if found is None or found not in self.session:
            found = kept[model, value] = self.session.get(model, value)
        return found

    def query_count(self, query, filters=None, select_columns=None):
        """FAB's count: only ours (``_count``) is used by ``query``."""
        return self._count(query, filters, select_columns, 0, 0)[0]

    def _count(self, query, filters, select_columns, page, page_size):
        """(count, ids): the count a few pages ahead, an AtLeast past it; the
        ids of the rows when they are all there (few), else None."""
        if not page_size:
            return None, None  # unpaged, as a drop-down's choices: the rows are the count
        limit = max(COUNT_LIMIT, (page + PAGES_AHEAD) * page_size)
        found = self._visible_matches(filters)
        if found is not None:
            # Each visible client tested once, on its index entry: a
            # manager's few (a rare pair of letters) are all counted and
            # make the page; past the limit the page walks its index as
            # for any long list.
            user_id, matches = found
            if user_id is not None:
                limit = max(limit, SELECTIVE_LIMIT)
            ids = self.session.scalars(matches.limit(limit + 1)).all()
            return (AtLeast(limit), None) if len(ids) > limit else (len(ids), ids)
        one_client = _one_client(filters)
        # The filtered query, row access tested per row: do the filters say
        # they leave few rows?
        inner = self._apply_inner_all(query, filters, select_columns=select_columns,
                                      aliases_mapping={})
        options = inner.get_execution_options()
        selective = options.get(SELECTIVE, False)
        # A search (a filter that ``narrows``) leaves few of a manager's own
        # records: sampling them would not reach the limit, and the count
        # follows anyway (a statement of 2-5 ms at a million clients).
        narrowed = filters is not None and any(getattr(f, "narrows", False)
                                               for f in filters.filters)
        if not (one_client or selective or narrowed) and self._own_rows_pass(
                query, filters, select_columns, limit, options.get(ROW_SCOPE)):
            return AtLeast(limit), None  # many visible: the page walks its index
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        if not one_client and (not selective or (postgresql and self.obj is Client)):
            # Count from the set of visible clients. Few rows passing the
            # filters, or one client's (a tab of its page), keep the per-row
            # test (building the set of a bench manager's 41 000 clients
            # takes ~18 ms for each of the nine tabs of a client's page),
            # except PostgreSQL's clients, whose visible ones are conditions
            # on their own indexes (services/access._indexed_client).
            inner = self._apply_inner_all(
                query.execution_options(**{ROW_ACCESS_DRIVING: True}),
                filters, select_columns=select_columns, aliases_mapping={})
        if selective and postgresql:
            # Its rows come from an index: a few thousand cost little more
            # than a few hundred, and make the page a sort of known rows
            # rather than PostgreSQL's misjudged walk. SQLite walks well
            # and fetches slower: 2 000 of a common name cost it 10 ms.
            limit = max(limit, SELECTIVE_LIMIT)
        (key,) = self.obj.__mapper__.primary_key
        ids = [i for i, in inner.with_entities(key).limit(limit + 1)]
        if len(ids) > limit:
            return AtLeast(limit), None  # the page walks its sort index, testing each row
        # Few: the page is these rows, sorted. Left to its own plan,
        # PostgreSQL, sure that half the rows pass a manager's access test,
        # walks the sort index through 84 000 clients to find the 25 of a
        # quick search (35 ms against 3 ms).
        return len(ids), ids

    @staticmethod
    def _visible_matches(filters):
        """(user, ids) of a search that tests the rows the user may see
        itself (a filter's ``visible_matches``) when it is the list's only
        filter besides the row rule; the user is the rule's own scope (None:
        every row is visible), asked here rather than taken from the query,
        as the page then shows these ids without the rule."""
        if filters is None:
            return None
        scopes, found = set(), []
        for flt, value in zip(filters.filters, filters.values):
            if getattr(flt, "row_rule", False):
                scopes.add(value() if callable(value) else value)
            else:
                found.append((flt, value))
        if len(found) != 1 or not hasattr(found[0][0], "visible_matches") or len(scopes) > 1:
            return None
        flt, value = found[0]
        if isinstance(value, list):  # FAB applies each value of a list
            if len(value) != 1:
                return None
            (value,) = value
        user_id = scopes.pop() if scopes else None
        matches = flt.visible_matches(value, user_id)
        return None if matches is None else (user_id, matches)

    def _sorted_by_an_index(self, order_column):
        """Does an index give the rows in the list's order (none asked: any
        order), so that the page walks it and stops at its last row? Not
        for a relation's name, a custom field or a partial index."""
        if not order_column:
            return True
        column = self.obj.__table__.columns.get(order_column)
        if column is None:
            return False
        return column.primary_key or any(
            index.columns[0] is column
            and not any(key.endswith("_where") for key in index.dialect_kwargs)
            for index in self.obj.__table__.indexes)

    def _among(self, ids):
        """The rows of these ids. PostgreSQL takes them as one array
        parameter: an IN of up to 2 000 parameters cost more to send and
        plan than to run (6.4 → 2 ms a page of 1 500 known rows)."""
        (key,) = self.obj.__mapper__.primary_key
        if self.session.get_bind().dialect.name == "postgresql":
            return key == any_(bindparam("ids", list(ids), type_=ARRAY(key.type), unique=True))
        return key.in_(ids)

    def _own_rows_pass(self, query, filters, select_columns, limit, user_id):
        """Do more than ``limit`` of OWN_SAMPLE of a manager's own records
        pass the list's filters? Then the list says "more than"
        without counting the set of every client they may see (tens of
        thousands of ids to sort out): their own records are visible to
        them by the row-level rule, and an index on the owner finds them.
        A narrow filter costs one look at OWN_SAMPLE rows before the count.
        ``user_id``: the user the row rule narrowed the filtered query to
        (its ROW_SCOPE), None when it did not."""
        column = access.owner_column(self.obj)
        if column is None or user_id is None:
            return False
        (key,) = self.obj.__mapper__.primary_key
        if filters is None or all(getattr(f, "passes_own_rows", False) for f in filters.filters):
            # No filter but the row rule, which every own row passes: count
            # them on the owner's index alone, not row by row (8 ms a page).
            own = select(key).where(column == user_id).limit(limit + 1).subquery()
            return self.session.execute(select(func.count()).select_from(own)).scalar() > limit
        # Any of them: ordering them would sort all of a manager's records
        # where the index on the column does not hold the key. Each row's
        # access is tested: true at once for own rows.
        own = select(key).where(column == user_id).limit(OWN_SAMPLE)
        inner = self._apply_inner_all(query.filter(key.in_(own)), filters,
                                      select_columns=select_columns, aliases_mapping={})
        passed = inner.with_entities(key).limit(limit + 1).subquery()
        return self.session.execute(select(func.count()).select_from(passed)).scalar() > limit

    def query(self, filters=None, order_column="", order_direction="", page=None,
              page_size=None, select_columns=None, outer_default_load=False):
        """FAB's query, with our count: when it found every row (few), the
        page sorts those ids, the filters not run twice; else the page
        walks the sort index and tests each row (row access per row)."""
        base = self.session.query(self.obj)
        definition = page_size and self._custom_sort(order_column)
        count, ids = self._count(base, filters, select_columns, page or 0, page_size or 0)
        if definition:
            items = self._page_by_custom(filters, definition, order_direction,
                                         page or 0, page_size)
        else:
            if ids is not None:
                base, filters = base.filter(self._among(ids)), None
            elif not self._sorted_by_an_index(order_column):
                # Every row is read and sorted anyway: the set of visible
                # clients, built once from index look-ups, tests them
                # cheaper than a look-up per row (a manager's applications
                # by amount: 750 → 25 ms at 100 000 clients, 2 s → 0.1 s
                # at a million).
                base = base.execution_options(**{ROW_ACCESS_DRIVING: True})
            items = self.apply_all(base, filters, order_column, order_direction, page,
                                   page_size, select_columns, outer_default_load).all()
            if items and not isinstance(items[0], self.obj):  # select_columns: rows
                items = [getattr(row, self.obj.__name__, row) for row in items]
        return (len(items) if count is None else count), items

    def apply_order_by(self, query, order_column, order_direction, **kwargs):
        """Sorting by a relation ("loan_purpose", "client.region") sorts by
        the related record's name; FAB can only sort by plain columns. A
        custom field ("cf_<code>") sorts by its value, records without one
        last."""
        direction = desc if order_direction == "desc" else asc
        if (order_column or "").startswith(CUSTOM_PREFIX):
            return self._order_by_custom(query, order_column[len(CUSTOM_PREFIX):], direction)
        path = self._relation_path(order_column)
        if not path:
            return super().apply_order_by(query, order_column, order_direction, **kwargs)
        current = self.obj
        for relation in path:
            target = aliased(relation.mapper.class_)
            query = query.outerjoin(target, getattr(current, relation.key))
            current = target
        return query.order_by(direction(getattr(current, _sort_key(current))),
                              direction(self.obj.id))

    def _custom_sort(self, order_column):
        """The definition of the custom field ``order_column`` sorts by, if
        the list can sort by it."""
        if not (order_column or "").startswith(CUSTOM_PREFIX):
            return None
        entity = custom_fields.ENTITY_OF.get(self.obj)
        definition = entity and custom_fields.definition_by_code(
            self.session, entity, order_column[len(CUSTOM_PREFIX):])
        return definition if definition and custom_fields.sortable(definition) else None

    def _order_by_custom(self, query, code, direction):
        definition = self._custom_sort(CUSTOM_PREFIX + code)
        if not definition:
            return query.order_by(direction(self.obj.id))
        value = aliased(CustomValue)
        column = getattr(value, custom_fields.COLUMN[definition.type])
        query = query.outerjoin(value, and_(value.record_id == self.obj.id,
                                            value.field_id == definition.id))
        return query.order_by(direction(column).nulls_last(), direction(self.obj.id))

    def _page_by_custom(self, filters, definition, order_direction, page, page_size):
        """A page in the order of _order_by_custom, without sorting the
        table: walk the (field, value, record) index in order and test each
        record against the filters until the page is full, then go on with
        the records that have no value, by id. One ORDER BY over the outer
        join sorts every row first: about a second at a million."""
        direction = desc if order_direction == "desc" else asc
        key = self.obj.id
        filtered = self._apply_inner_all(self.session.query(self.obj), filters,
                                         aliases_mapping={})
        # An alias: the filters' own subqueries on custom_value must not
        # correlate with the walk.
        value = aliased(CustomValue)
        column = getattr(value, custom_fields.COLUMN[definition.type])
        valued = (value.field_id == definition.id, column.isnot(None),
                  filtered.filter(key == value.record_id).exists())
        offset = page * page_size
        ids = list(self.session.scalars(
            select(value.record_id).where(*valued)
            .order_by(direction(column), direction(value.record_id))
            .offset(offset).limit(page_size)))
        if len(ids) < page_size:
            if ids or not offset:
                before = offset + len(ids)
            else:  # a page past the last value: how many came before
                before = self.session.scalar(select(func.count()).where(*valued))
            without = ~exists().where(value.record_id == key, *valued[:2])
            ids += [i for i, in filtered.filter(without).with_entities(key)
                    .order_by(direction(key))
                    .offset(max(0, offset - before)).limit(page_size - len(ids))]
        rows = {row.id: row for row in self.session.query(self.obj)
                .filter(key.in_(ids)).options(*self._eager_options())} if ids else {}
        return [rows[i] for i in ids if i in rows]

    def _relation_path(self, order_column):
        """The many-to-one relations ``order_column`` names if it ends on one
        ("loan_purpose", "client.region"); None for a plain column."""
        mapper, path = self.obj.__mapper__, []
        for part in (order_column or "").split("."):
            relation = mapper.relationships.get(part)
            if relation is None or relation.uselist:
                return None
            path.append(relation)
            mapper = relation.mapper
        return path or None


def _sort_key(model):
    for name in ("name", "title", "last_name", "number"):
        if hasattr(model, name):
            return name
    return "id"
