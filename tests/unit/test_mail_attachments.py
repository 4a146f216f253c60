"""services/mail.py: a message with a PDF attached, the failures a sender
must hear of (server down, recipient refused), and the recipients' check of
services/deal_documents.py."""
import email
import email.policy
import socket

import pytest

from app.services import deal_documents, mail
from app.services.errors import Refused


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_message_carries_its_attachment():
    message = mail.build({"MAIL_DEFAULT_SENDER": "CRM <crm@example.ru>"},
                         ["a@example.ru", "b@example.ru"], "Счёт № INV0000001", "Текст",
                         [("Счёт INV0000001.pdf", b"%PDF-1.4 test", "application/pdf")])
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["To"] == "a@example.ru, b@example.ru"
    assert parsed["Subject"] == "Счёт № INV0000001"
    [part] = list(parsed.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == "Счёт INV0000001.pdf"
    assert part.get_content() == b"%PDF-1.4 test"


def test_a_server_that_is_down_raises_and_send_says_false():
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": _free_port(), "MAIL_TIMEOUT": 5}
    message = mail.build(settings, "a@example.ru", "s", "b")
    with pytest.raises(mail.MailError):
        mail.deliver(settings, message)
    assert mail.send(settings, "a@example.ru", "s", "b") is False


def test_without_a_server_nothing_is_sent():
    with pytest.raises(mail.MailError):
        mail.deliver({"MAIL_SERVER": ""}, mail.build({}, "a@example.ru", "s", "b"))
    assert mail.send({"MAIL_SERVER": ""}, "a@example.ru", "s", "b") is False


def test_recipients_are_checked_and_capped():
    assert deal_documents.recipients(" a@example.ru; B@example.ru , a@example.ru") == [
        "a@example.ru", "B@example.ru"]
    for text in ("", " , ", "не адрес", "a@example.ru, b@",
                 ",".join(f"u{i}@example.ru" for i in range(6))):
        with pytest.raises(Refused) as refused:
            deal_documents.recipients(text)
        assert refused.value.field == "to"
