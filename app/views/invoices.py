"""The register of invoices and their lines."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, StringField
from wtforms.validators import NumberRange, Optional

from app import db
from app.labels import ENUMS, FIELDS
from app.models import Invoice, InvoiceLine, InvoiceStatus, PaymentTerm
from app.services import closing, invoices
from app.services.company import get_company
from app.services.errors import Refused
from app.views.datamodel import ListInterface
from app.views.fields import enum_field
from app.views.labels import enum_label, money
from app.views.refusal import apply_status, refuse, translated
from app.views.register_base import RegisterView
from app.views.rowaccess import MAX_ID, record_or_404


def vat_rate(rate):
    """A line's kept rate: «22 %», or «Без НДС» without one."""
    return invoices.vat_label(rate).removeprefix("НДС ")


class InvoiceLineView(RegisterView):
    """Lines of an invoice, edited in the "Lines" tab of the invoice: only
    while the invoice is a draft; amounts and the invoice's totals are
    computed on the server after every change."""

    route_base = "/invoice-lines"
    datamodel = ListInterface(InvoiceLine)
    list_title = _l("Invoice lines")
    label_columns = dict(FIELDS, tax=_l("VAT"), tax_rate=_l("VAT rate, %"),
                         tax_amount=_l("VAT amount"))
    list_columns = ["description", "quantity", "price", "discount_percent", "tax", "amount",
                    "tax_amount"]
    add_columns = edit_columns = ["invoice", "product", "description", "quantity", "price",
                                  "discount_percent", "tax"]
    show_columns = add_columns + ["tax_rate", "amount", "tax_amount"]
    search_columns = ["description"]
    base_order = ("sort_order", "asc")
    description_columns = {
        "description": _l("Left empty, the name of the chosen product or service"),
        "price": _l("Left at zero, the price of the chosen product or service"),
        "tax": _l("Left empty, the tax of the chosen product or the company's default; "
                  "added to the amount or included in it as the invoice says"),
    }
    validators_columns = {"quantity": [NumberRange(min=0.001)],
                          "price": [Optional(), NumberRange(min=0)],
                          "discount_percent": [Optional(), NumberRange(min=0, max=100)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "description": StringField(FIELDS["description"], [Optional()],
                                   widget=BS3TextFieldWidget()),
    }
    formatters_columns = dict(RegisterView.formatters_columns, amount=money, tax_amount=money,
                              tax_rate=vat_rate)

    def _check_invoice(self, line):
        if line.invoice is None:
            refuse(_l("Choose the invoice"))

    def pre_add(self, item):
        self._check_invoice(item)
        super().pre_add(item)

    def pre_update(self, item):
        self._check_invoice(item)
        super().pre_update(item)


class InvoiceView(RegisterView):
    """Invoices: numbered on creation, edited while drafts,
    moved through the statuses, duplicated, printed."""

    route_base = "/invoices"
    datamodel = ListInterface(Invoice)
    label_columns = dict(FIELDS, client=_l("Buyer"), comment=_l("Notes for the client"),
                         prices_include_vat=_l("Prices include VAT"), tax_amount=_l("VAT amount"))
    list_columns = ["number", "issue_date", "due_date", "client", "total", "currency", "status",
                    "responsible"]
    order_columns = ["number", "issue_date", "due_date", "status", "total"]
    add_columns = edit_columns = ["client", "recipient", "deal", "issue_date", "payment_term",
                                  "due_date", "currency", "exchange_rate", "prices_include_vat",
                                  "order_number", "responsible", "terms", "comment"]
    show_columns = ["number", "status"] + add_columns + ["subtotal", "tax_amount", "total"]
    search_columns = ["number", "issue_date", "due_date", "status", "order_number"]
    base_order = ("issue_date", "desc")
    related_views = [InvoiceLineView]
    show_template = "sdelka/invoice_show.html"
    description_columns = {
        "number": _l("Given on saving: the prefix and the next number set in the company "
                     "requisites"),
        "due_date": _l("Only for the payment term \"On a date\"; otherwise computed"),
        "exchange_rate": _l("Roubles for one unit of the currency; empty takes the "
                            "currency's rate"),
        "recipient": _l("Leave empty when the recipient is the buyer"),
        "prices_include_vat": _l("The prices of the lines already hold the VAT: the invoice "
                                 "shows «В том числе НДС»; otherwise the VAT is added on top"),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "payment_term": enum_field(FIELDS["payment_term"], PaymentTerm,
                                   default=PaymentTerm.DAYS_15),
        # No default of 1: left empty, the currency's own rate is taken.
        "exchange_rate": DecimalField(FIELDS["exchange_rate"],
                                      [Optional(), NumberRange(min=0.000001)], places=None,
                                      widget=BS3TextFieldWidget()),
        # A new invoice starts with the company's choice.
        "prices_include_vat": BooleanField(
            _l("Prices include VAT"),
            default=lambda: bool(get_company(db.session).prices_include_vat),
            description=_l("The prices of the lines already hold the VAT: the invoice "
                           "shows «В том числе НДС»; otherwise the VAT is added on top")),
    }
    formatters_columns = dict(RegisterView.formatters_columns, total=money, subtotal=money,
                              tax_amount=money, payment_term=enum_label)
    method_permission_name = {"set_status": "edit", "duplicate": "add"}

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if not str(pk).isdigit() or int(pk) > MAX_ID:
            abort(404)
        invoice = db.session.get(Invoice, int(pk))
        if invoice is not None and invoice.status is not InvoiceStatus.DRAFT:
            flash(gettext("Only a draft invoice can be changed; return it to draft first"),
                  "warning")
            return redirect(url_for(".show", pk=pk))
        return super().edit(pk)

    def _writable_invoice(self, pk):
        self._ensure_writable(pk)
        invoice = db.session.get(Invoice, pk)
        if invoice is None:
            abort(404)
        return invoice

    @expose("/status/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def set_status(self, pk):
        invoice = self._writable_invoice(pk)
        apply_status(invoices.set_status, invoice, request.form.get("status", ""),
                     lambda: gettext("Invoice %(number)s: %(status)s", number=invoice.number,
                                     status=enum_label(invoice.status)))
        return redirect(url_for(".show", pk=pk))

    @expose("/duplicate/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def duplicate(self, pk):
        source = record_or_404(Invoice, pk)
        try:
            copy = invoices.duplicate(db.session, source, g.user.id)
        except Refused as exc:
            db.session.rollback()
            flash(translated(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        db.session.commit()
        flash(gettext("Invoice %(number)s created as a copy of %(source)s",
                      number=copy.number, source=source.number), "success")
        return redirect(url_for(".show", pk=copy.id))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            invoice = db.session.get(Invoice, int(kwargs["pk"]))
            kwargs["invoice"] = invoice
            kwargs["statuses"] = ENUMS[InvoiceStatus]
            kwargs["money"] = money
            kwargs["draft"] = invoice is not None and invoice.status is InvoiceStatus.DRAFT
            # Acts and UPDs: made from an issued or paid invoice, listed under it.
            kwargs["closing_documents"] = closing.of_invoice(db.session, invoice.id) \
                if invoice is not None else []
            kwargs["may_close"] = invoice is not None and invoice.status in closing.MADE_FROM
        return super().render_template(template, **kwargs)
