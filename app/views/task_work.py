"""The "work on task" screen: one form to move a task on."""
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import Optional

from app import db
from app.models import Employee, Note, Task, TaskStatus, TaskType
from app.services import history, tasks
from app.services.errors import Refused
from app.services.localtime import to_local, to_utc
from app.views.fields import office_zone
from app.views.labels import history_row
from app.views.rowaccess import assign_scope, record_or_404


def _choice(model_id):
    return int(model_id) if model_id else None


class WorkForm(FlaskForm):
    status = SelectField(_l("Task status"), coerce=_choice)
    started_at = DateTimeLocalField(_l("Start"), [Optional()], format="%Y-%m-%dT%H:%M")
    finished_at = DateTimeLocalField(_l("End"), [Optional()], format="%Y-%m-%dT%H:%M")
    type = SelectField(_l("Action"), coerce=_choice)
    assignee = SelectField(_l("Assign to"), coerce=_choice)
    note = TextAreaField(_l("Note"))


class TaskWorkView(BaseView):
    route_base = "/tasks/work"
    default_view = "work"

    def _task(self, pk):
        return record_or_404(Task, pk, write=True)

    @expose("/<int:pk>", methods=["GET", "POST"])
    @has_access
    def work(self, pk):
        task = self._task(pk)
        statuses = db.session.scalars(select(TaskStatus).where(TaskStatus.is_active.is_(True))
                                      .order_by(TaskStatus.sort_order)).all()
        types = db.session.scalars(select(TaskType).where(TaskType.is_active.is_(True))
                                   .order_by(TaskType.sort_order, TaskType.name)).all()
        people = tasks.assignable(db.session, g.user.id, assign_scope())
        form = WorkForm(obj=None if request.method == "POST" else task, data=None)
        form.status.choices = [(s.id, s.name) for s in statuses]
        form.type.choices = [("", "—")] + [(t.id, t.name) for t in types]
        form.assignee.choices = [("", "—")] + [(p.id, p.full_name) for p in people]
        zone = office_zone()
        if request.method == "GET":
            form.started_at.data = to_local(task.started_at, zone)
            form.finished_at.data = to_local(task.finished_at, zone)
            form.status.data = task.status_id
            form.type.data = task.type_id
            form.assignee.data = task.assignee_id
            form.note.data = ""
        if form.validate_on_submit():
            try:
                tasks.process(
                    db.session, task,
                    status=db.session.get(TaskStatus, form.status.data)
                    if form.status.data else None,
                    type_=db.session.get(TaskType, form.type.data) if form.type.data else None,
                    assignee=db.session.get(Employee, form.assignee.data)
                    if form.assignee.data else None,
                    started_at=to_utc(form.started_at.data, zone),
                    finished_at=to_utc(form.finished_at.data, zone),
                    note=form.note.data, author_id=g.user.id, allowed_assignees=people)
            except Refused as exc:
                db.session.rollback()
                for field, message in exc.errors.items():
                    form[field].errors.append(str(message))
            else:
                db.session.commit()
                flash(gettext("Task saved"), "success")
                return redirect(url_for(".work", pk=pk))
        timeline = []
        if task.client_id:
            timeline = _timeline(task.client_id)
        return self.render_template(
            "sdelka/task_work.html", task=task, form=form, timeline=timeline,
            dated={s.id for s in statuses if s.takes_dates})


def _timeline(client_id):
    """The client's history and notes, newest first."""
    rows = [(e.at, e.user, f"{e.what} {e.field_label}: {e.old_text or ''} → "
             f"{e.new_text or ''}" if e.field else e.what)
            for e in map(history_row, history.for_client(db.session, client_id, limit=200))]
    notes = db.session.scalars(select(Note).where(Note.client_id == client_id)
                               .order_by(Note.created_at.desc()).limit(200)).all()
    rows += [(n.created_at, n.author, gettext("Note: %(text)s", text=n.text)) for n in notes]
    zone = office_zone()
    return [(to_local(at, zone), who, what)
            for at, who, what in sorted(rows, key=lambda row: row[0], reverse=True)]
