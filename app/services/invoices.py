"""Invoices: numbering, due dates, line and invoice totals, the
status rules, duplication.

Numbers are the company's prefix and seven digits (INV0000001). The next
number lives in the company row; taking one is a single
``UPDATE company SET invoice_next_number = invoice_next_number + 1
... RETURNING``, which locks the row until the transaction ends on
PostgreSQL (and the whole database on SQLite), so two invoices created at
the same moment never get the same number; ``invoice.number`` is unique as
well. A number already used (the admin moved the counter back) is skipped.

Totals are computed here in Decimal, never taken from the browser: a line's
amount is quantity x price less its discount, rounded to kopecks half up;
its VAT, rounded the same way line by line, is amount x rate / 100 when VAT
is added on top of the prices, or amount x rate / (100 + rate) when the
prices include it («в т. ч. НДС»). The invoice's subtotal and VAT are the
sums of its lines; its total is the subtotal plus the VAT, or the subtotal
itself when the prices include VAT. A line keeps the rate it was saved with
(``tax_rate``), so changing the tax dictionary never changes an issued
invoice; «Без НДС» (an exempt tax, or none) is a line without a rate.
"""
import datetime
import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from app.models import (
    Company,
    Currency,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentTerm,
    Tax,
)
from app.services import values
from app.services.company import COMPANY_ID, get_company, standard_tax_id
from app.services.errors import Refused

DIGITS = 7
KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)
TERM_DAYS = {PaymentTerm.ON_RECEIPT: 0, PaymentTerm.DAYS_15: 15, PaymentTerm.DAYS_30: 30,
             PaymentTerm.DAYS_45: 45}
MAX_PREFIX = 10
MAX_NUMBER = 10**DIGITS - 1


# --- numbering ------------------------------------------------------------------

def format_number(prefix, number):
    return f"{prefix}{number:0{DIGITS}d}"


def check_numbering(prefix, next_number):
    """The admin's settings: a short prefix of letters, digits, "-" or "/",
    and a start that fits seven digits."""
    prefix = (prefix or "").strip()
    if len(prefix) > MAX_PREFIX or not all(c.isalnum() or c in "-/_" for c in prefix):
        raise Refused(_l("The prefix may have up to 10 letters, digits, \"-\", \"/\" "
                         "or \"_\""))
    if next_number is None or not 1 <= int(next_number) <= MAX_NUMBER:
        raise Refused(_l("The next number must be from 1 to 9999999"))
    return prefix, int(next_number)


INVOICE_COUNTER = ("invoice_prefix", "invoice_next_number", Invoice)


def next_number(session, counter=INVOICE_COUNTER):
    """Take the next invoice number (in the caller's transaction).
    ``counter``: (prefix column, next number column) of the company row and
    the model whose ``number`` holds the numbers given: acts and UPDs are
    numbered by this same rule from counters of their own
    (services/closing.py)."""
    prefix_name, next_name, model = counter
    prefix_column, next_column = getattr(Company, prefix_name), getattr(Company, next_name)
    while True:
        with session.no_autoflush:  # the new invoice is saved by the caller
            taken = session.execute(
                update(Company).where(Company.id == COMPANY_ID)
                .values({next_name: next_column + 1})
                .returning(prefix_column, next_column - 1)
            ).first()
        if taken is None:  # a fresh installation: the counter row first
            session.execute(insert(Company).values(id=COMPANY_ID, name="",
                                                   invoice_prefix="INV",
                                                   invoice_next_number=1,
                                                   default_tax_id=standard_tax_id(session)))
            continue
        prefix, number = taken
        if number > MAX_NUMBER:
            raise Refused(_l("Invoice numbers with this prefix are used up; "
                             "change the prefix in the company requisites"))
        candidate = format_number(prefix or "", number)
        with session.no_autoflush:
            used = session.scalar(select(model.id).where(model.number == candidate))
        if not used:
            return candidate


# --- dates and defaults ------------------------------------------------------------

