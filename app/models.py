"""Declarative models of Sdelka CRM, grouped by area. Alembic migrations in
migrations/ are generated from these and are the schema's only source."""
import datetime
import enum

from flask_appbuilder import Model
from flask_appbuilder.models.mixins import FileColumn
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import declared_attr, relationship


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _enum(cls):
    """Enum stored by value (readable in the database and in CSV), with a
    CHECK constraint rather than a PostgreSQL type, so adding a value is a
    plain migration."""
    return Enum(cls, values_callable=lambda e: [m.value for m in e],
                native_enum=False, validate_strings=True, length=20)


def _m2m(name, left, right):
    return Table(
        name, Model.metadata,
        Column(f"{left}_id", Integer, ForeignKey(f"{left}.id", ondelete="CASCADE"),
               primary_key=True),
        Column(f"{right}_id", Integer, ForeignKey(f"{right}.id", ondelete="CASCADE"),
               primary_key=True, index=True),
        # "Which records does this user take part in": read from the index alone.
        Index(f"ix_{name}_{right}_{left}", f"{right}_id", f"{left}_id"),
    )

# --- Staff and company ------------------------------------------------------


class Department(Model):
    """A department; departments nest up to three levels deep."""

    __tablename__ = "department"
    __label__ = _l("Departments")

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    parent_id = Column(Integer, ForeignKey("department.id"), index=True)
    parent = relationship(
        "Department", remote_side=[id], backref="children", lazy="joined",
        join_depth=2,
    )
    head_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    head = relationship(
        "Employee", foreign_keys=[head_id], backref="headed_departments"
    )

    def __repr__(self):
        return self.name or ""


class Employee(User):
    """A FAB user with the profile fields of an employee (same table)."""

    __label__ = _l("Employees")

    middle_name = Column(String(64))
    phone = Column(String(32))
    skype = Column(String(64))
    position = Column(String(150))
    # use_alter: ab_user and department point at each other.
    department_id = Column(
        Integer,
        ForeignKey("department.id", use_alter=True, name="fk_ab_user_department_id"),
        index=True,
    )
    department = relationship(
        Department, foreign_keys=[department_id], backref="employees"
    )
    # Set after too many failed logins; FAB itself only counts failures.
    locked_until = Column(DateTime)

    @property
    def full_name(self):
        parts = (self.last_name, self.first_name, self.middle_name)
        return " ".join(p for p in parts if p)

    def get_full_name(self):
        return self.full_name

    def __repr__(self):
        return self.full_name


class Company(Model):
    """The company's own requisites: a single row that fills documents."""

    __tablename__ = "company"
    __label__ = _l("Company requisites")

    id = Column(Integer, primary_key=True)
    name = Column(String(255), nullable=False, default="")
    inn = Column(String(12))
    kpp = Column(String(9))
    ogrn = Column(String(15))
    bank_name = Column(String(255))
    bik = Column(String(9))
    settlement_account = Column(String(20))
    corr_account = Column(String(20))
    postcode = Column(String(6))
    director_name = Column(String(255))
    director_position = Column(String(255))
    legal_address = Column(String(500))
    actual_address = Column(String(500))
    okved = Column(String(64))
    oktmo = Column(String(11))

    def __repr__(self):
        return self.name or ""


# --- Security bookkeeping -------------------------------------------------


class RoleDefaultApplied(Model):
    """A permission-view whose defaults were already given to the roles."""

    __tablename__ = "role_default_applied"
    permission_view_id = Column(
        Integer, ForeignKey("ab_permission_view.id", ondelete="CASCADE"),
        primary_key=True,
    )


# --- Dictionaries (справочники) ---------------------------------------------


class DictionaryMixin:
    """Every dictionary row: a name, an active flag and a place in the list."""

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    sort_order = Column(Integer, nullable=False, default=0)

    def __repr__(self):
        return self.name or ""


class TreeMixin:
    """A dictionary whose rows form groups up to three levels deep."""

    @declared_attr
    def parent_id(cls):
        return Column(Integer, ForeignKey(f"{cls.__tablename__}.id"), index=True)

    @declared_attr
    def parent(cls):
        return relationship(cls.__name__, remote_side=[cls.id], backref="children")


