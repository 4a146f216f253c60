"""Web-to-lead forms: the admin's settings screen (with the HTML snippet to
paste on a site) and the public endpoint the snippet posts to.

The endpoint is the app's only route without sign-in and without CSRF: it
is guarded instead by a per-address rate limit (Flask-Limiter, shared with
the login limit), a honeypot field, size limits, CORS limited to the
form's sites, and the switches of the form and of WEBFORMS_ENABLED."""
import logging

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from app import csrf, db
from app.labels import FIELDS
from app.models import WebForm
from app.services import webforms
from app.services.errors import Refused
from app.views.fields import EnumFieldsMixin
from app.views.labels import enum_label
from app.views.refusal import KeepTypedMixin, refuse_on

log = logging.getLogger(__name__)

LABELS = dict(
    FIELDS,
    name=_l("Name"),
    key=_l("Key in the address"),
    is_enabled=_l("Accepts submissions"),
    heading=_l("Heading on the site"),
    field_name=_l("Field «Name»"),
    field_phone=_l("Field «Phone»"),
    field_email=_l("Field «Email»"),
    field_company=_l("Field «Company»"),
    field_inn=_l("Field «INN»"),
    field_message=_l("Field «Message»"),
    allowed_origins=_l("Sites allowed to post the form"),
    segment=_l("Market segment"),
    default_manager=_l("Default manager"),
    origin=_l("Source"),
    success_message=_l("Message after sending"),
    consent_required=_l("Require consent to personal data processing"),
    consent_text=_l("Text of the consent"),
)
FIELD_COLUMNS = ["field_name", "field_phone", "field_email", "field_company", "field_inn",
                 "field_message"]


class WebFormView(KeepTypedMixin, EnumFieldsMixin, ModelView):
    """Settings of the site forms (admin only, app/security.py)."""

    route_base = "/web-forms"
    datamodel = SQLAInterface(WebForm)
    list_title = _l("Web forms")
    show_title = _l("Web form")
    add_title = _l("New web form")
    edit_title = _l("Edit web form")
    label_columns = LABELS
    list_columns = ["name", "is_enabled", "segment", "default_manager", "origin"]
    add_columns = edit_columns = ["name", "is_enabled", "heading", *FIELD_COLUMNS,
                                  "allowed_origins", "segment", "default_manager", "origin",
                                  "success_message", "consent_required", "consent_text"]
    show_columns = ["name", "key", *add_columns[1:], "created_at"]
    search_columns = ["name", "is_enabled"]
    show_template = "sdelka/web_form_show.html"
    formatters_columns = {c: enum_label for c in FIELD_COLUMNS}
    description_columns = {
        "allowed_origins": _l("One address a line, e.g. https://example.ru; pages of other "
                              "sites cannot post the form"),
        "segment": _l("Leads go round-robin to this segment's managers (a known client's "
                      "segment wins)"),
        "default_manager": _l("Gets the leads when the segment has no managers"),
        "is_enabled": _l("Untick to stop accepting submissions"),
        "consent_required": _l("The visitor must tick a box agreeing to the text below; the "
                               "lead keeps the consent"),
        "consent_text": _l("What the visitor consents to, e.g. «I agree to the processing of "
                           "my personal data for an answer to my request»"),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "default_manager": [["active", FilterEqual, True]],
    }

    def pre_add(self, item):
        item.key = webforms.new_key()
        if item.origin is None:
            item.origin = webforms.default_origin(db.session)
        self._check(item)

    def pre_update(self, item):
        self._check(item)

    def _check(self, item):
        refuse_on(webforms.check_settings, item)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            form = db.session.get(WebForm, int(kwargs["pk"]))
            action = url_for("webform.submit", key=form.key, _external=True)
            kwargs["snippet"] = webforms.snippet(form, action)
            kwargs["action_url"] = action
        return super().render_template(template, **kwargs)


# --- the public endpoint ------------------------------------------------------


def _wants_json():
    return request.is_json or request.accept_mimetypes.best == "application/json" or \
        "application/json" in (request.headers.get("Accept") or "")


