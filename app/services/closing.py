"""Acts and UPDs: the closing documents an office issues after an invoice.

From an issued or paid invoice one action makes an «Акт выполненных работ
(оказанных услуг)» (``Act``) or a «Универсальный передаточный документ»
(``Upd``) as a draft carrying the invoice's lines, linked to the invoice,
its client and its deal. Each kind is numbered by the invoice numbering
rule (``invoices.next_number``) from a counter of its own in the company
row. While a draft its lines are edited (amounts computed as an invoice
line's, ``invoices.line_amounts``, with the prices including VAT or not as
the invoice said); an issued one is read-only, as an issued invoice is.

A UPD has status 1 (a счёт-фактура and a передаточный документ) when a
line carries VAT, a rate of 0 % included, and status 2 (a передаточный
документ alone) when every line is «Без НДС».
"""
import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import (
    Act,
    ActLine,
    ClosingStatus,
    InvoiceStatus,
    Tax,
    Upd,
    UpdLine,
)
from app.services import access, invoices
from app.services.errors import Refused

DOCUMENTS = (Act, Upd)
LINES = {Act: ActLine, Upd: UpdLine}
COUNTERS = {Act: ("act_prefix", "act_next_number", Act),
            Upd: ("upd_prefix", "upd_next_number", Upd)}
# (prefix, next number) columns of the company row, set in the requisites.
COUNTERS_OF_COMPANY = tuple(counter[:2] for counter in COUNTERS.values())
# An invoice these may be made from.
MADE_FROM = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)
ONLY_DRAFT = _l("Only a draft act or UPD can be changed; return it to draft first")


def upd_status(lines):
    """1 when a line carries VAT (its rate, 0 % too), else 2."""
    return 1 if any(line.tax_rate is not None for line in lines) else 2


# --- made from an invoice ------------------------------------------------------------

def make_from_invoice(session, model, invoice, write):
    """A draft ``model`` (Act or Upd) with the lines of ``invoice``, saved
    through ``write`` (records.write bound to the writer: the rules here,
    the same client, the links the writer may make). Not committed."""
    if invoice.status not in MADE_FROM:
        raise Refused(_l("An act or a UPD is made from an issued or paid invoice"))
    lines = sorted(invoice.lines, key=lambda x: (x.sort_order, x.id))
    if not lines:
        raise Refused(_l("Add at least one line before issuing the invoice"))
    document = model(invoice=invoice, client=invoice.client, deal=invoice.deal,
                     currency=invoice.currency,
                     prices_include_vat=bool(invoice.prices_include_vat))
    write(document)
    line_model = LINES[model]
    for position, line in enumerate(lines):
        document.lines.append(line_model(
            description=line.description,
            unit=(line.product.unit if line.product is not None else "") or "",
            quantity=line.quantity, price=line.price, discount_percent=line.discount_percent,
            tax_id=line.tax_id, tax_rate=line.tax_rate, sort_order=position))
    _compute(document)
    session.add(document)
    session.flush()
    return document


# --- the rules of a write --------------------------------------------------------------

def stored_status(session, document):
    if document.id is None:
        return ClosingStatus.DRAFT
    model = type(document)
    with session.no_autoflush:
        return session.scalar(select(model.status).where(model.id == document.id))


def ensure_editable(session, document):
    if stored_status(session, document) is not ClosingStatus.DRAFT:
        raise Refused(ONLY_DRAFT)


def ensure_deletable(session, document):
    if stored_status(session, document) is not ClosingStatus.DRAFT:
        raise Refused(_l("An issued act or UPD cannot be deleted"))


