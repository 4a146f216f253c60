"""«Отправить по e-mail» on an invoice and on a printed document, against a
real SMTP server on 127.0.0.1 (aiosmtpd): the message arrives with the PDF
attached, to the recipient, with the Russian subject; bad addresses are
refused at the field; a server that is down or refuses leaves a message and
nothing recorded; without MAIL_SERVER the button says why; per role."""
import email
import email.policy
import socket
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import (
    Client,
    Deal,
    DocumentTemplate,
    Invoice,
    Note,
    PrintedDocument,
    TemplateEntity,
)
from tests.conftest import employee_id, unique

SENT_NOTE = "Отправлено по e-mail:"
NOT_READY = "Отправка почты не настроена: администратор задаёт MAIL_SERVER"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the local SMTP server received; recipients with «refuse» in
    them are refused as a real server refuses an unknown mailbox."""

    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "refuse" in address:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    @property
    def messages(self):
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for e in self.envelopes]


@pytest.fixture
def mail_config(app):
    """Sets MAIL_* on the app for the test and restores them after."""
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT")}

    def set_to(**values):
        app.config.update(values)

    yield set_to
    app.config.update(saved)


@pytest.fixture
def smtp_server(mail_config):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    mail_config(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    yield inbox
    controller.stop()


@pytest.fixture
def contract_template(session):
    template = DocumentTemplate(name=unique("Договор"), entity=TemplateEntity.DEAL,
                                body="<p>Договор по сделке {{ deal.title }}</p>")
    session.add(template)
    session.commit()
    yield template
    session.rollback()
    session.get(DocumentTemplate, template.id).is_active = False
    session.commit()


def _deal(session, owner):
    owner_id = employee_id(session, owner)
    client = Client(name=unique("ООО Получатель"), email="client@example.ru",
                    responsible_id=owner_id)
    session.add(client)
    session.flush()
    deal = Deal(title=unique("Поставка"), client_id=client.id, amount=Decimal("9900.00"),
                responsible_id=owner_id)
    session.add(deal)
    session.commit()
    return deal


def _papers(as_role, session, owner, template=None):
    """(invoice, printed document or None) of a new deal of ``owner``, made
    by the one action of the deal's page."""
    deal = _deal(session, owner)
    as_role(owner).post(f"/deal-documents/deal/{deal.id}",
                        {"template": str(template.id) if template else ""})
    session.expire_all()
    invoice = session.scalar(select(Invoice).where(Invoice.deal_id == deal.id))
    document = session.scalar(select(PrintedDocument).where(
        PrintedDocument.entity == TemplateEntity.DEAL, PrintedDocument.entity_id == deal.id))
    assert invoice is not None
    return invoice, document


def _notes(session, client_id):
    session.expire_all()
    return session.scalars(select(Note).where(Note.client_id == client_id,
                                              Note.text.like(SENT_NOTE + "%"))).all()


def _attachment(message):
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_content()


@pytest.mark.parametrize("username", ["admin", "head", "manager"])
def test_an_invoice_is_sent_with_its_pdf(as_role, session, smtp_server, username):
    invoice, _ = _papers(as_role, session, "manager")
    user = as_role(username)
    shown = user.get(f"/invoices/show/{invoice.id}").text
    assert f'href="/deal-documents/invoice/{invoice.id}/email"' in shown
    form = user.get(f"/deal-documents/invoice/{invoice.id}/email").text
    assert 'value="client@example.ru"' in form  # the client's address, pre-filled
    assert f"Счёт № {invoice.number} от" in form
    assert "Здравствуйте!" in form and "руб., он во вложении" in form

    page = user.post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "client@example.ru", "subject": f"Счёт № {invoice.number}",
        "body": "Здравствуйте! Счёт во вложении."}).text
    assert "Отправлено по e-mail на client@example.ru" in page
    [message] = smtp_server.messages
    assert message["To"] == "client@example.ru"
    assert message["Subject"] == f"Счёт № {invoice.number}"
    assert "Счёт во вложении" in message.get_body(("plain",)).get_content()
    name, content = _attachment(message)
    assert name.endswith(".pdf") and invoice.number in name
    assert content[:4] == b"%PDF"
    assert smtp_server.envelopes[0].rcpt_tos == ["client@example.ru"]
    [note] = _notes(session, invoice.client_id)
    assert invoice.number in note.text and "client@example.ru" in note.text
    assert note.deal_id == invoice.deal_id
    assert note.author_id == employee_id(session, username)
    # On the deal's timeline.
    assert note.text in as_role("manager").get(f"/deals/show/{invoice.deal_id}").text


