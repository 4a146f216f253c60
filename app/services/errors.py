"""The one error of a business rule. A service that refuses what it was
asked raises ``Refused`` with a message for the user and, when the message
belongs to one, the form field or API attribute it is shown at; the caller
rolls its transaction back (a refusal may come after the service changed
the session) and shows the message: a screen at the field or as a flash
(views/refusal.py), the API as a 422 (403 for ``records.Forbidden``).

Subclasses exist only where a caller must tell a refusal apart:

- ``records.Forbidden``: the writer may not see or change a linked record;
  the API answers it 403, every other refusal 422;
- ``values.ValidationError`` (``validation.ValidationError`` is the same
  class): one value that cannot be read, such as a date, a phone, a number.
  It is a ``ValueError`` too, as Python's own parsers raise, so one clause
  catches both; form validators, list filters and the import's cells catch
  it alone and never take a rule's refusal for a bad value;
- ``custom_fields.CustomValueError``: a custom field's value that cannot be
  read, the ``ValidationError`` that the CSV import's cell check catches by
  name.

Failures that are not a rule's refusal have their own types:
``printing.TemplateError`` and ``printing.PdfError`` (a template someone
wrote that cannot be rendered, with its line; a PDF the converter could not
make; their reason is a ``printing.Message``, rendered in a language the
caller chooses), ``backup.BackupError`` (an admin command's failure, in
English for the terminal), and the import's ``FileProblem`` and ``Bad`` (a
file or a cell it cannot read, reported with the row)."""


class Refused(Exception):
    """``message``: the reason for the user, a lazy-translated string
    (``flask_babel.lazy_gettext``: the language is the one of the request
    that shows it). ``field``: the form field or API attribute the message
    belongs to, or None for the record as a whole. ``errors``: {field:
    message} of every refusal it carries, in order (``several``)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = {field: message}

    @classmethod
    def several(cls, errors):
        """One refusal of several fields at once, ``errors`` {field:
        message} (not empty); ``message`` and ``field`` are the first."""
        field, message = next(iter(errors.items()))
        refused = cls(message, field)
        refused.errors = dict(errors)
        return refused
