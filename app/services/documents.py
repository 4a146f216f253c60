"""Printing documents from templates: the data a template sees,
the list of placeholders shown in the editor, rendering to HTML and PDF,
storing the printed file and recording the print in the client's history.

The context is built from plain values (dicts, lists, strings, Decimals,
dates), never ORM objects: a template in the sandbox can then reach only
what is listed here, not relationships that lead to users, password hashes
or lazy queries.
"""
import datetime
import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import (
    Act,
    Application,
    Client,
    ClientKind,
    CustomFieldType,
    Deal,
    DocumentTemplate,
    Invoice,
    PrintedDocument,
    Task,
    TemplateEntity,
    Upd,
    utcnow,
)
from app.services import (
    company_images,
    custom_fields,
    declension,
    history,
    invoices,
    loan,
    personal_data,
    printing,
    values,
)
from app.services.company import get_company
from app.services.errors import Refused
from app.services.printing import N_

MODELS = {TemplateEntity.CLIENT: Client, TemplateEntity.APPLICATION: Application,
          TemplateEntity.DEAL: Deal, TemplateEntity.TASK: Task,
          TemplateEntity.INVOICE: Invoice, TemplateEntity.ACT: Act, TemplateEntity.UPD: Upd}
# The UPD is a wide form: printed on a landscape page.
PAGE_CSS = {TemplateEntity.UPD: printing.LANDSCAPE_CSS}
# Codes the UPD prints beside the currency and the units (ОКВ, ОКЕИ).
CURRENCY_CODES = {"RUB": "643", "RUR": "643", "USD": "840", "EUR": "978", "CNY": "156",
                  "KZT": "398", "BYN": "933"}
UNIT_CODES = {"шт": "796", "шт.": "796", "усл": "876", "усл.": "876", "усл. ед.": "876",
              "услуга": "876", "ч": "356", "час": "356", "ч.": "356", "день": "359",
              "дн.": "359", "мес": "362", "мес.": "362", "кг": "166", "т": "168", "м": "006",
              "м2": "055", "м²": "055", "м3": "113", "м³": "113", "л": "112", "компл": "839",
              "компл.": "839", "упак": "778", "упак.": "778", "кв. м": "055", "км": "008"}
ENTITY_OF = {model: entity for entity, model in MODELS.items()}


def _value(label, value):
    """An enum as its label, a related row as its text, else the value."""
    if value is None:
        return ""
    if hasattr(value, "value") and hasattr(value, "name") and label is not None:
        return str(label(value))
    return value


def percent(value):
    """Decimal("15.900") -> "15,9"; None -> ""."""
    return values.number_text(value)


def _text(row):
    return "" if row is None else str(row)


# --- the context, one plain dict per record --------------------------------------------

COMPANY_FIELDS = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "settlement_account",
                  "corr_account", "postcode", "director_name", "director_position",
                  "legal_address", "actual_address", "okved", "oktmo",
                  "chief_accountant_name")
CLIENT_FIELDS = ("id", "name", "last_name", "first_name", "middle_name", "birth_date",
                 "passport_series", "passport_number", "passport_issued_by",
                 "passport_issue_date", "inn", "ogrn", "kpp", "legal_address", "bank_name",
                 "bik", "settlement_account", "corr_account", "phone", "phone2", "email",
                 "city", "address")


def _plain(row, fields):
    return {name: ("" if getattr(row, name) is None else getattr(row, name))
            for name in fields}


def company_dict(company):
    data = _plain(company, COMPANY_FIELDS)
    # «действующего» / «действующей» on behalf of the company.
    data["director_gender"] = declension.gender(data["director_name"])
    # The logo, stamp and signatures: URIs only render_pdf embeds, empty
    # while «Печать и подписи в документах» is off.
    data |= company_images.template_values(company)
    return data


def employee_dict(user):
    if user is None:
        return {"full_name": "", "last_name": "", "first_name": "", "middle_name": "",
                "position": "", "phone": "", "email": ""}
    return {"full_name": user.full_name, "last_name": user.last_name or "",
            "first_name": user.first_name or "", "middle_name": user.middle_name or "",
            "position": user.position or "", "phone": user.phone or "",
            "email": user.email or ""}


