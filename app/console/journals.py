"""The console's journals: read-only lists with filters of the change
history, the imports, the scheduled jobs' runs, the notifications, the
sign-in locks (one action: unlock an employee, as FAB's employee form
does by clearing the lock) and the failed sign-ins."""
from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from app import db
from app.console.views import AdminOnly
from app.labels import history_field
from app.models import (
    Employee,
    HistoryEntry,
    ImportJob,
    JobLease,
    Notification,
    SignInFailure,
    SignInFailureReason,
    model_of,
)
from app.services import localtime, values
from app.views.fields import office_zone
from app.views.imports import STATUSES
from app.views.labels import HISTORY_ACTIONS, HISTORY_ENTITIES, enum_label, history_value

CATEGORY = _l("Journals")


def _when(view, context, item, name):
    return values.datetime_text(localtime.to_local(getattr(item, name), office_zone()))


def _entity(view, context, item, name):
    if item.entity in HISTORY_ENTITIES:
        return HISTORY_ENTITIES[item.entity]
    table = db.Model.metadata.tables.get(item.entity)
    model = model_of(table) if table is not None else None
    return getattr(model, "__label__", item.entity)


def _field(view, context, item, name):
    return history_field(item.entity, item.field)


def _value(view, context, item, name):
    return history_value(item.entity, item.field, getattr(item, name))


class JournalAdmin(AdminOnly, ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    page_size = 50
    column_default_sort = ("id", True)

    def __init__(self, model, name, **kwargs):
        self.column_formatters = {**{column: _when for column in self.column_list
                                     if column.endswith(("_at", "_until")) or column == "at"},
                                  **self.column_formatters}
        super().__init__(model, db.session, name=name, category=CATEGORY, **kwargs)


class HistoryJournal(JournalAdmin):
    column_list = ("at", "user", "entity", "entity_id", "action", "field", "old_value",
                   "new_value")
    column_labels = {"at": _l("When"), "user": _l("Who"), "entity": _l("What"),
                     "entity_id": _l("Record"), "action": _l("Action"), "field": _l("Field"),
                     "old_value": _l("Was"), "new_value": _l("Became"),
                     "user.username": _l("Who")}
    column_filters = ("at", "entity", "entity_id", "action", "user.username")
    column_formatters = {"entity": _entity, "field": _field, "old_value": _value,
                         "new_value": _value,
                         "action": lambda view, context, item, name:
                         HISTORY_ACTIONS.get(item.action, item.action)}


class ImportJournal(JournalAdmin):
    column_list = ("created_at", "user", "file_name", "status", "total_rows", "created",
                   "updated", "skipped", "error_count", "finished_at")
    column_labels = {"created_at": _l("When"), "user": _l("Who"), "file_name": _l("File"),
                     "status": _l("Status"), "total_rows": _l("Rows"),
                     "created": _l("Created"), "updated": _l("Updated"),
                     "skipped": _l("Skipped"), "error_count": _l("Errors"),
                     "finished_at": _l("Finished"), "user.username": _l("Who")}
    column_filters = ("created_at", "status", "file_name", "user.username")
    column_formatters = {"status": lambda view, context, item, name:
                         STATUSES.get(item.status, item.status)}


class JobJournal(JournalAdmin):
    column_list = ("name", "holder", "lease_until", "slot", "started_at", "finished_at",
                   "result")
    column_labels = {"name": _l("Job"), "holder": _l("Holder"), "lease_until": _l("Taken until"),
                     "slot": _l("Scheduled run"), "started_at": _l("Started"),
                     "finished_at": _l("Finished"), "result": _l("Result")}
    column_filters = ("name", "finished_at")
    column_default_sort = ("name", False)
    column_formatters = {"slot": _when}


class NotificationJournal(JournalAdmin):
    column_list = ("created_at", "user", "kind", "text", "read_at", "emailed_at")
    column_labels = {"created_at": _l("When"), "user": _l("Employee"), "kind": _l("Kind"),
                     "text": _l("Text"), "read_at": _l("Read"), "emailed_at": _l("E-mailed"),
                     "user.username": _l("Employee")}
    column_filters = ("created_at", "kind", "read_at", "user.username")


class SignInJournal(JournalAdmin):
    """Failed sign-ins and locks (services/staff.py counts and locks)."""

    column_list = ("username", "first_name", "last_name", "fail_login_count",
                   "locked_until", "last_login")
    column_labels = {"username": _l("Login"), "first_name": _l("First name"),
                     "last_name": _l("Last name"), "fail_login_count": _l("Failed sign-ins"),
                     "locked_until": _l("Locked until"), "last_login": _l("Last login")}
    column_filters = ("locked_until", "fail_login_count", "username")
    column_default_sort = ("username", False)
    column_formatters = {"last_login": _when}

    @action("unlock", _l("Unlock"), _l("Unlock the selected employees?"))
    def action_unlock(self, ids):
        employees = db.session.scalars(select(Employee).where(
            Employee.id.in_([int(pk) for pk in ids]))).all()
        for employee in employees:
            employee.locked_until = None
            employee.fail_login_count = 0
        db.session.commit()
        flash(ngettext("%(num)d employee unlocked", "%(num)d employees unlocked",
                       len(employees)), "success")


class ReasonFilter(FilterEqual):
    """A failure's reason chosen by its Russian label; a value that is no
    reason (a hand-made URL) is ignored, not a server error."""

    def __init__(self):
        super().__init__(SignInFailure.reason, _l("Reason"), options=lambda: [
            (reason.value, enum_label(reason)) for reason in SignInFailureReason])

    def validate(self, value):
        return value in {reason.value for reason in SignInFailureReason}

    def apply(self, query, value, alias=None):
        return query.filter(SignInFailure.reason == SignInFailureReason(value))


class SignInFailureJournal(JournalAdmin):
    """Each failed sign-in (services/sign_in_failures.py), newest first."""

    column_list = ("at", "username", "user", "address", "reason")
    column_labels = {"at": _l("When"), "username": _l("Login typed"), "user": _l("Employee"),
                     "address": _l("Address"), "reason": _l("Reason"),
                     "user.username": _l("Employee")}
    column_filters = ("at", ReasonFilter(), "username", "address", "user.username")
    column_formatters = {"reason": lambda view, context, item, name: enum_label(item.reason),
                         "user": lambda view, context, item, name: item.user or ""}


def add_views(admin):
    for view, model, name, url in (
        (HistoryJournal, HistoryEntry, _l("History"), "history"),
        (ImportJournal, ImportJob, _l("Imports"), "imports"),
        (JobJournal, JobLease, _l("Scheduled jobs"), "jobs"),
        (NotificationJournal, Notification, _l("Notifications"), "notifications"),
        (SignInJournal, Employee, _l("Sign-in locks"), "sign-in"),
        (SignInFailureJournal, SignInFailure, _l("Sign-in failures"), "sign-in-failures"),
    ):
        admin.add_view(view(model, name, endpoint=f"console_journal_{url}",
                            url=f"journals/{url}"))
