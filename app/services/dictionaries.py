"""Rules of the dictionaries (справочники): what may be deleted, how groups
nest, the single base currency, and the synonyms a value is matched by;
the active values a page offers."""
import re

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select

from app.models import Currency, model_of
from app.services import references, table_stamps, trees
from app.services.errors import Refused
from app.services.imports import dictionary_key


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
    return model_of(table) is not None


def _label_of_other_side(link_table, own_table):
    for fk in link_table.foreign_keys:
        other = fk.column.table
        if other is not own_table and hasattr(model_of(other), "__label__"):
            return model_of(other).__label__
    return None


def check_can_delete(session, item):
    """A value that records use stays: deleting it would blank their field."""
    found = where_used(session, item)
    if found:
        raise Refused(
            _l("The record is in use: %(where)s — it cannot be deleted; "
               "make it inactive instead", where=references.describe(found))
        )


def check_parent(item):
    trees.check_parent(item)


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
        raise Refused(
            _l("%(code)s is already the base currency; untick it there first",
               code=other.code)
        )


# Not the comma: values carry decimal commas («Кабель 2,5 мм²») and commas
# of their own («Москва, Зеленоград»).
_SYNONYM_SEPARATOR = re.compile(r"[\r\n;]+")


def keys_of(text):
    """{dictionary_key: synonym} of a value's «Синонимы» text: one a line or
    separated by «;», trimmed, the first of those written alike kept; a
    line with nothing to match by (no letter or digit) is dropped."""
    found = {}
    for line in _SYNONYM_SEPARATOR.split(text or ""):
        synonym = line.strip()
        key = dictionary_key(synonym)
        if key and key not in found:
            found[key] = synonym
    return found


def check_synonyms(session, item):
    """Store ``item``'s synonyms one a line as typed, without repeats or its
    own name; refuse one that names another value of the dictionary or is
    already another value's synonym, and a name that is another value's
    synonym: an import could not tell which value the text means."""
    model = type(item)
    own = dictionary_key(item.name or "")
    synonyms = {key: synonym for key, synonym in keys_of(item.synonyms).items() if key != own}
    item.synonyms = "\n".join(synonyms.values()) or None
    query = select(model.id, model.name, model.synonyms).order_by(model.id)
    if item.id is not None:
        query = query.where(model.id != item.id)
    # FAB has already put the typed values on the item; a flush now would
    # write them before the check has passed.
    with session.no_autoflush:
        others = session.execute(query).all()
    for _, name, _ in others:
        synonym = synonyms.get(dictionary_key(name))
        if synonym is not None:
            raise Refused(_l(
                "The synonym «%(synonym)s» is the value «%(value)s» of this dictionary; "
                "a synonym cannot name another value", synonym=synonym, value=name),
                field="synonyms")
    for _, name, text in others:
        theirs = keys_of(text)
        if own in theirs:
            raise Refused(_l(
                "«%(name)s» is a synonym of the value «%(value)s»; remove it there first",
                name=item.name, value=name), field="name")
        taken = next((synonyms[key] for key in synonyms if key in theirs), None)
        if taken is not None:
            raise Refused(_l(
                "The synonym «%(synonym)s» already belongs to the value «%(value)s»",
                synonym=taken, value=name), field="synonyms")


def active_values(session, model):
    """The dictionary's active values in its order (sort order, then id),
    as rows of its columns (read-only, named like the record's attributes):
    read again only when its table's stamp changed (services/table_stamps),
    a statement fewer on each page that offers them (a deal's stages and
    refusal reasons, a client's stage box)."""
    columns = [getattr(model, column.key) for column in inspect(model).column_attrs]
    query = select(*columns).where(model.is_active.is_(True)).order_by(model.sort_order,
                                                                       model.id)
    return table_stamps.kept(session, model.__tablename__, "active values",
                             lambda: tuple(session.execute(query).all()))