def _full_name(client):
    """Surname, name and patronymic from their fields, else the client's name."""
    parts = [client.last_name, client.first_name, client.middle_name]
    return " ".join(p for p in parts if p) if client.last_name else (client.name or "")


def client_dict(client, label=None):
    if client is None:
        return None
    data = _plain(client, CLIENT_FIELDS)
    is_person = client.kind == ClientKind.PERSON
    data.update(kind=_value(label, client.kind), region=_text(client.region),
                responsible=client.responsible.full_name if client.responsible else "",
                is_person=is_person,
                # «именуемый» / «именуемая»: told by the patronymic or the name.
                gender=declension.gender(_full_name(client)) if is_person else "")
    return data


def application_dict(application, label=None):
    return {"id": application.id, "date": application.date, "amount": application.amount,
            "term_months": application.term_months or "",
            "rate_percent": percent(application.rate_percent),
            "loan_purpose": _text(application.loan_purpose), "offer": application.offer or "",
            "status": _value(label, application.status), "comment": application.comment or ""}


def schedule_dict(application, first_payment=None):
    """The repayment schedule of an application (loan.compute_schedule), or
    None when the amount, term or rate is missing."""
    if not (application.amount and application.term_months
            and application.rate_percent is not None):
        return None
    first = first_payment or loan.next_month(application.date or datetime.date.today())
    try:
        schedule = loan.compute_schedule(application.amount, application.rate_percent,
                                         application.term_months, first)
    except values.ValidationError:
        return None
    return {
        "rows": [{"number": r.number, "date": r.date, "payment": r.payment,
                  "interest": r.interest, "principal": r.principal, "balance": r.balance}
                 for r in schedule.rows],
        "monthly_payment": schedule.monthly_payment, "total_payment": schedule.total_payment,
        "total_interest": schedule.total_interest,
        "total_principal": schedule.total_principal,
    }


def deal_dict(deal, label=None):
    return {"id": deal.id, "title": deal.title, "amount": deal.amount,
            "currency": deal.currency.code if deal.currency else "",
            "currency_short": invoices.currency_short(deal.currency.code if deal.currency
                                                      else ""),
            "stage": _text(deal.stage), "probability": deal.probability,
            "expected_close": deal.expected_close or "", "status": _value(label, deal.status),
            "comment": deal.comment or "",
            "responsible": deal.responsible.full_name if deal.responsible else ""}


def task_dict(task, label=None):
    return {"id": task.id, "type": _text(task.type), "status": _text(task.status),
            "description": task.description or "", "planned_at": task.planned_at,
            "deadline": task.deadline or "", "started_at": task.started_at or "",
            "finished_at": task.finished_at or "", "result": task.result or "",
            "note": task.note or "",
            "assignee": task.assignee.full_name if task.assignee else "",
            "author": task.author.full_name if task.author else ""}


def invoice_dict(invoice, label=None):
    lines = []
    ordered = sorted(invoice.lines, key=lambda x: (x.sort_order, x.id or 0))
    for number, line in enumerate(ordered, 1):
        lines.append({
            "number": number, "description": line.description,
            "unit": line.product.unit if line.product else "",
            "quantity": line.quantity,  # printed as a person writes it: 50, 1,5
            "price": line.price, "discount_percent": line.discount_percent,
            "tax": invoices.vat_label(line.tax_rate), "tax_rate": line.tax_rate or Decimal(0),
            "amount": line.amount, "tax_amount": line.tax_amount,
            "total": (line.amount or 0) + (0 if invoice.prices_include_vat
                                            else (line.tax_amount or 0))})
    currency = invoice.currency
    summary = invoices.print_summary(
        [(line.tax_rate, line.tax_amount) for line in ordered],
        included=invoice.prices_include_vat, currency_code=currency.code if currency else "",
        terms=invoice.terms)
    return summary | {
        "number": invoice.number or "", "issue_date": invoice.issue_date,
        "due_date": invoice.due_date or "", "payment_term": _value(label, invoice.payment_term),
        "currency": currency.code if currency else "RUB",
        "currency_name": currency.name if currency else "",
        "exchange_rate": invoice.exchange_rate, "order_number": invoice.order_number or "",
        "status": _value(label, invoice.status),
        "notes": invoice.comment or "", "subtotal": invoice.subtotal,
        "tax_amount": invoice.tax_amount, "total": invoice.total, "lines": lines,
        "recipient": client_dict(invoice.recipient, label),
        "deal": invoice.deal.title if invoice.deal else "",
    }


