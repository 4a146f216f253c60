"""The timeline of the client, deal and lead pages with its quick note and
quick task boxes, and the rows of every register's «История» tab (fetched
when the tab is opened, views/related_tabs.py).

The record pages' templates ask for these through template globals
(``record_timeline``, ``quick_forms``), so a register's
view needs nothing of its own to show them.

A quick box posts to the register's own add route logic (``QuickAddMixin``
on NoteView and TaskView): the add form's fields, validation, the write rule
of services/records.py and the add permission are the normal form's. A
refused box shows the record page again with what was typed."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from markupsafe import Markup

from app import db
from app.labels import FIELDS
from app.models import Client, Employee, Lead
from app.services import history, timeline
from app.views.fields import datetime_text
from app.views.files import shown_name
from app.views.labels import history_row
from app.views.rowaccess import may_change, may_read, restricted_user_id

# The record page of each subject of a timeline.
PAGES = {"client": "ClientView", "deal": "DealView", "lead": "LeadView"}
# The list a kind of entry belongs to: a user sees the kinds whose list
# they may open (a record's changes are its page's own).
KIND_VIEWS = {"note": "NoteView", "task": "TaskView", "action": "CounterpartyActionView",
              "document": "DocumentView"}
QUICK_VIEWS = {"note": "NoteView", "task": "TaskView"}


def _has(permission, view_name):
    return current_app.appbuilder.sm.has_access(permission, view_name)


def _subject(subject, pk):
    """The subject's record if the user may read it, else None. Kept for
    the request: the session holds records weakly, so the page's second
    look-up (quick boxes, then entries) read the row again."""
    model = timeline.SUBJECTS.get(subject)
    if model is None or not 0 < int(pk) <= 2**31 - 1 or not may_read(model, int(pk)):
        return None
    kept = g.setdefault("timeline_subjects", {})
    if (model, int(pk)) not in kept:
        kept[(model, int(pk))] = db.session.get(model, int(pk))
    return kept[(model, int(pk))]


def _task_lines(task):
    lines = []
    if task.status is not None:
        lines.append(Markup('{}: <span class="label label-default" style="background:{};'
                            'color:#333">{}</span>').format(FIELDS["status"],
                                                             task.status.color or "#fff",
                                                             task.status.name))
    lines.append(f"{FIELDS['planned_at']}: {datetime_text(task.planned_at)}")
    if task.deadline:
        lines.append(f"{FIELDS['deadline']}: {datetime_text(task.deadline)}")
    if task.finished_at:
        lines.append(f"{FIELDS['finished_at']}: {datetime_text(task.finished_at)}")
    if task.assignee is not None:
        lines.append(f"{FIELDS['assignee']}: {task.assignee}")
    for name in ("description", "result"):
        if getattr(task, name):
            lines.append(f"{FIELDS[name]}: {getattr(task, name)}")
    return lines


def _action_lines(action):
    lines = []
    if action.contact is not None:
        lines.append(f"{FIELDS['contact']}: {action.contact.name}")
    if action.planned_at:
        lines.append(f"{FIELDS['planned_at']}: {datetime_text(action.planned_at)}")
    if action.done_at:
        lines.append(f"{FIELDS['done_at']}: {datetime_text(action.done_at)}")
    result = " — ".join(text for text in (
        action.action_result.name if action.action_result else "", action.result or "")
        if text)
    if result:
        lines.append(f"{FIELDS['result']}: {result}")
    return lines


def _change_lines(rows):
    lines = []
    for row in map(history_row, rows):
        if row.action == "update":
            lines.append(Markup("{}: {} → {}").format(
                row.field_label, row.old_text or "—", row.new_text or "—"))
        elif row.new_text or row.old_text:
            lines.append(row.new_text or row.old_text)
    return lines


def _shown(entry):
    """What the screen shows of a timeline entry."""
    record = entry.record
    item = {"kind": entry.kind, "at": datetime_text(entry.at), "lines": [], "link": None,
            "file": None, "who": ""}
    if entry.kind == "note":
        item.update(icon="fa-sticky-note-o", heading=gettext("A note"), who=record.author or "",
                    text=record.text, link=url_for("NoteView.show", pk=record.id))
        if record.file:
            name = shown_name(record.file)
            item["file"] = (url_for("NoteView.download", filename=record.file)
                            if _has("can_download", "NoteView") else None, name)
    elif entry.kind == "task":
        heading = gettext("Task No. %(id)s", id=record.id)
        if record.type is not None:
            heading += f" · {record.type.name}"
        item.update(icon="fa-check-square-o" if record.finished_at else "fa-clock-o",
                    heading=heading, who=record.assignee or "", lines=_task_lines(record),
                    link=url_for("TaskView.show", pk=record.id))
    elif entry.kind == "action":
        item.update(icon="fa-comments-o", heading=str(record.action_type or gettext("Action")),
                    who=record.responsible or "", lines=_action_lines(record),
                    link=url_for("CounterpartyActionView.show", pk=record.id))
    elif entry.kind == "document":
        item.update(icon="fa-file-pdf-o",
                    heading=gettext("Printed: %(template)s", template=record.template_name),
                    who=record.author or "",
                    file=(url_for("DocumentView.pdf", pk=record.id)
                          if _has("can_pdf", "DocumentView") else None, record.file_name))
    else:
        first = history_row(entry.changes[0])
        stage = first.entity == "deal" and any(row.field in ("stage", "status")
                                               for row in entry.changes)
        item.update(icon="fa-flag" if stage else "fa-pencil",
                    heading=gettext("Deal No. %(id)s: stage changed", id=first.entity_id)
                    if stage else first.what,
                    who=first.user or "", lines=_change_lines(entry.changes))
        item["kind"] = "stage" if stage else "change"
    return item


def record_timeline(subject, pk):
    """The timeline page the request asks for (``?older=`` a cursor), as the
    screen shows it, or None when the user may not read the subject."""
    if _subject(subject, pk) is None:
        return None
    kinds = ["change"] + [kind for kind, view in KIND_VIEWS.items() if _has("can_list", view)]
    found = timeline.page(db.session, subject, int(pk), restricted_user_id(),
                          older=request.args.get("older"), kinds=kinds,
                          size=timeline.PAGE_SIZE)
    args = {k: v for k, v in request.args.items() if k != "older"}
    return {
        "entries": [_shown(entry) for entry in found.entries],
        "older_url": url_for(f"{PAGES[subject]}.show", pk=pk, older=found.older, **args)
        + "#timeline" if found.older else None,
        "newest_url": url_for(f"{PAGES[subject]}.show", pk=pk, **args) + "#timeline"
        if request.args.get("older") else None,
    }


def _targets(subject, record):
    """(client id, deal id, lead id) a quick note or task of the subject goes
    to: a lead's goes to its client too, when it has one."""
    if subject == "deal":
        return record.client_id, record.id, None
    if subject == "lead":
        return record.client_id, None, record.id
    return record.id, None, None