def due_date(issue_date, term, chosen=None):
    """The due date of a payment term; a chosen date for PaymentTerm.DATE."""
    term = PaymentTerm(term) if term else PaymentTerm.DAYS_15
    if term is PaymentTerm.DATE:
        if chosen is None:
            raise Refused(_l("Choose the due date"))
        if issue_date and chosen < issue_date:
            raise Refused(_l("The due date cannot be before the issue date"))
        return chosen
    return (issue_date or datetime.date.today()) + datetime.timedelta(days=TERM_DAYS[term])


def prepare(session, invoice, *, new, check=True):
    """Fill what the server decides before an invoice is saved: number (new
    ones), base currency and its rate, default terms, the due date. A saved
    invoice must be a draft (``check=False``: the caller checked)."""
    if not new and check:
        ensure_editable(session, invoice)
    if new:
        invoice.status = InvoiceStatus.DRAFT
        invoice.number = next_number(session)
        company = get_company(session)
        if not (invoice.terms or "").strip() and company.invoice_terms:
            invoice.terms = company.invoice_terms
        if invoice.prices_include_vat is None:
            invoice.prices_include_vat = bool(company.prices_include_vat)
    if invoice.currency is None:
        invoice.currency = session.scalar(select(Currency).where(Currency.is_base.is_(True))
                                          .order_by(Currency.id))
    if invoice.exchange_rate is None or invoice.exchange_rate <= 0:
        invoice.exchange_rate = invoice.currency.rate if invoice.currency else Decimal(1)
    if invoice.currency is not None and invoice.currency.is_base:
        invoice.exchange_rate = Decimal(1)
    invoice.issue_date = invoice.issue_date or datetime.date.today()
    invoice.due_date = due_date(invoice.issue_date, invoice.payment_term, invoice.due_date)


# --- status rules ----------------------------------------------------------------------

def stored_status(session, invoice):
    """The status in the database (a form may have changed the object)."""
    if invoice.id is None:
        return InvoiceStatus.DRAFT
    with session.no_autoflush:
        return session.scalar(select(Invoice.status).where(Invoice.id == invoice.id))


def ensure_editable(session, invoice):
    if stored_status(session, invoice) is not InvoiceStatus.DRAFT:
        raise Refused(_l("Only a draft invoice can be changed; return it to draft first"))


def ensure_deletable(session, invoice):
    if stored_status(session, invoice) not in (InvoiceStatus.DRAFT, InvoiceStatus.REJECTED):
        raise Refused(_l("An issued or paid invoice cannot be deleted; "
                         "mark it rejected instead"))


def apply_change(session, invoice, stored):
    """The rules of a change to a stored invoice (``stored``: its row before
    the change, records.stored_row), from a screen or the API: only a draft
    changes, but its status may always be set; a draft's terms and dates are
    filled again."""
    changed = {key for key, value in stored.items()
               if key not in ("created_at", "updated_at") and getattr(invoice, key) != value}
    if stored["status"] is not InvoiceStatus.DRAFT and changed - {"status"}:
        raise Refused(_l("Only a draft invoice can be changed; return it to draft first"))
    if "status" in changed:
        set_status(session, invoice, invoice.status)
    if stored["status"] is InvoiceStatus.DRAFT:
        prepare(session, invoice, new=False, check=False)
        if "prices_include_vat" in changed:
            _compute(invoice)


def set_status(session, invoice, status):
    """Any status may be chosen from the list (draft, issued, paid,
    rejected); an invoice is issued only with lines and a total."""
    status = InvoiceStatus(status)
    if status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID) and not invoice.lines:
        raise Refused(_l("Add at least one line before issuing the invoice"))
    invoice.status = status


def check_client_deletable(session, client_id):
    """A client with invoices (as buyer or recipient) cannot be deleted."""
    used = session.scalar(select(Invoice.id).where(
        (Invoice.client_id == client_id) | (Invoice.recipient_id == client_id)).limit(1))
    if used:
        raise Refused(_l("The client has invoices and cannot be deleted"))


# --- lines and totals --------------------------------------------------------------------

def _money(value):
    return values.kopecks(Decimal(value))