def dictionary_models():
    """Every dictionary model, in name order (screens, API, permissions)."""
    return sorted((m.class_ for m in Model.registry.mappers
                   if issubclass(m.class_, DictionaryMixin)), key=lambda c: c.__name__)


class TaskType(DictionaryMixin, TreeMixin, Model):
    __tablename__ = "task_type"
    __label__ = _l("Task types")


class StatusKind(str, enum.Enum):
    OPEN = "open"
    DONE = "done"
    REFUSED = "refused"
    JUNK = "junk"


class TaskStatus(DictionaryMixin, Model):
    __tablename__ = "task_status"
    __label__ = _l("Task statuses")
    color = Column(String(7), nullable=False, default="#ffffff")
    kind = Column(_enum(StatusKind), nullable=False, default=StatusKind.OPEN)
    takes_dates = Column(Boolean, nullable=False, default=False)


class ClientStatus(DictionaryMixin, Model):
    __tablename__ = "client_status"
    __label__ = _l("Client statuses")


class ClientType(DictionaryMixin, Model):
    __tablename__ = "client_type"
    __label__ = _l("Client types")


class ClientOrigin(DictionaryMixin, Model):
    __tablename__ = "client_origin"
    __label__ = _l("Client origins")


class ClientGroup(DictionaryMixin, TreeMixin, Model):
    __tablename__ = "client_group"
    __label__ = _l("Client groups")


segment_manager = _m2m("segment_manager", "market_segment", "ab_user")


class MarketSegment(DictionaryMixin, Model):
    __tablename__ = "market_segment"
    __label__ = _l("Market segments")
    managers = relationship(Employee, secondary=segment_manager,
                            backref="segments")


class FunnelStage(DictionaryMixin, Model):
    __tablename__ = "funnel_stage"
    __label__ = _l("Funnel stages")
    probability = Column(Integer, nullable=False, default=0)


class LoanPurpose(DictionaryMixin, Model):
    __tablename__ = "loan_purpose"
    __label__ = _l("Loan purposes")


class Region(DictionaryMixin, Model):
    __tablename__ = "region"
    __label__ = _l("Regions")
    code = Column(String(3))


class Tax(DictionaryMixin, Model):
    __tablename__ = "tax"
    __label__ = _l("Taxes")
    rate = Column(Numeric(5, 2), nullable=False, default=0)


class Currency(DictionaryMixin, Model):
    __tablename__ = "currency"
    __label__ = _l("Currencies")
    code = Column(String(3), nullable=False, unique=True)
    rate = Column(Numeric(14, 6), nullable=False, default=1)  # in the base currency
    is_base = Column(Boolean, nullable=False, default=False)


class Product(DictionaryMixin, Model):
    __tablename__ = "product"
    __label__ = _l("Products and services")
    price = Column(Numeric(14, 2), nullable=False, default=0)
    unit = Column(String(20), nullable=False, default="шт.")
    tax_id = Column(Integer, ForeignKey("tax.id"), index=True)
    tax = relationship(Tax)


class Tag(DictionaryMixin, Model):
    __tablename__ = "tag"
    __label__ = _l("Tags")
    color = Column(String(7), nullable=False, default="#777777")


class RefusalReason(DictionaryMixin, Model):
    __tablename__ = "refusal_reason"
    __label__ = _l("Refusal reasons")


class ActionType(DictionaryMixin, Model):
    """Planned actions of "work with counterparty" (seed 002)."""

    __tablename__ = "action_type"
    __label__ = _l("Action types")


# --- Registers ---------------------------------------------------------------


class ClientKind(str, enum.Enum):
    PERSON = "person"
    COMPANY = "company"
    SOLE_PROPRIETOR = "sole_proprietor"


class PublicAccess(str, enum.Enum):
    PRIVATE = "private"
    READ = "read"
    WRITE = "write"


client_participant = _m2m("client_participant", "client", "ab_user")
client_tag = _m2m("client_tag", "client", "tag")


