"""The registers of acts and UPDs (services/closing.py) and their lines.

An act or a UPD is made from an invoice («Сформировать акт» / «Сформировать
УПД» on the invoice's page, the register's ``add`` permission), never typed
in from scratch; its lines are edited in the «Позиции» tab while it is a
draft, and it is printed from its template (DocumentView, entity act/upd)
like any record."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import NumberRange, Optional

from app import db
from app.labels import ENUMS, FIELDS
from app.models import Act, ActLine, ClosingStatus, Invoice, Upd, UpdLine
from app.services import closing, records
from app.services.errors import Refused
from app.views.datamodel import ListInterface
from app.views.invoices import vat_rate
from app.views.labels import enum_label, money
from app.views.refusal import apply_status, refuse, translated
from app.views.register_base import RegisterView
from app.views.rowaccess import (
    MAX_ID,
    NEW_LINK_CHOICES,
    ROW_ACCESS,
    assign_scope,
    record_or_404,
    restricted_user_id,
)

LINE_LABELS = dict(FIELDS, document=_l("Document"), unit=_l("Unit"), tax=_l("VAT"),
                   tax_rate=_l("VAT rate, %"), tax_amount=_l("VAT amount"))
DOCUMENT_LABELS = dict(FIELDS, client=_l("Buyer"), invoice=_l("Invoice"),
                       prices_include_vat=_l("Prices include VAT"),
                       tax_amount=_l("VAT amount"), comment=_l("Comment"))
# A line is added to a draft the user may change.
DRAFTS = ROW_ACCESS + [["status", FilterEqual, ClosingStatus.DRAFT]]


class ClosingLineView(RegisterView):
    """Lines of an act or a UPD: edited while it is a draft; amounts and
    the document's totals computed on the server."""

    label_columns = LINE_LABELS
    list_columns = ["description", "quantity", "unit", "price", "discount_percent", "tax",
                    "amount", "tax_amount"]
    add_columns = edit_columns = ["document", "description", "quantity", "unit", "price",
                                  "discount_percent", "tax"]
    show_columns = add_columns + ["tax_rate", "amount", "tax_amount"]
    search_columns = ["description"]
    base_order = ("sort_order", "asc")
    add_form_query_rel_fields = dict(NEW_LINK_CHOICES, document=DRAFTS)
    edit_form_query_rel_fields = dict(NEW_LINK_CHOICES, document=DRAFTS)
    validators_columns = {"quantity": [NumberRange(min=0.001)],
                          "price": [Optional(), NumberRange(min=0)],
                          "discount_percent": [Optional(), NumberRange(min=0, max=100)]}
    add_form_extra_fields = edit_form_extra_fields = {
        "unit": StringField(_l("Unit"), [Optional()], widget=BS3TextFieldWidget()),
    }
    description_columns = {
        "tax": _l("The VAT rate of the line; the invoice's rate is kept until another "
                  "tax is chosen"),
    }
    formatters_columns = dict(RegisterView.formatters_columns, amount=money, tax_amount=money,
                              tax_rate=vat_rate)

    parent_show = None  # the document's page

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """A line of an issued document is not opened for editing."""
        if not str(pk).isdigit() or int(pk) > MAX_ID:
            abort(404)
        line = db.session.get(self.datamodel.obj, int(pk))
        if line is not None and line.document.status is not ClosingStatus.DRAFT:
            flash(translated(closing.ONLY_DRAFT), "warning")
            return redirect(url_for(self.parent_show, pk=line.document_id))
        return super().edit(pk)

    def pre_add(self, item):
        if item.document is None:
            refuse(_l("Choose the act or the UPD"))
        super().pre_add(item)

    def pre_update(self, item):
        if item.document is None:
            refuse(_l("Choose the act or the UPD"))
        super().pre_update(item)


class ActLineView(ClosingLineView):
    route_base = "/act-lines"
    datamodel = ListInterface(ActLine)
    list_title = _l("Act lines")
    parent_show = "ActView.show"


