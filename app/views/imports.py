"""CSV import screens: upload, mapping of columns to fields, dry run and
real run, the report with its progress bar, the file of bad rows, the
template files, and the «Импорты» journal. The work is done by
app/services/imports.py, through the job life cycle of
app/services/import_jobs.py (in this request for a small file, in the
background for a large one)."""
import json
import os
import uuid

from flask import (
    Request,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.utils import secure_filename

from app import db
from app.models import Employee, ImportJob, dictionary_models
from app.security import ALL_CLIENTS
from app.services import csv_io, import_jobs, imports, imports_custom, records
from app.views.fields import datetime_text

STATUSES = {
    "uploaded": _l("Uploaded, columns not yet confirmed"),
    "queued": _l("Waiting for a worker"),
    "running": _l("Running"),
    "checked": _l("Dry run finished"),
    "done": _l("Imported"),
    "failed": _l("Not imported"),
    "undone": _l("Undone"),
}
# A running import whose worker stopped (import_jobs.stalled): to be queued again
# by the take-back, or failed.
INTERRUPTED = {"resume": _l("Interrupted, will be resumed"), "fail": _l("Interrupted")}
DUPLICATE_CHOICES = (("skip", _l("Skip the row")),
                     ("update", _l("Update the existing record")),
                     ("create", _l("Create a new record anyway")))
MODES = (("all", _l("All or nothing: import only if every row is correct")),
         ("good", _l("Import the correct rows; download the rest with the errors")))
# The choice for an unknown dictionary text that adds it to the dictionary.
NEW_VALUE = "new"
# Existing values of a dictionary offered for an unknown text.
MAX_VALUE_OPTIONS = 1000


def _sees_all():
    return current_app.appbuilder.sm.has_access(*ALL_CLIENTS)


def _may_import(key):
    sm = current_app.appbuilder.sm
    if key == imports.ALMA_KEY:
        return all(sm.has_access("can_add", v) for v in imports.ALMA_VIEWS)
    view = imports.ENTITY_VIEWS.get(key)
    return view is not None and sm.has_access("can_add", view)


def _job(job_id):
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    if job.user_id != g.user.id and not _sees_all():
        abort(403)
    return job


def _entity(key):
    """The entity of ``key`` with its custom fields as they are now."""
    return imports_custom.extend(db.session, imports.get_entity(key))


def _files_gone(job):
    """True, with a message, if the cleanup job (or a person's erasure,
    services/erasure.py) removed the import's file."""
    if job.files_removed_at is None:
        return False
    if json.loads(job.report or "{}").get("files_erased"):
        flash(gettext("The uploaded file was removed: it held the personal data of a person "
                      "whose data was erased"), "warning")
        return True
    flash(gettext("The uploaded file was removed after %(days)s days; upload it again",
                  days=current_app.config["IMPORT_KEEP_DAYS"]), "warning")
    return True


def _may_run(job):
    """False, with a message, for an import that has run or lost its file."""
    if job.status in ("queued", "running", "done"):
        flash(gettext("This import has already run"), "warning")
        return False
    return not _files_gone(job)


def _folder():
    folder = os.path.join(current_app.config["UPLOAD_FOLDER"], "imports")
    os.makedirs(folder, exist_ok=True)
    return folder


class ImportView(BaseView):
    route_base = "/import"
    default_view = "journal"
    method_permission_name = {name: "upload" for name in (
        "upload", "mapping", "run", "report", "status", "errors", "template", "journal")}

    @expose("/")
    @has_access
    def journal(self):
        return redirect(url_for("ImportJobView.list"))

    @expose("/<key>/", methods=["GET", "POST"])
    @has_access
    def upload(self, key):
        entity = imports.get_entity(key)
        if entity is None:
            abort(404)
        if not _may_import(key):
            abort(403)
        error = None
        if request.method == "POST":
            job, error = self._store(key)
            if job is not None:
                return redirect(url_for(".mapping", job_id=job.id))
        return self.render_template(
            "sdelka/import_upload.html", entity=entity, key=key, error=error,
            limit_mb=current_app.config["IMPORT_MAX_MB"],
            alma=key in imports.ALMA_TARGETS and _may_import(imports.ALMA_KEY),
            alma_header=";".join(imports.ALMA_HEADER))

    def _store(self, key):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return None, _l("Choose a CSV file")
        path = os.path.join(_folder(), f"{uuid.uuid4().hex}.csv")
        upload.save(path)
        try:
            encoding, delimiter = imports.sniff(path)
            header = imports.read_header(path, encoding, delimiter)
        except imports.FileProblem as exc:
            os.remove(path)
            return None, str(exc)
        if key in imports.ALMA_TARGETS and imports.is_alma_header(header) \
                and _may_import(imports.ALMA_KEY):
            key = imports.ALMA_KEY
        entity = _entity(key)
        job = ImportJob(
            user_id=g.user.id, entity=key, file_name=secure_filename(upload.filename) or
            "import.csv", stored_path=path, file_size=os.path.getsize(path),
            encoding=encoding, delimiter=delimiter, status="uploaded",
            total_rows=max(imports.count_rows(path) - 1, 0),
            options=json.dumps({"header": header,
                                "mapping": imports.auto_map(entity, header)},
                               ensure_ascii=False),
        )
        db.session.add(job)
        db.session.commit()
        return job, None

    @expose("/job/<int:job_id>/", methods=["GET", "POST"])
    @has_access
    def mapping(self, job_id):
        job = _job(job_id)
        if _files_gone(job):
            return redirect(url_for(".report", job_id=job.id))
        entity = _entity(job.entity)
        stored = json.loads(job.options or "{}")
        header = stored.get("header", [])
        errors = []
        if request.method == "POST":
            if not _may_run(job):
                return redirect(url_for(".report", job_id=job.id))
            choices = {f.name for f in entity.fields}
            mapping = []
            for index in range(len(header)):
                name = request.form.get(f"map_{index}") or None
                mapping.append(name if name in choices else None)
            taken = [n for n in mapping if n]
            if len(taken) != len(set(taken)):
                errors.append(_l("Each field may take only one column"))
            responsible, refused = _posted_responsible(job)
            if refused:
                errors.append(refused)
            value_map, counts, refusals = _posted_values(entity, stored, self._may_create(),
                                                         _report_of(job))
            errors += refusals
            stored.update(
                mapping=mapping,
                on_duplicate=_choice(request.form.get("on_duplicate"), DUPLICATE_CHOICES),
                mode=_choice(request.form.get("mode"), MODES),
                create_missing=bool(request.form.get("create_missing")),
                responsible_id=responsible, value_map=value_map, value_counts=counts,
            )
            if not errors:
                self._queue(job, stored, dry_run=request.form.get("action") != "run")
                return redirect(url_for(".report", job_id=job.id))
        samples = self._samples(job, len(header))
        return self.render_template(
            "sdelka/import_mapping.html", job=job, entity=entity, header=header,
            mapping=stored.get("mapping", []), samples=samples, errors=errors,
            options=stored, duplicate_choices=DUPLICATE_CHOICES, modes=MODES,
            may_create=bool(self._may_create()), status_label=_status_label(job),
            responsibles=_responsible_choices(entity),
            responsible_id=stored.get("responsible_id") or job.user_id,
            value_choices=_value_choices(entity, stored, self._may_create(), _report_of(job)))

    @expose("/job/<int:job_id>/run", methods=["POST"])
    @has_access
    def run(self, job_id):
        """After a dry run: the real run with the same choices."""
        job = _job(job_id)
        if _may_run(job):
            self._queue(job, json.loads(job.options or "{}"), dry_run=False)
        return redirect(url_for(".report", job_id=job.id))

    def _may_create(self):
        sm = current_app.appbuilder.sm
        return [m.__name__ for m in dictionary_models()
                if sm.has_access("can_add", f"{m.__name__}View")]

    def _queue(self, job, stored, dry_run):
        stored.update(restricted=not _sees_all(), may_create=self._may_create(),
                      timezone=current_app.config["APP_TIMEZONE"],
                      error_label=gettext("Error"))
        if stored["restricted"]:  # their rows are their own (services/imports)
            stored["responsible_id"] = None
        job.options = json.dumps(stored, ensure_ascii=False)
        job.dry_run = dry_run
        job.status = "queued"
        job.rows_done = job.created = job.updated = job.skipped = job.error_count = 0
        job.report = job.error_file = job.worker = None
        job.started_at = job.finished_at = None
        job.attempts = 0
        db.session.commit()
        app = current_app._get_current_object()
        if job.file_size > current_app.config["IMPORT_BACKGROUND_BYTES"]:
            if current_app.config["IMPORT_THREAD"]:
                import_jobs.start_background(app, job.id)
        else:
            db.session.close()  # SQLite: no open read while the import writes
            import_jobs.run_now(app, job.id)

    def _samples(self, job, width, count=3):
        out = []
        try:
            for _, cells in import_jobs.data_rows(job.stored_path, job.encoding, job.delimiter):
                if any(c.strip() for c in cells):
                    out.append([c[:60] for c in cells[:width]])
                if len(out) >= count:
                    break
        except (imports.FileProblem, OSError):
            pass
        return out

    @expose("/job/<int:job_id>/report")
    @has_access
    def report(self, job_id):
        job = _job(job_id)
        report = json.loads(job.report) if job.report else None
        return self.render_template(
            "sdelka/import_report.html", job=job, report=report,
            entity=imports.get_entity(job.entity), status_label=_status_label(job),
            progress=self._progress(job), removed_on=datetime_text(job.files_removed_at)[:10],
            keep_days=current_app.config["IMPORT_KEEP_DAYS"],
            attempts=import_jobs.attempts_of(db.session, job, current_app.config))

    def _progress(self, job):
        stall = import_jobs.stalled(job, current_app.config)
        data = {"status": job.status, "status_label": str(_status_label(job, stall)),
                "stalled": stall,
                "total": job.total_rows, "rows_done": job.rows_done,
                "errors": job.error_count, "created": job.created, "updated": job.updated,
                "skipped": job.skipped,
                "finished": job.status not in ("queued", "running")}
        if job.status == "running":
            data.update(import_jobs.read_progress(job) or {})
        data["percent"] = (100 if data["finished"] else
                           min(99, int(100 * data["rows_done"] / max(data["total"], 1))))
        return data

    @expose("/job/<int:job_id>/status")
    @has_access
    def status(self, job_id):
        return jsonify(self._progress(_job(job_id)))

    @expose("/job/<int:job_id>/errors.csv")
    @has_access
    def errors(self, job_id):
        job = _job(job_id)
        if not job.error_file or not os.path.exists(job.error_file):
            abort(404)
        base = os.path.splitext(job.file_name)[0]
        return send_file(job.error_file, mimetype="text/csv", as_attachment=True,
                         download_name=f"{base}-errors.csv")

    @expose("/template/<key>.csv")
    @has_access
    def template(self, key):
        entity = _entity(key)
        if entity is None:
            abort(404)
        header = imports.template_header(entity, render=str)
        rows = []
        encoding = "utf-8"
        if entity.alma:
            encoding = "cp1251"  # the format as AlmaCRM writes it
            rows = [["15.01.2026", "Иванов", "Иван", "Иванович", "Московская область",
                     "Подольск", "150 000,00", "+7 916 123-45-67", "02.03.1985",
                     "В обработке", "Перезвонить после 18:00"]]
        body = csv_io.to_csv(header, rows, encoding)
        response = current_app.response_class(body, mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{key}-template.csv"'
        return response


def _choice(value, choices):
    allowed = [c for c, _ in choices]
    return value if value in allowed else allowed[0]


def _report_of(job):
    return json.loads(job.report) if job.report else {}


def _owns(entity):
    """True if the entity's records have a responsible employee."""
    return entity.alma or hasattr(entity.model, "responsible_id")


def _responsible_choices(entity):
    """(id, name) of the employees new records may be given to."""
    return _employees() if _owns(entity) else []


def _employees():
    """(id, name) of the employees a user may give records to: every active
    one for a user who sees all clients, else the user alone."""
    if not _sees_all():
        return [(g.user.id, g.user.full_name or g.user.username)]
    people = db.session.scalars(select(Employee).where(Employee.active.is_(True))
                                .order_by(Employee.last_name, Employee.first_name, Employee.id))
    return [(e.id, e.full_name or e.username) for e in people]


def _posted_responsible(job):
    """(the chosen responsible's id or None for the importer, a refusal or
    None). Checked here, whatever the form offered: a user who does not see
    all clients gives new records only to themselves."""
    text = (request.form.get("responsible") or "").strip()
    if not text:
        return None, None
    if not text.isdigit():
        return None, _l("Choose the responsible from the list")
    chosen = int(text)
    if chosen == job.user_id:
        return None, None
    if not _sees_all():
        return None, records.ONLY_YOURSELF
    active = db.session.scalar(select(Employee.id).where(Employee.id == chosen,
                                                         Employee.active.is_(True)))
    if active is None:
        return None, _l("Choose the responsible from the list")
    return chosen, None


def _choice_fields(entity):
    """Fields whose unknown texts get a choice: enums, dictionaries,
    employees, and custom fields of choices or of a dictionary."""
    return {f.name: f for f in entity.fields if f.kind in ("enum", "dict", "employee") or (
        f.kind == imports_custom.KIND and entity.custom.chooses(f.name))}


def _closed(spec):
    """True for a field whose unknown texts may only mean an existing
    value: an employee, or a custom field's choice, is the admin's to add."""
    return spec.kind in ("employee", imports_custom.KIND)


def _listed_values(entity, stored, report):
    """{field name: {text: rows}} the mapping screen lists: the unknown
    texts of the last run, and those already given a meaning (which the
    run no longer finds unknown; their rows as counted when they were)."""
    fields = _choice_fields(entity)
    counted = stored.get("value_counts") or {}
    listed = {}
    for name, texts in (report.get("unknown") or {}).items():
        if name in fields:
            listed[name] = dict(texts)
    for name, texts in (stored.get("value_map") or {}).items():
        if name in fields:
            for text in texts:
                listed.setdefault(name, {}).setdefault(text, counted.get(name, {}).get(text))
    return listed


def _value_options(entity, spec, may_create):
    """(value, label) of what an unknown text of ``spec`` may mean."""
    if spec.kind == "employee":
        return [(str(e_id), name) for e_id, name in _employees()]
    if spec.kind == imports_custom.KIND:
        return entity.custom.options(spec.name, MAX_VALUE_OPTIONS)
    if spec.kind == "enum":
        labels = spec.enum_labels or {}
        return [(m.name, str(labels.get(m, m.value))) for m in spec.enum]
    target = spec.target
    options = []
    if target.__name__ in may_create:
        options.append((NEW_VALUE, gettext("Create a new value")))
    for row_id, name in db.session.execute(
            select(target.id, target.name).where(target.is_active.is_(True))
            .order_by(target.sort_order, target.name).limit(MAX_VALUE_OPTIONS)):
        options.append((str(row_id), name))
    return options


def _value_choices(entity, stored, may_create, report):
    """What the mapping screen shows of the unknown texts: per field its
    label, the options and each text with its rows and current choice."""
    fields = _choice_fields(entity)
    chosen = stored.get("value_map") or {}
    out = []
    for name, texts in _listed_values(entity, stored, report).items():
        spec = fields[name]
        mine = chosen.get(name, {})
        options = _value_options(entity, spec, may_create)
        suggested = _suggested(spec, texts, options)
        out.append({"name": name, "label": spec.label, "options": options,
                    "closed": _closed(spec),
                    "cut": name in (report.get("unknown_cut") or []),
                    "texts": [(text, rows, str(mine.get(text, suggested.get(text, ""))))
                               for text, rows in sorted(texts.items(),
                                                        key=lambda t: (-(t[1] or 0), t[0]))]})
    return out


def _suggested(spec, texts, options):
    """{text: option} of the listed texts a dictionary value answers to now,
    by its name or a synonym: the admin may have added one since the check
    found the text unknown."""
    if spec.kind != "dict":
        return {}
    keys = imports.dictionary_keys(db.session, spec.target)
    offered = {value for value, _ in options}
    found = {text: str(keys.get(imports.dictionary_key(text))) for text in texts}
    return {text: value for text, value in found.items() if value in offered}


def _posted_values(entity, stored, may_create, report):
    """(value_map, value_counts, refusals) from the form: the choice made
    for each listed text, kept only if it is one of that field's options now
    (a text the form did not carry keeps its earlier choice). An employee
    the user may not give records to is refused, whatever the form offered."""
    fields = _choice_fields(entity)
    posted = {}
    for key, text in request.form.items():
        if key.startswith("value-text-"):
            name, _, number = key[len("value-text-"):].rpartition("-")
            posted.setdefault(name, {})[text] = request.form.get(f"value-{name}-{number}", "")
    earlier = stored.get("value_map") or {}
    value_map, counts, refusals = {}, {}, []
    for name, texts in _listed_values(entity, stored, report).items():
        allowed = None
        for text, rows in texts.items():
            counts.setdefault(name, {})[text] = rows
            choice = posted.get(name, {}).get(text)
            was_posted = choice is not None
            if choice is None:
                choice = earlier.get(name, {}).get(text)
            choice = str(choice or "")
            if not choice:
                continue
            if allowed is None:
                allowed = {value for value, _ in _value_options(entity, fields[name],
                                                                may_create)}
            if choice in allowed:
                value_map.setdefault(name, {})[text] = (
                    int(choice) if choice.isdigit() else choice)
            elif was_posted and fields[name].kind == "employee" and not _sees_all() \
                    and records.ONLY_YOURSELF not in refusals:
                refusals.append(records.ONLY_YOURSELF)
    return value_map, counts, refusals


class FilterOwnImports(BaseFilter):
    name = _l("My imports")
    arg_name = "own"

    def apply(self, query, value):
        if _sees_all():
            return query
        user = getattr(g, "user", None)
        return query.filter(ImportJob.user_id == (user.id if user else -1))


def _entity_label(key):
    entity = imports.get_entity(key)
    return entity.label if entity is not None else key


def _status_label(job, stall=None):
    """The status of an import as the journal and its report say it."""
    stall = stall or import_jobs.stalled(job, current_app.config)
    return INTERRUPTED[stall] if stall else STATUSES.get(job.status, job.status)


class JournalInterface(SQLAInterface):
    """The journal's «Status» is told from the whole entry (``_status_label``
    needs more than the stored word): its formatter gets the job."""

    def _get_attr_value(self, item, col):
        if col == "status" and isinstance(item, ImportJob):
            return item
        return SQLAInterface._get_attr_value(item, col)


class ImportJobView(ModelView):
    """The «Импорты» journal: who imported which file when, with what result."""

    route_base = "/imports"
    datamodel = JournalInterface(ImportJob)
    base_permissions = ["can_list", "can_show"]
    base_filters = [["id", FilterOwnImports, True]]
    base_order = ("id", "desc")
    list_title = _l("Imports")
    show_title = _l("Import")
    list_columns = ["created_at", "user", "entity", "file_name", "status", "total_rows",
                    "created", "updated", "skipped", "error_count", "files_removed_at"]
    show_columns = list_columns + ["finished_at", "worker"]
    search_columns = ["created_at", "status", "file_name"]
    label_columns = {
        "created_at": _l("Uploaded"), "user": _l("Employee"), "entity": _l("Into"),
        "file_name": _l("File"), "status": _l("Status"),
        "total_rows": _l("Rows"), "created": _l("Created"), "updated": _l("Updated"),
        "skipped": _l("Skipped"), "error_count": _l("Rows with errors"),
        "finished_at": _l("Finished"), "worker": _l("Worker"),
        "files_removed_at": _l("Files removed"),
    }
    formatters_columns = {
        "entity": _entity_label, "status": _status_label,
        "created_at": datetime_text, "finished_at": datetime_text,
        "files_removed_at": datetime_text,
    }


    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """A journal entry opens its report."""
        try:
            return redirect(url_for("ImportView.report", job_id=int(pk)))
        except ValueError:
            abort(404)


class ImportRequest(Request):
    """Uploads to the import screens may be larger (IMPORT_MAX_MB) than
    other uploads (MAX_UPLOAD_MB); the limit is known before the CSRF check
    reads the form."""

    @property
    def max_content_length(self):
        if self.path.startswith("/import/") and current_app:
            return current_app.config["IMPORT_MAX_MB"] * 1024 * 1024
        return Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value):
        Request.max_content_length.fset(self, value)


def register(appbuilder):
    current_app.request_class = ImportRequest
    appbuilder.add_view(ImportJobView, "Imports", label=_l("Imports"), icon="fa-upload")
    appbuilder.add_view_no_menu(ImportView)
