"""The managers' calendar: managers as rows, days as columns, the number of
tasks in each cell on a background that darkens with the count."""
import datetime
from urllib.parse import urlencode

from flask import current_app, g, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.filters import (
    FilterGreater,
    FilterRelationOneToManyEqual,
    FilterSmaller,
)
from markupsafe import Markup, escape
from sqlalchemy import select

from app import db
from app.models import Client, Task, TaskStatus, TaskType
from app.security import ALL_CLIENTS
from app.services import access, assignment, calendar, localtime, tasks, values
from app.views.rowaccess import MAX_ID, may_read, restricted_user_id

MAX_DAYS = 92
NO_BREAK = "\u00a0"


def _ints(name):
    return [int(v) for v in request.args.getlist(name) if v.isdigit()]


def _filter_index(view, column, kind):
    return next(i for i, f in enumerate(view._filters._all_filters[column])
                if type(f) is kind)


def _rows(managers, dates, grid, cell_url):
    """The grid's rows: a manager's name, then a cell a day with its count on
    a background that darkens with it, the whole cell a link (an empty day
    is where a new task goes). Drawn here, not by the template: a head's
    grid is every employee × every day (131 × 30 = 3 930 cells on the
    bench), and its Jinja loop took 40 of its 80 ms of processor."""
    top = max(grid.values(), default=0)
    rows = []
    for manager in managers:
        manager_id, cells = manager.id, []
        for day in dates:
            n = grid.get((manager_id, day), 0)
            shade = f"background-color: rgba(51,122,183,{0.15 + 0.85 * n / top:.2f})" if n else ""
            light = "color:#fff" if n and n / top > 0.5 else ""
            cells.append(f'<td class="text-center cell" data-count="{n}" style="{shade}">'
                         f'<a href="{escape(cell_url(manager_id, day))}" '
                         f'style="display:block;{light}">{n or NO_BREAK}</a></td>')
        rows.append(f'<tr><th style="white-space:nowrap">{escape(manager.full_name)}</th>'
                    f'{"".join(cells)}</tr>')
    return Markup("\n".join(rows))


class CalendarView(BaseView):
    route_base = "/calendar"
    default_view = "index"
    method_permission_name = {"index": "show"}

    @expose("/")
    @has_access
    def index(self):
        tz_name = current_app.config["APP_TIMEZONE"]
        today = localtime.today(tz_name)
        try:
            start = datetime.date.fromisoformat(request.args.get("start", ""))
        except ValueError:
            start = today
        days = min(max(request.args.get("days", type=int) or 30, 1), MAX_DAYS)
        all_access = self.appbuilder.sm.has_access(*ALL_CLIENTS)
        # Whose tasks to show side by side: everyone's, or the department
        # colleagues' (the set of the colleagues' assignment scope).
        managers = tasks.assignable(db.session, g.user.id, assignment.ANYONE if all_access
                                    else assignment.COLLEAGUES)
        everyone, chosen = managers, set(_ints("manager"))
        if chosen:
            managers = [m for m in managers if m.id in chosen]
        user_id = restricted_user_id()
        # A client the user may not see is not named, nor filtered by.
        client_id = request.args.get("client", type=int) or 0
        client = (db.session.get(Client, client_id)
                  if 0 < client_id <= MAX_ID and may_read(Client, client_id) else None)
        grid = calendar.counts(
            db.session, start=start, days=days, tz_name=tz_name,
            assignee_ids=[m.id for m in managers], status_ids=_ints("status"),
            type_ids=_ints("type"), client_id=client.id if client else None,
            row_filter=None if user_id is None else access.clause(Task, user_id))
        dates = [start + datetime.timedelta(days=i) for i in range(days)]
        return self.render_template(
            "sdelka/calendar.html", everyone=everyone, client=client, dates=dates,
            rows=_rows(managers, dates, grid, self._cell_url()), start=start, days=days,
            statuses=db.session.scalars(select(TaskStatus).order_by(TaskStatus.sort_order)),
            types=db.session.scalars(select(TaskType).order_by(TaskType.name)),
            chosen={"status": _ints("status"), "type": _ints("type"),
                    "manager": list(chosen)})

    def _cell_url(self):
        """Link of a cell: that manager's tasks of that day in the task list."""
        from app.views.tasks import TaskView

        view = next(v for v in self.appbuilder.baseviews if isinstance(v, TaskView))
        equal = _filter_index(view, "assignee", FilterRelationOneToManyEqual)
        after = _filter_index(view, "planned_at", FilterGreater)
        before = _filter_index(view, "planned_at", FilterSmaller)

        base = url_for("TaskView.list")
        # A head's grid is every employee × every day (131 × 30 = 3 930
        # cells on the bench): a link encoded whole for each cell was half of
        # the page's 130 ms of processor. The day's parts are encoded once a
        # day, the manager's id (a number) goes in as it is.
        days = {}

        def url(manager_id, day):
            parts = days.get(day)
            if parts is None:
                # The list reads a filter's time in the office's zone
                # (views/filters.py), as a person types it there.
                since = datetime.datetime.combine(day, datetime.time())
                until = since + datetime.timedelta(days=1)
                parts = days[day] = (
                    f"{base}?{urlencode({'day': day.isoformat()})}&manager=",
                    f"&_flt_{equal}_assignee=",
                    "&" + urlencode({f"_flt_{after}_planned_at": values.datetime_text(since),
                                     f"_flt_{before}_planned_at": values.datetime_text(until)}))
            head, middle, tail = parts
            return f"{head}{int(manager_id)}{middle}{int(manager_id)}{tail}"

        return url