def closing_dict(document, label=None):
    """An act or a UPD (services/closing.py) as its templates see it: the
    lines with the amounts a UPD's columns need (without VAT, the VAT, with
    VAT), the totals, VAT per rate and the UPD's status (1 or 2)."""
    lines = []
    ordered = sorted(document.lines, key=lambda x: (x.sort_order, x.id or 0))
    included = bool(document.prices_include_vat)
    for number, line in enumerate(ordered, 1):
        amount, vat = line.amount or Decimal(0), line.tax_amount or Decimal(0)
        without = amount - vat if included else amount
        quantity = line.quantity or Decimal(1)
        lines.append({
            "number": number, "description": line.description, "unit": line.unit or "",
            "unit_code": UNIT_CODES.get((line.unit or "").strip().lower(), ""),
            "quantity": line.quantity, "price": line.price,
            "discount_percent": line.discount_percent,
            "price_without_vat": values.kopecks(without / quantity),
            "tax": invoices.vat_label(line.tax_rate),
            "tax_rate": "без НДС" if line.tax_rate is None
            else f"{values.number_text(line.tax_rate)}%",
            "amount": amount, "tax_amount": vat, "amount_without_vat": without,
            "total": without + vat})
    currency = document.currency
    code = currency.code if currency else "RUB"
    summary = invoices.print_summary([(line.tax_rate, line.tax_amount) for line in ordered],
                                     included=included, currency_code=code, terms="")
    invoice = document.invoice
    total = document.total or Decimal(0)
    tax = document.tax_amount or Decimal(0)
    return summary | {
        "number": document.number, "date": document.date,
        "status": _value(label, document.status),
        "upd_status": 1 if any(line.tax_rate is not None for line in ordered) else 2,
        "currency": code, "currency_name": currency.name if currency else "Российский рубль",
        "currency_code": CURRENCY_CODES.get(code.upper(), ""),
        "subtotal": document.subtotal, "tax_amount": tax, "total": total,
        "total_without_vat": total - tax,
        "has_discount": any(line.discount_percent for line in ordered),
        "lines": lines, "comment": document.comment or "",
        "invoice_number": invoice.number if invoice else "",
        "invoice_date": invoice.issue_date if invoice else "",
        "order_number": (invoice.order_number or "") if invoice else "",
        "deal": document.deal.title if document.deal else "",
        "responsible": document.responsible.full_name if document.responsible else "",
    }


def custom_dict(session, record):
    """{code: text} of the record's active custom fields, written as its
    page shows them ("" when empty): ``{{ client.custom.monthly_income }}``."""
    entity = custom_fields.ENTITY_OF[type(record)]
    definitions = custom_fields.fields_of(session, entity)
    return custom_fields.texts(session, entity, [record.id], definitions)[record.id]


def _with_custom(session, context, records):
    """Each record's dict of the context gets its custom fields."""
    for key, record in records.items():
        if record is not None and context.get(key) is not None:
            context[key]["custom"] = custom_dict(session, record)
    return context


