"""How a service rule refuses a save or delete in FAB's pre_add / pre_update
/ pre_delete hooks: FAB flashes any exception raised there as an error."""
from flask_babel import gettext

from app import db
from app.services.printing import Message, PdfError, TemplateError


def translated(message):
    """The user's-language text of a service refusal: an exception or value
    carrying a ``Message`` (services/printing.py), or anything else as text."""
    if isinstance(message, (TemplateError, PdfError)):  # reason and line
        return message.text(gettext)
    reason = message.args[0] if isinstance(message, Exception) and message.args else message
    if isinstance(reason, Message):
        return reason.translate(gettext)
    return str(message)


def refuse(message):
    """The form was already copied onto the item (and a relationship may have
    cascaded it into the session): roll back first, or a later flush would
    save what was refused."""
    db.session.rollback()
    raise Exception(translated(message))


def refuse_on(error_class, rule, *args):
    """Run a service ``rule``; its ``error_class`` refusal becomes a refusal."""
    try:
        rule(*args)
    except error_class as exc:
        refuse(exc)
