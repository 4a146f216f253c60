"""In Chromium: a deal's «Сформировать счёт и договор» lands on the new
invoice; its «Отправить по e-mail» sends the PDF to the client through a
local SMTP server (aiosmtpd) and says so."""
import os
from decimal import Decimal

import pytest

from app.models import Client, Deal
from tests.browser.conftest import sign_in
from tests.conftest import employee_id, unique
from tests.web.test_send_by_email import Inbox, free_port

pytestmark = pytest.mark.browser


def _screenshot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT")}
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    controller.stop()
    app.config.update(saved)


def test_invoice_from_a_deal_sent_by_email(live_server, page, session, smtp_server):
    manager_id = employee_id(session, "manager")
    client = Client(name=unique("ООО Браузер"), email="buyer@example.ru",
                    responsible_id=manager_id)
    session.add(client)
    session.flush()
    deal = Deal(title=unique("Поставка"), client_id=client.id, amount=Decimal("12500.00"),
                responsible_id=manager_id)
    session.add(deal)
    session.commit()

    sign_in(page, live_server, "manager")
    page.goto(f"{live_server}/deals/show/{deal.id}")
    _screenshot(page, "deal_documents_button.png")
    page.click("#deal-documents")
    _screenshot(page, "deal_documents_form.png")
    page.click("#deal-documents-submit")
    page.wait_for_selector("#send-by-email")
    body = page.inner_text("body").replace("\xa0", " ")
    assert f"По сделке «{deal.title}» сформирован счёт №" in body
    assert "12 500,00" in body

    page.click("#send-by-email")
    assert page.input_value("#to") == "buyer@example.ru"
    assert page.input_value("#subject").startswith("Счёт № INV")
    _screenshot(page, "send_by_email_form.png")
    page.click("#send-by-email-submit")
    page.wait_for_selector("text=Отправлено по e-mail на buyer@example.ru")
    assert "/invoices/show/" in page.url

    [message] = smtp_server.messages
    assert message["To"] == "buyer@example.ru"
    assert message["Subject"].startswith("Счёт № INV")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content()[:4] == b"%PDF"
