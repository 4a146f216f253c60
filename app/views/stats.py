"""Statistics screens: the dashboard, the sales funnel and the
monthly plans, each with CSV and PDF exports. The figures come from
app/services/stats.py; this module reads the form, links every figure to
the list that counts it and renders."""
import datetime
from decimal import Decimal
from urllib.parse import quote, urlencode

from flask import Response, current_app, flash, render_template, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterRelationOneToManyEqual
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import NumberRange

from app import db
from app.labels import FIELDS
from app.models import Department, Employee, SalesPlan
from app.services import charts, csv_io, localtime, printing, stats, values
from app.services.company import get_company
from app.services.errors import Refused
from app.views.datamodel import ListInterface
from app.views.fields import date_field, office_zone
from app.views.filters import FilterInDepartment, FilterInPeriod, FilterStatusKind
from app.views.labels import money
from app.views.refusal import KeepTypedMixin, refuse
from app.views.rowaccess import restricted_user_id

PERIOD_LABELS = (
    ("today", _l("Today")),
    ("week", _l("7 days")),
    ("month", _l("Month")),
    ("quarter", _l("Quarter")),
    ("custom", _l("From – to")),
)
STATUS_COLOURS = (("completed", "#5cb85c"), ("in_processing", "#337ab7"),
                  ("refused", "#d9534f"))


def _date_arg(name):
    try:
        return datetime.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def read_form():
    """Period and scope of the request. A Manager without access to all
    clients gets their own figures whatever the form says; a bad period
    falls back to the current month with a message."""
    today = localtime.today(office_zone())
    kind = request.args.get("period", "month")
    try:
        period = stats.make_period(kind, today, _date_arg("start"), _date_arg("end"))
    except Refused as exc:
        flash(str(exc), "warning")
        period = stats.make_period("month", today)
    own = restricted_user_id()
    try:
        if own is not None:
            scope = stats.make_scope(db.session, manager_id=own)
        else:
            scope = stats.make_scope(db.session,
                                     manager_id=request.args.get("manager", type=int),
                                     department_id=request.args.get("department", type=int))
    except Refused as exc:
        flash(str(exc), "warning")
        scope = stats.Scope()
    return period, scope, today


# (view class, column, filter class) -> list argument name. FAB builds a
# view's filters at start-up; looking them up per request would also read
# the custom fields that a view's filters include (a query per view).
_FILTER_ARGS = {}


def _filter_arg(view, column, kind):
    key = (type(view), column, kind)
    if key not in _FILTER_ARGS:
        index = next(i for i, f in enumerate(view._filters._all_filters[column])
                     if type(f) is kind)
        _FILTER_ARGS[key] = f"_flt_{index}_{column}"
    return _FILTER_ARGS[key]


class Links:
    """Addresses of the lists that count each figure: FAB list filters
    ``_flt_<index>_<column>=value`` with the same period and scope."""

    def __init__(self, appbuilder, period, scope):
        from app.views.applications import ApplicationView
        from app.views.clients import ClientView
        from app.views.deals import DealView
        from app.views.tasks import TaskView

        self.views = {cls: next(v for v in appbuilder.baseviews if isinstance(v, cls))
                      for cls in (ApplicationView, ClientView, DealView, TaskView)}
        self.period, self.scope = period, scope
        self.days = f"{period.start.isoformat()}..{period.end.isoformat()}"
        self.task, self.application = self.views[TaskView], self.views[ApplicationView]
        self.deal, self.client = self.views[DealView], self.views[ClientView]
        self._bases = {}  # a table has hundreds of links

    def _arg(self, view, column, kind, value):
        return _filter_arg(view, column, kind), value

    def _who(self, view, column, employee_id):
        if employee_id is not None:
            return [self._arg(view, column, FilterRelationOneToManyEqual, employee_id)]
        if self.scope.manager_id:
            return [self._arg(view, column, FilterRelationOneToManyEqual, self.scope.manager_id)]
        if self.scope.department_id:
            return [self._arg(view, column, FilterInDepartment, self.scope.department_id)]
        return []

    def _url(self, endpoint, args):
        if endpoint not in self._bases:
            self._bases[endpoint] = url_for(endpoint)
        return self._bases[endpoint] + "?" + urlencode(args)

    def tasks(self, employee_id=None, kind=None):
        view = self.task
        args = self._who(view, "assignee", employee_id)
        args.append(self._arg(view, "planned_at", FilterInPeriod, self.days))
        if kind:
            args.append(self._arg(view, "status", FilterStatusKind, kind))
        return self._url("TaskView.list", args)

    def applications(self, employee_id=None, status="completed", days=None):
        view = self.application
        args = self._who(view, "responsible", employee_id)
        args.append(self._arg(view, "date", FilterInPeriod, days or self.days))
        if status:
            args.append(self._arg(view, "status", FilterEqual, status))
        return self._url("ApplicationView.list", args)

    def won_deals(self, employee_id=None):
        view = self.deal
        args = self._who(view, "responsible", employee_id)
        args += [self._arg(view, "status", FilterEqual, "won"),
                 self._arg(view, "closed_at", FilterInPeriod, self.days)]
        return self._url("DealView.list", args)

    def stage_clients(self, stage_id):
        view = self.client
        args = self._who(view, "responsible", None)
        args.append(self._arg(view, "created_at", FilterInPeriod, self.days))
        args.append(self._arg(view, "funnel_stage", FilterRelationOneToManyEqual, stage_id))
        return self._url("ClientView.list", args)

    def stage_deals(self, stage_id):
        view = self.deal
        args = self._who(view, "responsible", None)
        args.append(self._arg(view, "created_at", FilterInPeriod, self.days))
        args.append(self._arg(view, "stage", FilterRelationOneToManyEqual, stage_id))
        return self._url("DealView.list", args)


