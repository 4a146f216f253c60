"""The company's requisites: exactly one row, created on first use."""
from app.models import Company

COMPANY_ID = 1


def get_company(session):
    company = session.get(Company, COMPANY_ID)
    if company is None:
        company = Company(id=COMPANY_ID, name="")
        session.add(company)
        session.commit()
    return company