def build_context(session, entity, record, user, *, label=None, today=None):
    """Everything a template of ``entity`` sees for ``record``."""
    entity = TemplateEntity(entity)
    context = {
        "company": company_dict(get_company(session)),
        "employee": employee_dict(user),
        "today": today or datetime.date.today(),
        "client": None, "application": None, "deal": None, "task": None,
        "invoice": None, "schedule": None, "act": None, "upd": None,
    }
    client = record if entity is TemplateEntity.CLIENT else getattr(record, "client", None)
    context["client"] = client_dict(client, label)
    records = {"client": client}
    if entity is TemplateEntity.APPLICATION:
        context["application"] = application_dict(record, label)
        context["schedule"] = schedule_dict(record)
        records["application"] = record
    elif entity is TemplateEntity.DEAL:
        context["deal"] = deal_dict(record, label)
        records["deal"] = record
    elif entity is TemplateEntity.TASK:
        context["task"] = task_dict(record, label)
        if record.deal is not None:
            context["deal"] = deal_dict(record.deal, label)
        if record.application is not None:
            context["application"] = application_dict(record.application, label)
            context["schedule"] = schedule_dict(record.application)
        records.update(task=record, deal=record.deal, application=record.application)
    elif entity is TemplateEntity.INVOICE:
        context["invoice"] = invoice_dict(record, label)
        if record.deal is not None:
            context["deal"] = deal_dict(record.deal, label)
        records.update(invoice=record, deal=record.deal)
        _with_custom(session, context["invoice"], {"recipient": record.recipient})
    elif entity in (TemplateEntity.ACT, TemplateEntity.UPD):
        context[entity.value] = closing_dict(record, label)
        context["invoice"] = invoice_dict(record.invoice, label)
        if record.deal is not None:
            context["deal"] = deal_dict(record.deal, label)
        records.update(invoice=record.invoice, deal=record.deal)
    return _with_custom(session, context, records)