def _may_add(subject, record, client_id):
    """May the user add the subject's notes and tasks: the client they go to
    is theirs to change, and a lead's the lead too (one without a client
    has them alone)."""
    if client_id is not None and not may_change(Client, client_id):
        return False
    if subject == "lead":
        return may_change(Lead, record.id)
    return client_id is not None


def _view(name):
    return next(v for v in current_app.appbuilder.baseviews if v.__class__.__name__ == name)


def quick_forms(subject, pk):
    """The quick boxes of a record page: {"note": form, "task": form, …} of
    the boxes the user may use (the add permission, and the client the
    records go to is theirs to change), with the posted form of a refused
    box as it was typed."""
    record = _subject(subject, pk)
    if record is None:
        return None
    client_id, deal_id, lead_id = _targets(subject, record)
    result = {"client_id": client_id, "deal_id": deal_id, "lead_id": lead_id,
              "subject": subject, "pk": pk}
    if not _may_add(subject, record, client_id):
        return result
    posted = g.get("quick_posted", {})
    for kind, view_name in QUICK_VIEWS.items():
        if not _has("can_add", view_name):
            continue
        form = posted.get(kind)
        if form is None:
            form = _view(view_name).add_form(formdata=None)
            if kind == "task":
                form.assignee.data = db.session.get(Employee, g.user.id)
        result[kind] = form
        result[kind + "_url"] = url_for(f"{view_name}.quick", subject=subject, pk=pk)
    return result


def history_of(record):
    """The «История» tab's rows of a register's record, newest first: a
    client's whole history (its records' changes too), another record's
    own changes. The caller has checked that the user may read it."""
    if isinstance(record, Client):
        entries = history.for_client(db.session, record.id)
    else:
        entries = history.for_record(db.session, history.TRACKED[type(record)], record.id)
    return [history_row(entry) for entry in entries]


class QuickAddMixin:
    """Mix into the ModelView of a register a quick box adds to (before the
    other mixins): ``/quick/<subject>/<pk>`` runs the view's own add logic on
    the posted box for a record page, then goes back to that page."""

    @expose("/quick/<subject>/<int:pk>", methods=["POST"])
    @has_access
    def quick(self, subject, pk):
        page = PAGES.get(subject)
        if page is None or pk > 2**31 - 1:
            abort(404)
        record = _subject(subject, pk)
        if record is None:
            abort(404)
        client_id, deal_id, lead_id = _targets(subject, record)
        if not _may_add(subject, record, client_id):
            abort(403)
        # The box names the record page's client (and deal or lead): another
        # one is not this page's box.
        if (request.form.get("client", type=int) != client_id
                or request.form.get("deal", type=int) != deal_id
                or request.form.get("lead", type=int) != lead_id):
            abort(400)
        widget = self._add()
        back = url_for(f"{page}.show", pk=pk)
        if g.pop("record_added", False):  # FAB's add flashed «Запись добавлена»
            return redirect(back + "#timeline")
        form = widget["add"].template_args["form"] if widget else None
        if form is not None and not g.pop("quick_refused", False):
            flash(gettext("Not saved: %(reason)s", reason="; ".join(
                f"{form[name].label.text}: {' '.join(str(m) for m in messages)}"
                for name, messages in form.errors.items() if name in form)
                or gettext("check the values")), "danger")
        g.quick_posted = {kind: form for kind, name in QUICK_VIEWS.items()
                          if name == self.__class__.__name__}
        return _view(page).show(pk)

    def pre_add(self, item):
        try:
            super().pre_add(item)
        except Exception:
            g.quick_refused = True  # flashed with its reason by FAB's add
            raise


def register(appbuilder):
    appbuilder.app.jinja_env.globals.update(
        record_timeline=record_timeline, quick_forms=quick_forms)
