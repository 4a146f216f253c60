"""The template editor's live preview in Chromium: typing re-renders the
frame; a broken template shows its line and reason."""
import os

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_head_edits_a_template_with_live_preview(live_server, page):
    sign_in(page, live_server, "head")

    page.goto(live_server + "/templates/add")
    page.fill("#name", "Письмо клиенту")
    page.fill("#body", "<h1>Здравствуйте, {{ client.name }}!</h1>"
                       "<p>{{ 1001.01|amount_in_words }}</p>")
    frame = page.frame_locator("#preview-frame")
    frame.locator("text=Здравствуйте, Иванов Иван Иванович!").wait_for()
    assert "Одна тысяча один рубль 01 копейка" in frame.locator("body").inner_text()
    assert "amount_in_words" in page.inner_text("#placeholders")

    page.fill("#body", "строка 1\n{% for x in %}")
    page.wait_for_selector("#preview-error:visible")
    error = page.inner_text("#preview-error")
    assert error.startswith("Строка 2:") and "Синтаксическая ошибка" in error
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "template.png"),
                        full_page=True)
    page.fill("#body", "<p>{{ company.name }} — {{ today|date_ru('long') }}</p>")
    page.wait_for_selector("#preview-error", state="hidden")
    page.click("button[type=submit]:has-text('Сохранить')")
    page.wait_for_load_state()
    assert "Запись добавлена" in page.inner_text("body")
    page.goto(live_server + "/templates/list/")
    assert "Письмо клиенту" in page.inner_text("body")