def sample_context(session, entity, user, *, today=None):
    """Made-up data for the preview when no record is chosen."""
    today = today or datetime.date.today()
    client = {
        "id": 1, "name": "Иванов Иван Иванович", "kind": "Физическое лицо",
        "last_name": "Иванов", "first_name": "Иван", "middle_name": "Иванович",
        "birth_date": datetime.date(1985, 4, 12), "passport_series": "4510",
        "passport_number": "123456", "passport_issued_by": "ОВД района Арбат г. Москвы",
        "passport_issue_date": datetime.date(2010, 5, 20), "inn": "772812345678",
        "ogrn": "", "kpp": "", "legal_address": "", "bank_name": "", "bik": "",
        "settlement_account": "", "corr_account": "", "phone": "+79161234567",
        "phone2": "", "email": "ivanov@example.ru", "region": "Москва", "city": "Москва",
        "address": "ул. Тверская, д. 1, кв. 2", "responsible": employee_dict(user)["full_name"],
        "is_person": True, "gender": declension.MALE,
    }
    application = {"id": 1, "date": today, "amount": Decimal("300000.00"), "term_months": 12,
                   "rate_percent": "15,9", "loan_purpose": "Потребительский кредит",
                   "offer": "Кредит наличными", "status": "В обработке", "comment": ""}
    schedule = None
    try:
        rows = loan.compute_schedule(Decimal("300000"), Decimal("15.9"), 12,
                                     loan.next_month(today))
        schedule = {
            "rows": [{"number": r.number, "date": r.date, "payment": r.payment,
                      "interest": r.interest, "principal": r.principal,
                      "balance": r.balance} for r in rows.rows],
            "monthly_payment": rows.monthly_payment, "total_payment": rows.total_payment,
            "total_interest": rows.total_interest, "total_principal": rows.total_principal}
    except values.ValidationError:
        pass
    deal = {"id": 1, "title": "Поставка оборудования", "amount": Decimal("150000.00"),
            "currency": "RUB", "currency_short": "руб.", "stage": "Коммерческое предложение",
            "probability": 40,
            "expected_close": today + datetime.timedelta(days=30), "status": "Открыта",
            "comment": "", "responsible": employee_dict(user)["full_name"]}
    lines = [
        {"number": 1, "description": "Консультация", "unit": "услуга",
         "quantity": Decimal(2), "price": Decimal("5000.00"),
         "discount_percent": Decimal(0), "tax": "НДС 22 %", "tax_rate": Decimal(22),
         "amount": Decimal("10000.00"), "tax_amount": Decimal("2200.00"),
         "total": Decimal("12200.00")},
        {"number": 2, "description": "Сопровождение сделки", "unit": "услуга",
         "quantity": Decimal(1), "price": Decimal("15000.00"),
         "discount_percent": Decimal(10), "tax": "НДС 22 %", "tax_rate": Decimal(22),
         "amount": Decimal("13500.00"), "tax_amount": Decimal("2970.00"),
         "total": Decimal("16470.00")},
    ]
    terms = "Оплата в течение 15 дней с даты выставления счёта."
    invoice = {"number": "INV0000001", "issue_date": today,
               "due_date": today + datetime.timedelta(days=15), "payment_term": "15 дней",
               "currency": "RUB", "currency_name": "Российский рубль",
               "exchange_rate": Decimal(1), "order_number": "З-17", "status": "Черновик",
               "notes": "Спасибо за покупку!", "subtotal": Decimal("23500.00"),
               "tax_amount": Decimal("5170.00"), "total": Decimal("28670.00"),
               "lines": lines, "recipient": None, "deal": deal["title"]}
    invoice |= invoices.print_summary([(line["tax_rate"], line["tax_amount"]) for line in lines],
                                      included=False, currency_code="RUB", terms=terms)
    task = {"id": 1, "type": "Звонок", "status": "В работе",
            "description": "Согласовать условия договора",
            "planned_at": datetime.datetime.combine(today, datetime.time(10)),
            "deadline": "", "started_at": "", "finished_at": "", "result": "", "note": "",
            "assignee": employee_dict(user)["full_name"],
            "author": employee_dict(user)["full_name"]}
    entity = TemplateEntity(entity)
    for key, data in (("client", client), ("application", application), ("deal", deal),
                      ("task", task), ("invoice", invoice)):
        data["custom"] = sample_custom(session, key, today)
    closing = {
        "number": "АКТ0000001", "date": today, "status": "Черновик", "upd_status": 1,
        "currency": "RUB", "currency_name": "Российский рубль", "currency_code": "643",
        "subtotal": invoice["subtotal"], "tax_amount": invoice["tax_amount"],
        "total": invoice["total"],
        "total_without_vat": invoice["total"] - invoice["tax_amount"], "has_discount": True,
        "lines": [line | {"unit_code": "876", "tax_rate": "22%",
                          "price_without_vat": values.kopecks(line["amount"] / line["quantity"]),
                          "amount_without_vat": line["amount"]} for line in lines],
        "comment": "", "invoice_number": invoice["number"], "invoice_date": today,
        "order_number": invoice["order_number"], "deal": deal["title"],
        "responsible": employee_dict(user)["full_name"],
    } | {key: invoice[key] for key in ("prices_include_vat", "vat", "currency_short",
                                       "in_roubles")}
    return {
        "company": company_dict(get_company(session)), "employee": employee_dict(user),
        "today": today, "client": client,
        "application": application if entity in (TemplateEntity.APPLICATION,
                                                  TemplateEntity.TASK) else None,
        "schedule": schedule if entity in (TemplateEntity.APPLICATION,
                                           TemplateEntity.TASK) else None,
        "deal": deal if entity in (TemplateEntity.DEAL, TemplateEntity.TASK,
                                   TemplateEntity.INVOICE, TemplateEntity.ACT,
                                   TemplateEntity.UPD) else None,
        "task": task if entity is TemplateEntity.TASK else None,
        "invoice": invoice if entity in (TemplateEntity.INVOICE, TemplateEntity.ACT,
                                         TemplateEntity.UPD) else None,
        "act": closing if entity is TemplateEntity.ACT else None,
        "upd": closing | {"number": "УПД0000001"} if entity is TemplateEntity.UPD else None,
    }


SAMPLE_VALUES = {
    CustomFieldType.TEXT: "Пример", CustomFieldType.LONG_TEXT: "Пример текста",
    CustomFieldType.INTEGER: 12, CustomFieldType.DECIMAL: Decimal("12.5"),
    CustomFieldType.MONEY: Decimal("150000.00"), CustomFieldType.BOOLEAN: True,
}