class OwnedMixin:
    """Responsible employee and timestamps of a register record."""

    @declared_attr
    def responsible_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), index=True)

    @declared_attr
    def responsible(cls):
        return relationship(Employee, foreign_keys=[cls.responsible_id])

    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Client(OwnedMixin, Model):
    __tablename__ = "client"
    __label__ = _l("Clients")

    id = Column(Integer, primary_key=True)
    kind = Column(_enum(ClientKind), nullable=False, default=ClientKind.PERSON)
    # Shown everywhere: the company's name, or the person's full name.
    name = Column(String(255), nullable=False)
    last_name = Column(String(100))
    first_name = Column(String(100))
    middle_name = Column(String(100))
    birth_date = Column(Date)
    passport_series = Column(String(4))
    passport_number = Column(String(6))
    passport_issued_by = Column(String(255))
    passport_issue_date = Column(Date)
    inn = Column(String(12), index=True)
    ogrn = Column(String(15))
    kpp = Column(String(9))
    legal_address = Column(String(500))
    bank_name = Column(String(255))
    bik = Column(String(9))
    settlement_account = Column(String(20))
    corr_account = Column(String(20))
    phone = Column(String(20), index=True)
    phone2 = Column(String(20))
    email = Column(String(255))
    region_id = Column(Integer, ForeignKey("region.id"), index=True)
    region = relationship(Region)
    city = Column(String(100))
    address = Column(String(500))
    status_id = Column(Integer, ForeignKey("client_status.id"), index=True)
    status = relationship(ClientStatus)
    type_id = Column(Integer, ForeignKey("client_type.id"), index=True)
    type = relationship(ClientType)
    origin_id = Column(Integer, ForeignKey("client_origin.id"), index=True)
    origin = relationship(ClientOrigin)
    segment_id = Column(Integer, ForeignKey("market_segment.id"), index=True)
    segment = relationship(MarketSegment)
    group_id = Column(Integer, ForeignKey("client_group.id"), index=True)
    group = relationship(ClientGroup)
    funnel_stage_id = Column(Integer, ForeignKey("funnel_stage.id"), index=True)
    funnel_stage = relationship(FunnelStage)
    participants = relationship(Employee, secondary=client_participant)
    tags = relationship(Tag, secondary=client_tag)
    public_access = Column(_enum(PublicAccess), nullable=False,
                           default=PublicAccess.PRIVATE, index=True)
    comments = Column(Text)

    # Row-level access collects a user's client ids from these alone
    # (index-only on PostgreSQL; SQLite indexes carry the id anyway).
    __table_args__ = (
        Index("ix_client_responsible_id_id", "responsible_id", "id"),
        Index("ix_client_public_access_id", "public_access", "id"),
    )

    def __repr__(self):
        return self.name or ""


class ContactPerson(Model):
    __tablename__ = "contact_person"
    __label__ = _l("Contact persons")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    client = relationship(Client, backref="contacts")
    name = Column(String(255), nullable=False)
    position = Column(String(150))
    phone = Column(String(20))
    email = Column(String(255))
    comment = Column(Text)

    def __repr__(self):
        return self.name or ""


class ProcessingStatus(str, enum.Enum):
    IN_PROCESSING = "in_processing"
    COMPLETED = "completed"
    REFUSED = "refused"


class Application(OwnedMixin, Model):
    """A loan application (заявка) of a client, seed 000."""

    __tablename__ = "application"
    __label__ = _l("Applications")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="applications")
    date = Column(Date, nullable=False, default=datetime.date.today)
    amount = Column(Numeric(14, 2), nullable=False, default=0)
    term_months = Column(Integer)
    loan_purpose_id = Column(Integer, ForeignKey("loan_purpose.id"), index=True)
    loan_purpose = relationship(LoanPurpose)
    offer = Column(String(255))
    status = Column(_enum(ProcessingStatus), nullable=False,
                    default=ProcessingStatus.IN_PROCESSING)
    origin_id = Column(Integer, ForeignKey("client_origin.id"), index=True)
    origin = relationship(ClientOrigin)
    comment = Column(Text)

    __table_args__ = (
        Index("ix_application_date_id", "date", "id"),
        Index("ix_application_status_date", "status", "date"),
    )

    def __repr__(self):
        return f"№{self.id}"


