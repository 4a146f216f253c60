"""The register of tasks; the "work on task" screen is in task_work.py,
the printed list in task_print.py."""
import datetime

from flask import request
from flask_appbuilder import expose, has_access
from wtforms import SelectField

from app.labels import ENUMS, FIELDS
from app.models import Reminder, Task, utcnow
from app.services.localtime import to_local
from app.views.datamodel import ListInterface
from app.views.fields import QuickDeadlineWidget, local_datetime_field, office_zone
from app.views.filters import FilterInDepartment, FilterInPeriod, FilterStatusKind
from app.views.register_base import RegisterListWidget, RegisterView


def _planned_default():
    """09:00 of the calendar day a new task is added for (``?day=``), else now."""
    try:
        day = datetime.date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return to_local(utcnow(), office_zone()).replace(second=0, microsecond=0)
    return datetime.datetime.combine(day, datetime.time(9))


class TaskListWidget(RegisterListWidget):
    """Rows in their status colour, overdue tasks marked."""

    template = "sdelka/widgets/task_list.html"

    def __init__(self, **kwargs):
        super().__init__(now=utcnow(), **kwargs)


class TaskView(RegisterView):
    route_base = "/tasks"
    datamodel = ListInterface(Task)
    list_columns = ["id", "type", "client.id", "client.name", "status", "started_at",
                    "finished_at", "assignee", "planned_at", "deadline"]
    list_widget = TaskListWidget
    list_template = "sdelka/task_list_page.html"
    show_template = "sdelka/task_show.html"
    order_columns = ["id", "planned_at", "started_at", "finished_at"]
    add_columns = edit_columns = ["type", "client", "deal", "assignee", "planned_at",
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
    # Whoever may read the list may print it.
    method_permission_name = {"print_list": "list"}

    @expose("/print")
    @has_access
    def print_list(self):
        """The list as filtered and sorted on screen, to PDF."""
        from app.views.task_print import print_task_list

        return print_task_list(self)
