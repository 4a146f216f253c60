"""Labels and formatters shared by the screens, so a field reads the same
on every screen, export and filter."""
import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import Boolean, DateTime, Enum

from app.models import (
    ClientKind,
    CustomFieldType,
    DealStatus,
    FieldMode,
    InvoiceStatus,
    LeadStatus,
    PaymentTerm,
    ProcessingStatus,
    PublicAccess,
    Reminder,
    TemplateEntity,
)
from app.services import values
from app.views.fields import datetime_text

FIELDS = {
    "id": _l("ID"),
    "kind": _l("Kind"),
    "name": _l("Name"),
    "title": _l("Title"),
    "last_name": _l("Last name"),
    "first_name": _l("First name"),
    "middle_name": _l("Middle name"),
    "birth_date": _l("Birth date"),
    "passport_series": _l("Passport series"),
    "passport_number": _l("Passport number"),
    "passport_issued_by": _l("Passport issued by"),
    "passport_issue_date": _l("Passport issue date"),
    "inn": _l("INN"),
    "ogrn": _l("OGRN"),
    "kpp": _l("KPP"),
    "legal_address": _l("Legal address"),
    "bank_name": _l("Bank"),
    "bik": _l("BIK"),
    "settlement_account": _l("Settlement account"),
    "corr_account": _l("Correspondent account"),
    "phone": _l("Phone"),
    "phone2": _l("Second phone"),
    "email": _l("Email"),
    "region": _l("Region"),
    "city": _l("City"),
    "address": _l("Address"),
    "status": _l("Status"),
    "type": _l("Type"),
    "origin": _l("Source"),
    "segment": _l("Market segment"),
    "group": _l("Group"),
    "funnel_stage": _l("Funnel stage"),
    "responsible": _l("Responsible"),
    "participants": _l("Participants"),
    "tags": _l("Tags"),
    "public_access": _l("Access for others"),
    "comments": _l("Comments"),
    "comment": _l("Comment"),
    "created_at": _l("Created"),
    "updated_at": _l("Changed"),
    "client": _l("Client"),
    "client.id": _l("Client ID"),
    "client.name": _l("Full name"),
    "client.phone": _l("Phone"),
    "client.region": _l("Region"),
    "position": _l("Position"),
    "date": _l("Date"),
    "amount": _l("Amount"),
    "term_months": _l("Term, months"),
    "loan_purpose": _l("Loan purpose"),
    "offer": _l("Offer"),
    "currency": _l("Currency"),
    "stage": _l("Stage"),
    "probability": _l("Probability, %"),
    "expected_close": _l("Expected close"),
    "loss_reason": _l("Loss reason"),
    "closed_at": _l("Closed"),
    "contact_name": _l("Contact name"),
    "deal": _l("Deal"),
    "text": _l("Text"),
    "file": _l("File"),
    "author": _l("Author"),
    "description": _l("Description"),
    "start_date": _l("Start"),
    "end_date": _l("End"),
    "is_closed": _l("Closed"),
    "action_type": _l("Action"),
    "planned_at": _l("Planned"),
    "done_at": _l("Done"),
    "result": _l("Result"),
    "based_on": _l("Based on"),
    "application": _l("Application"),
    "assignee": _l("Assignee"),
    "deadline": _l("Deadline"),
    "started_at": _l("Start"),
    "finished_at": _l("End"),
    "note": _l("Note"),
    "reminder_minutes": _l("Reminder"),
    "number": _l("Number"),
    "issue_date": _l("Issue date"),
    "due_date": _l("Due date"),
    "terms": _l("Terms"),
    "lines": _l("Lines"),
    "invoice": _l("Invoice"),
    "product": _l("Product or service"),
    "quantity": _l("Quantity"),
    "price": _l("Price"),
    "discount_percent": _l("Discount, %"),
    "tax": _l("Tax"),
    "company_name": _l("Company"),
    "lead": _l("Lead"),
    "contact": _l("Contact person"),
    "action_result": _l("Result"),
    "web_form": _l("Web form"),
    "mailing_types": _l("Mailing types"),
    "mailing_opt_out": _l("Opted out of mailings"),
    "recipient": _l("Recipient"),
    "payment_term": _l("Payment term"),
    "exchange_rate": _l("Exchange rate"),
    "order_number": _l("Order number"),
    "subtotal": _l("Subtotal"),
    "tax_amount": _l("Tax amount"),
    "total": _l("Total"),
    "rate_percent": _l("Interest rate, % per year"),
    "entity": _l("Printed from"),
    "body": _l("Template text (HTML)"),
    "is_active": _l("Active"),
    "template_name": _l("Template"),
    "file_name": _l("File"),
    "size": _l("Size, bytes"),
}

