"""Files attached to records (FAB's ``FileColumn``; today a note's file):
uploaded with a size limit, stored under a generated name, and downloaded
only from a record the user may see.

FAB 5.3 gives a file column a ``FileUploadField`` with the ``Length``
validator of its String column, which calls ``len()`` on the uploaded
``FileStorage``: every upload failed with a TypeError (500). FAB's name
``<uuid>_sep_<name>`` also went through ``secure_filename``, which drops
Cyrillic ("Договор.pdf" became "pdf"), and its ``/download/<filename>``
served any file of the upload folder to anyone allowed to download from
any screen, with no row-level check.

Here the column keeps ``<32 hex>_sep_<original name>`` (the original name
cleaned of paths and control characters, cut to fit the column), and the
disk keeps the file under the hex part alone in ``UPLOAD_FOLDER``. A
download finds the record whose column holds the name: the oldest such
record (the one the upload made: a name copied into another record later
gains nothing) must be visible to the user, else 404. The file goes out as
an attachment under its original name, with a content type a browser will
not render as a page (no HTML, SVG, XML or script) and ``nosniff``."""
import mimetypes
import os
import re
import unicodedata
import uuid

from flask import abort, current_app, g, send_file, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.filemanager import FileManager
from flask_appbuilder.models.mixins import FileColumn
from flask_appbuilder.upload import FileUploadField
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename
from wtforms.validators import ValidationError
from wtforms.widgets import html_params

from app import db
from app.views.rowaccess import may_read

# FAB's FileColumn is a Text of a length and nothing more: safe in
# SQLAlchemy's statement cache (without this, a statement comparing it is
# compiled anew every time, with a warning).
FileColumn.cache_ok = True

SEP = "_sep_"
STORED = re.compile(r"([0-9a-f]{32})" + SEP + r"(.+)", re.S)
# Types a browser shows as they are without running anything; any other
# file goes out as application/octet-stream (and always as an attachment).
PLAIN_TYPES = {"application/pdf", "text/plain", "text/csv", "application/zip",
               "application/msword", "application/rtf", "application/x-7z-compressed",
               "application/gzip", "application/x-rar-compressed"}


def file_columns(model):
    """Names of the model's FAB file columns."""
    return [c.key for c in model.__table__.columns if isinstance(c.type, FileColumn)]


