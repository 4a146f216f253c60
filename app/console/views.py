"""The console's screens: access for the Admin role only, forms whose CSRF
token is Flask-WTF's, dictionaries edited in their list, the uploads."""
import datetime
import os

from flask import abort, current_app, redirect, request, send_file
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.fileadmin import FileAdmin
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.model.widgets import XEditableWidget
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import inspect
from wtforms import ValidationError
from wtforms.validators import NumberRange, Regexp

from app import db
from app.console import uploads
from app.models import Currency, TreeMixin, dictionary_models
from app.permissions import ADMIN
from app.services import dictionaries, localtime, values
from app.services.errors import Refused
from app.views import dictionaries as screens
from app.views.fields import office_zone
from app.views.refusal import translated

# What an admin edits in a dictionary's list, where the model has it.
EDITABLE = ("name", "parent", "color", "probability", "rate", "is_active", "sort_order")
# The FAB screens' own checks of these values (views/dictionaries.py).
CHECKS = {
    "color": [Regexp(screens.COLOUR, message=_l(
        "A colour is written as #RRGGBB, for example #28a745"))],
    "probability": [NumberRange(min=0, max=100, message=_l(
        "Probability is a percentage from 0 to 100"))],
}
RATE_CHECKS = {
    "Tax": [NumberRange(min=0, max=100, message=_l("A tax rate is from 0 to 100 percent"))],
    "Currency": [NumberRange(min=0.000001, message=_l("The rate must be greater than zero"))],
}


class CellWidget(XEditableWidget):
    """A decimal is typed in its cell as text: the FAB screens' NumberField
    takes «11,2» and «1 234,5», which a number input would refuse."""

    def get_kwargs(self, field, kwargs):
        if isinstance(field, screens.NumberField):
            kwargs["data-type"] = "text"
            return kwargs
        return super().get_kwargs(field, kwargs)


class ConsoleForm(SecureForm):
    """Flask-Admin's SecureForm with Flask-WTF's token: the app's global
    CSRFProtect checks every POST before the view, and a token of another
    kind (SecureForm's own) would be refused there."""

    class Meta(FlaskForm.Meta):
        pass


class AdminOnly:
    """Every console view: the Admin role of FAB's session, or no entry."""

    form_base_class = ConsoleForm

    def is_accessible(self):
        return (current_user.is_authenticated
                and any(role.name == ADMIN for role in current_user.roles))

    def render(self, template, **kwargs):
        kwargs.setdefault("logout_url", current_app.appbuilder.get_url_for_logout)
        return super().render(template, **kwargs)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(current_app.appbuilder.get_url_for_login_with(
                request.full_path.rstrip("?")))
        abort(403)


class ConsoleIndexView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("console/index.html")


