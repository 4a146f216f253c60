"""FAB's SQLAlchemy interface with a bounded row count for list pages.

FAB counts every matching row to draw the pager, which on a million rows
costs more than the page itself. Counting stops at COUNT_LIMIT + 1 rows;
past that the list says "more than 10 000" and the pager still reaches every
page up to it (sorting and filters narrow the rest)."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import asc, desc, func, select
from sqlalchemy.orm import aliased

COUNT_LIMIT = 10_000


class AtLeast(int):
    """A count that hit the limit: arithmetic as the number, text as words."""

    def __str__(self):
        return gettext("more than %(n)s", n=f"{COUNT_LIMIT:,}".replace(",", "\u00a0"))

    def __html__(self):
        return str(escape(str(self)))


class ListInterface(SQLAInterface):
    def query_count(self, query, filters=None, select_columns=None):
        inner = self._apply_inner_all(query, filters, select_columns=select_columns,
                                      aliases_mapping={})
        # The primary key, not a constant: it keeps the table in FROM.
        key = self.obj.__mapper__.primary_key
        limited = inner.with_entities(*key).limit(COUNT_LIMIT + 1).subquery()
        count = self.session.execute(select(func.count()).select_from(limited)).scalar()
        return AtLeast(COUNT_LIMIT) if count > COUNT_LIMIT else count

    def apply_order_by(self, query, order_column, order_direction, **kwargs):
        """Sorting by a relation ("loan_purpose", "client.region") sorts by
        the related record's name; FAB can only sort by plain columns."""
        path = self._relation_path(order_column)
        if not path:
            return super().apply_order_by(query, order_column, order_direction, **kwargs)
        current = self.obj
        for relation in path:
            target = aliased(relation.mapper.class_)
            query = query.outerjoin(target, getattr(current, relation.key))
            current = target
        direction = desc if order_direction == "desc" else asc
        return query.order_by(direction(getattr(current, _sort_key(current))),
                              direction(self.obj.id))

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