def sample_custom(session, entity, today):
    """Made-up values of the entity's custom fields: the default, or one of
    the field's kind."""
    out = {}
    for field in custom_fields.fields_of(session, entity):
        value = custom_fields.default_of(session, field)
        kind = CustomFieldType(field.type)
        if value is None and kind in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
            choices = custom_fields.choices_of(field)[:1 if kind == CustomFieldType.CHOICE else 2]
            value = choices[0] if kind == CustomFieldType.CHOICE else choices
        elif value is None and kind == CustomFieldType.DICTIONARY:
            value = next(iter(custom_fields.dictionary_rows(session, field)), None)
        elif value is None:
            value = today if kind == CustomFieldType.DATE else SAMPLE_VALUES[kind]
        out[field.code] = custom_fields.text_of(session, field, value)
    return out


def custom_placeholders(session):
    """{group of PLACEHOLDERS: [(placeholder, definition)]}: the custom
    fields of each record a template sees."""
    groups = (("client", N_("Client")), ("application", N_("Application")),
              ("deal", N_("Deal")), ("task", N_("Task")), ("invoice", N_("Invoice")))
    return {group: [(f"{key}.custom.{d.code}", d)
                    for d in custom_fields.fields_of(session, key)]
            for key, group in groups}


# --- placeholders listed in the editor --------------------------------------------------

