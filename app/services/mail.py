"""Sending e-mail through the SMTP server of the configuration (MAIL_*),
with the standard library only. Nothing is sent when MAIL_SERVER is empty.

``settings`` is a mapping with the MAIL_* keys (the Flask config); this
module does not import Flask."""
import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

log = logging.getLogger(__name__)


def enabled(settings):
    return bool(settings.get("MAIL_SERVER"))


def send(settings, to, subject, body):
    """Send one plain-text message; True when the server accepted it.
    Failures are logged, not raised: a reminder must not break the job that
    sends it (the notification is in the app either way)."""
    if not enabled(settings) or not to:
        return False
    message = EmailMessage()
    message["From"] = settings.get("MAIL_DEFAULT_SENDER") or "noreply@localhost"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="sdelka.local")
    message.set_content(body)
    host, port = settings["MAIL_SERVER"], int(settings.get("MAIL_PORT") or 25)
    timeout = settings.get("MAIL_TIMEOUT") or 10
    smtp_class = smtplib.SMTP_SSL if settings.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=timeout) as smtp:
            if settings.get("MAIL_USE_TLS") and not settings.get("MAIL_USE_SSL"):
                smtp.starttls()
            if settings.get("MAIL_USERNAME"):
                smtp.login(settings["MAIL_USERNAME"], settings.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("E-mail to %s not sent: %s", to, exc)
        return False
    log.info("E-mail sent to %s: %s", to, subject)
    return True