class DealStatus(str, enum.Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


deal_participant = _m2m("deal_participant", "deal", "ab_user")
lead_participant = _m2m("lead_participant", "lead", "ab_user")


class LeadStatus(str, enum.Enum):
    NEW = "new"
    IN_WORK = "in_work"
    CONVERTED = "converted"
    REJECTED = "rejected"


class Deal(OwnedMixin, Model):
    __tablename__ = "deal"
    __label__ = _l("Deals")

    id = Column(Integer, primary_key=True)
    title = Column(String(255), nullable=False)
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="deals")
    amount = Column(Numeric(14, 2), nullable=False, default=0)
    currency_id = Column(Integer, ForeignKey("currency.id"), index=True)
    currency = relationship(Currency)
    stage_id = Column(Integer, ForeignKey("funnel_stage.id"), index=True)
    stage = relationship(FunnelStage)
    probability = Column(Integer, nullable=False, default=0)
    expected_close = Column(Date)
    status = Column(_enum(DealStatus), nullable=False, default=DealStatus.OPEN, index=True)
    loss_reason_id = Column(Integer, ForeignKey("refusal_reason.id"), index=True)
    loss_reason = relationship(RefusalReason)
    closed_at = Column(DateTime)
    participants = relationship(Employee, secondary=deal_participant)
    comment = Column(Text)

    def __repr__(self):
        return self.title or ""


class Lead(OwnedMixin, Model):
    """A lead (seed 002): an enquiry not yet a deal; the client may be new."""

    __tablename__ = "lead"
    __label__ = _l("Leads")

    id = Column(Integer, primary_key=True)
    title = Column(String(255), nullable=False)
    client_id = Column(Integer, ForeignKey("client.id"), index=True)
    client = relationship(Client, backref="leads")
    contact_name = Column(String(255))
    phone = Column(String(20), index=True)
    email = Column(String(255))
    amount = Column(Numeric(14, 2))
    origin_id = Column(Integer, ForeignKey("client_origin.id"), index=True)
    origin = relationship(ClientOrigin)
    status = Column(_enum(LeadStatus), nullable=False, default=LeadStatus.NEW, index=True)
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    participants = relationship(Employee, secondary=lead_participant)
    comment = Column(Text)

    def __repr__(self):
        return self.title or ""


class Note(Model):
    """A timeline entry on a client, optionally with a file."""

    __tablename__ = "note"
    __label__ = _l("Notes")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id", ondelete="CASCADE"),
                       nullable=False, index=True)
    client = relationship(Client, backref="notes")
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    text = Column(Text, nullable=False)
    file = Column(FileColumn(255))
    author_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    author = relationship(Employee)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)

    def __repr__(self):
        return (self.text or "")[:50]


class Project(OwnedMixin, Model):
    __tablename__ = "project"
    __label__ = _l("Projects")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="projects")
    name = Column(String(255), nullable=False)
    description = Column(Text)
    start_date = Column(Date)
    end_date = Column(Date)
    is_closed = Column(Boolean, nullable=False, default=False)

    def __repr__(self):
        return self.name or ""


class CounterpartyAction(OwnedMixin, Model):
    """Work with a counterparty (seed 002): a planned action and its result."""

    __tablename__ = "counterparty_action"
    __label__ = _l("Work with counterparties")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="actions")
    action_type_id = Column(Integer, ForeignKey("action_type.id"), index=True)
    action_type = relationship(ActionType)
    planned_at = Column(DateTime)
    done_at = Column(DateTime)
    result = Column(Text)
    based_on_id = Column(Integer, ForeignKey("counterparty_action.id"), index=True)
    based_on = relationship("CounterpartyAction", remote_side=[id])

    def __repr__(self):
        return f"{self.action_type or ''} {self.planned_at or ''}".strip()


class Reminder(int, enum.Enum):
    NEVER = 0
    MIN_5 = 5
    MIN_15 = 15
    MIN_30 = 30
    HOUR_1 = 60
    HOUR_2 = 120
    DAY_1 = 1440


class Task(Model):
    __tablename__ = "task"
    __label__ = _l("Tasks")

    id = Column(Integer, primary_key=True)
    type_id = Column(Integer, ForeignKey("task_type.id"), index=True)
    type = relationship(TaskType)
    client_id = Column(Integer, ForeignKey("client.id"), index=True)
    client = relationship(Client, backref="tasks")
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    application_id = Column(Integer, ForeignKey("application.id"), index=True)
    application = relationship(Application)
    assignee_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    assignee = relationship(Employee, foreign_keys=[assignee_id])
    author_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    author = relationship(Employee, foreign_keys=[author_id])
    planned_at = Column(DateTime, nullable=False, default=utcnow)
    deadline = Column(DateTime)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    status_id = Column(Integer, ForeignKey("task_status.id"), index=True)
    status = relationship(TaskStatus)
    description = Column(Text)
    result = Column(Text)
    note = Column(Text)
    reminder_minutes = Column(Integer, nullable=False, default=Reminder.DAY_1.value)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_task_planned_id", "planned_at", "id"),
        Index("ix_task_status_planned", "status_id", "planned_at"),
        Index("ix_task_assignee_planned", "assignee_id", "planned_at"),
    )

    def __repr__(self):
        return f"№{self.id}"