PLACEHOLDERS = (
    (N_("Company requisites"), (
        ("company.name", N_("Company name")), ("company.inn", N_("INN")),
        ("company.kpp", N_("KPP")), ("company.ogrn", N_("OGRN")),
        ("company.bank_name", N_("Bank")), ("company.bik", N_("BIK")),
        ("company.settlement_account", N_("Settlement account")),
        ("company.corr_account", N_("Correspondent account")),
        ("company.legal_address", N_("Legal address")),
        ("company.actual_address", N_("Actual address")),
        ("company.postcode", N_("Postcode")),
        ("company.director_name", N_("Director's full name")),
        ("company.director_position", N_("Director's position")),
        ("company.director_position|genitive",
         N_("Director's position in the genitive: «в лице Генерального директора»")),
        ("company.director_name|name_genitive",
         N_("Director's full name in the genitive: «Иванова Ивана Ивановича»")),
        ("company.director_name|initials", N_("Director's surname and initials")),
        ("company.director_gender", N_("Director's gender: male, female or empty")),
        ("company.okved", N_("OKVED codes")), ("company.oktmo", N_("OKTMO")),
    )),
    (N_("Client"), (
        ("client.name", N_("Name or full name")), ("client.kind", N_("Kind")),
        ("client.last_name", N_("Last name")), ("client.first_name", N_("First name")),
        ("client.middle_name", N_("Middle name")),
        ("client.birth_date|date_ru", N_("Birth date")),
        ("client.passport_series", N_("Passport series")),
        ("client.passport_number", N_("Passport number")),
        ("client.passport_issued_by", N_("Passport issued by")),
        ("client.passport_issue_date|date_ru", N_("Passport issue date")),
        ("client.inn", N_("INN")), ("client.ogrn", N_("OGRN")), ("client.kpp", N_("KPP")),
        ("client.legal_address", N_("Legal address")), ("client.bank_name", N_("Bank")),
        ("client.bik", N_("BIK")), ("client.settlement_account", N_("Settlement account")),
        ("client.corr_account", N_("Correspondent account")),
        ("client.phone", N_("Phone")), ("client.email", N_("Email")),
        ("client.region", N_("Region")), ("client.city", N_("City")),
        ("client.address", N_("Address")), ("client.responsible", N_("Responsible")),
        ("client.is_person", N_("A person (not a company): for {% if client.is_person %}")),
        ("client.gender", N_("Gender of a person: male, female or empty")),
    )),
    (N_("Application"), (
        ("application.id", N_("Number")), ("application.date|date_ru", N_("Date")),
        ("application.amount|money", N_("Loan amount")),
        ("application.term_months", N_("Term, months")),
        ("application.rate_percent", N_("Annual interest rate")),
        ("application.loan_purpose", N_("Loan purpose")), ("application.offer", N_("Offer")),
        ("schedule.rows", N_("Payment schedule rows: number, date, payment, interest, "
                             "principal, balance")),
        ("schedule.monthly_payment|money", N_("Monthly payment")),
        ("schedule.total_payment|money", N_("Total of payments")),
        ("schedule.total_interest|money", N_("Overpayment (interest)")),
    )),
    (N_("Deal"), (
        ("deal.title", N_("Title")), ("deal.amount|money", N_("Amount")),
        ("deal.currency", N_("Currency")),
        ("deal.currency_short", N_("Currency as documents write it: «руб.»")),
        ("deal.stage", N_("Stage")),
        ("deal.expected_close|date_ru", N_("Expected close")),
        ("deal.responsible", N_("Responsible")),
    )),
    (N_("Task"), (
        ("task.id", N_("Number")), ("task.type", N_("Type")), ("task.status", N_("Status")),
        ("task.description", N_("Description")), ("task.planned_at|date_ru", N_("Planned")),
        ("task.assignee", N_("Assignee")), ("task.result", N_("Result")),
    )),
    (N_("Invoice"), (
        ("invoice.number", N_("Number")), ("invoice.issue_date|date_ru", N_("Issue date")),
        ("invoice.due_date|date_ru", N_("Due date")), ("invoice.currency", N_("Currency")),
        ("invoice.order_number", N_("Order number")), ("invoice.terms", N_("Terms")),
        ("invoice.notes", N_("Notes for the client")),
        ("invoice.lines", N_("Lines: number, description, unit, quantity, price, "
                             "discount_percent, tax, amount, tax_amount, total")),
        ("invoice.subtotal|money", N_("Subtotal")), ("invoice.tax_amount|money", N_("Tax")),
        ("invoice.total|money", N_("Total")),
        ("invoice.vat", N_("VAT by rate: label («НДС 22 %», «В том числе НДС 22 %», "
                           "«Без НДС»), rate, amount")),
        ("invoice.currency_short", N_("Currency as documents write it: «руб.»")),
        ("invoice.recipient.name", N_("Recipient, when not the buyer")),
    )),
    (N_("Act or UPD"), (
        ("act.number", N_("Act's number")), ("act.date|date_ru", N_("Act's date")),
        ("upd.number", N_("UPD's number")), ("upd.date|date_ru", N_("UPD's date")),
        ("upd.upd_status", N_("UPD's status: 1 with VAT, 2 without")),
        ("act.lines", N_("Lines: number, description, unit, unit_code, quantity, price, "
                         "price_without_vat, tax, tax_rate, amount, amount_without_vat, "
                         "tax_amount, total (upd.lines the same)")),
        ("act.subtotal|money", N_("Subtotal")), ("act.tax_amount|money", N_("Tax")),
        ("act.total|money", N_("Total")),
        ("act.total_without_vat|money", N_("Total without VAT")),
        ("act.vat", N_("VAT by rate: label («НДС 22 %», «В том числе НДС 22 %», "
                       "«Без НДС»), rate, amount")),
        ("act.invoice_number", N_("Number of the invoice it was made from")),
        ("act.invoice_date|date_ru", N_("Date of the invoice it was made from")),
        ("upd.currency_code", N_("Currency's code: 643 for roubles")),
    )),
    (N_("Other"), (
        ("employee.full_name", N_("Current employee: full name")),
        ("employee.position", N_("Current employee: position")),
        ("employee.phone", N_("Current employee: phone")),
        ("today|date_ru", N_("Today's date as DD.MM.YYYY")),
        ("today|date_ru('long')", N_("Today's date with the month in words")),
    )),
    (N_("Filters"), (
        ("x|money", N_("Amount with two decimals: 1 234,50")),
        ("x|number", N_("Number as people write it: 50, 1,5")),
        ("x|blank", N_("The value, or a line ____ to fill in by hand when it is empty; "
                       "blank(20) sets the length")),
        ("x|genitive", N_("A position in the genitive: Генерального директора")),
        ("x|name_genitive", N_("A full name in the genitive: Иванова Ивана Ивановича")),
        ("x|initials", N_("Surname and initials: Иванов И. И.")),
        ("x|amount_in_words", N_("Amount in Russian words with roubles and kopecks")),
        ("x|roubles", N_("Amount with «руб.» and «коп.»: 28 670 руб. 00 коп.")),
        ("x|date_ru", N_("Date as DD.MM.YYYY; date_ru('long') spells the month")),
        ("{% for line in invoice.lines %}…{% endfor %}", N_("Repeat for every line")),
        ("{% if client.inn %}…{% endif %}", N_("Show only when filled")),
    )),
)


