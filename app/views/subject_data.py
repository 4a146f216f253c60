"""«Данные субъекта»: everything stored about one person (a person client,
a contact person, a lead) as a PDF for the person and as a ZIP archive
(data.json and the files), for the administrator alone (``SubjectDataView``
is in security.ADMIN_ONLY; no REST resource). Each download is a row of
the personal data access log, written and committed before the file goes
out. The gathering is services/subject_data.py's."""
import io

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import db
from app.models import utcnow
from app.services import personal_data, printing, subject_data
from app.services.company import get_company
from app.services.localtime import today
from app.views.fields import datetime_text
from app.views.files import StoredFileManager, shown_name
from app.views.labels import history_row
from app.views.refusal import translated
from app.views.rowaccess import MAX_ID, may_read

SHOW = {"client": "ClientView.show", "contact": "ContactPersonView.show",
        "lead": "LeadView.show"}
ENTITY_OF_ENDPOINT = {endpoint: entity for entity, endpoint in SHOW.items()}
PERMISSION = ("can_download", "SubjectDataView")
ENTITY_LABELS = {"client": _l("Client"), "contact": _l("Contact person"), "lead": _l("Lead")}


def _history_words(entry):
    row = history_row(entry)
    return row.what, row.field_label, row.old_text, row.new_text


def _stored():
    manager = StoredFileManager()
    return subject_data.Stored(name=shown_name, path=manager.get_path)


def _record(entity, pk):
    """The person's record the admin asked for, else 404."""
    model = subject_data.ENTITIES.get(entity)
    if model is None or not 0 < pk <= MAX_ID or not may_read(model, pk):
        abort(404)
    record = subject_data.load(db.session, entity, pk)
    if record is None:
        abort(404)
    return record


def _file_name(subject, extension):
    day = today(current_app.config["APP_TIMEZONE"]).strftime("%d.%m.%Y")
    return f"{gettext('Subject data')} {subject.name} {day}.{extension}".replace("/", "-")


def _download(body, mimetype, name):
    response = send_file(body, mimetype=mimetype, as_attachment=True, download_name=name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


class SubjectDataView(BaseView):
    route_base = "/subject-data"
    default_view = "pdf"
    base_permissions = ["can_download"]
    method_permission_name = {"pdf": "download", "archive": "download"}

    def _gather(self, entity, pk):
        record = _record(entity, pk)
        return record, subject_data.gather(db.session, record, stored=_stored(),
                                           history_words=_history_words)

    def _logged(self, record):
        """The log's row, committed: no download goes out unlogged."""
        personal_data.subject_data_downloaded(db.session, record, g.user.id)
        db.session.commit()

    @expose("/<entity>/<int(max=2147483647):pk>/pdf")
    @has_access
    def pdf(self, entity, pk):
        record, subject = self._gather(entity, pk)
        tz_name = current_app.config["APP_TIMEZONE"]
        html = render_template(
            "print/subject_data.html", subject=subject,
            entity_label=ENTITY_LABELS[entity],
            record_lines=subject_data.record_lines(subject, tz_name),
            sections=subject_data.pdf_sections(subject, tz_name),
            company=get_company(db.session), printed_at=datetime_text(utcnow()),
            printed_by=g.user.get_full_name(), app_name=current_app.config.get("APP_NAME", ""))
        try:
            body = printing.html_to_pdf(html)
        except printing.PdfError as exc:
            db.session.rollback()
            flash(gettext("The subject's data could not be printed: %(error)s",
                          error=translated(exc)), "danger")
            return redirect(url_for(SHOW[entity], pk=pk))
        self._logged(record)
        return _download(io.BytesIO(body), "application/pdf", _file_name(subject, "pdf"))

    @expose("/<entity>/<int(max=2147483647):pk>/zip")
    @has_access
    def archive(self, entity, pk):
        record, subject = self._gather(entity, pk)
        body = subject_data.write_archive(db.session, subject)
        try:
            self._logged(record)
        except BaseException:
            body.close()
            raise
        return _download(body, "application/zip", _file_name(subject, "zip"))


def subject_data_links():
    """The record page's «Данные субъекта» links (PDF, archive), or None:
    only on a person's page and for whoever may download them."""
    entity = ENTITY_OF_ENDPOINT.get(request.endpoint or "")
    pk = str((request.view_args or {}).get("pk", ""))  # FAB's route gives text
    if entity is None or not pk.isdigit() or not 0 < int(pk) <= MAX_ID:
        return None
    pk = int(pk)
    if not current_app.appbuilder.sm.has_access(*PERMISSION):
        return None
    if subject_data.load(db.session, entity, pk) is None:
        return None
    return {"pdf": url_for("SubjectDataView.pdf", entity=entity, pk=pk),
            "zip": url_for("SubjectDataView.archive", entity=entity, pk=pk)}


def register(appbuilder):
    appbuilder.add_view_no_menu(SubjectDataView)
    appbuilder.app.jinja_env.globals.update(subject_data_links=subject_data_links)

