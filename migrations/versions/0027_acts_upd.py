"""acts and UPDs made from an invoice: their registers, lines and number counters

Revision ID: 0027
Revises: 0026

An «Акт выполненных работ (оказанных услуг)» (table act) and a «УПД»
(table upd), each with its lines (act_line, upd_line), made from an issued
invoice and linked to it, its client and its deal. Each is numbered by the
invoice numbering rule from a counter of its own in the company row
(act_prefix / act_next_number, upd_prefix / upd_next_number).
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


STATUS = sa.Enum('draft', 'issued', name='closingstatus', native_enum=False, length=20)
MONEY = sa.Numeric(precision=14, scale=2)
DOCUMENT_INDEXES = ('client_id', 'currency_id', 'deal_id', 'invoice_id', 'responsible_id',
                    'status')


def _document(name):
    """An act's or a UPD's table (models.ClosingDocumentMixin)."""
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('status', STATUS, nullable=False),
        sa.Column('prices_include_vat', sa.Boolean(), server_default=sa.false(),
                  nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('subtotal', MONEY, server_default='0', nullable=False),
        sa.Column('tax_amount', MONEY, server_default='0', nullable=False),
        sa.Column('total', MONEY, server_default='0', nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('deal_id', sa.Integer(), nullable=True),
        sa.Column('currency_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('responsible_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['client.id']),
        sa.ForeignKeyConstraint(['currency_id'], ['currency.id']),
        sa.ForeignKeyConstraint(['deal_id'], ['deal.id']),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id']),
        sa.ForeignKeyConstraint(['responsible_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        for column in DOCUMENT_INDEXES:
            batch_op.create_index(batch_op.f(f'ix_{name}_{column}'), [column], unique=False)


def _lines(name, parent):
    """The lines of an act or a UPD (models.ClosingLineMixin)."""
    op.create_table(
        name,
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('unit', sa.String(length=20), server_default='', nullable=False),
        sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column('price', MONEY, nullable=False),
        sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), server_default='0',
                  nullable=False),
        sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column('amount', MONEY, server_default='0', nullable=False),
        sa.Column('tax_amount', MONEY, server_default='0', nullable=False),
        sa.Column('sort_order', sa.Integer(), server_default='0', nullable=False),
        sa.Column('tax_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['document_id'], [f'{parent}.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tax_id'], ['tax.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        for column in ('document_id', 'tax_id'):
            batch_op.create_index(batch_op.f(f'ix_{name}_{column}'), [column], unique=False)


def upgrade():
    _document('act')
    _document('upd')
    _lines('act_line', 'act')
    _lines('upd_line', 'upd')
    op.add_column('company', sa.Column('act_prefix', sa.String(length=10),
                                       server_default='АКТ', nullable=False))
    op.add_column('company', sa.Column('act_next_number', sa.Integer(), server_default='1',
                                       nullable=False))
    op.add_column('company', sa.Column('upd_prefix', sa.String(length=10),
                                       server_default='УПД', nullable=False))
    op.add_column('company', sa.Column('upd_next_number', sa.Integer(), server_default='1',
                                       nullable=False))


def downgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        for column in ('upd_next_number', 'upd_prefix', 'act_next_number', 'act_prefix'):
            batch_op.drop_column(column)
    for name in ('upd_line', 'act_line', 'upd', 'act'):
        op.drop_table(name)
