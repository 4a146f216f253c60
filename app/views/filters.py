"""Filters of our own for FAB list screens."""
import datetime

from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla import filters as sqla_filters
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, or_, select

from app.models import Department, Employee, StatusKind, TaskStatus
from app.services import localtime, trees, values


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


def parse_days(value):
    """"2025-06-01..2025-06-30" or "01.06.2025..30.06.2025" (one day alone
    also) -> (first, last) local dates, or None."""
    parts = [p.strip() for p in str(value or "").split("..")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        return None
    days = []
    for part in parts:
        try:
            days.append(values.date(part))
        except values.ValidationError:
            return None
    return tuple(days) if days[0] <= days[1] else None


class FilterInPeriod(BaseFilter):
    """Rows of the local days from … to … (both included): a date column
    compares dates, a timestamp column (UTC) the local midnights in
    APP_TIMEZONE, exactly as the statistics count them."""

    name = _l("In period")
    arg_name = "in_period"

    def apply(self, query, value):
        days = parse_days(value)
        if days is None:
            return query
        column = getattr(self.model, self.column_name)
        first, last = days
        if isinstance(column.type, DateTime):
            tz_name = current_app.config["APP_TIMEZONE"]
            since = localtime.midnight_utc(first, tz_name)
            until = localtime.midnight_utc(last + datetime.timedelta(days=1), tz_name)
            return query.filter(column >= since, column < until)
        return query.filter(column >= first, column <= last)


class FilterStatusKind(BaseFilter):
    """Tasks whose status is of a kind (open = in processing, which takes
    tasks without a status too; done; refused; junk)."""

    name = _l("Status kind")
    arg_name = "status_kind"

    def apply(self, query, value):
        try:
            kind = StatusKind(value)
        except ValueError:
            return query
        of_kind = self.model.status_id.in_(select(TaskStatus.id).where(TaskStatus.kind == kind))
        if kind is StatusKind.OPEN:
            of_kind = or_(of_kind, self.model.status_id.is_(None))
        return query.filter(of_kind)


class FilterInDepartment(BaseFilter):
    """Rows whose employee (assignee, responsible) works in the department
    or one of its sub-departments."""

    name = _l("In department")
    arg_name = "in_department"

    def apply(self, query, value):
        try:
            root_id = int(value)
        except (TypeError, ValueError):
            return query
        ids = trees.branch_ids(self.datamodel.session, Department, root_id)
        (fk,) = getattr(self.model, self.column_name).property.local_columns
        return query.filter(fk.in_(select(Employee.id).where(Employee.department_id.in_(ids))))


_fab_value = sqla_filters.set_value_to_type


def filter_value(datamodel, column_name, value):
    """A list filter's typed value as its column holds it. FAB reads a date
    with dateutil, month first («03.12.2026» is 12 March), and a time as
    UTC; here a date is read as the forms read it, a time in the office's
    zone (stored UTC). Unreadable: None, which FAB's filters ignore."""
    if isinstance(value, str) and (datamodel.is_date(column_name)
                                   or datamodel.is_datetime(column_name)):
        from app.views.fields import office_zone

        try:
            if datamodel.is_date(column_name):
                return values.date(value)
            return localtime.to_utc(values.datetime_local(value), office_zone())
        except values.ValidationError:
            return None
    return _fab_value(datamodel, column_name, value)


def install():
    """FAB's filters call its module's ``set_value_to_type``: ours instead."""
    sqla_filters.set_value_to_type = filter_value