def _answer(status, *, message=None, errors=None, form=None):
    """JSON for scripts, a minimal page for a form posted without one."""
    body = {"ok": 200 <= status < 300}
    if message:
        body["message"] = message
    if errors:
        body["errors"] = errors
    if _wants_json():
        response = jsonify(body)
    else:
        lines = [message] if message else []
        for name, texts in (errors or {}).items():
            label = webforms.FIELDS.get(name, (None, None, None, ""))[3] \
                if name != webforms.CONSENT else ""
            lines.append(f"{label}: {' '.join(texts)}" if label else " ".join(texts))
        html = "".join(f"<p>{escape(line)}</p>" for line in lines)
        response = Response(f'<!doctype html><meta charset="utf-8">{html}',
                            mimetype="text/html")
    response.status_code = status
    return _cors(response, form)


def _cors(response, form):
    origin = request.headers.get("Origin")
    if form is not None and origin and webforms.origin_allowed(form, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    return response


def _form_or_none(key):
    if not current_app.config["WEBFORMS_ENABLED"] or len(key) > 64:
        return None
    return db.session.scalars(select(WebForm).where(WebForm.key == key)).first()


def _payload():
    """The submission as a dict of strings, or None if it is unreadable."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None
    return {k: v for k, v in request.form.items()}


def preflight(key):
    form = _form_or_none(key)
    origin = request.headers.get("Origin")
    if form is None or not form.is_enabled or not origin or \
            not webforms.origin_allowed(form, origin):
        return _cors(Response(status=403), None)
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response.headers["Access-Control-Max-Age"] = "600"
    return _cors(response, form)


def submit(key):
    if request.method == "OPTIONS":
        return preflight(key)
    form = _form_or_none(key)
    if form is None:
        return _answer(404, errors={"_form": [gettext("No such form")]})
    if not form.is_enabled:
        return _answer(403, form=form, errors={"_form": [gettext(
            "The form does not accept submissions now")]})
    if not webforms.origin_allowed(form, request.headers.get("Origin")):
        log.warning("Web form %s posted from a site not allowed: %s", form.id,
                    request.headers.get("Origin"))
        return _answer(403, errors={"_form": [gettext(
            "This site may not send the form")]})
    length = request.content_length
    if length is None:
        return _answer(411, form=form, errors={"_form": [gettext(
            "The request has no length")]})
    if length > current_app.config["WEBFORM_MAX_BYTES"]:
        return _answer(413, form=form, errors={"_form": [gettext(
            "The form is too large")]})
    data = _payload()
    if data is None:
        return _answer(400, form=form, errors={"_form": [gettext(
            "Send the form as JSON or as an HTML form")]})
    thanks = form.success_message or gettext("Thank you! We will contact you soon.")
    if str(data.get(webforms.HONEYPOT) or "").strip():
        # A bot: it is told all went well and nothing is created.
        log.warning("Web form %s: honeypot filled, submission dropped", form.id)
        return _answer(201, form=form, message=thanks)
    try:
        lead = webforms.submit(db.session, form, data)
    except Refused as exc:
        db.session.rollback()
        return _answer(422, form=form, errors={field: [str(message)]
                                               for field, message in exc.errors.items()})
    db.session.commit()
    log.info("Web form %s created lead %s", form.id, lead.id)
    return _answer(201, form=form, message=thanks)


def too_many(error):
    form = _form_or_none(request.view_args.get("key", "")) if request.view_args else None
    return _answer(429, form=form, errors={"_form": [gettext(
        "Too many submissions; try again in a minute")]})


def register(appbuilder):
    app = current_app._get_current_object()
    public = Blueprint("webform", __name__)
    limited = appbuilder.sm.limiter.limit(
        lambda: current_app.config["WEBFORM_RATE_LIMIT"], methods=["POST"])(submit)
    public.add_url_rule("/webform/<key>", "submit", limited, methods=["POST", "OPTIONS"],
                        provide_automatic_options=False)
    public.register_error_handler(TooManyRequests, too_many)
    csrf.exempt(public)
    app.register_blueprint(public)
    appbuilder.add_view(
        WebFormView, "Web forms", label=_l("Web forms"), icon="fa-globe",
        category="Company",
    )
