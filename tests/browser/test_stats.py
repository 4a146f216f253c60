"""The statistics dashboard in Chromium with every request off this machine
refused: its charts are the app's own SVG, not a CDN's script."""
import os
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _offline(page, refused):
    def route(r):
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)


def test_dashboard_and_funnel_draw_charts_without_internet(live_server, page):
    refused = []
    _offline(page, refused)
    page.goto(live_server + "/login/")
    page.fill("input[name=username]", "head")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    # The head of sales lands on the dashboard.
    page.wait_for_selector("#days-chart svg")
    assert "/stats/" in page.url
    assert page.locator("#days-chart svg rect").count() >= 7
    box = page.locator("#days-chart svg").bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert page.locator("#task-totals h3").count() == 4
    assert page.locator("#employees tbody tr").count() >= 1
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "stats.png"),
                        full_page=True)

    page.select_option("#period", "week")
    page.click("#stats-form button[type=submit]")
    page.wait_for_selector("#days-chart svg")
    assert "period=week" in page.url

    page.click("#stats a:has-text('Воронка продаж')")
    page.wait_for_selector("#funnel-chart svg")
    assert page.locator("#funnel-chart svg rect").count() >= 5
    assert page.locator("#funnel-chart svg text", has_text="Договор").count() == 1
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "funnel.png"),
                        full_page=True)
    assert all(urlsplit(u).hostname != "127.0.0.1" for u in refused)


def test_a_figure_opens_the_list_it_counts(live_server, page):
    page.goto(live_server + "/login/")
    page.fill("input[name=username]", "head")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("#task-totals")
    total = page.inner_text("#task-totals h3 >> nth=0")
    page.click("#task-totals h3 >> nth=0 >> a")
    page.wait_for_load_state()
    assert "/tasks/list/" in page.url
    if total != "0":
        assert total in page.inner_text("body")