# --- rendering and printing ------------------------------------------------------------

def render_html(template_body, context):
    """HTML of a template; TemplateError with line and reason on failure."""
    return printing.render_template_string(template_body, context)


def render_pdf(template_body, context, entity=None):
    """The PDF of a template; a UPD's on a landscape page (PAGE_CSS)."""
    page_css = PAGE_CSS.get(TemplateEntity(entity)) if entity else None
    return printing.html_to_pdf(render_html(template_body, context),
                                images=company_images.pdf_images(context.get("company")),
                                page_css=page_css)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def record_title(entity, record):
    """How the record is named in a file name: "INV0000001 от 23.11.2026"."""
    entity = TemplateEntity(entity)
    if entity is TemplateEntity.INVOICE:
        return f"{record.number or record.id} от {values.date_text(record.issue_date)}"
    if entity in (TemplateEntity.ACT, TemplateEntity.UPD):
        return f"{record.number or record.id} от {values.date_text(record.date)}"
    if entity is TemplateEntity.CLIENT:
        return record.name or f"№{record.id}"
    if entity is TemplateEntity.DEAL:
        return record.title or f"№{record.id}"
    client = getattr(record, "client", None)
    return f"№{record.id}" + (f" {client.name}" if client is not None else "")


def file_name(template_name, entity, record, today=None):
    """"Счёт на оплату INV0000001 от 23.11.2026.pdf": no path or quote
    characters, at most 150 characters."""
    base = f"{template_name} {record_title(entity, record)}"
    base = _UNSAFE.sub(" ", base)
    base = re.sub(r"\s+", " ", base).strip(" .") or "document"
    return base[:150].rstrip(" .") + ".pdf"


def templates_for(session, entity):
    return session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.entity == TemplateEntity(entity),
        DocumentTemplate.is_active.is_(True)).order_by(DocumentTemplate.name)).all()


def client_id_of(entity, record):
    return record.id if TemplateEntity(entity) is TemplateEntity.CLIENT \
        else getattr(record, "client_id", None)


def print_document(session, template, record, user, *, label=None):
    """Render ``template`` for ``record`` to PDF, keep the file, record the
    print in the client's history. Returns the PrintedDocument (not yet
    committed). Raises TemplateError, PdfError or Refused."""
    entity = template.entity
    if ENTITY_OF.get(type(record)) is not entity:
        raise Refused(_l("This template is for another kind of record"))
    context = build_context(session, entity, record, user, label=label)
    pdf = render_pdf(template.body, context, entity)
    client_id = client_id_of(entity, record)
    document = PrintedDocument(
        template_id=template.id, template_name=template.name, entity=entity,
        entity_id=record.id, client_id=client_id,
        author_id=user.id if user is not None else None, created_at=utcnow(),
        file_name=file_name(template.name, entity, record), size=len(pdf), content=pdf)
    session.add(document)
    history.record(session, entity.value, record.id, client_id, "print",
                   f"{template.name}: {document.file_name}")
    personal_data.printed(session, client_id, user.id if user is not None else None)
    session.flush()
    return document


def documents_of(session, entity, record_id, limit=100):
    """Printed documents of a record, newest first (content not loaded)."""
    return session.scalars(select(PrintedDocument).where(
        PrintedDocument.entity == TemplateEntity(entity),
        PrintedDocument.entity_id == record_id)
        .order_by(PrintedDocument.created_at.desc(), PrintedDocument.id.desc())
        .limit(limit)).all()


def documents_of_client(session, client_id, limit=200):
    return session.scalars(select(PrintedDocument).where(
        PrintedDocument.client_id == client_id)
        .order_by(PrintedDocument.created_at.desc(), PrintedDocument.id.desc())
        .limit(limit)).all()


def load_record(session, entity, record_id):
    return session.get(MODELS[TemplateEntity(entity)], record_id)