ENUMS = {
    ClientKind: {ClientKind.PERSON: _l("Person"), ClientKind.COMPANY: _l("Company"),
                 ClientKind.SOLE_PROPRIETOR: _l("Sole proprietor")},
    PublicAccess: {PublicAccess.PRIVATE: _l("Only responsible and participants"),
                   PublicAccess.READ: _l("Everyone may see"),
                   PublicAccess.WRITE: _l("Everyone may see and change")},
    ProcessingStatus: {ProcessingStatus.IN_PROCESSING: _l("In processing"),
                       ProcessingStatus.COMPLETED: _l("Completed"),
                       ProcessingStatus.REFUSED: _l("Refused")},
    DealStatus: {DealStatus.OPEN: _l("Open"), DealStatus.WON: _l("Won"),
                 DealStatus.LOST: _l("Lost")},
    LeadStatus: {LeadStatus.NEW: _l("New"), LeadStatus.IN_WORK: _l("In work"),
                 LeadStatus.CONVERTED: _l("Converted to a deal"),
                 LeadStatus.REJECTED: _l("Rejected")},
    InvoiceStatus: {InvoiceStatus.DRAFT: _l("Draft"), InvoiceStatus.ISSUED: _l("Issued"),
                    InvoiceStatus.PAID: _l("Paid"), InvoiceStatus.REJECTED: _l("Rejected")},
    FieldMode: {FieldMode.OFF: _l("Not asked"), FieldMode.OPTIONAL: _l("Optional"),
                FieldMode.REQUIRED: _l("Required")},
    PaymentTerm: {PaymentTerm.ON_RECEIPT: _l("On receipt"), PaymentTerm.DAYS_15: _l("15 days"),
                  PaymentTerm.DAYS_30: _l("30 days"), PaymentTerm.DAYS_45: _l("45 days"),
                  PaymentTerm.DATE: _l("On a date")},
    TemplateEntity: {TemplateEntity.CLIENT: _l("Client"),
                     TemplateEntity.APPLICATION: _l("Application"),
                     TemplateEntity.DEAL: _l("Deal"), TemplateEntity.TASK: _l("Task"),
                     TemplateEntity.INVOICE: _l("Invoice")},
    Reminder: {Reminder.NEVER: _l("Never"), Reminder.MIN_5: _l("5 minutes before"),
               Reminder.MIN_15: _l("15 minutes before"), Reminder.MIN_30: _l("30 minutes before"),
               Reminder.HOUR_1: _l("1 hour before"), Reminder.HOUR_2: _l("2 hours before"),
               Reminder.DAY_1: _l("1 day before")},
    CustomFieldType: {
        CustomFieldType.TEXT: _l("Short text"),
        CustomFieldType.LONG_TEXT: _l("Long text"),
        CustomFieldType.INTEGER: _l("Whole number"),
        CustomFieldType.DECIMAL: _l("Decimal number"),
        CustomFieldType.MONEY: _l("Money"),
        CustomFieldType.DATE: _l("Date"),
        CustomFieldType.BOOLEAN: _l("Yes / no"),
        CustomFieldType.CHOICE: _l("One choice from a list"),
        CustomFieldType.MULTI_CHOICE: _l("Several choices from a list"),
        CustomFieldType.DICTIONARY: _l("Link to a dictionary"),
    },
}
# What a custom field may belong to (services/custom_fields.ENTITIES).
ENTITY_LABELS = {"client": _l("Clients"), "contact": _l("Contact persons"),
                 "application": _l("Applications"), "lead": _l("Leads"),
                 "deal": _l("Deals"), "task": _l("Tasks"), "invoice": _l("Invoices")}


def enum_label(value):
    """The interface label of an enum member (or of its stored value)."""
    if value is None:
        return ""
    for enum_cls, labels in ENUMS.items():
        if isinstance(value, enum_cls):
            return labels[value]
    return value


def blank_if_none(value):
    return "" if value is None else value


money = values.money  # 1234567.5 -> 1 234 567,50 (no-break spaces)


HISTORY_ACTIONS = {"create": _l("created"), "update": _l("changed"),
                   "delete": _l("deleted"), "print": _l("printed"),
                   "convert": _l("converted to a deal")}
HISTORY_ENTITIES = {"client": _l("Client"), "application": _l("Application"),
                    "lead": _l("Lead"), "deal": _l("Deal"), "task": _l("Task"),
                    "invoice": _l("Invoice")}


# Russian agrees the action with the record: «Задача №3: создана».
FEMININE = {"application", "deal", "task"}


def _action_text(entity, action):
    if entity in FEMININE:
        feminine = {"create": pgettext("feminine", "created"),
                    "update": pgettext("feminine", "changed"),
                    "delete": pgettext("feminine", "deleted"),
                    "print": pgettext("feminine", "printed")}
        if action in feminine:
            return feminine[action]
    return HISTORY_ACTIONS.get(action, action)


def _stored_time(text):
    """A history value written from a UTC time (older rows: ISO, with
    microseconds), read back; None when it is not one."""
    try:
        return values.datetime_local(text)
    except ValueError:  # values.ValidationError is one
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            return None


def history_value(entity, field, text):
    """A history row's old or new value as the screens show that field: an
    enum's label, «Да»/«Нет», a time in the office's zone to the minute.
    The row keeps what was written (stored values, UTC); reading it here
    also serves rows written before."""
    if text is None or not field:
        return text
    from app.services.history import TRACKED

    model = {name: cls for cls, name in TRACKED.items()}.get(entity)
    column = model.__table__.columns.get(field) if model is not None else None
    if column is None:
        return text
    if field == "reminder_minutes" and text.isdigit():
        try:
            return enum_label(Reminder(int(text)))
        except ValueError:
            return text
    kind = column.type
    if isinstance(kind, Enum) and kind.enum_class is not None:
        try:
            return enum_label(kind.enum_class(text))
        except ValueError:
            return text
    if isinstance(kind, Boolean) and text in ("True", "False"):
        return _l("Yes") if text == "True" else _l("No")
    if isinstance(kind, DateTime):
        moment = _stored_time(text)
        return text if moment is None else datetime_text(moment)
    return text


def history_row(entry):
    """A history entry with the words a person reads."""
    entity = HISTORY_ENTITIES.get(entry.entity, entry.entity)
    entry.what = f"{entity} №{entry.entity_id}: {_action_text(entry.entity, entry.action)}"
    entry.field_label = FIELDS.get(entry.field, entry.field or "")
    entry.at_local = datetime_text(entry.at)
    # Not written back onto the row's own columns: the session would save them.
    entry.old_text = history_value(entry.entity, entry.field, entry.old_value)
    entry.new_text = history_value(entry.entity, entry.field, entry.new_value)
    return entry
