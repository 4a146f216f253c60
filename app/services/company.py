"""The company's requisites: exactly one row, saved by the requisites
screen (or by the first invoice's number)."""
from app.models import Company

COMPANY_ID = 1


def _blank():
    return Company(id=COMPANY_ID, name="", invoice_prefix="INV", invoice_next_number=1)


def get_company(session):
    """The requisites to read (documents, reports, invoices' terms): the
    stored row, or before the first save a blank one outside the session,
    so that reading them writes nothing."""
    return session.get(Company, COMPANY_ID) or _blank()


def ensure_company(session):
    """The row to change: the stored one, or a blank one added to the
    session (the caller commits)."""
    company = session.get(Company, COMPANY_ID)
    if company is None:
        company = _blank()
        session.add(company)
    return company
