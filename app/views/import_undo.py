"""«Отменить импорт»: the confirmation screen (what goes, what was changed
since) and the undo itself (services/import_undo.py)."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.labels import FIELDS
from app.models import ImportJob, ImportUndo
from app.services import custom_fields, import_undo

# Where a record of a ledger table is shown.
SHOW = {"client": "ClientView.show", "application": "ApplicationView.show",
        "deal": "DealView.show", "lead": "LeadView.show", "task": "TaskView.show",
        "contact_person": "ContactPersonView.show", "project": "ProjectView.show"}


def _field_label(table, column):
    if table.startswith(import_undo.CUSTOM):
        definition = custom_fields.definition_by_code(
            db.session, table[len(import_undo.CUSTOM):], column)
        return custom_fields.label_of(definition) if definition else column
    return FIELDS.get(column) or FIELDS.get(column.removesuffix("_id")) or column


def _reason(conflict):
    if conflict.kind == "added":
        return _l("records were added to it since the import: %(what)s; it stays", what=", ".join(
            f"{import_undo.table_label(t)} ({n})" for t, n in sorted(conflict.detail.items())))
    if conflict.kind == "edited":
        return _l("edited after the import")
    return _l("«%(field)s» was changed after the import",
              field=_field_label(conflict.table, conflict.detail))


def _link(conflict):
    table = conflict.table.removeprefix(import_undo.CUSTOM)
    endpoint = SHOW.get(table)
    return url_for(endpoint, pk=conflict.record_id) if endpoint else None


class ImportUndoView(BaseView):
    route_base = "/import"
    # Whoever may import reaches the screen; the service lets only the
    # importer or an administrator undo.
    class_permission_name = "ImportView"
    method_permission_name = {"undo": "upload"}

    @expose("/job/<int:job_id>/undo", methods=["GET", "POST"])
    @has_access
    def undo(self, job_id):
        job = db.session.get(ImportJob, job_id)
        if job is None:
            abort(404)
        if not import_undo.may_change(job, g.user):
            abort(403)
        if not import_undo.undoable(job):
            flash(gettext("Only a finished import can be undone, once"), "warning")
            return redirect(url_for("ImportView.report", job_id=job.id))
        if request.method == "POST":
            entry = import_undo.undo(db.session, job, g.user.id,
                                     request.form.getlist("confirm"),
                                     bool(request.form.get("confirm_unlisted")))
            db.session.commit()
            flash(gettext("The import was undone: %(deleted)s records deleted, %(restored)s "
                          "fields restored, %(kept)s records kept",
                          deleted=entry.deleted, restored=entry.restored, kept=entry.kept),
                  "success")
            return redirect(url_for("ImportView.report", job_id=job.id))
        plan = import_undo.plan(db.session, job)
        rows = [{"key": c.key, "label": c.label, "number": c.record_id,
                 "table": import_undo.table_label(c.table), "reason": _reason(c),
                 "link": _link(c), "confirmable": c.confirmable} for c in plan.listed]
        created = [(import_undo.table_label(t), n) for t, n in plan.created.items() if n]
        return self.render_template("sdelka/import_undo.html", job=job, plan=plan, rows=rows,
                                    created=created)


def undo_state(job):
    """For the import's report: whether this user may undo it now, and the
    undo done (the journal's record of it), if any."""
    entry = db.session.scalar(select(ImportUndo).where(ImportUndo.job_id == job.id)
                              .order_by(ImportUndo.id.desc()).limit(1))
    return {"may": import_undo.undoable(job) and import_undo.may_change(job, g.user),
            "entry": entry}


def register(appbuilder):
    appbuilder.add_view_no_menu(ImportUndoView)
    appbuilder.app.jinja_env.globals["import_undo_state"] = undo_state