def _scope_choices():
    if restricted_user_id() is not None:
        return [], []
    departments = db.session.scalars(select(Department).order_by(Department.name)).all()
    managers = db.session.scalars(select(Employee).where(Employee.active.is_(True))
                                  .order_by(Employee.last_name, Employee.first_name)).all()
    return departments, managers


def _form_args(period, scope):
    """The request's choices, to carry into sorting and export links."""
    args = {"period": period.kind}
    if period.kind == "custom":
        args.update(start=period.start.isoformat(), end=period.end.isoformat())
    if scope.manager_id and restricted_user_id() is None:
        args["manager"] = scope.manager_id
    if scope.department_id:
        args["department"] = scope.department_id
    return args


def scope_label(scope):
    if scope.manager_id:
        employee = db.session.get(Employee, scope.manager_id)
        return employee.full_name if employee else ""
    if scope.department_id:
        return str(db.session.get(Department, scope.department_id))
    return gettext("All employees")


def period_label(period):
    if period.start == period.end:
        return values.date_text(period.start)
    return f"{values.date_text(period.start)} – {values.date_text(period.end)}"


def _download(body, filename, mimetype):
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": "attachment; filename*=UTF-8''" + quote(filename)})


def _call_types():
    return [n.strip() for n in current_app.config["STATS_CALL_TASK_TYPES"].split(",")
            if n.strip()]