class DictionaryAdmin(AdminOnly, ModelView):
    """A dictionary as a grid: the values edited in their cells. Each change
    passes the FAB screens' rules (services/dictionaries.py) and lands in
    the change history as theirs do (services/history.py); a refusal is
    the cell's message. New values are added on the FAB screens (their
    form has every field); a value records use is not deleted, as there."""

    can_create = False
    can_edit = False
    can_delete = True
    can_view_details = False
    page_size = 50
    column_default_sort = [("sort_order", False), ("name", False)]
    column_searchable_list = ("name",)
    column_filters = ("is_active",)

    def __init__(self, model, screen, **kwargs):
        editable = [name for name in EDITABLE if name in inspect(model).attrs]
        if not issubclass(model, TreeMixin):
            editable = [name for name in editable if name != "parent"]
        self.column_list = editable
        self.column_editable_list = editable
        self.column_labels = {name: screen.label_columns.get(name, screens.LABELS.get(name))
                              for name in editable}
        checks = dict(CHECKS)
        if model.__name__ in RATE_CHECKS:
            checks["rate"] = RATE_CHECKS[model.__name__]
        self.form_args = {name: {"validators": rules} for name, rules in checks.items()
                          if name in editable}
        # Flask-Admin shows a flag as an icon titled "is_active: true".
        self.column_formatters = {"is_active": lambda view, context, item, name:
                                  _l("Yes") if item.is_active else _l("No")}
        if "rate" in editable:
            self.form_overrides = {"rate": screens.NumberField}
            self.column_formatters["rate"] = (lambda view, context, item, name:
                                              values.number_text(item.rate))
        super().__init__(model, db.session, name=model.__label__,
                         category=_l("Dictionaries"), **kwargs)

    def is_editable(self, name):
        # Flask-Admin ties the cells to its edit form, which is FAB's job here.
        return name in self.column_editable_list

    def get_list_form(self):
        rules = {name: {"validators": args["validators"]} for name, args in self.form_args.items()}
        return self.scaffold_list_form(widget=CellWidget(), validators=rules)

    def on_model_change(self, form, model, is_created):
        try:
            dictionaries.check_synonyms(db.session, model)
            if isinstance(model, TreeMixin):
                dictionaries.check_parent(model)
            if isinstance(model, Currency) and model.is_base and model.rate != 1:
                raise Refused(_l("The rate of the base currency is 1"))
        except Refused as exc:
            raise ValidationError(translated(exc)) from None

    def on_model_delete(self, model):
        try:
            dictionaries.check_can_delete(db.session, model)
        except Refused as exc:
            raise ValidationError(translated(exc)) from None


class UploadsAdmin(AdminOnly, FileAdmin):
    """The uploaded files with whose each is: seen, downloaded always as an
    attachment (an uploaded page must not run in the CRM's origin), deleted
    when nobody's (console/uploads.py); nothing uploaded, renamed or
    edited here."""

    can_upload = False
    can_mkdir = False
    can_rename = False
    can_delete_dirs = False
    editable_extensions = ()
    column_labels = {"name": _l("File"), "size": _l("Size"), "date": _l("Changed")}
    list_template = "console/files.html"

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["owners"] = uploads.owners(db.session, self.get_base_path())
            kwargs["real_path"] = lambda path: os.path.realpath(
                os.path.join(self.get_base_path(), path))
        return super().render(template, **kwargs)

    def _inside(self, full_path):
        base = os.path.realpath(self.get_base_path())
        return os.path.realpath(full_path).startswith(base + os.sep)

    def delete_file(self, file_path):
        if not self._inside(file_path):
            abort(404)
        owner = uploads.owner_of(db.session, self.get_base_path(), file_path)
        if owner is not None:
            raise Refused(_l("The file belongs to %(owner)s; it goes with its record",
                             owner=owner))
        super().delete_file(file_path)

    @expose("/download/<path:path>")
    def download(self, path=None):
        _, full_path, _ = self._normalize_path(path)
        if not self._inside(full_path) or not os.path.isfile(full_path):
            abort(404)
        response = send_file(full_path, as_attachment=True,
                             mimetype="application/octet-stream")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @expose("/rename/", methods=("GET", "POST"))
    def rename(self):
        # Flask-Admin's own answers this GET with a server error.
        abort(404)

    def size_text(self, size):
        """«1,5 МБ»: Jinja's filesizeformat writes English units."""
        units = (_l("B"), _l("KB"), _l("MB"), _l("GB"))
        step = 0
        while size >= 1024 and step < len(units) - 1:
            size, step = size / 1024, step + 1
        return f"{values.number_text(size, places=1 if step else 0)} {units[step]}"

    def timestamp_format(self, timestamp):
        moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).replace(tzinfo=None)
        return values.datetime_text(localtime.to_local(moment, office_zone()))


def add_views(admin, app):
    screen_of = {view.model: view for view, _, _ in screens.MENU}
    for model in dictionary_models():
        screen = screen_of.get(model)
        if screen is None:
            continue
        admin.add_view(DictionaryAdmin(model, screen, endpoint=f"console_{model.__tablename__}",
                                       url=f"dictionaries/{model.__tablename__}"))
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    admin.add_view(UploadsAdmin(folder, name=_l("Files"), endpoint="console_files",
                                url="files"))
