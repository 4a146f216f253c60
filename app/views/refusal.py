"""How a service rule refuses a save or delete in FAB's pre_add / pre_update
/ pre_delete hooks: FAB flashes any exception raised there as an error."""
from app import db


def refuse(message):
    """The form was already copied onto the item (and a relationship may have
    cascaded it into the session): roll back first, or a later flush would
    save what was refused."""
    db.session.rollback()
    raise Exception(str(message))


def refuse_on(error_class, rule, *args):
    """Run a service ``rule``; its ``error_class`` refusal becomes a refusal."""
    try:
        rule(*args)
    except error_class as exc:
        refuse(exc)