class UpdLineView(ClosingLineView):
    route_base = "/upd-lines"
    datamodel = ListInterface(UpdLine)
    list_title = _l("UPD lines")
    parent_show = "UpdView.show"


class ClosingView(RegisterView):
    """Acts or UPDs: made from an invoice, edited while drafts, issued,
    printed."""

    label_columns = DOCUMENT_LABELS
    list_columns = ["number", "date", "client", "invoice", "total", "status", "responsible"]
    order_columns = ["number", "date", "status", "total"]
    edit_columns = ["date", "responsible", "comment"]
    show_columns = ["number", "status", "date", "client", "invoice", "deal", "responsible",
                    "prices_include_vat", "comment", "subtotal", "tax_amount", "total"]
    search_columns = ["number", "date", "status"]
    base_order = ("date", "desc")
    show_template = "sdelka/closing_show.html"
    formatters_columns = dict(RegisterView.formatters_columns, total=money, subtotal=money,
                              tax_amount=money)
    method_permission_name = {"set_status": "edit", "make": "add"}
    kind = None  # "act" or "upd": the history's and the print's name

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        """Not typed in: made from an invoice."""
        flash(gettext("An act or a UPD is made from an issued or paid invoice: open the "
                      "invoice and press «Сформировать акт» or «Сформировать УПД»"), "info")
        return redirect(url_for("InvoiceView.list"))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if not str(pk).isdigit() or int(pk) > MAX_ID:
            abort(404)
        document = db.session.get(self.datamodel.obj, int(pk))
        if document is not None and document.status is not ClosingStatus.DRAFT:
            flash(gettext("Only a draft act or UPD can be changed; return it to draft first"),
                  "warning")
            return redirect(url_for(".show", pk=pk))
        return super().edit(pk)

    @expose("/make/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def make(self, pk):
        """From the invoice ``pk``: a draft with its lines, then its page."""
        invoice = record_or_404(Invoice, pk, write=True)
        user_id, viewer, scope = g.user.id, restricted_user_id(), assign_scope()
        try:
            document = closing.make_from_invoice(
                db.session, self.datamodel.obj, invoice,
                lambda item: records.write(db.session, item, user_id, viewer, None, scope))
        except Refused as exc:
            db.session.rollback()
            flash(translated(exc), "danger")
            return redirect(url_for("InvoiceView.show", pk=pk))
        db.session.commit()
        flash(self.made_text(document.number, invoice.number), "success")
        return redirect(url_for(".show", pk=document.id))

    @expose("/status/<int(max=2147483647):pk>", methods=["POST"])
    @has_access
    def set_status(self, pk):
        self._ensure_writable(pk)
        document = db.session.get(self.datamodel.obj, pk)
        if document is None:
            abort(404)
        apply_status(closing.set_status, document, request.form.get("status", ""),
                     lambda: gettext("%(number)s: %(status)s", number=document.number,
                                     status=enum_label(document.status)))
        return redirect(url_for(".show", pk=pk))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            document = db.session.get(self.datamodel.obj, int(kwargs["pk"]))
            kwargs.update(document=document, kind=self.kind, money=money,
                          statuses=ENUMS[ClosingStatus],
                          draft=document is not None
                          and document.status is ClosingStatus.DRAFT,
                          upd_status=closing.upd_status(document.lines)
                          if document is not None and self.kind == "upd" else None)
        return super().render_template(template, **kwargs)


class ActView(ClosingView):
    route_base = "/acts"
    datamodel = ListInterface(Act)
    related_views = [ActLineView]
    kind = "act"

    def made_text(self, number, invoice):
        return gettext("Act %(number)s made from the invoice %(invoice)s", number=number,
                       invoice=invoice)


class UpdView(ClosingView):
    route_base = "/upds"
    datamodel = ListInterface(Upd)
    related_views = [UpdLineView]
    kind = "upd"

    def made_text(self, number, invoice):
        return gettext("UPD %(number)s made from the invoice %(invoice)s", number=number,
                       invoice=invoice)
