"""Where a row is used: the one rule behind every "cannot delete, it is
used by ..." message (dictionaries, departments, employees).

It walks the foreign keys of the shared metadata, so a model added later
is covered without touching this module.
"""
from flask_appbuilder import Model
from sqlalchemy import func, select

from app.models import model_of

# FAB bookkeeping that points at a user but is not "owned records".
_IGNORED = {
    ("ab_user_role", "user_id"),
    ("ab_user_group", "user_id"),
    ("ab_user", "created_by_fk"),
    ("ab_user", "changed_by_fk"),
    # History keeps who changed what; it never makes a record "owned".
    ("history_entry", "user_id"),
}


def _label_of_table(table):
    return getattr(model_of(table), "__label__", table.name)


def usages(session, instance):
    """[(label, count)] of rows in other tables that reference ``instance``."""
    own_table = instance.__table__
    pk = instance.id
    found = []
    for table in Model.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is not own_table or (table.name, fk.parent.name) in _IGNORED:
                continue
            count = session.scalar(
                select(func.count()).select_from(table).where(fk.parent == pk)
            )
            if count:
                found.append((_label_of_table(table), count))
    return found


def describe(found):
    return ", ".join(f"{label}: {count}" for label, count in found)
