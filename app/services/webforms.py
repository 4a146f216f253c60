"""Web-to-lead forms: the contact form of the company's site posts leads.

A site visitor's submission is checked against the form's settings (which
fields it asks, which are required, how long each may be) and becomes a
lead with the source "Сайт", routed round-robin to the managers of the
matching segment or to the form's default manager. Which sites may post a
form (CORS) is also decided here; the web layer only speaks HTTP."""
import json
import re
import secrets
from urllib.parse import urlsplit

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import select

from app.models import ClientOrigin, FieldMode, Lead, LeadStatus
from app.services import leads, personal_data, validation
from app.services.errors import Refused
from app.services.notifications import notify

# Public field name -> (form setting, lead attribute, max length, label).
FIELDS = {
    "name": ("field_name", "contact_name", 255, _l("Your name")),
    "phone": ("field_phone", "phone", 40, _l("Phone")),
    "email": ("field_email", "email", 255, _l("Email")),
    "company": ("field_company", "company_name", 255, _l("Company")),
    "inn": ("field_inn", "inn", 12, _l("INN")),
    "message": ("field_message", "comment", 4000, _l("Message")),
}
# Hidden from people by the snippet's style; bots fill it in.
HONEYPOT = "fax_number"
# The box a visitor ticks to consent to the processing of their data.
CONSENT = "consent"
CONSENT_REFUSED = _l("Tick the box to consent to the processing of your personal data")
TICKED = {"1", "on", "true", "yes", "да"}
ORIGIN_SOURCE_NAME = "сайт"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def new_key():
    return secrets.token_urlsafe(18)[:24]


def modes(form):
    """{public field: FieldMode} of the fields the form asks."""
    result = {}
    for name, (setting, *_rest) in FIELDS.items():
        mode = FieldMode(getattr(form, setting) or FieldMode.OFF)
        if mode != FieldMode.OFF:
            result[name] = mode
    return result


def check_settings(form):
    """A form must ask for a way to reach the visitor; one that requires
    consent shows the visitor what they consent to."""
    asked = modes(form)
    if "phone" not in asked and "email" not in asked:
        raise Refused(_l("The form must ask for a phone or an e-mail"))
    if form.consent_required and not (form.consent_text or "").strip():
        raise Refused(_l("Write the text the visitor consents to"), "consent_text")
    for line in origin_lines(form.allowed_origins):
        if normalise_origin(line) is None:
            raise Refused(_l("Not a site address: %(value)s (write https://example.ru)",
                             value=line))


def origin_lines(text):
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines()
            if line.strip()]


