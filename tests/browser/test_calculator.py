import os

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_manager_calculates_and_resets(live_server, page):
    sign_in(page, live_server, "manager")

    page.click("text=Кредитный калькулятор")
    page.fill("#amount", "100 000")
    page.fill("#rate", "12")
    page.fill("#months", "12")
    page.click("text=Рассчитать")
    page.wait_for_selector("#schedule")
    assert page.locator("#schedule tbody tr").count() == 12
    assert "8\u00a0884,88" in page.inner_text("#result")
    assert page.locator(".chart svg rect").count() >= 24
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "calculator.png"),
                        full_page=True)

    page.click("text=Сбросить")
    page.wait_for_load_state()
    assert page.locator("#schedule").count() == 0
    assert page.input_value("#amount") == ""
