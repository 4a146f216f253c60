"""«Сохранить и создать новую» on the add pages of the registers: the
button posts its name beside the form; a saved record then leads to a fresh
add form of the same register with the query string it was opened with
(``?_flt_0_client=…`` of a related list, ``?day=`` of the calendar), so the
next record needs no client picked again. A refused save shows the form
again (refusal.KeepTypedMixin); plain «Сохранить» redirects as FAB does."""
from flask import g, redirect, request, url_for
from flask_appbuilder.widgets import FormWidget

SAVE_AND_ADD = "_save_and_add"


class SaveAndAddFormWidget(FormWidget):
    """FAB's form with the second submit button."""

    template = "sdelka/widgets/add_form.html"

    def __call__(self, **kwargs):
        kwargs.setdefault("save_and_add", SAVE_AND_ADD)
        return super().__call__(**kwargs)


class SaveAndAddMixin:
    """Mix into a ModelView, before the mixins that have a ``post_add``."""

    add_widget = SaveAndAddFormWidget

    def post_add(self, item):
        super().post_add(item)
        g.record_added = True

    def post_add_redirect(self):
        if g.pop("record_added", False) and request.form.get(SAVE_AND_ADD):
            url = url_for(f"{self.endpoint}.add")
            query = request.query_string.decode("utf-8", "replace")
            return redirect(f"{url}?{query}" if query else url)
        return super().post_add_redirect()
