"""Rows grouped in a tree (departments, task types, client groups): no
cycles and at most three levels, counting the subtree that moves along."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.services.errors import Refused

MAX_DEPTH = 3


def check_parent(node, max_depth=MAX_DEPTH):
    """Refuse a parent that makes a cycle or a tree deeper than max_depth.
    ``node`` has ``parent`` and ``children`` relationships."""
    depth, ancestor = 1, node.parent
    while ancestor is not None:
        # The identity map makes a loaded ancestor the very same object.
        if ancestor is node:
            raise Refused(_l("A group cannot be inside itself"))
        depth += 1
        ancestor = ancestor.parent
    if depth + _height(node) - 1 > max_depth:
        raise Refused(_l("Groups nest at most %(n)d levels deep", n=max_depth))


def _height(node):
    return 1 + max((_height(c) for c in node.children or []), default=0)


def branch_ids(session, model, root_id):
    """Ids of ``root_id`` and everything below it: filter a list by a branch."""
    ids, level = {root_id}, {root_id}
    for _ in range(MAX_DEPTH):
        level = set(session.scalars(select(model.id).where(model.parent_id.in_(level)))) - ids
        if not level:
            break
        ids |= level
    return ids
