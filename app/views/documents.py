"""Document templates and printing.

* «Шаблоны»: a generated screen of templates whose edit page has a live
  preview (rendered in the sandbox against sample data or a record the
  user may see) and the list of placeholders.
* «Документы»: printed PDFs, kept in the database; "Печать документа" on a
  client, application, deal, task or invoice opens the print page of that
  record, which offers the templates of its kind and the earlier prints.

Row-level access: a user prints and downloads only for records they may
see (services/access.py), the same rule as their lists.
"""
import io

from flask import abort, flash, g, jsonify, request, send_file, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import TextArea

from app import db
from app.labels import FIELDS
from app.models import DocumentTemplate, Employee, PrintedDocument, TemplateEntity
from app.services import company_images, documents, printing
from app.services.custom_fields import label_of
from app.services.errors import Refused
from app.views.fields import EnumFieldsMixin, datetime_text
from app.views.labels import enum_label
from app.views.refusal import KeepTypedMixin, refuse, translated
from app.views.rowaccess import MAX_ID, ROW_ACCESS, may_read, record_or_404

PREVIEW_CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
               'style-src \'unsafe-inline\'; img-src data:; font-src data:">'
               # Close to the PDF's look: a sans-serif face, A4 margins.
               '<style>body { font-family: Roboto, Arial, sans-serif; font-size: 11pt; '
               'margin: 1cm; } table { border-collapse: collapse; }</style>')


class CodeWidget(TextArea):
    """A tall monospace textarea for the template's HTML."""

    def __call__(self, field, **kwargs):
        kwargs.update({"class": "form-control", "rows": 24, "spellcheck": "false",
                       "style": "font-family: monospace; font-size: 12px;"})
        return super().__call__(field, **kwargs)


def _record(entity, record_id):
    """The record to print or preview, or None if absent or not visible."""
    if not 0 < record_id <= MAX_ID:
        return None
    model = documents.MODELS[entity]
    record = db.session.get(model, record_id)
    if record is None or not may_read(model, record_id):
        return None
    return record


def _entity(value):
    try:
        return TemplateEntity(value)
    except ValueError:
        abort(404)


def _me():
    return db.session.get(Employee, g.user.id)


def _issues(body, entity, *, refusing=False):
    """The findings of printing.check_template in the user's language. With
    ``refusing`` a syntax error or a name the sandbox forbids raises a
    ValidationError (the form shows it under the text and keeps what was
    typed); otherwise they are listed with the rest."""
    try:
        entity = TemplateEntity(getattr(entity, "value", entity) or TemplateEntity.CLIENT)
    except ValueError:
        entity = TemplateEntity.CLIENT
    context = documents.sample_context(db.session, entity, _me())
    try:
        issues = printing.check_template(body, context)
    except printing.TemplateError as exc:
        if refusing:
            raise _refusal(translated(exc)) from None
        return [translated(exc)]
    fatal = [translated(issue) for issue in issues if issue.fatal]
    if fatal and refusing:
        raise _refusal("; ".join(fatal))
    return [translated(issue) for issue in issues]


def _refusal(text):
    """FAB shows a field's error through Jinja's ``_()``, which %-formats the
    text even without parameters: "{% if %}" must reach it as "{%% if %%}"."""
    return ValidationError(text.replace("%", "%%"))


class TemplateCheck:
    """The template text's validator: a template that fails for every
    record is refused with its line (a syntax error, a name or attribute the
    sandbox forbids, too large a text); one that only prints blank somewhere
    (a mistyped placeholder, a record this kind has not) is saved, and the
    warnings are shown after saving (DocumentTemplateView._warn)."""

    def __call__(self, form, field):
        entity = form.entity.data if "entity" in form else None
        g.template_warnings = _issues(field.data or "", entity, refusing=True)


