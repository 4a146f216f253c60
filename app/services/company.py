"""The company's requisites: exactly one row, saved by the requisites
screen (or by the first invoice's number)."""
from decimal import Decimal

from sqlalchemy import select

from app.models import Company, Tax

COMPANY_ID = 1
# The standard VAT rate since 1 January 2026: a new company's default tax.
STANDARD_VAT = Decimal(22)


def standard_tax_id(session):
    """The dictionary's active standard-rate VAT, if it has one."""
    with session.no_autoflush:
        return session.scalar(select(Tax.id).where(
            Tax.rate == STANDARD_VAT, Tax.is_exempt.is_(False), Tax.is_active.is_(True))
            .order_by(Tax.sort_order, Tax.id).limit(1))


def _blank(session):
    return Company(id=COMPANY_ID, name="", invoice_prefix="INV", invoice_next_number=1,
                   default_tax_id=standard_tax_id(session), prices_include_vat=False)


def get_company(session):
    """The requisites to read (documents, reports, invoices' terms): the
    stored row, or before the first save a blank one outside the session,
    so that reading them writes nothing."""
    return session.get(Company, COMPANY_ID) or _blank(session)


def ensure_company(session):
    """The row to change: the stored one, or a blank one added to the
    session (the caller commits)."""
    company = session.get(Company, COMPANY_ID)
    if company is None:
        company = _blank(session)
        session.add(company)
    return company
