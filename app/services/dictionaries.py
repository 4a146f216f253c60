"""Rules of the dictionaries (справочники): what may be deleted, how groups
nest, and the single base currency."""
from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select

from app.models import Currency
from app.services import references, trees


class DictionaryError(ValueError):
    pass


def where_used(session, item):
    """[(label, count)] of the records that use ``item``, read for a person:
    the item's own many-to-many links (a segment's managers) are part of the
    item and go with it, and a link table (client ↔ tag) is named after the
    records on its other side."""
    own_links = {rel.secondary.name for rel in inspect(type(item)).relationships
                 if rel.secondary is not None}
    found = []
    for label, count in references.usages(session, item):
        table = Model.metadata.tables.get(label) if isinstance(label, str) else None
        if table is not None and not _is_mapped(table):
            if table.name in own_links:
                continue
            label = _label_of_other_side(table, item.__table__) or label
        found.append((label, count))
    return found


def _is_mapped(table):
    return any(table in mapper.tables for mapper in Model.registry.mappers)


def _label_of_other_side(link_table, own_table):
    for fk in link_table.foreign_keys:
        other = fk.column.table
        if other is not own_table:
            for mapper in Model.registry.mappers:
                if other in mapper.tables and hasattr(mapper.class_, "__label__"):
                    return mapper.class_.__label__
    return None


def check_can_delete(session, item):
    """A value that records use stays: deleting it would blank their field."""
    found = where_used(session, item)
    if found:
        raise DictionaryError(
            _l("The record is in use: %(where)s — it cannot be deleted; "
               "make it inactive instead", where=references.describe(found))
        )


def check_parent(item):
    try:
        trees.check_parent(item)
    except trees.TreeError as exc:
        raise DictionaryError(str(exc)) from None


def check_single_base(session, is_base, currency_id=None):
    """At most one base currency: the rates of the others are counted in it.
    Refused rather than moved silently, so the admin decides which one."""
    if not is_base:
        return
    query = select(Currency).where(Currency.is_base.is_(True))
    if currency_id is not None:
        query = query.where(Currency.id != currency_id)
    other = session.scalar(query.limit(1))
    if other is not None:
        raise DictionaryError(
            _l("%(code)s is already the base currency; untick it there first",
               code=other.code)
        )
