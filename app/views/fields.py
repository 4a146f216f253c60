"""WTForms validators shared by the generated screens. Each wraps a check
from app/services/validation.py, so every screen, import and API answers
with the same message and stores the same normal form."""
from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation, ValidationError

from app.services import validation


class Normalised:
    """Runs ``check`` on a non-empty value and stores its normal form."""

    def __init__(self, check):
        self.check = check

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        try:
            field.data = self.check(field.data)
        except validation.ValidationError as exc:
            raise StopValidation(str(exc)) from None


class AccountOfBank:
    """An account number checked against the BIK entered in the same form."""

    def __init__(self, check, bik_field="bik"):
        self.check = check
        self.bik_field = bik_field

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        bik = form[self.bik_field].data
        try:
            bik = validation.bik(bik) if bik else None
        except validation.ValidationError:
            bik = None  # the BIK field reports its own error
        try:
            field.data = self.check(field.data, bik)
        except validation.ValidationError as exc:
            raise StopValidation(str(exc)) from None


def min_length(n):
    def check(form, field):
        if field.data and len(field.data) < n:
            raise ValidationError(_l("At least %(n)d characters", n=n))

    return check