class InvoiceStatus(str, enum.Enum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    REJECTED = "rejected"


class Invoice(OwnedMixin, Model):
    __tablename__ = "invoice"
    __label__ = _l("Invoices")

    id = Column(Integer, primary_key=True)
    number = Column(String(20), unique=True)
    issue_date = Column(Date, nullable=False, default=datetime.date.today)
    due_date = Column(Date)
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="invoices")
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    currency_id = Column(Integer, ForeignKey("currency.id"), index=True)
    currency = relationship(Currency)
    status = Column(_enum(InvoiceStatus), nullable=False, default=InvoiceStatus.DRAFT,
                    index=True)
    terms = Column(Text)
    comment = Column(Text)

    def __repr__(self):
        return self.number or f"#{self.id}"


class InvoiceLine(Model):
    __tablename__ = "invoice_line"
    __label__ = _l("Invoice lines")

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    invoice = relationship(Invoice, backref="lines")
    product_id = Column(Integer, ForeignKey("product.id"), index=True)
    product = relationship(Product)
    description = Column(String(500), nullable=False)
    quantity = Column(Numeric(14, 3), nullable=False, default=1)
    price = Column(Numeric(14, 2), nullable=False, default=0)
    discount_percent = Column(Numeric(5, 2), nullable=False, default=0)
    tax_id = Column(Integer, ForeignKey("tax.id"), index=True)
    tax = relationship(Tax)

    def __repr__(self):
        return self.description or ""


class HistoryEntry(Model):
    """One change of a register record: who, when, field, old → new."""

    __tablename__ = "history_entry"
    __label__ = _l("History")

    id = Column(Integer, primary_key=True)
    entity = Column(String(40), nullable=False)
    entity_id = Column(Integer, nullable=False)
    # The client whose timeline shows the change (if any).
    client_id = Column(Integer, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    user = relationship(Employee)
    at = Column(DateTime, nullable=False, default=utcnow)
    action = Column(String(10), nullable=False)  # create / update / delete / print
    field = Column(String(60))
    old_value = Column(Text)
    new_value = Column(Text)

    __table_args__ = (
        Index("ix_history_entity", "entity", "entity_id"),
        Index("ix_history_client_at", "client_id", "at"),
    )


# --- Imports --------------------------------------------------------------


class ImportJob(Model):
    """One CSV import: the journal entry, its stored file, its options, its
    progress and its final report (seed 004: background import with a
    status report). Workers claim a queued job with an atomic UPDATE."""

    __tablename__ = "import_job"
    __label__ = _l("Imports")

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    user = relationship(Employee)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    entity = Column(String(40), nullable=False)
    file_name = Column(String(255), nullable=False)
    stored_path = Column(String(500), nullable=False)
    file_size = Column(Integer, nullable=False, default=0)
    encoding = Column(String(20))
    delimiter = Column(String(1))
    # JSON: column mapping, duplicates choice, mode, "create missing values".
    options = Column(Text)
    # uploaded → queued → running → checked (after a dry run) | done | failed
    status = Column(String(20), nullable=False, default="uploaded", index=True)
    dry_run = Column(Boolean, nullable=False, default=False)
    worker = Column(String(100))
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    total_rows = Column(Integer, nullable=False, default=0)
    rows_done = Column(Integer, nullable=False, default=0)
    created = Column(Integer, nullable=False, default=0)
    updated = Column(Integer, nullable=False, default=0)
    skipped = Column(Integer, nullable=False, default=0)
    error_count = Column(Integer, nullable=False, default=0)
    # JSON: the report (problems with row numbers and fields, duplicates).
    report = Column(Text)
    error_file = Column(String(500))

    def __repr__(self):
        return self.file_name or f"#{self.id}"
