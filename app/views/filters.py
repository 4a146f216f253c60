"""Filters of our own for FAB list screens."""
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l

from app.services import trees


class FilterInBranch(BaseFilter):
    """Rows in the branch of a tree under the chosen node. On a tree's own
    ``parent`` column: the node and everything below it; on a relation to a
    tree (a client's group): rows whose group is in that branch."""

    name = _l("In branch")
    arg_name = "in_branch"

    def apply(self, query, value):
        try:
            root_id = int(value)
        except (TypeError, ValueError):
            return query  # an empty choice filters nothing
        tree = self.datamodel.get_related_model(self.column_name)
        ids = trees.branch_ids(self.datamodel.session, tree, root_id)
        if tree is self.model:
            return query.filter(self.model.id.in_(ids))
        (fk,) = getattr(self.model, self.column_name).property.local_columns
        return query.filter(fk.in_(ids))


def add_search_filter(filters, column, filter_class):
    """Adds a filter of our own to a column of a FAB 5 ModelView; returns its
    index, the digit of ``_flt_<index>_<column>`` in URLs. ModelView has no
    ``search_filters`` (only ModelRestApi does): the search widget offers the
    filters of ``_search_filters`` while the URL picks one by its position in
    ``_all_filters``, so the filter goes at the same position in both."""
    offered, by_position = filters._search_filters[column], filters._all_filters[column]
    assert len(offered) == len(by_position)
    offered.append(filter_class(column, filters.datamodel))
    by_position.append(filter_class(column, filters.datamodel))
    return len(by_position) - 1