def normalise_origin(value):
    """'https://Example.ru/' -> 'https://example.ru'; None if not an origin."""
    parts = urlsplit((value or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origins(form):
    return {o for o in (normalise_origin(line) for line in origin_lines(form.allowed_origins))
            if o}


def origin_allowed(form, origin):
    """May a page of ``origin`` post the form? No Origin header (a server
    posting to the API) is allowed; a browser's page must be listed."""
    if origin is None:
        return True
    return normalise_origin(origin) in allowed_origins(form)


def clean(form, data):
    """The submission's values by lead attribute, or ``Refused`` of every
    field that does not fit."""
    errors, values = {}, {}
    for name, mode in modes(form).items():
        _setting, attribute, limit, _label = FIELDS[name]
        raw = data.get(name)
        if raw is not None and not isinstance(raw, (str, int)):
            errors[name] = _l("Must be text")
            continue
        value = str(raw).strip() if raw is not None else ""
        if not value:
            if mode == FieldMode.REQUIRED:
                errors[name] = _l("Fill in this field")
            continue
        if len(value) > limit:
            errors[name] = _l("At most %(n)d characters", n=limit)
            continue
        try:
            if name == "phone":
                value = validation.phone(value)
            elif name == "inn":
                value = validation.inn(value)
            elif name == "email":
                if not _EMAIL.match(value):
                    raise validation.ValidationError(_l("Not an e-mail address"))
                value = value.lower()
        except validation.ValidationError as exc:
            errors[name] = exc.message
            continue
        values[attribute] = value
    if not errors and not (values.get("phone") or values.get("email")):
        field = "phone" if "phone" in modes(form) else "email"
        errors[field] = _l("Leave a phone or an e-mail so that we can answer")
    if form.consent_required and not ticked(data.get(CONSENT)):
        errors[CONSENT] = CONSENT_REFUSED
    if errors:
        raise Refused.several(errors)
    return values


def ticked(value):
    """A check box's value as a form or a script posts it."""
    if value is True:
        return True
    return isinstance(value, (str, int)) and not isinstance(value, bool) and \
        str(value).strip().lower() in TICKED


def default_origin(session):
    """The dictionary's "Сайт" source. Compared in Python: SQLite's lower()
    knows only Latin letters (and the dictionary is small)."""
    return next((o for o in session.scalars(select(ClientOrigin).order_by(ClientOrigin.id))
                 if (o.name or "").strip().lower() == ORIGIN_SOURCE_NAME), None)


def site_origin(session, form):
    """The lead's source: the form's, else the dictionary's "Сайт"."""
    return form.origin if form.origin is not None else default_origin(session)


def submit(session, form, data):
    """Create the lead of a valid submission (adds and flushes; the caller
    commits). Raises ``Refused`` and creates nothing otherwise."""
    values = clean(form, data)
    who = values.get("company_name") or values.get("contact_name") or values.get("phone") \
        or values.get("email")
    lead = Lead(title=f"{form.name}: {who}"[:255], status=LeadStatus.NEW,
                origin=site_origin(session, form), web_form=form, **values)
    if form.consent_required:
        personal_data.web_consent(lead, form.consent_text)
    lead.client = leads.matching_client(session, values.get("phone"), values.get("email"))
    leads.route(session, lead, form.segment, form.default_manager)
    session.add(lead)
    session.flush()
    _notify_new_lead(session, lead)
    return lead


def _notify_new_lead(session, lead):
    """Tell the lead's responsible manager that a lead came from the site."""
    if lead.responsible_id is None:
        return
    who = lead.contact_name or lead.company_name or lead.phone or lead.email or ""
    notify(session, lead.responsible_id,
           gettext("New lead from the website: %(title)s %(who)s",
                   title=lead.title or "", who=who).strip(),
           link=f"/leads/show/{lead.id}", key=f"lead:{lead.id}", kind="lead")


def _js(text):
    """A JavaScript string literal safe inside <script>."""
    return json.dumps(text, ensure_ascii=False).replace("<", "\\u003c")


def snippet(form, action_url):
    """HTML to paste on a site: the form, a hidden honeypot and a small
    script that posts JSON and shows the answer (errors under each field).
    Without JavaScript the form still posts, as a plain HTML form."""
    rows = []
    for name, mode in modes(form).items():
        label = escape(str(FIELDS[name][3]))
        required = mode == FieldMode.REQUIRED
        mark = " *" if required else ""
        attrs = f'name="{name}" maxlength="{FIELDS[name][2]}"' + (" required" if required
                                                                   else "")
        if name == "message":
            control = f"<textarea {attrs} rows=\"4\"></textarea>"
        else:
            kind = {"email": "email", "phone": "tel"}.get(name, "text")
            control = f'<input type="{kind}" {attrs}>'
        rows.append(
            f'  <p><label>{label}{mark}<br>{control}</label>'
            f'<br><small class="sdelka-error" data-for="{name}" style="color:#b00"></small></p>')
    if form.consent_required:
        text = escape(form.consent_text or "")
        rows.append(
            f'  <p><label><input type="checkbox" name="{CONSENT}" value="1" required> {text}'
            f'</label><br><small class="sdelka-error" data-for="{CONSENT}" '
            f'style="color:#b00"></small></p>')
    heading = escape(form.heading or "")
    submit_text = escape(str(_l("Send")))
    hidden_label = escape(str(_l("Leave this field empty")))
    thanks = _js(form.success_message or str(_l("Thank you! We will contact you soon.")))
    failed = _js(str(_l("Could not send the form, please try again later.")))
    action = escape(action_url)
    hidden = "position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden"
    trap = f'<input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off">'
    return f'''<form class="sdelka-lead-form" action="{action}" method="post">
{f"  <h3>{heading}</h3>" if heading else ""}
{chr(10).join(rows)}
  <p style="{hidden}" aria-hidden="true">
    <label>{hidden_label}{trap}</label></p>
  <p><button type="submit">{submit_text}</button></p>
  <p class="sdelka-result" role="status"></p>
</form>
<script>
(function () {{
  var forms = document.querySelectorAll("form.sdelka-lead-form");
  var form = forms[forms.length - 1];
  form.addEventListener("submit", function (event) {{
    event.preventDefault();
    var data = {{}};
    Array.prototype.forEach.call(form.elements, function (el) {{
      if (el.name && (el.type !== "checkbox" || el.checked)) {{ data[el.name] = el.value; }}
    }});
    Array.prototype.forEach.call(form.querySelectorAll(".sdelka-error"), function (el) {{
      el.textContent = "";
    }});
    var result = form.querySelector(".sdelka-result");
    fetch(form.action, {{method: "POST", headers: {{"Content-Type": "application/json",
      "Accept": "application/json"}}, body: JSON.stringify(data)}})
      .then(function (response) {{ return response.json(); }})
      .then(function (answer) {{
        if (answer.ok) {{ form.reset(); result.textContent = answer.message || {thanks}; return; }}
        var errors = answer.errors || {{}};
        Object.keys(errors).forEach(function (name) {{
          var place = form.querySelector('.sdelka-error[data-for="' + name + '"]') || result;
          place.textContent = errors[name].join(" ");
        }});
      }})
      .catch(function () {{ result.textContent = {failed}; }});
  }});
}})();
</script>
'''