def pdf_cell(value):
    """A table cell of a PDF report: money with kopecks, percentages with
    one decimal, a dash for nothing."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return money(value) if value.as_tuple().exponent == -2 else \
            _percent(value).replace(" ", "\u00a0")  # "50,0 %" on one line
    return str(value)


def pdf_layout(table):
    """Column widths and font size of a PDF report table (report_table.html)
    for its texts as pdf_cell prints them."""
    header, rows = table
    return printing.table_layout(header, [[pdf_cell(v) for v in row] for row in rows])


def _percent(value):
    return "—" if value is None else f"{value}".replace(".", ",") + " %"


# --- Dashboard -------------------------------------------------------------------


def days_chart(days, links=None):
    labels = {"completed": gettext("Completed"), "in_processing": gettext("In processing"),
              "refused": gettext("Refused")}
    return charts.stacked_bars(
        [(labels[status], colour, [counts.get(status, 0) for _, counts in days])
         for status, colour in STATUS_COLOURS],
        [day.strftime("%d.%m") for day, _ in days], width=700, height=240, links=links,
        whole=True)


class StatsView(BaseView):
    route_base = "/stats"
    default_view = "index"
    # Seeing the dashboard and exporting it is one permission.
    method_permission_name = {"index": "show", "csv": "show", "pdf": "show"}

    def _collect(self):
        period, scope, today = read_form()
        sort = request.args.get("sort", "name")
        sort = sort if sort in stats.SORT_KEYS else "name"
        descending = request.args.get("desc") == "1"
        board = stats.dashboard(db.session, period, scope, office_zone(), sort, descending, today,
                                call_types=_call_types())
        return board, board.plans, sort, descending

    @expose("/")
    @has_access
    def index(self):
        board, plans, sort, descending = self._collect()
        links = Links(self.appbuilder, board.period, board.scope)
        day_links = [links.applications(status=None, days=day.isoformat())
                     for day, _ in board.days]
        departments, managers = _scope_choices()
        args = _form_args(board.period, board.scope)
        return self.render_template(
            "sdelka/stats.html", board=board, plans=plans, links=links,
            chart=days_chart(board.days, day_links), periods=PERIOD_LABELS,
            departments=departments, managers=managers, restricted=restricted_user_id(),
            args=args, sort=sort, descending=descending, money=money, percent=_percent,
            scope_label=scope_label(board.scope), period_label=period_label(board.period),
            plan_month=stats.month_start(board.period.end))

    @expose("/csv")
    @has_access
    def csv(self):
        board, plans, _, _ = self._collect()
        part = request.args.get("part", "employees")
        if part == "plans":
            header, rows = plan_table(plans)
        elif part == "days":
            header = [gettext("Date"), gettext("Completed"), gettext("In processing"),
                      gettext("Refused"), gettext("Total")]
            rows = [(day, c.get("completed", 0), c.get("in_processing", 0),
                     c.get("refused", 0), sum(c.values())) for day, c in board.days]
        else:
            header, rows = employee_table(board)
        body = csv_io.to_csv(header, rows, request.args.get("encoding", "utf-8"))
        name = {"plans": gettext("Plan vs fact"),
                "days": gettext("Applications per day")}.get(part, gettext("Statistics"))
        return _download(body, f"{name} {period_label(board.period)}.csv", "text/csv")

    @expose("/pdf")
    @has_access
    def pdf(self):
        board, plans, _, _ = self._collect()
        html = render_template(
            "sdelka/pdf/stats.html", board=board, plans=plans, company=get_company(db.session),
            employees=employee_table(board), plan_rows=plan_table(plans),
            chart_uri=charts.pdf_image_uri(days_chart(board.days), 700, 240),
            scope_label=scope_label(board.scope), period_label=period_label(board.period),
            plan_month=stats.month_start(board.period.end), money=money, cell=pdf_cell,
            layout=pdf_layout)
        return _download(printing.html_to_pdf(html),
                         f"{gettext('Statistics')} {period_label(board.period)}.pdf",
                         "application/pdf")


def employee_table(board):
    header = [gettext("Employee"), gettext("Tasks"), gettext("Done"),
              gettext("In processing"), gettext("Client refusals"), gettext("Junk"),
              gettext("Won deals, ₽"), gettext("Completed applications, ₽"),
              gettext("Profit, ₽")]
    rows = [(r.name, r.tasks.total, r.tasks.done, r.tasks.open, r.tasks.refused,
             r.tasks.junk, r.deals_sum, r.applications_sum, r.profit) for r in board.rows]
    t = board.totals
    rows.append((gettext("Total"), t.total, t.done, t.open, t.refused, t.junk,
                 sum((r.deals_sum for r in board.rows), stats.ZERO),
                 sum((r.applications_sum for r in board.rows), stats.ZERO), board.profit))
    return header, rows


def plan_table(plans):
    header = [gettext("Manager"), gettext("Deals: plan"), gettext("Deals: fact"), "%",
              gettext("Revenue: plan, ₽"), gettext("Revenue: fact, ₽"), "%",
              gettext("Calls: plan"), gettext("Calls: fact"), "%"]
    rows = [(r.name, r.plan.deals if r.plan else None, r.deals, r.deals_pct,
             r.plan.revenue if r.plan else None, r.revenue, r.revenue_pct,
             r.plan.calls if r.plan else None, r.calls, r.calls_pct) for r in plans]
    return header, rows


# --- Funnel ------------------------------------------------------------------------


def funnel_chart(report, links=None):
    return charts.funnel(
        [(s.name, s.clients_reached,
          f"{s.clients_reached}" + (f" ({_percent(s.clients_conversion)})"
                                    if s.clients_conversion is not None else ""))
         for s in report.stages], links=links)


def deals_chart(report):
    return charts.funnel(
        [(s.name, s.deals_reached, f"{s.deals_reached} · {money(s.deals_sum)} ₽")
         for s in report.stages])


def funnel_table(report):
    header = [gettext("Stage"), gettext("Probability") + ", %",
              gettext("Clients at the stage"), gettext("Clients reached"),
              gettext("Conversion of clients") + ", %",
              gettext("Deals at the stage"), gettext("Deals won"), gettext("Deals, ₽"),
              gettext("Deals reached"), gettext("Conversion of deals") + ", %"]
    rows = [(s.name, s.probability, s.clients, s.clients_reached, s.clients_conversion,
             s.deals, s.deals_won, s.deals_sum, s.deals_reached, s.deals_conversion)
            for s in report.stages]
    w = report.without_stage
    if w.clients or w.deals:
        rows.append((w.name, None, w.clients, None, None, w.deals, w.deals_won, w.deals_sum,
                     None, None))
    rows.append((gettext("Total"), None, report.clients, None, None, report.deals,
                 sum(s.deals_won for s in report.stages) + w.deals_won, report.deals_sum,
                 None, None))
    return header, rows


class FunnelView(BaseView):
    route_base = "/stats/funnel"
    default_view = "index"
    method_permission_name = {"index": "show", "csv": "show", "pdf": "show"}

    def _report(self):
        period, scope, _ = read_form()
        return stats.funnel(db.session, period, scope, office_zone())

    @expose("/")
    @has_access
    def index(self):
        report = self._report()
        links = Links(self.appbuilder, report.period, report.scope)
        departments, managers = _scope_choices()
        return self.render_template(
            "sdelka/funnel.html", report=report, links=links, periods=PERIOD_LABELS,
            chart=funnel_chart(report, [links.stage_clients(s.stage_id)
                                        for s in report.stages]),
            deals_chart=deals_chart(report),
            departments=departments, managers=managers, restricted=restricted_user_id(),
            args=_form_args(report.period, report.scope), money=money, percent=_percent,
            scope_label=scope_label(report.scope), period_label=period_label(report.period))

    @expose("/csv")
    @has_access
    def csv(self):
        report = self._report()
        header, rows = funnel_table(report)
        body = csv_io.to_csv(header, rows, request.args.get("encoding", "utf-8"))
        return _download(body, f"{gettext('Sales funnel')} {period_label(report.period)}.csv",
                         "text/csv")

    @expose("/pdf")
    @has_access
    def pdf(self):
        report = self._report()
        height = max(len(report.stages), 1) * 34 + 8
        html = render_template(
            "sdelka/pdf/funnel.html", report=report, company=get_company(db.session),
            table=funnel_table(report), scope_label=scope_label(report.scope),
            period_label=period_label(report.period),
            chart_uri=charts.pdf_image_uri(funnel_chart(report), 600, height),
            deals_uri=charts.pdf_image_uri(deals_chart(report), 600, height),
            chart_height=round(height * 400 / 600), cell=pdf_cell, layout=pdf_layout)
        return _download(printing.html_to_pdf(html),
                         f"{gettext('Sales funnel')} {period_label(report.period)}.pdf",
                         "application/pdf")


# --- Plans ---------------------------------------------------------------------------


class FilterOwnPlans(BaseFilter):
    """A Manager without access to all clients sees only their own plans."""

    name = _l("Visible to me")
    arg_name = "own_plans"

    def apply(self, query, value):
        user_id = restricted_user_id()
        return query if user_id is None else query.filter(SalesPlan.manager_id == user_id)


_month = values.month_text


class SalesPlanView(KeepTypedMixin, ModelView):
    route_base = "/plans"
    datamodel = ListInterface(SalesPlan)
    list_title = _l("Sales plans")
    add_title = _l("New monthly plan")
    edit_title = _l("Editing a monthly plan")
    show_title = _l("Monthly plan")
    label_columns = {**FIELDS, "manager": _l("Manager"), "month": _l("Month"),
                     "deals": _l("Deals"), "revenue": _l("Revenue, ₽"), "calls": _l("Calls"),
                     "comment": _l("Comment")}
    list_columns = ["month", "manager", "deals", "revenue", "calls"]
    add_columns = edit_columns = ["manager", "month", "deals", "revenue", "calls", "comment"]
    show_columns = add_columns
    search_columns = ["manager", "month"]
    order_columns = ["month", "deals", "revenue", "calls"]
    base_order = ("month", "desc")
    base_filters = [["id", FilterOwnPlans, None]]
    formatters_columns = {"month": _month, "revenue": money}
    description_columns = {"month": _l("Any day of the month: the plan is for the whole month")}
    validators_columns = {"deals": [NumberRange(min=0)], "revenue": [NumberRange(min=0)],
                          "calls": [NumberRange(min=0)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "month": date_field(_l("Month"), required=True,
                            description=_l("Any day of the month: the plan is for the "
                                           "whole month")),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "manager": [["active", FilterEqual, True]]}

    def _check(self, item):
        item.month = stats.month_start(item.month)
        with db.session.no_autoflush:  # the new plan must not be saved to look
            conflict = stats.plan_conflict(db.session, item)
        if conflict:
            refuse(_l("%(name)s already has a plan for %(month)s",
                      name=item.manager, month=values.month_text(item.month)))

    def pre_add(self, item):
        self._check(item)

    def pre_update(self, item):
        self._check(item)


def register(appbuilder):
    category = dict(category="Statistics", category_label=_l("Statistics"),
                    category_icon="fa-bar-chart")
    appbuilder.add_view(StatsView, "Dashboard", label=_l("Dashboard"),
                        icon="fa-tachometer", **category)
    appbuilder.add_view(FunnelView, "Sales funnel", label=_l("Sales funnel"),
                        icon="fa-filter", **category)
    appbuilder.add_view(SalesPlanView, "Sales plans", label=_l("Sales plans"),
                        icon="fa-bullseye", **category)