def prepare(session, document, stored):
    """records.RULES of an act or a UPD. A new one: draft, its number, today,
    the invoice's client, deal, currency and VAT wording. A stored one
    changes only while a draft (its status always may); its invoice and
    client stay."""
    with session.no_autoflush:
        if stored is None:
            invoice = document.invoice
            if invoice is None:
                raise Refused(_l("An act or a UPD is made from an issued or paid invoice"))
            document.status = ClosingStatus.DRAFT
            document.number = invoices.next_number(session, COUNTERS[type(document)])
            document.date = document.date or datetime.date.today()
            document.client = invoice.client
            return
        changed = {key for key, value in stored.items()
                   if key not in ("created_at", "updated_at")
                   and getattr(document, key) != value}
        if stored["status"] is not ClosingStatus.DRAFT and changed - {"status"}:
            raise Refused(ONLY_DRAFT)
        if changed & {"invoice_id", "client_id", "number"}:
            raise Refused(_l("The invoice, client and number of an act or a UPD stay as made"))
        if "status" in changed:
            set_status(session, document, document.status)
        if not document.date:
            raise Refused(_l("Choose the date"), "date")
        if "prices_include_vat" in changed:
            _compute(document)


def set_status(session, document, status):
    """Draft or issued; issued only with lines."""
    status = ClosingStatus(status)
    if status is ClosingStatus.ISSUED and not document.lines:
        raise Refused(_l("Add at least one line before issuing the document"))
    document.status = status


def prepare_line(session, line, stored):
    """records.RULES of a line: its document must be a draft (and so must
    the one it leaves); the rate is taken again from a tax chosen anew; the
    amounts are computed."""
    document = line.document
    if document is None:
        raise Refused(_l("Choose the act or the UPD"))
    with session.no_autoflush:
        ensure_editable(session, document)
        if stored is not None and stored["document_id"] != document.id:
            ensure_editable(session, session.get(type(document), stored["document_id"]))
        if not (line.description or "").strip():
            raise Refused(_l("Describe the line"), "description")
        if line.quantity is None:
            line.quantity = Decimal(1)
        if line.price is None:
            line.price = Decimal(0)
        if line.discount_percent is None:
            line.discount_percent = Decimal(0)
        line.unit = (line.unit or "").strip()
        if line.tax is None and line.tax_id is not None:
            line.tax = session.get(Tax, line.tax_id)
        tax_id = line.tax.id if line.tax is not None else None
        if stored is None or stored.get("tax_id") != tax_id:
            line.tax_rate = invoices.rate_of(line.tax)
        if line.id is None:  # a new line goes last
            line.sort_order = len(document.lines)
        line.amount, line.tax_amount = invoices.line_amounts(
            line.quantity, line.price, line.discount_percent, line.tax_rate,
            bool(document.prices_include_vat))


def _compute(document):
    included = bool(document.prices_include_vat)
    for line in document.lines:
        line.amount, line.tax_amount = invoices.line_amounts(
            line.quantity, line.price, line.discount_percent, line.tax_rate, included)
    document.subtotal, document.tax_amount, document.total = invoices.totals(
        document.lines, included)


def recalculate(session, model, document_id):
    """records.AFTER of a line: the document's totals from its lines."""
    document = session.get(model, document_id)
    if document is not None:
        session.flush()
        session.refresh(document, ["lines"])
        _compute(document)


def check_invoice_deletable(session, invoice):
    """An invoice an act or a UPD was made from stays."""
    for model in DOCUMENTS:
        if session.scalar(select(model.id).where(model.invoice_id == invoice.id).limit(1)):
            raise Refused(_l("Acts or UPDs were made from the invoice; it cannot be deleted"))


# --- lists ------------------------------------------------------------------------------------

def of_invoice(session, invoice_id):
    """Acts and UPDs made from an invoice, oldest first."""
    return [document for model in DOCUMENTS for document in session.scalars(
        select(model).where(model.invoice_id == invoice_id).order_by(model.id))]


def of_client(session, client_id, user_id=None, limit=200, *, column="client_id"):
    """The client's acts and UPDs the user may see (``user_id`` None: all),
    newest first: the client page's documents (``column="deal_id"``: a
    deal's, on its page). The caller has checked that the user may read
    the client (the deal): a client's documents then follow it
    (services/access), and the row rule is asked only of a deal's."""
    found = []
    for model in DOCUMENTS:
        query = select(model).where(getattr(model, column) == client_id)
        if user_id is not None and column != "client_id":
            query = query.where(access.clause(model, user_id))
        found += session.scalars(query.order_by(model.date.desc(), model.id.desc())
                                 .limit(limit)).all()
    return sorted(found, key=lambda d: (d.date, d.created_at), reverse=True)[:limit]

