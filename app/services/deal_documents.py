"""A deal's papers in one action, and documents sent to the client by e-mail.

From a deal: an invoice to the deal's client for the deal's amount, written
through the one write path of register records (services/records.py: the
invoice's numbering and defaults, its line's amounts, the links the writer
may make), its totals recomputed by services/invoices.py, and a contract
printed from a template of deals or of clients (services/documents.py),
both linked to the deal.

By e-mail: an invoice's PDF (printed from an invoice template, not kept)
or a printed document's stored PDF goes to one or a few addresses through
services/mail.py. A sent message leaves a note on the client (and the
deal) authored by the sender, so the record's timeline shows it."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import (
    Deal,
    DocumentTemplate,
    Invoice,
    InvoiceLine,
    Note,
    TemplateEntity,
    utcnow,
)
from app.services import documents, history, invoices, mail, records, validation
from app.services.errors import Refused

# Templates a contract of a deal is printed from: the deal's own kind, and
# the client's (a deal's context holds its client, so such a template prints
# the same for the deal).
CONTRACT_ENTITIES = (TemplateEntity.DEAL, TemplateEntity.CLIENT)
# Built-in invoice template (services/seed.py): the default of the e-mail.
INVOICE_TEMPLATE_CODE = "invoice"
# A message goes to the client, not to a mailing list.
MAX_RECIPIENTS = 5


# --- an invoice and a contract from a deal ------------------------------------------

def contract_templates(session):
    """Active templates a deal's contract may be printed from."""
    return session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.entity.in_(CONTRACT_ENTITIES),
        DocumentTemplate.is_active.is_(True))
        .order_by(DocumentTemplate.entity, DocumentTemplate.name)).all()


def contract_template(session, template_id):
    """The chosen template if a contract may be printed from it, else None."""
    template = session.get(DocumentTemplate, template_id) if template_id else None
    if template is None or not template.is_active or template.entity not in CONTRACT_ENTITIES:
        return None
    return template


def make_invoice(session, deal, actor_id, viewer_id, assign):
    """A new draft invoice of ``deal``: its client, currency and responsible,
    one line «<deal title>» x 1 at the deal's amount with the company's
    default tax. The deal's amount is what the client pays: the invoice's
    prices include VAT, so its total is the deal's amount. ``viewer_id``/``assign``: the
    writer's scope as records.write takes it. Raises Refused."""
    amount = Decimal(deal.amount or 0)
    if amount <= 0:
        raise Refused(_l("The deal has no amount: set it before making an invoice"))
    with session.no_autoflush:
        invoice = Invoice(client=deal.client, deal=deal, currency=deal.currency,
                          prices_include_vat=True)
        # The deal's owner keeps the invoice when the writer may give it to
        # them (a manager's own deal, or anyone for the head and the admin).
        if deal.responsible is not None and records.owner_refusal(
                session, actor_id, assign, deal.responsible_id, True) is None:
            invoice.responsible = deal.responsible
        records.write(session, invoice, actor_id, viewer_id, None, assign)
    session.add(invoice)
    session.flush()
    line = InvoiceLine(invoice=invoice, description=(deal.title or "")[:500],
                       quantity=Decimal(1), price=amount, discount_percent=Decimal(0))
    records.write(session, line, actor_id, viewer_id, None, assign)
    session.add(line)
    invoices.recalculate(session, invoice)
    session.flush()
    return invoice


def print_contract(session, template, deal, user, *, label=None):
    """The contract of ``deal`` printed from ``template`` (services/
    documents.print_document): a deal's template for the deal; a client's
    for the deal's client, then linked to the deal, whose papers it is (the
    client link stays)."""
    if template.entity is TemplateEntity.DEAL:
        return documents.print_document(session, template, deal, user, label=label)
    document = documents.print_document(session, template, deal.client, user, label=label)
    document.entity, document.entity_id = TemplateEntity.DEAL, deal.id
    session.flush()
    return document


