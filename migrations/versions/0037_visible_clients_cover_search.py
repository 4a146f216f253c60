"""The indexes of a manager's visible clients carry the search text

Revision ID: 0037
Revises: 0036

A term shorter than a trigram («гр», «аа») reaches no search index: a
manager's quick search then tested each of the 41 000 clients visible to
the bench's manager (their own, the public ones, those they take part in)
on the wide client row, read page by page: at a million clients 31 ms to
count «гр» on PostgreSQL, 160-200 ms for two letters few names hold, whose
matches are all counted and whose page walks the whole list. With
``search`` in the indexes the visible clients are found by, each one is
tested on the index entry (services/access.visible_clients). The public
clients' index carries the owner too, so that a client both the manager's
own and public is counted once without reading its row. The columns after
the unique (…, id) are never compared: PostgreSQL's INCLUDE in effect,
in a form SQLite takes too. An entry stays far under PostgreSQL's limit of
about 2 700 bytes: the text is at most about 1 100 (a name and an e-mail
of 255 characters, the INN and two phones).
"""
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_client_responsible_id_id": ("responsible_id, id", ", search"),
    "ix_client_public_access_id": ("public_access, id", ", responsible_id, search"),
}


def upgrade():
    for name, (key, carried) in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON client ({key}{carried})")


def downgrade():
    for name, (key, _) in INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON client ({key})")
