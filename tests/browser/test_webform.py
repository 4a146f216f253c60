"""The web-to-lead snippet on a site of its own: a second local HTTP server
serves a page with the snippet the admin copied; Chromium fills the form,
which posts cross-origin (CORS preflight included) to the live app; the
lead then appears in the manager's list."""
import html
import http.server
import os
import re
import threading

import pytest
from sqlalchemy import select

from app.models import Employee, Lead, WebForm
from app.services import webforms
from tests.browser.conftest import sign_in
from tests.conftest import unique

pytestmark = pytest.mark.browser


@pytest.fixture
def site():
    """A tiny static site: GET / answers with ``site.page``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = Handler.page.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    Handler.page = ""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Handler, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_visitor_fills_the_embedded_form_and_the_manager_sees_the_lead(
        live_server, page, session, as_role, site):
    handler, origin = site
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    form = WebForm(name=unique("Сайт-браузер"), key=webforms.new_key(), heading="Напишите нам",
                   allowed_origins=origin, default_manager=manager)
    session.add(form)
    session.commit()
    # The admin copies the snippet from the form's page.
    shown = as_role("admin").get(f"/web-forms/show/{form.id}").text
    snippet = html.unescape(re.search(
        r'<textarea[^>]*id="web-form-snippet"[^>]*>(.*?)</textarea>', shown, re.S).group(1))
    # It names the app by the address the admin used; the site posts to the live one.
    snippet = snippet.replace("http://localhost", live_server)
    handler.page = ("<!doctype html><html><head><meta charset='utf-8'><title>Магазин</title>"
                    f"</head><body><h1>Магазин</h1>{snippet}</body></html>")

    visitor = unique("Посетитель")
    page.goto(origin + "/")
    page.fill("input[name=name]", visitor)
    page.fill("input[name=phone]", "8 (916) 765-43-21")
    page.fill("textarea[name=message]", "Хочу консультацию")
    page.click("form.sdelka-lead-form button[type=submit]")
    page.wait_for_selector(".sdelka-result:has-text('Спасибо')")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "webform.png"))

    # An error is shown under its field, nothing is created.
    page.fill("input[name=name]", "Без телефона")
    page.fill("input[name=phone]", "12")
    page.click("form.sdelka-lead-form button[type=submit]")
    page.wait_for_selector(".sdelka-error[data-for=phone]:not(:empty)")

    lead = session.scalar(select(Lead).where(Lead.contact_name == visitor))
    assert lead is not None and lead.responsible_id == manager.id
    assert lead.phone == "+79167654321"
    assert session.scalar(select(Lead).where(Lead.contact_name == "Без телефона")) is None

    sign_in(page, live_server, "manager")
    page.goto(live_server + "/leads/list/")
    page.wait_for_selector(f"text={visitor}")
