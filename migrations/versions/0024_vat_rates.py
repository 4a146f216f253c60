"""VAT rates of 2026 and prices with VAT included

Revision ID: 0024
Revises: 0023

The tax dictionary gets the rates in force since 1 January 2026 (22 % the
standard one, 10 %, 0 %, 5 % and 7 % of the simplified system) and marks
«Без НДС» as no VAT at all (it prints differently from «НДС 0 %»); rates an
office already has, such as 20 %, stay as they are. A line keeps the rate
it was saved with, so that editing the dictionary never changes an issued
invoice. An invoice says whether its prices include VAT; the company's
requisites give the default of that and of a new line's tax.
"""
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# name, rate, is_exempt: app/services/seed.py TAXES of this revision.
RATES = (
    ('НДС 22 %', 22, False),
    ('НДС 10 %', 10, False),
    ('НДС 0 %', 0, False),
    ('НДС 5 % (УСН)', 5, False),
    ('НДС 7 % (УСН)', 7, False),
    ('Без НДС', 0, True),
)
# The names under which «no VAT» was seeded or is usually typed.
EXEMPT_NAMES = ('без ндс', 'без налога', 'без налога (ндс)', 'ндс не облагается')


def upgrade():
    op.add_column('tax', sa.Column('is_exempt', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column's reference only inline; alembic would emit
        # a separate ALTER of constraints, which SQLite lacks.
        op.execute('ALTER TABLE company ADD COLUMN default_tax_id INTEGER REFERENCES tax (id)')
    else:
        op.add_column('company', sa.Column('default_tax_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_company_default_tax_id', 'company', 'tax',
                              ['default_tax_id'], ['id'])
    op.add_column('company', sa.Column('prices_include_vat', sa.Boolean(),
                                       server_default=sa.false(), nullable=False))
    op.add_column('invoice', sa.Column('prices_include_vat', sa.Boolean(),
                                       server_default=sa.false(), nullable=False))
    op.add_column('invoice_line', sa.Column('tax_rate', sa.Numeric(precision=5, scale=2),
                                            nullable=True))

    tax = sa.table('tax', sa.column('id', sa.Integer), sa.column('name', sa.String),
                   sa.column('rate', sa.Numeric), sa.column('is_exempt', sa.Boolean),
                   sa.column('is_active', sa.Boolean), sa.column('sort_order', sa.Integer))
    line = sa.table('invoice_line', sa.column('tax_id', sa.Integer),
                    sa.column('tax_rate', sa.Numeric))
    bind = op.get_bind()
    bind.execute(tax.update().where(sa.func.lower(sa.func.trim(tax.c.name))
                                    .in_(EXEMPT_NAMES)).values(is_exempt=True))
    # Each existing line keeps the rate of its tax as it is now.
    bind.execute(line.update().where(line.c.tax_id.is_not(None)).values(
        tax_rate=sa.select(tax.c.rate).where(tax.c.id == line.c.tax_id,
                                             tax.c.is_exempt.is_(False))
        .scalar_subquery()))

    # An empty dictionary is filled by the seeding with the same rates.
    rows = bind.execute(sa.select(tax.c.rate, tax.c.is_exempt, tax.c.sort_order)).all()
    if not rows:
        return
    have_exempt = any(row.is_exempt for row in rows)
    have_rates = {Decimal(row.rate) for row in rows if not row.is_exempt}
    position = max(row.sort_order or 0 for row in rows)
    for name, rate, exempt in RATES:
        if (exempt and have_exempt) or (not exempt and Decimal(rate) in have_rates):
            continue
        position += 10
        bind.execute(tax.insert().values(name=name, rate=rate, is_exempt=exempt,
                                         is_active=True, sort_order=position))


def downgrade():
    op.drop_column('invoice_line', 'tax_rate')
    op.drop_column('invoice', 'prices_include_vat')
    op.drop_column('company', 'prices_include_vat')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_company_default_tax_id', 'company', type_='foreignkey')
    op.drop_column('company', 'default_tax_id')
    op.drop_column('tax', 'is_exempt')