def original_name(filename, room=255 - 32 - len(SEP)):
    """The name the user gave the file, fit to show and to send back: no
    folders, no control or direction characters, at most ``room`` long."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().rstrip(".").strip() or "file"
    if len(name) > room:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) < 16 else ""
        name = stem[:room - len(ext)] + ext
    return name


def shown_name(stored):
    """The original name of a stored value (FAB's own names too)."""
    match = STORED.fullmatch(stored or "")
    if match:
        return match.group(2)
    return stored.split(SEP, 1)[1] if SEP in (stored or "") else (stored or "")


def safe_type(name):
    kind = mimetypes.guess_type(name)[0] or ""
    if ((kind.startswith("image/") and "svg" not in kind) or kind in PLAIN_TYPES
            or (kind.startswith("application/vnd.") and not kind.endswith("+xml"))):
        return kind
    return "application/octet-stream"


class StoredFileManager(FileManager):
    """FAB's file manager with our names: ``<hex>_sep_<original>`` in the
    column, ``<hex>`` on disk."""

    def generate_name(self, obj, file_data):
        return uuid.uuid4().hex + SEP + original_name(file_data.filename)

    def get_path(self, filename):
        match = STORED.fullmatch(filename)
        # A name FAB saved itself lies on disk under its secure form.
        return os.path.join(self.base_path,
                            match.group(1) if match else secure_filename(filename))

    def save_file(self, data, filename):
        path = self.get_path(filename)
        os.makedirs(os.path.dirname(path), self.permission, exist_ok=True)
        data.save(path)
        return filename


def _size(stream):
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def _limit_mb(setting):
    return current_app.config.get(setting, 20)


class StoredFileWidget:
    """The file input, the current file's name and a box to remove it."""

    def __init__(self, limit_setting):
        self.limit_setting = limit_setting

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        allowed = current_app.config.get("FILE_ALLOWED_EXTENSIONS")
        if allowed:
            kwargs.setdefault("accept", ",".join("." + ext for ext in allowed))
        html = Markup(
            '<div class="input-group"><span class="input-group-addon">'
            '<i class="fa fa-upload"></i></span><input class="form-control" {}/></div>'
            '<p class="help-block">{}</p>').format(
            Markup(html_params(type="file", **kwargs)),
            _l("At most %(mb)s MB", mb=_limit_mb(self.limit_setting)))
        stored = field.object_data if isinstance(field.object_data, str) else None
        if stored:
            html = Markup(
                '<p class="form-control-static">{} <label style="font-weight: normal">'
                '<input type="checkbox" name="_{}-delete"> {}</label></p>').format(
                shown_name(stored), field.name, _l("Remove the file")) + html
        return html


class StoredFileField(FileUploadField):
    """A file column's form field: the size limit of ``limit_setting`` (MB),
    our names, and a replaced or removed file leaves the disk only once the
    record is saved (FilesMixin's post_* hooks)."""

    def __init__(self, label=None, validators=None, limit_setting="NOTE_FILE_MAX_MB",
                 **kwargs):
        self.limit_setting = limit_setting
        kwargs.setdefault("widget", StoredFileWidget(limit_setting))
        super().__init__(label, validators, filemanager=StoredFileManager(), **kwargs)

    def pre_validate(self, form):
        super().pre_validate(form)  # FAB's check of the extension
        if self.data and isinstance(self.data, FileStorage):
            limit = _limit_mb(self.limit_setting)
            if _size(self.data.stream) > limit * 1024 * 1024:
                raise ValidationError(_l("The file is too large: at most %(mb)s MB",
                                         mb=limit))

    def populate_obj(self, obj, name):
        old = getattr(obj, name, None)
        if self.data and isinstance(self.data, FileStorage):
            stored = self.filemanager.generate_name(obj, self.data)
            self.filemanager.save_file(self.data, stored)
            setattr(obj, name, stored)
        elif self._should_delete and old:
            setattr(obj, name, None)
        else:
            return
        if old:
            g.setdefault("files_to_remove", []).append(old)


def _remove_queued():
    """Delete the files the saved change let go of."""
    names = g.pop("files_to_remove", [])
    if names:
        manager = StoredFileManager()
        for name in names:
            manager.delete_file(name)


class FilesMixin:
    """Mix into a ModelView (first among the mixins): its file columns get a
    working upload field and a link to their download; ``/download/<name>``
    serves only a file of a record the user may see (404 otherwise, and on
    a screen without file columns)."""

    file_limit_setting = "NOTE_FILE_MAX_MB"

    def __init__(self, **kwargs):
        names = file_columns(self.datamodel.obj)
        if names:
            labels = self.label_columns or {}
            fields = {name: StoredFileField(labels.get(name, name),
                                            limit_setting=self.file_limit_setting)
                      for name in names}
            self.add_form_extra_fields = {**fields, **(self.add_form_extra_fields or {})}
            self.edit_form_extra_fields = {**fields, **(self.edit_form_extra_fields or {})}
            # An instance's own dict: the class's is shared by every screen.
            self.formatters_columns = {**(self.formatters_columns or {}),
                                       **{name: self._file_link for name in names}}
        super().__init__(**kwargs)

    def _file_link(self, stored):
        if not stored:
            return ""
        name = shown_name(stored)
        if not self.appbuilder.sm.has_access("can_download", self.class_permission_name):
            return name
        return Markup('<a href="{}"><i class="fa fa-download"></i> {}</a>').format(
            url_for(f"{self.endpoint}.download", filename=stored), name)

    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename):
        model = self.datamodel.obj
        names = file_columns(model)
        if not names:
            abort(404)
        owner = None
        for name in names:
            owner = db.session.scalar(select(func.min(model.id))
                                      .where(getattr(model, name) == filename))
            if owner is not None:
                break
        if owner is None or not may_read(model, owner):
            abort(404)
        path = StoredFileManager().get_path(filename)
        if not os.path.isfile(path):
            abort(404)
        shown = shown_name(filename)
        response = send_file(path, mimetype=safe_type(shown), as_attachment=True,
                             download_name=shown, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    def post_add(self, item):
        super().post_add(item)
        _remove_queued()

    def post_update(self, item):
        super().post_update(item)
        _remove_queued()

    def pre_delete(self, item):
        super().pre_delete(item)
        g.files_to_remove = [getattr(item, name) for name in file_columns(type(item))
                             if getattr(item, name)]

    def post_delete(self, item):
        super().post_delete(item)
        _remove_queued()