def test_a_printed_document_is_sent(as_role, session, smtp_server, contract_template):
    _, document = _papers(as_role, session, "manager", contract_template)
    manager = as_role("manager")
    shown = manager.get(f"/documents/show/{document.id}").text
    assert f'href="/deal-documents/document/{document.id}/email"' in shown
    page = manager.post(f"/deal-documents/document/{document.id}/email", {
        "to": "client@example.ru, boss@example.ru", "subject": "Договор",
        "body": "Договор во вложении."}).text
    assert "Отправлено по e-mail на client@example.ru, boss@example.ru" in page
    [message] = smtp_server.messages
    assert sorted(smtp_server.envelopes[0].rcpt_tos) == ["boss@example.ru",
                                                          "client@example.ru"]
    name, content = _attachment(message)
    assert name == document.file_name and content[:4] == b"%PDF"
    assert content == session.get(PrintedDocument, document.id).content
    [note] = _notes(session, document.client_id)
    assert document.file_name in note.text and note.deal_id == document.entity_id


@pytest.mark.parametrize("address, error", [
    ("", "Укажите e-mail получателя"),
    ("не адрес", "Это не адрес e-mail: не адрес"),
    ("a@example.ru, b@", "Это не адрес e-mail: b@"),
    (", ".join(f"u{i}@example.ru" for i in range(6)), "Не больше 5 адресов через запятую"),
])
def test_a_bad_address_is_refused_at_the_field(as_role, session, smtp_server, address, error):
    invoice, _ = _papers(as_role, session, "manager")
    page = as_role("manager").post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": address, "subject": "Счёт", "body": "Текст"}).text
    assert error in page and "has-error" in page
    assert smtp_server.envelopes == []
    assert _notes(session, invoice.client_id) == []


def test_a_server_that_is_down_leaves_a_message_and_nothing_recorded(
        as_role, session, mail_config):
    invoice, _ = _papers(as_role, session, "manager")
    mail_config(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=5)
    page = as_role("manager").post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "client@example.ru", "subject": "Счёт", "body": "Текст"}).text
    assert "Письмо не отправлено: почтовый сервер недоступен" in page
    assert 'value="client@example.ru"' in page  # the form keeps what was typed
    assert _notes(session, invoice.client_id) == []


def test_a_refused_recipient_leaves_a_message_and_nothing_recorded(
        as_role, session, smtp_server):
    invoice, _ = _papers(as_role, session, "manager")
    page = as_role("manager").post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "refuse@example.ru", "subject": "Счёт", "body": "Текст"}).text
    assert "Письмо не отправлено" in page
    assert smtp_server.envelopes == []
    assert _notes(session, invoice.client_id) == []


def test_without_mail_server_the_button_says_why(as_role, session, mail_config,
                                                 contract_template):
    mail_config(MAIL_SERVER="")
    invoice, document = _papers(as_role, session, "manager", contract_template)
    manager = as_role("manager")
    for url in (f"/invoices/show/{invoice.id}", f"/documents/show/{document.id}"):
        page = manager.get(url).text
        assert 'id="send-by-email" disabled' in page
        assert NOT_READY in page
        assert "/email\"" not in page
    page = manager.post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "client@example.ru", "subject": "Счёт", "body": "Текст"}).text
    assert NOT_READY in page
    assert _notes(session, invoice.client_id) == []


def test_a_manager_may_not_send_anothers_invoice(as_role, session, smtp_server,
                                                 contract_template):
    invoice, document = _papers(as_role, session, "admin", contract_template)
    manager = as_role("manager")
    for url in (f"/deal-documents/invoice/{invoice.id}/email",
                f"/deal-documents/document/{document.id}/email"):
        assert manager.get(url).status_code == 404
        assert manager.post(url, {"to": "x@example.ru", "subject": "s", "body": "b"},
                            follow=False).status_code == 404
    assert smtp_server.envelopes == []


def test_read_only_may_not_send(as_role, session, smtp_server):
    invoice, _ = _papers(as_role, session, "manager")
    auditor = as_role("auditor")
    assert "send-by-email" not in auditor.get(f"/invoices/show/{invoice.id}").text
    response = auditor.post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "client@example.ru", "subject": "Счёт", "body": "Текст"}, follow=False)
    assert response.status_code in (302, 403)
    assert smtp_server.envelopes == []
    assert _notes(session, invoice.client_id) == []


def test_without_csrf_nothing_is_sent(as_role, session, smtp_server):
    invoice, _ = _papers(as_role, session, "manager")
    as_role("manager").post(f"/deal-documents/invoice/{invoice.id}/email", {
        "to": "client@example.ru", "subject": "Счёт", "body": "Текст"}, csrf=False)
    assert smtp_server.envelopes == []