def rate_of(tax):
    """The VAT rate a line takes from ``tax``: None for «Без НДС» (no tax,
    or an exempt one)."""
    if tax is None or tax.is_exempt:
        return None
    return Decimal(tax.rate)


def line_amounts(quantity, price, discount_percent, tax_rate, included=False):
    """(amount, VAT) of one line, each rounded to kopecks half up; the VAT is
    added on top of the amount, or ``included`` in it."""
    quantity, price = Decimal(quantity or 0), Decimal(price or 0)
    discount = Decimal(discount_percent or 0)
    if quantity <= 0:
        raise Refused(_l("The quantity must be greater than zero"))
    if price < 0:
        raise Refused(_l("The price cannot be negative"))
    if not 0 <= discount <= 100:
        raise Refused(_l("The discount must be from 0 to 100"))
    amount = _money(quantity * price * (HUNDRED - discount) / HUNDRED)
    rate = Decimal(tax_rate or 0)
    tax = _money(amount * rate / ((HUNDRED + rate) if included else HUNDRED))
    return amount, tax


def default_tax(session, line):
    """A new line's tax: its product's, else the company's default."""
    if line.product is not None and line.product.tax is not None:
        return line.product.tax
    tax_id = get_company(session).default_tax_id
    return session.get(Tax, tax_id) if tax_id else None


def prepare_line(session, line):
    """Fill a line from its product (name, price, tax) where left empty,
    check the invoice is a draft, take the rate of its tax, compute the
    line's amounts."""
    invoice = line.invoice
    if invoice is None:
        raise Refused(_l("Choose the invoice"))
    ensure_editable(session, invoice)
    if line.id is not None:
        with session.no_autoflush:
            old_invoice = session.scalar(select(InvoiceLine.invoice_id)
                                         .where(InvoiceLine.id == line.id))
        if old_invoice is not None and old_invoice != invoice.id:
            ensure_editable(session, session.get(Invoice, old_invoice))
    product = line.product
    if product is not None:
        if not (line.description or "").strip():
            line.description = product.name
        if line.price is None or (line.id is None and not line.price):
            line.price = product.price
    if line.tax is None and line.tax_id is None and line.id is None:
        line.tax = default_tax(session, line)
    if not (line.description or "").strip():
        raise Refused(_l("Choose a product or service, or describe the line"))
    if line.quantity is None:
        line.quantity = Decimal(1)
    if line.discount_percent is None:
        line.discount_percent = Decimal(0)
    if line.id is None:  # a new line goes last
        with session.no_autoflush:
            line.sort_order = len(invoice.lines)
    if line.tax is None and line.tax_id is not None:
        line.tax = session.get(Tax, line.tax_id)
    line.tax_rate = rate_of(line.tax)
    line.amount, line.tax_amount = line_amounts(
        line.quantity, line.price, line.discount_percent, line.tax_rate,
        bool(invoice.prices_include_vat))


def totals(lines, included=False):
    """(subtotal, VAT, total) of computed lines."""
    subtotal = sum((Decimal(line.amount or 0) for line in lines), Decimal("0.00"))
    tax = sum((Decimal(line.tax_amount or 0) for line in lines), Decimal("0.00"))
    total = subtotal if included else subtotal + tax
    return _money(subtotal), _money(tax), _money(total)


def vat_by_rate(pairs):
    """[(rate or None for «Без НДС», VAT)] of lines given as (rate, VAT)
    pairs, by rate from the highest, «Без НДС» last: a printed invoice lists
    each rate's VAT on its own row."""
    sums = {}
    for rate, vat in pairs:
        rate = None if rate is None else Decimal(rate)
        sums[rate] = sums.get(rate, Decimal("0.00")) + Decimal(vat or 0)
    return sorted(((rate, _money(vat)) for rate, vat in sums.items()),
                  key=lambda pair: (pair[0] is None, -(pair[0] or 0)))


def vat_label(rate):
    """«НДС 22 %», «НДС 0 %» or «Без НДС»: a rate as documents write it."""
    if rate is None:
        return "Без НДС"
    return f"НДС {values.number_text(rate)} %"