class DocumentTemplateView(KeepTypedMixin, EnumFieldsMixin, ModelView):
    route_base = "/templates"
    datamodel = SQLAInterface(DocumentTemplate)
    list_title = _l("Templates")
    show_title = _l("Template")
    add_title = _l("New template")
    edit_title = _l("Edit template")
    label_columns = FIELDS
    list_columns = ["name", "entity", "is_active", "updated_at"]
    add_columns = edit_columns = ["name", "entity", "is_active", "body"]
    show_columns = ["name", "entity", "is_active", "created_at", "updated_at"]
    search_columns = ["name", "entity", "is_active"]
    base_order = ("name", "asc")
    formatters_columns = {"entity": enum_label, "updated_at": datetime_text,
                          "created_at": datetime_text}
    add_form_extra_fields = edit_form_extra_fields = {
        "body": TextAreaField(FIELDS["body"], [DataRequired(), TemplateCheck()],
                              widget=CodeWidget()),
        "is_active": BooleanField(FIELDS["is_active"], default=True),
    }
    add_template = edit_template = "sdelka/template_edit.html"
    show_template = "sdelka/template_show.html"
    method_permission_name = {"preview": "edit"}

    def render_template(self, template, **kwargs):
        if template == self.add_template:
            # Translated here: Jinja's _() would %-format the text.
            custom = documents.custom_placeholders(db.session)
            kwargs["placeholders"] = [
                (gettext(group), [(code, gettext(meaning)) for code, meaning in items] +
                 [(code, label_of(d)) for code, d in custom.get(group, [])])
                for group, items in documents.PLACEHOLDERS]
        elif template == self.show_template:
            row = db.session.get(DocumentTemplate, int(kwargs["pk"]))
            kwargs["template_body"] = row.body if row is not None else ""
        return super().render_template(template, **kwargs)

    def post_add(self, item):
        self._warn()

    def post_update(self, item):
        self._warn()

    def _warn(self):
        """The warnings TemplateCheck found, once the template is saved."""
        for warning in g.pop("template_warnings", None) or ():
            flash(gettext("Check the template: %(warning)s", warning=warning), "warning")

    def pre_delete(self, item):
        if item.code:
            refuse(_l("A built-in template cannot be deleted; make it inactive instead"))

    @expose("/preview", methods=["POST"])
    @has_access
    def preview(self):
        """Render the posted template text: JSON with the HTML (shown in a
        sandboxed frame) or the error with its line; ``?format=pdf`` gives
        the PDF."""
        entity = _entity(request.form.get("entity") or "client")
        body = request.form.get("body", "")
        record_id = (request.form.get("record_id") or "").strip()
        me = _me()
        if record_id:
            record = _record(entity, int(record_id)) if record_id.isdigit() \
                and len(record_id) < 12 else None
            if record is None:
                return jsonify(error=gettext("No such record, or you may not see it"),
                               line=None)
            context = documents.build_context(db.session, entity, record, me,
                                              label=enum_label)
        else:
            context = documents.sample_context(db.session, entity, me)
        warnings = [] if request.form.get("format") == "pdf" else _issues(body, entity)
        try:
            html = printing.render_template_string(body, context)
            if request.form.get("format") == "pdf":
                pdf = printing.html_to_pdf(
                    html, images=company_images.pdf_images(context.get("company")),
                    page_css=documents.PAGE_CSS.get(entity))
                return send_file(_bytes(pdf), mimetype="application/pdf",
                                 download_name="preview.pdf")
        except (printing.TemplateError, printing.PdfError) as exc:
            if request.form.get("format") == "pdf":
                return translated(exc), 422, {"Content-Type": "text/plain; charset=utf-8"}
            return jsonify(error=translated(exc), line=getattr(exc, "line", None),
                           warnings=warnings)
        return jsonify(html=PREVIEW_CSP + html, error=None, line=None, warnings=warnings)


def _bytes(data):
    return io.BytesIO(data)


class DocumentView(ModelView):
    """Printed documents: the list, and printing and downloading."""

    route_base = "/documents"
    datamodel = SQLAInterface(PrintedDocument)
    base_permissions = ["can_list", "can_show", "can_print", "can_pdf"]
    base_filters = ROW_ACCESS
    list_title = _l("Printed documents")
    show_title = _l("Printed document")
    label_columns = dict(FIELDS, created_at=_l("Printed"), author=_l("Printed by"),
                         entity_id=_l("Record number"))
    list_columns = ["created_at", "file_name", "template_name", "entity", "client", "author"]
    show_columns = ["created_at", "file_name", "template_name", "entity", "entity_id",
                    "client", "author", "size"]
    search_columns = ["file_name", "template_name", "created_at"]
    order_columns = ["created_at", "file_name", "template_name"]
    base_order = ("created_at", "desc")
    formatters_columns = {"created_at": datetime_text, "entity": enum_label}
    show_template = "sdelka/document_show.html"
    method_permission_name = {"print_document": "print"}

    @expose("/print/<entity>/<int(max=2147483647):pk>", methods=["GET", "POST"])
    @has_access
    def print_document(self, entity, pk):
        entity = _entity(entity)
        record = _record(entity, pk)
        if record is None:
            abort(404)
        templates = documents.templates_for(db.session, entity)
        if request.method == "POST":
            chosen = request.form.get("template", type=int) or 0
            template = db.session.get(DocumentTemplate, chosen) if 0 < chosen <= MAX_ID \
                else None
            if template is None or not template.is_active or template.entity is not entity:
                flash(gettext("Choose a template"), "danger")
            else:
                try:
                    document = documents.print_document(db.session, template, record, _me(),
                                                        label=enum_label)
                except (printing.TemplateError, printing.PdfError, Refused) as exc:
                    db.session.rollback()
                    flash(gettext("The document was not printed: %(reason)s",
                                  reason=translated(exc)), "danger")
                else:
                    content = document.content
                    name = document.file_name
                    db.session.commit()
                    return _pdf(content, name)
        earlier = documents.documents_of(db.session, entity, pk)
        return self.render_template(
            "sdelka/print.html", entity=entity, entity_label=enum_label(entity),
            record=record, templates=templates, earlier=earlier,
            back=url_for(_SHOW[entity], pk=pk))

    @expose("/pdf/<int(max=2147483647):pk>")
    @has_access
    def pdf(self, pk):
        document = record_or_404(PrintedDocument, pk)
        return _pdf(document.content, document.file_name)


def _pdf(content, name):
    """A PDF download; Werkzeug adds the RFC 5987 ``filename*`` for a
    Cyrillic name and an ASCII fallback ``filename``."""
    response = send_file(_bytes(content), mimetype="application/pdf", as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


_SHOW = {TemplateEntity.CLIENT: "ClientView.show", TemplateEntity.APPLICATION:
         "ApplicationView.show", TemplateEntity.DEAL: "DealView.show",
         TemplateEntity.TASK: "TaskView.show", TemplateEntity.INVOICE: "InvoiceView.show",
         TemplateEntity.ACT: "ActView.show", TemplateEntity.UPD: "UpdView.show"}


def register(appbuilder):
    category = dict(category="Documents", category_label=_l("Documents"),
                    category_icon="fa-file-pdf-o")
    appbuilder.add_view(DocumentTemplateView, "Templates", label=_l("Templates"),
                        icon="fa-file-code-o", **category)
    appbuilder.add_view(DocumentView, "Printed documents", label=_l("Printed documents"),
                        icon="fa-file-pdf-o", **category)
