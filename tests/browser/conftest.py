"""A live server for the app and Debian's Chromium driven by Playwright.

No browser is ever downloaded: Playwright launches /usr/bin/chromium. Without
it the browser tests skip with the reason, except in CI where they fail."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from app.models import Client
from tests.conftest import PASSWORD, employee_id, unique

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason + " — CI must run the browser tests")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def sign_in(page, live_server, username):
    page.goto(live_server + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("a[href*='logout']", state="attached")
    # Until the stylesheets apply, the menu moves under the pointer: a click
    # checked on one layout could land on another and open nothing (seen in CI).
    page.wait_for_load_state("load")


def choose_client(page, name):
    """Pick ``name`` in the form's «Клиент» drop-down, typing as a person."""
    page.click("#client + .select2 .select2-selection")
    # The open drop-down's own search box (a multiple select has one inline).
    page.fill(".select2-container--open .select2-search__field", name[:12])
    page.wait_for_selector(f".select2-results__option:has-text('{name}')")
    page.click(f".select2-results__option:has-text('{name}')")


@pytest.fixture
def own_client(session):
    """The name of a new client of the manager."""
    client = Client(name=unique("Свой клиент"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    return client.name
