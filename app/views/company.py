"""Company requisites: one record, shown and edited in place."""
from flask import redirect, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import Optional

from app import db
from app.models import Company
from app.services import invoices, validation
from app.services.company import ensure_company
from app.views.fields import AccountOfBank, Normalised
from app.views.refusal import KeepTypedMixin, refuse_on
from app.views.show import shown


class CompanyView(KeepTypedMixin, ModelView):
    route_base = "/company"
    datamodel = SQLAInterface(Company)
    base_permissions = ["can_show", "can_edit"]
    # The menu opens "list", which here means "the single record".
    method_permission_name = {"list": "show", "show": "show", "edit": "edit"}

    show_template = "sdelka/company_show.html"
    show_title = _l("Company requisites")
    edit_title = _l("Edit company requisites")
    label_columns = {
        "name": _l("Company name"),
        "inn": _l("INN"),
        "kpp": _l("KPP"),
        "ogrn": _l("OGRN"),
        "bank_name": _l("Bank"),
        "bik": _l("BIK"),
        "settlement_account": _l("Settlement account"),
        "corr_account": _l("Correspondent account"),
        "postcode": _l("Postcode"),
        "director_name": _l("Director's full name"),
        "director_position": _l("Director's position"),
        "legal_address": _l("Legal address"),
        "actual_address": _l("Actual address"),
        "okved": _l("OKVED codes"),
        "oktmo": _l("OKTMO"),
        "invoice_prefix": _l("Invoice number prefix"),
        "invoice_next_number": _l("Next invoice number"),
        "invoice_terms": _l("Default payment terms of invoices"),
        "default_tax": _l("Default VAT rate"),
        "prices_include_vat": _l("Prices include VAT"),
    }
    description_columns = {
        "invoice_prefix": _l("Invoice numbers are the prefix and seven digits: INV0000001"),
        "invoice_next_number": _l("The number the next new invoice gets; numbers already "
                                  "used are skipped"),
        "default_tax": _l("A new invoice line takes it unless its product has a tax"),
        "prices_include_vat": _l("New invoices start with prices that already hold the VAT "
                                 "(«В том числе НДС»)"),
    }
    edit_form_query_rel_fields = {"default_tax": [["is_active", FilterEqual, True]]}
    formatters_columns = {"prices_include_vat": shown}
    show_fieldsets = [
        (_l("Company"), {"fields": ["name", "inn", "kpp", "ogrn", "okved", "oktmo"]}),
        (_l("Bank"), {"fields": ["bank_name", "bik", "settlement_account", "corr_account"]}),
        (_l("Addresses"), {"fields": ["postcode", "legal_address", "actual_address"]}),
        (_l("Management"), {"fields": ["director_name", "director_position"]}),
        (_l("Invoices"), {"fields": ["invoice_prefix", "invoice_next_number",
                                     "invoice_terms", "default_tax", "prices_include_vat"]}),
    ]
    edit_fieldsets = show_fieldsets
    validators_columns = {
        "inn": [Normalised(validation.inn)],
        "kpp": [Normalised(validation.kpp)],
        "ogrn": [Normalised(validation.ogrn)],
        "bik": [Normalised(validation.bik)],
        "settlement_account": [AccountOfBank(validation.settlement_account)],
        "corr_account": [AccountOfBank(validation.corr_account)],
        "postcode": [Normalised(validation.postcode)],
        "okved": [Normalised(validation.okved)],
        "oktmo": [Normalised(validation.oktmo)],
    }

    # Optional in the form: a form without them (an older client, a script)
    # keeps the stored numbering.
    edit_form_extra_fields = {
        "invoice_prefix": StringField(_l("Invoice number prefix"), [Optional()],
                                      widget=BS3TextFieldWidget()),
        "invoice_next_number": IntegerField(_l("Next invoice number"), [Optional()],
                                            widget=BS3TextFieldWidget()),
        # Not required: an unticked box is a plain "no".
        "prices_include_vat": BooleanField(
            _l("Prices include VAT"),
            description=_l("New invoices start with prices that already hold the VAT "
                           "(«В том числе НДС»)")),
    }

    def pre_update(self, item):
        with db.session.no_autoflush:
            stored = db.session.execute(
                select(Company.invoice_prefix, Company.invoice_next_number)
                .where(Company.id == item.id)).one()
        prefix = stored[0] if item.invoice_prefix is None else item.invoice_prefix
        number = stored[1] if item.invoice_next_number is None else item.invoice_next_number
        item.invoice_prefix, item.invoice_next_number = refuse_on(
            invoices.check_numbering, prefix, number)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            # FAB's record page has no edit button: without one the form was
            # reachable only by typing its address.
            kwargs["can_edit"] = self.appbuilder.sm.has_access("can_edit",
                                                               self.class_permission_name)
        return super().render_template(template, **kwargs)

    @expose("/list/")
    @has_access
    def list(self):
        """The one row's page; the row is saved on the first visit."""
        company = ensure_company(db.session)
        db.session.commit()
        return redirect(url_for(".show", pk=company.id))