def from_deal(session, deal, user, viewer_id, assign, template=None, *, label=None):
    """The invoice and, with a ``template``, the contract of ``deal``, in the
    caller's transaction: (invoice, document or None). Raises Refused,
    printing.TemplateError or printing.PdfError (the caller rolls back)."""
    invoice = make_invoice(session, deal, user.id, viewer_id, assign)
    document = print_contract(session, template, deal, user, label=label) \
        if template is not None else None
    return invoice, document


# --- sending by e-mail ------------------------------------------------------------------

def invoice_templates(session):
    return documents.templates_for(session, TemplateEntity.INVOICE)


def invoice_template(session, template_id=None):
    """The invoice template chosen (an active one), else the built-in one,
    else the first active one; None when there is none."""
    found = invoice_templates(session)
    for template in found:
        if template_id and template.id == template_id:
            return template
    if template_id:
        return None
    return next((t for t in found if t.code == INVOICE_TEMPLATE_CODE), found[0] if found
                else None)


def invoice_pdf(session, invoice, template, user, *, label=None):
    """(file name, PDF) of ``invoice`` printed from ``template``; nothing is
    kept. Raises printing.TemplateError or printing.PdfError."""
    context = documents.build_context(session, TemplateEntity.INVOICE, invoice, user,
                                      label=label)
    pdf = documents.render_pdf(template.body, context)
    return documents.file_name(template.name, TemplateEntity.INVOICE, invoice), pdf


def recipients(text):
    """The addresses of «a@b.ru, c@d.ru» (commas or semicolons), checked
    and normalised; Refused at the field ``to`` for none, a bad one or too
    many."""
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",")]
    parts = [part for part in parts if part]
    if not parts:
        raise Refused(_l("Enter the recipient's e-mail address"), "to")
    if len(parts) > MAX_RECIPIENTS:
        raise Refused(_l("At most %(count)d addresses, separated by commas",
                         count=MAX_RECIPIENTS), "to")
    found = []
    for part in parts:
        try:
            address = validation.email(part)
        except validation.ValidationError:
            raise Refused(_l("Not an e-mail address: %(address)s", address=part),
                          "to") from None
        if "\r" in address or "\n" in address:
            raise Refused(_l("Not an e-mail address: %(address)s", address=part), "to")
        if address not in found:
            found.append(address)
    return found


def send(settings, addresses, subject, body, file_name, pdf):
    """Send the PDF to ``addresses`` (``recipients``). Raises Refused when
    sending is not configured or the subject is empty, mail.MailError when
    the server cannot be reached or refuses."""
    if not mail.enabled(settings):
        raise Refused(_l("E-mail sending is not set up: the administrator sets MAIL_SERVER"))
    subject = " ".join((subject or "").split())
    if not subject:
        raise Refused(_l("Enter the subject"), "subject")
    message = mail.build(settings, addresses, subject[:250], body or "",
                         [(file_name, pdf, "application/pdf")])
    mail.deliver(settings, message)


def record_sent(session, what, addresses, author_id, *, client_id, deal_id=None,
                entity=None, entity_id=None):
    """The sending on the record's timeline: a note of the sender on the
    client (and the deal) «Отправлено по e-mail: Счёт № … на …»; a record
    without a client keeps it in its history instead."""
    text = str(_l("Sent by e-mail: %(what)s to %(addresses)s", what=what,
                  addresses=", ".join(addresses)))
    if client_id is not None:
        session.add(Note(client_id=client_id, deal_id=deal_id, text=text,
                         author_id=author_id, created_at=utcnow()))
    elif entity is not None:
        history.record(session, entity, entity_id, None, "email", text)
    session.flush()


def deal_of_document(session, document):
    """The deal a printed document belongs to (its own record, or the deal
    of the invoice or task it was printed for), or None."""
    if document.entity is TemplateEntity.DEAL:
        return session.get(Deal, document.entity_id)
    record = documents.load_record(session, document.entity, document.entity_id)
    return getattr(record, "deal", None) if record is not None else None
