"""Company requisites: one record, shown and edited in place; the admin
uploads the logo, the stamp and the signatures printed on documents
(services/company_images.py)."""
import os

from flask import abort, g, redirect, send_file, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import Optional, ValidationError

from app import db
from app.models import Company
from app.services import closing, company_images, invoices, validation
from app.services.company import ensure_company, get_company
from app.views.fields import AccountOfBank, Normalised
from app.views.files import (
    SEP,
    StoredFileField,
    StoredFileManager,
    StoredFileWidget,
    original_name,
    shown_name,
)
from app.views.files import _remove_queued as remove_queued
from app.views.refusal import KeepTypedMixin, refuse_on
from app.views.show import shown

IMAGE_LIMIT = "COMPANY_IMAGE_MAX_MB"


class ImageFileManager(StoredFileManager):
    """The stored name ends in the extension of what the file is."""

    def generate_name(self, obj, file_data):
        stream = file_data.stream
        position = stream.tell()
        stream.seek(0)
        kind = company_images.kind_of(stream.read(8))
        stream.seek(position)
        stem = os.path.splitext(original_name(file_data.filename))[0] or "image"
        return os.urandom(16).hex() + SEP + original_name(f"{stem}.{kind[1] if kind else 'png'}")


class ImageWidget(StoredFileWidget):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("accept", "image/png,image/jpeg")
        return super().__call__(field, **kwargs)


