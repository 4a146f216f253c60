"""How a service rule refuses a save or delete in FAB's pre_add / pre_update
/ pre_delete hooks: FAB flashes any exception raised there as an error, and
``KeepTypedMixin`` shows the form again with what was typed (FAB would
redirect to the list, and the text would be lost)."""
from flask import flash, g, redirect, request
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext

from app import db
from app.services.errors import Refused
from app.services.printing import Message, PdfError, TemplateError


def translated(message):
    """The user's-language text of a refusal (``Refused``), of printing's
    errors and of a value carrying a ``Message`` (services/printing.py), or
    anything else as text."""
    if isinstance(message, (TemplateError, PdfError)):  # reason and line
        return message.text(gettext)
    reason = message.args[0] if isinstance(message, Exception) and message.args else message
    if isinstance(reason, Message):
        return reason.translate(gettext)
    return str(message)


def apply_status(set_status, document, value, done):
    """A document's status changed from its page by the service rule
    ``set_status``: an unknown value or a refusal is said and rolled back;
    else committed, and ``done()`` (read after the change) said."""
    try:
        set_status(db.session, document, value)
    except ValueError:
        flash(gettext("Unknown status"), "danger")
    except Refused as exc:
        db.session.rollback()
        flash(translated(exc), "danger")
    else:
        db.session.commit()
        flash(done(), "success")


def refuse(message, fields=None):
    """The form was already copied onto the item (and a relationship may have
    cascaded it into the session): roll back first, or a later flush would
    save what was refused. ``fields`` maps a form field to its own message."""
    db.session.rollback()
    g.form_refused = {name: translated(text) for name, text in (fields or {}).items()
                      if name}
    raise Exception(translated(message))


def refuse_on(rule, *args):
    """Run a service ``rule`` and return what it returns; its ``Refused``
    becomes the screen's refusal, the message at its field."""
    try:
        return rule(*args)
    except Refused as exc:
        refuse(exc, exc.errors)


def _mark(form, fields):
    for name, message in fields.items():
        if name in form:
            form[name].errors = [message]


class KeepTypedMixin:
    """Mix into a ModelView: a save its rules refused shows the form again
    as it was posted, the reason flashed and at its field; a refused delete
    returns to the page it was asked from."""

    def _add(self):
        widget = super()._add()
        refused = g.pop("form_refused", None)
        if widget is not None or refused is None:
            return widget
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        self._fill_form_exclude_cols(exclude_cols, form)
        _mark(form, refused)
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        widgets = super()._edit(pk)
        refused = g.pop("form_refused", None)
        if widgets is not None or refused is None:
            return widgets
        item = self.datamodel.get(pk, self._base_filters)
        exclude_cols = self._filters.get_relation_cols()
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = pk
        _mark(form, refused)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(),
            page_sizes=get_page_size_args(), widgets=widgets)

    def post_delete_redirect(self):
        if g.pop("form_refused", None) is not None and request.referrer:
            return redirect(get_safe_redirect(request.referrer))
        return super().post_delete_redirect()
