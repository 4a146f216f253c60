"""Whose a file of the uploads folder is: a record's attachment (FAB file
columns keep ``<hex>_sep_<name>``, the disk the name views/files.py gives
it), an import's stored upload or its file of bad rows. A file nobody's is
an orphan: the only kind the console deletes, as a record's file goes with
the record (or its form), an import's with the import's clean-up."""
import os

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import ImportJob
from app.views.files import SEP, StoredFileManager, file_columns


def _key(path):
    return os.path.realpath(path)


def _owned_records(session, folder, hex_name=None):
    manager = StoredFileManager(base_path=folder)
    for mapper in Model.registry.mappers:
        model = mapper.class_
        for name in file_columns(model):
            column = getattr(model, name)
            query = select(model.id, column).where(column.isnot(None))
            if hex_name is not None:
                query = query.where(column.like(f"{hex_name}{SEP}%"))
            for pk, stored in session.execute(query):
                yield manager.get_path(stored), _l("%(what)s no. %(id)s",
                                                   what=model.__label__, id=pk)


def _owned_imports(session, path=None):
    query = select(ImportJob.id, ImportJob.stored_path, ImportJob.error_file)
    if path is not None:
        query = query.where((ImportJob.stored_path == path) | (ImportJob.error_file == path))
    for pk, stored, errors in session.execute(query):
        for file in (stored, errors):
            if file:
                yield file, _l("Import no. %(id)s", id=pk)


def owners(session, folder):
    """{real path: whose} of every owned file."""
    found = {}
    for path, label in (*_owned_records(session, folder), *_owned_imports(session)):
        found.setdefault(_key(path), label)
    return found


def owner_of(session, folder, path):
    """Whose the file at ``path`` is, or None (an orphan)."""
    key = _key(path)
    name = os.path.basename(path)
    for found, label in (*_owned_records(session, folder, hex_name=name),
                         *_owned_imports(session, path)):
        if _key(found) == key:
            return label
    # An import's path may be stored otherwise written (a relative folder).
    return next((label for found, label in _owned_imports(session) if _key(found) == key), None)
