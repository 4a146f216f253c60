"""«Сформировать счёт и договор» from a deal's page, and «Отправить по
e-mail» on an invoice's and a printed document's page. The rules are
services/deal_documents.py's; this screen checks who may do it:

- from a deal: the deal is one the user may change (row access), and they
  may add invoices (and print, when a contract is asked for);
- by e-mail: the record is one the user may see, as for printing it.
"""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from app import db
from app.models import Deal, Employee, Invoice, PrintedDocument
from app.services import deal_documents, mail, printing, values
from app.services.errors import Refused
from app.views.labels import enum_label, money
from app.views.refusal import translated
from app.views.rowaccess import (
    MAX_ID,
    assign_scope,
    may_change,
    may_read,
    record_or_404,
    restricted_user_id,
)


def _id_or_none(value):
    return int(value) if value and str(value).isdigit() and len(str(value)) < 11 else None


class DealDocumentsForm(FlaskForm):
    template = SelectField(_l("Contract template"), coerce=_id_or_none, validate_choice=False)


class EmailForm(FlaskForm):
    to = StringField(_l("Send to"))
    subject = StringField(_l("Subject of the message"))
    body = TextAreaField(_l("Message text"))
    template = SelectField(_l("Invoice template"), coerce=_id_or_none, validate_choice=False)


def _me():
    return db.session.get(Employee, g.user.id)


def _has(permission, view_name):
    return current_app.appbuilder.sm.has_access(permission, view_name)


def mail_ready():
    return mail.enabled(current_app.config)


def may_make_papers(deal_id):
    """Does the deal page offer «Сформировать счёт и договор»? The rule of
    ``DealDocumentView.from_deal``."""
    return (_has("can_create", "DealDocumentView") and _has("can_add", "InvoiceView")
            and 0 < int(deal_id) <= MAX_ID and may_change(Deal, int(deal_id)))


def _currency(currency):
    """«руб.» for the base currency, else its code (USD)."""
    if currency is None or currency.is_base:
        return gettext("rub.")
    return currency.code


def _signature():
    me = _me()
    return me.full_name if me is not None else ""


