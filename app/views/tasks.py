"""The register of tasks; the "work on task" screen is in task_work.py,
the printed list in task_print.py."""
import datetime

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext
from sqlalchemy import select
from wtforms import SelectField

from app import db
from app.labels import ENUMS, FIELDS
from app.models import Reminder, Task, utcnow
from app.services import access, tasks
from app.services.errors import Refused
from app.services.localtime import to_local
from app.views.datamodel import ListInterface
from app.views.fields import QuickDeadlineWidget, local_datetime_field, office_zone
from app.views.filters import FilterInDepartment, FilterInPeriod, FilterStatusKind
from app.views.register_base import RegisterListWidget, RegisterView
from app.views.rowaccess import restricted_user_id
from app.views.timeline import QuickAddMixin


def _planned_default():
    """09:00 of the calendar day a new task is added for (``?day=``), else now."""
    try:
        day = datetime.date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return to_local(utcnow(), office_zone()).replace(second=0, microsecond=0)
    return datetime.datetime.combine(day, datetime.time(9))


def _closable(pks):
    """Ids among ``pks`` whose row gets «Выполнено»: open tasks the user may
    change (the edit form's row rule), when they may edit tasks at all and
    a done status is set up (with that status).

    The page's tasks are still in the session (FAB's list holds them while
    its widget is built), their statuses joined: open or not, and the
    user's own (services/access.owns, which the rule lets change), are
    answered without the database; only a colleague's open task is asked
    about, in one statement. The done status is the dictionary's kept row
    (tasks.done_status_row)."""
    if not pks or not current_app.appbuilder.sm.has_access("can_edit", TaskView.__name__):
        return set(), None
    status = tasks.done_status_row(db.session)
    if status is None:
        return set(), None
    open_tasks = [task for task in (db.session.get(Task, int(pk)) for pk in pks)
                  if task is not None and tasks.is_open(task)]
    user_id = restricted_user_id()
    closable = {str(task.id) for task in open_tasks
                if user_id is None or access.owns(task, user_id)}
    others = [task.id for task in open_tasks if str(task.id) not in closable]
    if others:
        closable |= {str(pk) for pk in db.session.scalars(select(Task.id).where(
            Task.id.in_(others), access.clause(Task, user_id, write=True)))}
    return closable, status


class TaskListWidget(RegisterListWidget):
    """Rows in their status colour, overdue tasks marked; «Выполнено» on
    the open tasks the user may change."""

    template = "sdelka/widgets/task_list.html"

    def __init__(self, **kwargs):
        closable, done_status = _closable(kwargs.get("pks"))
        super().__init__(now=utcnow(), closable=closable, done_status=done_status,
                         done_url=url_for("TaskView.done", pk=0)[:-1], **kwargs)


class TaskView(QuickAddMixin, RegisterView):
    route_base = "/tasks"
    datamodel = ListInterface(Task)
    list_columns = ["id", "type", "client.id", "client.name", "lead", "status", "started_at",
                    "finished_at", "assignee", "planned_at", "deadline"]
    list_widget = TaskListWidget
    list_template = "sdelka/task_list_page.html"
    show_template = "sdelka/task_show.html"
    order_columns = ["id", "planned_at", "started_at", "finished_at"]
    add_columns = edit_columns = ["type", "client", "deal", "lead", "assignee", "planned_at",
                                  "deadline", "started_at", "finished_at", "status",
                                  "description", "result", "note", "reminder_minutes"]
    show_columns = ["id"] + add_columns + ["author", "created_at"]
    search_columns = ["type", "status", "assignee", "planned_at", "description"]
    extra_filters = {"planned_at": [FilterInPeriod], "status": [FilterStatusKind],
                     "assignee": [FilterInDepartment]}
    base_order = ("planned_at", "desc")
    edit_form_extra_fields = {
        # «Сегодня», «Завтра», «3 дня», «Неделя» beside «Срок».
        "deadline": local_datetime_field(FIELDS["deadline"], widget=QuickDeadlineWidget()),
        "reminder_minutes": SelectField(
            FIELDS["reminder_minutes"], coerce=int, default=Reminder.DAY_1.value,
            choices=[(m.value, text) for m, text in ENUMS[Reminder].items()]),
    }
    add_form_extra_fields = dict(edit_form_extra_fields, planned_at=local_datetime_field(
        FIELDS["planned_at"], required=True, default=_planned_default))
    formatters_columns = dict(RegisterView.formatters_columns,
                              reminder_minutes=lambda v: ENUMS[Reminder][Reminder(v)])
    # Whoever may read the list may print it; «Выполнено» is an edit, the
    # timeline's quick task an add.
    method_permission_name = {"print_list": "list", "done": "edit", "quick": "add"}

    @expose("/done/<int:pk>", methods=["POST"])
    @has_access
    def done(self, pk):
        """«Выполнено» of a list row: the task in the done status by the work
        form's rule (services/tasks.finish), with the result if one was
        typed, then back to the same page."""
        back = get_safe_redirect(request.form.get("next") or request.referrer
                                 or url_for(".list"))
        self._ensure_writable(pk)  # the edit form's row rule: 404 / 403
        task = db.session.get(Task, pk)
        try:
            tasks.finish(db.session, task, now=utcnow().replace(second=0, microsecond=0),
                         author_id=g.user.id, result=request.form.get("result", ""))
        except Refused as exc:
            db.session.rollback()
            flash(gettext("The task was not closed: %(reason)s", reason="; ".join(
                str(message) for message in exc.errors.values())), "danger")
        else:
            db.session.commit()
            flash(gettext("Task done"), "success")
        return redirect(back)

    @expose("/print")
    @has_access
    def print_list(self):
        """The list as filtered and sorted on screen, to PDF."""
        from app.views.task_print import print_task_list

        return print_task_list(self)
