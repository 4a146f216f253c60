"""Sending e-mail through the SMTP server of the configuration (MAIL_*),
with the standard library only. Nothing is sent when MAIL_SERVER is empty.

``settings`` is a mapping with the MAIL_* keys (the Flask config); this
module does not import Flask."""
import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

log = logging.getLogger(__name__)


class MailError(Exception):
    """The server could not be reached or refused the message; ``reason`` is
    the server's or the socket's own words, for the log and the admin."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def enabled(settings):
    return bool(settings.get("MAIL_SERVER"))


def build(settings, to, subject, body, attachments=()):
    """The message: plain text, and each attachment (file name, bytes, MIME
    type such as "application/pdf"). ``to``: one address or a list."""
    message = EmailMessage()
    message["From"] = settings.get("MAIL_DEFAULT_SENDER") or "noreply@localhost"
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="sdelka.local")
    message.set_content(body)
    for name, content, mime in attachments:
        maintype, _, subtype = (mime or "application/octet-stream").partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def deliver(settings, message):
    """Hand ``message`` to the server; raises MailError when it is not
    configured, cannot be reached or refuses (any recipient included)."""
    if not enabled(settings):
        raise MailError("MAIL_SERVER is not set")
    host, port = settings["MAIL_SERVER"], int(settings.get("MAIL_PORT") or 25)
    timeout = settings.get("MAIL_TIMEOUT") or 10
    smtp_class = smtplib.SMTP_SSL if settings.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=timeout) as smtp:
            if settings.get("MAIL_USE_TLS") and not settings.get("MAIL_USE_SSL"):
                smtp.starttls()
            if settings.get("MAIL_USERNAME"):
                smtp.login(settings["MAIL_USERNAME"], settings.get("MAIL_PASSWORD") or "")
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("E-mail to %s not sent: %s", message["To"], exc)
        raise MailError(str(exc) or type(exc).__name__) from None
    if refused:
        # Some recipients taken, some not: the sender must know it was not
        # delivered as asked.
        log.warning("E-mail to %s refused for %s", message["To"], ", ".join(refused))
        raise MailError("refused: " + ", ".join(refused))
    log.info("E-mail sent to %s: %s", message["To"], message["Subject"])


def send(settings, to, subject, body, attachments=()):
    """Send one message; True when the server accepted it. Failures are
    logged, not raised: a reminder must not break the job that sends it
    (the notification is in the app either way)."""
    if not enabled(settings) or not to:
        return False
    try:
        deliver(settings, build(settings, to, subject, body, attachments))
    except MailError:
        return False
    return True