class DealDocumentView(BaseView):
    route_base = "/deal-documents"
    default_view = "from_deal"
    method_permission_name = {"from_deal": "create", "email_invoice": "send",
                              "email_document": "send"}

    # --- from a deal -----------------------------------------------------------------

    @expose("/deal/<int:pk>", methods=["GET", "POST"])
    @has_access
    def from_deal(self, pk):
        deal = db.session.get(Deal, pk) if 0 < pk <= MAX_ID else None
        if deal is None or not may_read(Deal, pk):
            abort(404)
        if not may_change(Deal, pk) or not _has("can_add", "InvoiceView"):
            abort(403)
        form = DealDocumentsForm()
        templates = deal_documents.contract_templates(db.session)
        may_print = _has("can_print", "DocumentView")
        form.template.choices = [("", gettext("Without a contract"))] + (
            [(t.id, f"{t.name} ({enum_label(t.entity)})") for t in templates]
            if may_print else [])
        if form.validate_on_submit():
            template = None
            if form.template.data:
                template = deal_documents.contract_template(db.session, form.template.data)
                if template is None or not may_print:
                    form.template.errors.append(gettext("Choose a template"))
            if not form.template.errors:
                landed = self._make(deal, template)
                if landed is not None:
                    return landed
        return self.render_template("sdelka/deal_documents.html", deal=deal, form=form,
                                    money=money, may_print=may_print)

    def _make(self, deal, template):
        title = deal.title
        try:
            invoice, document = deal_documents.from_deal(
                db.session, deal, _me(), restricted_user_id(), assign_scope(), template,
                label=enum_label)
        except (Refused, printing.TemplateError, printing.PdfError) as exc:
            db.session.rollback()
            reason = "; ".join(translated(m) for m in exc.errors.values()) \
                if isinstance(exc, Refused) else translated(exc)
            flash(gettext("Nothing was created: %(reason)s", reason=reason), "danger")
            return None
        number, invoice_id = invoice.number, invoice.id
        printed = document.file_name if document is not None else None
        db.session.commit()
        if printed:
            flash(gettext("Invoice No. %(number)s and the contract «%(file)s» are made from "
                          "the deal «%(deal)s»", number=number, file=printed, deal=title),
                  "success")
        else:
            flash(gettext("Invoice No. %(number)s is made from the deal «%(deal)s»",
                          number=number, deal=title), "success")
        return redirect(url_for("InvoiceView.show", pk=invoice_id))

    # --- by e-mail ---------------------------------------------------------------------

    @expose("/invoice/<int:pk>/email", methods=["GET", "POST"])
    @has_access
    def email_invoice(self, pk):
        invoice = record_or_404(Invoice, pk)
        form = EmailForm()
        templates = deal_documents.invoice_templates(db.session)
        form.template.choices = [(t.id, t.name) for t in templates]
        what = gettext("Invoice No. %(number)s of %(date)s", number=invoice.number or "",
                       date=values.date_text(invoice.issue_date))
        if request.method == "GET":
            chosen = deal_documents.invoice_template(db.session)
            form.template.data = chosen.id if chosen is not None else None
            form.subject.data = what
            form.body.data = gettext(
                "Hello!\n\nPlease find attached the invoice No. %(number)s of %(date)s for "
                "%(total)s %(currency)s.\n\nBest regards,\n%(name)s",
                number=invoice.number or "", date=values.date_text(invoice.issue_date),
                total=money(invoice.total),
                currency=_currency(invoice.currency),
                name=_signature())
        back = url_for("InvoiceView.show", pk=pk)

        def attachment():
            template = deal_documents.invoice_template(db.session, form.template.data)
            if template is None:
                form.template.errors.append(gettext("Choose a template"))
                return None
            return deal_documents.invoice_pdf(db.session, invoice, template, _me(),
                                              label=enum_label)

        return self._email(form, invoice.client, attachment, what, back,
                           dict(client_id=invoice.client_id, deal_id=invoice.deal_id,
                                entity="invoice", entity_id=invoice.id),
                           title=what, templates=templates)

    @expose("/document/<int:pk>/email", methods=["GET", "POST"])
    @has_access
    def email_document(self, pk):
        document = record_or_404(PrintedDocument, pk)
        form = EmailForm()
        del form.template
        name = document.file_name[:-4] if document.file_name.lower().endswith(".pdf") \
            else document.file_name
        if request.method == "GET":
            form.subject.data = name
            form.body.data = gettext(
                "Hello!\n\nPlease find attached the document «%(document)s».\n\n"
                "Best regards,\n%(name)s", document=name, name=_signature())
        deal = deal_documents.deal_of_document(db.session, document)
        deal_id = deal.id if deal is not None and deal.client_id == document.client_id \
            else None
        return self._email(form, document.client,
                           lambda: (document.file_name, document.content), document.file_name,
                           url_for("DocumentView.show", pk=pk),
                           dict(client_id=document.client_id, deal_id=deal_id,
                                entity=document.entity.value, entity_id=document.entity_id),
                           title=name, templates=None)

    def _email(self, form, client, attachment, what, back, links, *, title, templates):
        """The e-mail form of a record: sends ``attachment()`` (file name, PDF)
        and records it (``links``: record_sent's), or shows why not."""
        ready = mail_ready()
        if request.method == "GET":
            form.to.data = client.email if client is not None and client.email else ""
        if form.validate_on_submit():
            if not ready:
                flash(gettext("E-mail sending is not set up: the administrator sets "
                              "MAIL_SERVER"), "danger")
            else:
                sent = self._send(form, attachment, what, links)
                if sent:
                    flash(gettext("Sent by e-mail to %(addresses)s",
                                  addresses=", ".join(sent)), "success")
                    return redirect(back)
        return self.render_template("sdelka/send_by_email.html", form=form, back=back,
                                    title=title, ready=ready, templates=templates)

    def _send(self, form, attachment, what, links):
        try:
            addresses = deal_documents.recipients(form.to.data)
            made = attachment()
            if made is None:
                return None
            file_name, pdf = made
            deal_documents.send(current_app.config, addresses, form.subject.data,
                                form.body.data, file_name, pdf)
        except Refused as exc:
            for field, message in exc.errors.items():
                if field in form:
                    form[field].errors.append(translated(message))
                else:
                    flash(translated(message), "danger")
            return None
        except (printing.TemplateError, printing.PdfError) as exc:
            flash(gettext("The PDF was not made: %(reason)s", reason=translated(exc)),
                  "danger")
            return None
        except mail.MailError:
            db.session.rollback()
            flash(gettext("The message was not sent: the mail server could not be reached "
                          "or refused it. Try again later; the administrator sees the reason "
                          "in the log."), "danger")
            return None
        deal_documents.record_sent(db.session, what, addresses, g.user.id, **links)
        db.session.commit()
        return addresses


def register(appbuilder):
    appbuilder.add_view_no_menu(DealDocumentView)
    appbuilder.app.jinja_env.globals.update(mail_ready=mail_ready,
                                            may_make_papers=may_make_papers)
