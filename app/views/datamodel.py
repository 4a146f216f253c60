"""FAB's SQLAlchemy interface with a bounded row count for list pages.

FAB counts every matching row to draw the pager, which on a million rows
costs more than the page itself. Counting stops at COUNT_LIMIT + 1 rows;
past that the list says "more than 10 000" and the pager still reaches every
page up to it (sorting and filters narrow the rest)."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import func, select

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