class ImageField(StoredFileField):
    """An image of the requisites: a PNG or JPEG by its content, at most
    COMPANY_IMAGE_MAX_MB, of sane dimensions (company_images.check); the
    box under it removes the stored one."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("widget", ImageWidget(IMAGE_LIMIT))
        super().__init__(label, validators, limit_setting=IMAGE_LIMIT, **kwargs)
        self.filemanager = ImageFileManager()

    def pre_validate(self, form):
        # Not FAB's check of the name's extension: the content decides.
        if self.data and isinstance(self.data, FileStorage):
            try:
                company_images.check(self.data.stream)
            except company_images.ImageRefused as exc:
                raise ValidationError(exc.message) from exc


def _image_formatter(name):
    def show(stored):
        if not stored:
            return ""
        return Markup('<img src="{}" alt="{}" style="max-height: 80px; max-width: 240px;">'
                      ).format(url_for("CompanyView.image", name=name), shown_name(stored))
    return show


def _closing_numbering(item):
    """Acts' and UPDs' numbering (services/closing.py) by the invoices' rule
    of the settings: a field left out of the form keeps the stored value."""
    for prefix_name, next_name in closing.COUNTERS_OF_COMPANY:
        with db.session.no_autoflush:
            stored = db.session.execute(
                select(getattr(Company, prefix_name), getattr(Company, next_name))
                .where(Company.id == item.id)).one()
        prefix = getattr(item, prefix_name)
        number = getattr(item, next_name)
        checked = refuse_on(invoices.check_numbering,
                            stored[0] if prefix is None else prefix,
                            stored[1] if number is None else number)
        setattr(item, prefix_name, checked[0])
        setattr(item, next_name, checked[1])


class CompanyView(KeepTypedMixin, ModelView):
    route_base = "/company"
    datamodel = SQLAInterface(Company)
    base_permissions = ["can_show", "can_edit"]
    # The menu opens "list", which here means "the single record".
    method_permission_name = {"list": "show", "show": "show", "edit": "edit",
                              "image": "show"}

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
        "act_prefix": _l("Act number prefix"),
        "act_next_number": _l("Next act number"),
        "upd_prefix": _l("UPD number prefix"),
        "upd_next_number": _l("Next UPD number"),
        "default_tax": _l("Default VAT rate"),
        "prices_include_vat": _l("Prices include VAT"),
        "chief_accountant_name": _l("Chief accountant's full name"),
        "print_stamp_signatures": _l("Stamp and signatures in documents"),
        "logo": _l("Logo"),
        "stamp": _l("Stamp"),
        "director_signature": _l("Director's signature"),
        "accountant_signature": _l("Chief accountant's signature"),
    }
    description_columns = {
        "invoice_prefix": _l("Invoice numbers are the prefix and seven digits: INV0000001"),
        "invoice_next_number": _l("The number the next new invoice gets; numbers already "
                                  "used are skipped"),
        "default_tax": _l("A new invoice line takes it unless its product has a tax"),
        "act_prefix": _l("Act numbers are the prefix and seven digits: АКТ0000001; for a new "
                         "year's sequence give a new prefix (АКТ2027-) and the number 1"),
        "upd_prefix": _l("UPD numbers are the prefix and seven digits: УПД0000001"),
        "prices_include_vat": _l("New invoices start with prices that already hold the VAT "
                                 "(«В том числе НДС»)"),
        "print_stamp_signatures": _l("Printed documents carry the logo, the signatures over "
                                     "their lines and the stamp at «М.П.»"),
    }
    edit_form_query_rel_fields = {"default_tax": [["is_active", FilterEqual, True]]}
    formatters_columns = {"prices_include_vat": shown, "print_stamp_signatures": shown,
                          **{name: _image_formatter(name) for name in company_images.IMAGES}}
    show_fieldsets = [
        (_l("Company"), {"fields": ["name", "inn", "kpp", "ogrn", "okved", "oktmo"]}),
        (_l("Bank"), {"fields": ["bank_name", "bik", "settlement_account", "corr_account"]}),
        (_l("Addresses"), {"fields": ["postcode", "legal_address", "actual_address"]}),
        (_l("Management"), {"fields": ["director_name", "director_position",
                                       "chief_accountant_name"]}),
        (_l("Invoices"), {"fields": ["invoice_prefix", "invoice_next_number",
                                     "invoice_terms", "default_tax", "prices_include_vat"]}),
        (_l("Acts and UPDs"), {"fields": ["act_prefix", "act_next_number", "upd_prefix",
                                          "upd_next_number"]}),
        (_l("Stamp and signatures"), {"fields": ["print_stamp_signatures",
                                                 *company_images.IMAGES]}),
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
        "act_prefix": StringField(_l("Act number prefix"), [Optional()],
                                  widget=BS3TextFieldWidget()),
        "act_next_number": IntegerField(_l("Next act number"), [Optional()],
                                        widget=BS3TextFieldWidget()),
        "upd_prefix": StringField(_l("UPD number prefix"), [Optional()],
                                  widget=BS3TextFieldWidget()),
        "upd_next_number": IntegerField(_l("Next UPD number"), [Optional()],
                                        widget=BS3TextFieldWidget()),
        # Not required: an unticked box is a plain "no".
        "prices_include_vat": BooleanField(
            _l("Prices include VAT"),
            description=_l("New invoices start with prices that already hold the VAT "
                           "(«В том числе НДС»)")),
        "print_stamp_signatures": BooleanField(
            _l("Stamp and signatures in documents"),
            description=_l("Printed documents carry the logo, the signatures over their "
                           "lines and the stamp at «М.П.»")),
        **{name: ImageField(label) for name, label in (
            ("logo", _l("Logo")), ("stamp", _l("Stamp")),
            ("director_signature", _l("Director's signature")),
            ("accountant_signature", _l("Chief accountant's signature")))},
    }

    def pre_update(self, item):
        images = [getattr(Company, name) for name in company_images.IMAGES]
        with db.session.no_autoflush:
            stored = db.session.execute(
                select(Company.invoice_prefix, Company.invoice_next_number, *images)
                .where(Company.id == item.id)).one()
        prefix = stored[0] if item.invoice_prefix is None else item.invoice_prefix
        number = stored[1] if item.invoice_next_number is None else item.invoice_next_number
        # The form already put its new images on disk: a refused save takes
        # them back and keeps the stored ones (the refusal rolls back, so
        # the item's new values are read first).
        added = [new for name, old in zip(company_images.IMAGES, stored[2:])
                 if (new := getattr(item, name)) and new != old]
        try:
            item.invoice_prefix, item.invoice_next_number = refuse_on(
                invoices.check_numbering, prefix, number)
            _closing_numbering(item)
        except Exception:
            g.pop("files_to_remove", None)
            for name in added:
                StoredFileManager().delete_file(name)
            raise

    def post_update(self, item):
        super().post_update(item)
        remove_queued()  # a replaced or removed image leaves the disk

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            # FAB's record page has no edit button: without one the form was
            # reachable only by typing its address.
            kwargs["can_edit"] = self.appbuilder.sm.has_access("can_edit",
                                                               self.class_permission_name)
        return super().render_template(template, **kwargs)

    @expose("/image/<string:name>")
    @has_access
    def image(self, name):
        """One of the requisites' images, shown on their page: only a PNG or
        a JPEG (by its content) of the uploads folder."""
        if name not in company_images.IMAGES:
            abort(404)
        path = company_images.path_of(getattr(get_company(db.session), name, None))
        kind = None
        if path:
            with open(path, "rb") as f:
                kind = company_images.kind_of(f.read(8))
        if kind is None:
            abort(404)
        response = send_file(path, mimetype=f"image/{kind[0].lower()}", max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @expose("/list/")
    @has_access
    def list(self):
        """The one row's page; the row is saved on the first visit."""
        company = ensure_company(db.session)
        db.session.commit()
        return redirect(url_for(".show", pk=company.id))
