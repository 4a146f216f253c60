"""import changes by record: an index on (table_name, record_id)

Revision ID: 0031
Revises: 0030

Erasing a person (services/erasure.py) and «Данные субъекта»
(services/subject_data.py) look up the import changes of one record; the
table had only the job's index, so each read every change of every import
(a row per changed column: millions after a few large imports). Not batch
mode: on SQLite that would copy the table.
"""
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_import_change_table_record', 'import_change',
                    ['table_name', 'record_id'])


def downgrade():
    op.drop_index('ix_import_change_table_record', table_name='import_change')