ROUBLE_CODES = ("RUB", "RUR")
# Wording of the payment terms that would contradict lines carrying VAT.
NO_VAT_WORDS = re.compile(r"[^.;\n]*(?:НДС\s+не\s+облагается|без\s+НДС|без\s+налога\s*\(НДС\))"
                          r"[^.;\n]*[.;]?", re.IGNORECASE)


def currency_short(code):
    """How documents write the currency after an amount: «руб.» for
    roubles, the ISO code otherwise."""
    return "руб." if not code or code.upper() in ROUBLE_CODES else code


def printed_terms(terms, carries_vat):
    """The payment terms as printed: a clause saying there is no VAT is
    left out while the lines carry VAT."""
    terms = terms or ""
    if carries_vat:
        terms = NO_VAT_WORDS.sub("", terms)
    return terms.strip()


def print_summary(pairs, *, included, currency_code, terms):
    """What a printed invoice shows beside its lines and totals: VAT per
    rate with the wording of added or included VAT, the currency as
    documents write it, the terms. ``pairs``: (rate, VAT) of every line."""
    vat = vat_by_rate(pairs)
    carries_vat = any(rate is not None for rate, _amount in vat)
    prefix = "В том числе " if included else ""
    return {
        "prices_include_vat": bool(included),
        "vat": [{"rate": rate, "amount": amount,
                 "label": vat_label(rate) if rate is None else prefix + vat_label(rate)}
                for rate, amount in vat],
        "currency_short": currency_short(currency_code),
        "in_roubles": currency_short(currency_code) == "руб.",
        "terms": printed_terms(terms, carries_vat),
    }


def recalculate_invoice(session, invoice_id):
    """After a line is saved or deleted: the invoice's totals again."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is not None:
        recalculate(session, invoice)


def _compute(invoice):
    """Every line's amounts at its kept rate, and the invoice's totals."""
    included = bool(invoice.prices_include_vat)
    for line in invoice.lines:
        line.amount, line.tax_amount = line_amounts(
            line.quantity, line.price, line.discount_percent, line.tax_rate, included)
    invoice.subtotal, invoice.tax_amount, invoice.total = totals(invoice.lines, included)


def recalculate(session, invoice):
    """Recompute every line and the invoice's totals from the database."""
    session.flush()
    session.refresh(invoice, ["lines"])
    _compute(invoice)


def duplicate(session, invoice, user_id=None):
    """A new draft with a new number, today's date and the same lines."""
    copy = Invoice(
        client_id=invoice.client_id, recipient_id=invoice.recipient_id,
        deal_id=invoice.deal_id, currency_id=invoice.currency_id,
        exchange_rate=invoice.exchange_rate, order_number=invoice.order_number,
        payment_term=invoice.payment_term, terms=invoice.terms, comment=invoice.comment,
        responsible_id=user_id or invoice.responsible_id,
        issue_date=datetime.date.today(), status=InvoiceStatus.DRAFT,
        prices_include_vat=invoice.prices_include_vat,
    )
    copy.number = next_number(session)
    term = invoice.payment_term or PaymentTerm.DAYS_15
    if term is PaymentTerm.DATE:
        copy.payment_term = PaymentTerm.DATE
        shift = (invoice.due_date - invoice.issue_date) if invoice.due_date else \
            datetime.timedelta(days=15)
        copy.due_date = copy.issue_date + shift
    else:
        copy.due_date = due_date(copy.issue_date, term)
    for position, line in enumerate(sorted(invoice.lines, key=lambda x: (x.sort_order, x.id))):
        copy.lines.append(InvoiceLine(
            product_id=line.product_id, description=line.description, quantity=line.quantity,
            price=line.price, discount_percent=line.discount_percent, tax_id=line.tax_id,
            tax_rate=line.tax_rate, amount=line.amount, tax_amount=line.tax_amount,
            sort_order=position))
    copy.subtotal, copy.tax_amount, copy.total = invoice.subtotal, invoice.tax_amount, \
        invoice.total
    session.add(copy)
    session.flush()
    return copy
