"""Bulk actions on a register list: the selected rows (a list action) or
every row the list's filter shows go to one confirmation page that names
how many records change, then a service changes them. Only records the
user may change are touched; the result says how many changed and how
many were skipped.

Two families on the same mechanism, each with its permission:
- «Назначить сегмент рынка», «… тип рассылки» (``bulk_kinds``, the
  view's ``bulk`` permission, ``can_bulk_assign``);
- «Создать задачу», «Сменить ответственного», «Изменить поле» (every
  register, ``bulk_change``, the view's edit permission), through the one
  write rule of the forms (services/bulk.py)."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired

from app import db
from app.labels import FIELDS
from app.models import Client, Employee, InvoiceLine, MailingType, MarketSegment, TaskType, utcnow
from app.services import access, assignment, mailing
from app.services import bulk as bulk_service
from app.services.errors import Refused
from app.services.localtime import to_local, to_utc
from app.views.fields import QuickDeadlineWidget, local_datetime_field, office_zone
from app.views.rowaccess import assign_scope, restricted_user_id

KINDS = {
    "segment": (MarketSegment, _l("Assign a market segment"), _l("Market segment"),
                _l("Also hand each client to the segment's next manager")),
    "mailing": (MailingType, _l("Assign a mailing type"), _l("Mailing type"),
                _l("Take them off this mailing list instead")),
}
# kind: (title, the link's text for every filtered row, the list action's name, icon)
WORK = {
    "task": (_l("Create a task"), _l("Create a task for all filtered"), "bulk_task",
             "fa-tasks"),
    "responsible": (_l("Change the responsible"), _l("Change the responsible of all filtered"),
                    "bulk_responsible", "fa-user"),
    "field": (_l("Change a field"), _l("Change a field of all filtered"), "bulk_field",
              "fa-pencil"),
}
# The list actions and the page of WORK are changes of records: the edit permission.
WORK_PERMISSIONS = {"bulk_change": "edit", **{name: "edit" for _, _, name, _ in WORK.values()}}


class BulkForm(FlaskForm):
    target = SelectField(coerce=int)
    option = BooleanField()


def _planned_now():
    return to_local(utcnow(), office_zone()).replace(second=0, microsecond=0)


class TaskForm(FlaskForm):
    type = SelectField(_l("Task type"), [DataRequired()], coerce=int)
    description = TextAreaField(FIELDS["description"])
    planned_at = local_datetime_field(FIELDS["planned_at"], required=True,
                                      default=_planned_now)
    deadline = local_datetime_field(FIELDS["deadline"], widget=QuickDeadlineWidget())
    assignee = SelectField(FIELDS["assignee"], coerce=int)


class OwnerForm(FlaskForm):
    employee = SelectField(coerce=int)


class FieldForm(FlaskForm):
    value = SelectField(_l("New value"), coerce=int)


def _employees(scope):
    """Active employees the user may give records to, by name."""
    return [(row.id, row.full_name) for row in db.session.scalars(
        select(Employee).where(Employee.active.is_(True),
                               assignment.assignable(g.user.id, scope))
        .order_by(Employee.last_name, Employee.first_name, Employee.id))]


def _active(model):
    return [(row.id, row.name) for row in db.session.scalars(
        select(model).where(model.is_active.is_(True)).order_by(model.sort_order, model.name))]


def bulk_action(kind, name, text, endpoint=".bulk", icon="fa-tags"):
    """A list action that sends the selected rows to the bulk page."""

    @action(name, text, icon=icon, multiple=True, single=False)
    def handler(self, items):
        items = items if isinstance(items, list) else [items]
        ids = ",".join(str(item.id) for item in items if item is not None)
        return redirect(url_for(endpoint, kind=kind, ids=ids))

    handler.__name__ = name
    return handler


def _work_action(kind):
    title, _, name, icon = WORK[kind]
    return bulk_action(kind, name, title, ".bulk_change", icon)


class BulkAssignMixin:
    """``bulk_kinds``: which of KINDS the view offers; every register view
    offers the WORK kinds that suit its records (``work_kinds``)."""

    bulk_kinds = ()
    bulk_task = _work_action("task")
    bulk_responsible = _work_action("responsible")
    bulk_field = _work_action("field")

    def __init__(self, **kwargs):
        # An instance's own dict, the view's own names first.
        self.method_permission_name = {**WORK_PERMISSIONS,
                                       **(type(self).method_permission_name or {})}
        if not self.bulk_kinds:  # no route, and no permission for the role screen
            self.exclude_route_methods = set(self.exclude_route_methods) | {"bulk"}
        super().__init__(**kwargs)
        self.work_kinds = self._work_kinds()
        for kind, (_, _, name, _) in WORK.items():
            if kind not in self.work_kinds:
                self.actions.pop(name, None)

    def _work_kinds(self):
        model = self.datamodel.obj
        # An invoice's lines change with their invoice, on its page.
        if model is InvoiceLine or not (model is Client or hasattr(model, "client_id")):
            return ()
        kinds = ["task"]
        if bulk_service.owner_field(model):
            kinds.append("responsible")
        if self.dictionary_fields():
            kinds.append("field")
        return tuple(kinds)

    def dictionary_fields(self):
        """{name: dictionary model} the edit form changes."""
        return bulk_service.dictionary_fields(self.datamodel.obj, self.edit_columns or [])

    def _targets(self):
        """(ids the user may change, how many were asked for): the ids from
        ``?ids=`` or, with ``?all=1``, the rows of the list's filters the
        user sees; at most the services' limit + 1 ids."""
        model = self.datamodel.obj
        limit = assignment.BULK_LIMIT + 1
        query = select(model.id)
        if request.args.get("all"):
            get_filter_args(self._filters)
            filters = self._filters.get_joined_filters(self._base_filters)
            query = filters.apply_all(query)
            asked = db.session.scalar(select(func.count()).select_from(query.subquery()))
        else:
            ids = {int(v) for v in request.args.get("ids", "").split(",")
                   if v.strip().isdigit() and 0 < int(v) < 2 ** 31}
            query = query.where(model.id.in_(sorted(ids)[:limit]))
            asked = len(ids)
        user_id = restricted_user_id()
        if user_id is not None:
            query = query.where(access.clause(model, user_id, write=True, driving=True))
        ids = list(db.session.scalars(query.order_by(model.id).limit(limit)))
        return ids, asked

    def _target_ids(self):
        return self._targets()[0]

    def render_template(self, template, **kwargs):
        if template == self.list_template and self.work_kinds and \
                self.appbuilder.sm.has_access("can_edit", self.class_permission_name):
            query = request.query_string.decode()
            kwargs["bulk_links"] = list(kwargs.get("bulk_links") or []) + [
                (url_for(".bulk_change", kind=kind) + "?all=1" + ("&" + query if query else ""),
                 WORK[kind][1]) for kind in self.work_kinds]
        return super().render_template(template, **kwargs)

    @expose("/bulk/<kind>", methods=["GET", "POST"])
    @has_access
    def bulk(self, kind):
        if kind not in self.bulk_kinds:
            return redirect(url_for(".list"))
        model, title, label, option_label = KINDS[kind]
        form = BulkForm()
        form.target.label.text = label
        form.option.label.text = option_label
        form.target.choices = _active(model)
        ids = self._target_ids()
        too_many = len(ids) > assignment.BULK_LIMIT
        if request.method == "POST" and form.validate_on_submit():
            if not ids:
                flash(gettext("No records to change: none selected or none you may change"),
                      "warning")
                return redirect(url_for(".list"))
            target = db.session.get(model, form.target.data)
            # A commit per batch of 500: 10 000 changes take 9 s on SQLite,
            # all that time holding its only write lock, so every other
            # save waited (and past SQLITE_BUSY_TIMEOUT failed). Each batch
            # is whole; after a failure the batches before it stay done,
            # and doing it again changes only what is left (with
            # reassignment, the clients are handed out in turn again).
            try:
                if kind == "segment":
                    count = assignment.assign_segment(db.session, ids, target,
                                                      reassign=form.option.data,
                                                      each_batch=db.session.commit)
                else:
                    count = mailing.assign(db.session, self.datamodel.obj, ids, target,
                                           remove=form.option.data,
                                           each_batch=db.session.commit)
            except Refused as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            else:
                db.session.commit()
                flash(gettext("%(what)s «%(name)s»: %(count)s records changed",
                              what=label, name=target.name, count=count), "success")
                return redirect(url_for(".list"))
        return self.render_template(
            "sdelka/bulk_assign.html", form=form, title=title, count=len(ids),
            too_many=too_many, limit=assignment.BULK_LIMIT,
            filtered=bool(request.args.get("all")))

    @expose("/bulk_change/<kind>", methods=["GET", "POST"])
    @has_access
    def bulk_change(self, kind):
        """«Создать задачу», «Сменить ответственного», «Изменить поле»."""
        if kind not in self.work_kinds:
            abort(404)
        ids, asked = self._targets()
        scope = assign_scope()
        page = dict(kind=kind, title=WORK[kind][0], count=len(ids), asked=asked,
                    too_many=len(ids) > assignment.BULK_LIMIT, limit=assignment.BULK_LIMIT,
                    filtered=bool(request.args.get("all")), scope=scope,
                    back=url_for(".list"))
        if kind == "task":
            form = TaskForm()
            form.type.choices = _active(TaskType)
            form.assignee.choices = _employees(scope)
            if request.method == "GET":
                form.assignee.data = g.user.id
        elif kind == "responsible":
            form = OwnerForm()
            form.employee.label.text = FIELDS[bulk_service.owner_field(self.datamodel.obj)]
            form.employee.choices = _employees(scope)
        else:
            fields = self.dictionary_fields()
            name = request.args.get("field")
            page["fields"] = [(key, self.label_columns.get(key, FIELDS.get(key, key)))
                              for key in fields]
            page["field"] = name if name in fields else None
            page["hidden_args"] = [(key, value) for key, value in request.args.items(multi=True)
                                   if key != "field"]
            form = FieldForm()
            if page["field"] is None:
                return self.render_template("sdelka/bulk_change.html", form=None, **page)
            page["field_label"] = dict(page["fields"])[name]
            form.value.choices = _active(fields[name])
        if request.method == "POST" and form.validate_on_submit() and not page["too_many"]:
            if not ids:
                flash(gettext("No records to change: none selected or none you may change"),
                      "warning")
                return redirect(url_for(".list"))
            try:
                outcome = self._apply(kind, ids, form, scope, page.get("field"))
            except Refused as exc:
                db.session.rollback()
                for field, message in exc.errors.items():
                    if field in form:
                        form[field].errors.append(str(message))
                    else:
                        flash(str(message), "danger")
            else:
                db.session.commit()
                self._report(kind, outcome, asked - len(ids))
                return redirect(url_for(".list"))
        return self.render_template("sdelka/bulk_change.html", form=form, **page)

    def _apply(self, kind, ids, form, scope, field):
        """The service call of ``kind``; a commit per batch (as ``bulk``)."""
        model = self.datamodel.obj
        common = dict(actor_id=g.user.id, viewer_id=restricted_user_id(), assign=scope,
                      each_batch=db.session.commit)
        if kind == "task":
            zone = office_zone()
            return bulk_service.create_tasks(
                db.session, model, ids, type_=db.session.get(TaskType, form.type.data),
                description=(form.description.data or "").strip(),
                planned_at=to_utc(form.planned_at.data, zone),
                deadline=to_utc(form.deadline.data, zone) if form.deadline.data else None,
                assignee=db.session.get(Employee, form.assignee.data), **common)
        if kind == "responsible":
            return bulk_service.change_owner(
                db.session, model, ids, db.session.get(Employee, form.employee.data), **common)
        dictionary = self.dictionary_fields()[field]
        return bulk_service.change_field(db.session, model, ids, field,
                                         db.session.get(dictionary, form.value.data), **common)

    @staticmethod
    def _report(kind, outcome, hidden):
        """«Создано задач: N» / «Изменено записей: N», then what was skipped
        and why (``hidden``: asked for but not the user's to change)."""
        if kind == "task":
            flash(gettext("Tasks created: %(count)s", count=outcome.changed), "success")
        else:
            flash(gettext("Records changed: %(count)s", count=outcome.changed), "success")
        if hidden > 0:
            outcome.skip(gettext("you may not change the record"), hidden)
        if outcome.skipped:
            reasons = "; ".join(f"{reason} — {count}"
                                for reason, count in outcome.reasons.most_common())
            flash(gettext("Skipped: %(count)s (%(reasons)s)", count=outcome.skipped,
                          reasons=reasons), "warning")
