"""Declarative models of Sdelka CRM, grouped by area. Alembic migrations in
migrations/ are generated from these and are the schema's only source."""
import datetime
import enum

from flask_appbuilder import Model
from flask_appbuilder.models.mixins import FileColumn
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import backref, declared_attr, deferred, relationship


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
    chief_accountant_name = Column(String(255))
    # Images of the printed documents (services/company_images.py): files of
    # the uploads folder under generated names, as a note's file; printed
    # only while print_stamp_signatures is on.
    logo = Column(FileColumn(255))
    stamp = Column(FileColumn(255))
    director_signature = Column(FileColumn(255))
    accountant_signature = Column(FileColumn(255))
    print_stamp_signatures = Column(Boolean, nullable=False, default=False,
                                    server_default=false())
    # Invoice numbering: prefix + 7 digits, the next number to give.
    invoice_prefix = Column(String(10), nullable=False, default="INV", server_default="INV")
    invoice_next_number = Column(Integer, nullable=False, default=1, server_default="1")
    invoice_terms = Column(Text)  # default payment terms of new invoices
    # What a new invoice line and a new invoice start with.
    default_tax_id = Column(Integer, ForeignKey("tax.id"))
    default_tax = relationship("Tax")
    prices_include_vat = Column(Boolean, nullable=False, default=False,
                                server_default=false())
    # Acts and UPDs: numbered as invoices are (services/invoices.next_number).
    act_prefix = Column(String(10), nullable=False, default="АКТ", server_default="АКТ")
    act_next_number = Column(Integer, nullable=False, default=1, server_default="1")
    upd_prefix = Column(String(10), nullable=False, default="УПД", server_default="УПД")
    upd_next_number = Column(Integer, nullable=False, default=1, server_default="1")

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


class PermissionStamp(Model):
    """One row whose stamp changes with any change of the roles' grants
    (triggers of migration 0032): the processes' cached permission sets
    are current while it stays the same."""

    __tablename__ = "permission_stamp"
    id = Column(Integer, primary_key=True, autoincrement=False)
    stamp = Column(BigInteger, nullable=False)


class TableStamp(Model):
    """Per watched table (the dictionaries, departments, employees, roles),
    a stamp that changes with any write to it (triggers of migration 0033):
    what is drawn from such a table's rows is current while its stamp stays."""

    __tablename__ = "table_stamp"
    name = Column(String(64), primary_key=True)
    stamp = Column(BigInteger, nullable=False)


# --- Dictionaries (справочники) ---------------------------------------------


class DictionaryMixin:
    """Every dictionary row: a name, an active flag and a place in the list."""

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    sort_order = Column(Integer, nullable=False, default=0)
    # Other ways people write the value («Мск», «г. Москва»), one a line:
    # an import matches them (services/dictionaries.keys_of).
    synonyms = Column(Text)

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


def model_of(table):
    """The model class mapped to ``table`` (None for a link table).

    FAB's User and our Employee share ab_user; the registry is a weak set
    with no order, so the most derived class is picked, not the first seen.
    """
    classes = [m.class_ for m in Model.registry.mappers if table in m.tables]
    return max(classes, key=lambda c: len(c.__mro__), default=None)


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
    # Round-robin pointer: the manager who got the segment's last record.
    last_assigned_id = Column(Integer)


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
    # «Без НДС» (not a VAT payer, or an exempt supply) prints differently
    # from «НДС 0 %»; its rate is ignored.
    is_exempt = Column(Boolean, nullable=False, default=False, server_default=false())


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
    """Planned actions of "work with counterparty"."""

    __tablename__ = "action_type"
    __label__ = _l("Action types")


class ActionResult(DictionaryMixin, Model):
    """A result an action of one type may have (e.g. Send → contract,
    letter, invoice, commercial offer)."""

    __tablename__ = "action_result"
    __label__ = _l("Action results")
    action_type_id = Column(Integer, ForeignKey("action_type.id"), nullable=False,
                            index=True)
    action_type = relationship(ActionType, backref="results")


class MailingType(DictionaryMixin, Model):
    """A mailing list («Типы рассылки»): clients and contact persons
    are put on it in bulk and exported for a mailing service."""

    __tablename__ = "mailing_type"
    __label__ = _l("Mailing types")


# --- Registers ---------------------------------------------------------------


class ClientKind(str, enum.Enum):
    PERSON = "person"
    COMPANY = "company"
    SOLE_PROPRIETOR = "sole_proprietor"


class ConsentForm(str, enum.Enum):
    """How a person gave consent to the processing of their personal data."""

    WRITTEN = "written"
    ELECTRONIC = "electronic"
    ORAL = "oral"
    OTHER = "other"


class ConsentMixin:
    """A person's consent to the processing of their personal data: when,
    how and for what it was given, and when it was withdrawn (the withdrawal
    needs a consent date: services/personal_data.py)."""

    consent_date = Column(Date)
    consent_form = Column(_enum(ConsentForm))
    consent_purpose = Column(Text)
    consent_withdrawn = Column(Date)
    # When the person's data was erased (services/erasure.py); the consent
    # above is kept as the proof of the processing before it.
    erased_at = Column(DateTime)


class PublicAccess(str, enum.Enum):
    PRIVATE = "private"
    READ = "read"
    WRITE = "write"


client_participant = _m2m("client_participant", "client", "ab_user")
client_tag = _m2m("client_tag", "client", "tag")
client_mailing = _m2m("client_mailing", "client", "mailing_type")
contact_mailing = _m2m("contact_mailing", "contact_person", "mailing_type")


def _where_set(table, column):
    """The index of an optional reference, holding only the rows that have
    one. Every query on such a column asks for a value (``= id``, ``IN``,
    the foreign-key check of a delete) and lists sort a reference by the
    referenced name, so entries for rows without one served nothing and
    cost every insert a B-tree write (an imported person has no status,
    type, origin, segment, group or funnel stage)."""
    where = text(f"{column} IS NOT NULL")
    return Index(f"ix_{table}_{column}", column, sqlite_where=where, postgresql_where=where)


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


class Client(ConsentMixin, OwnedMixin, Model):
    __tablename__ = "client"
    __label__ = _l("Clients")

    id = Column(Integer, primary_key=True)
    # Indexed with the id below (ix_client_responsible_id_id), which serves
    # every look-up by owner: a second index would only slow inserts.
    responsible_id = Column(Integer, ForeignKey("ab_user.id"))
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
    email = Column(String(255), index=True)
    region_id = Column(Integer, ForeignKey("region.id"))
    region = relationship(Region)
    city = Column(String(100))
    address = Column(String(500))
    status_id = Column(Integer, ForeignKey("client_status.id"))
    status = relationship(ClientStatus)
    type_id = Column(Integer, ForeignKey("client_type.id"))
    type = relationship(ClientType)
    origin_id = Column(Integer, ForeignKey("client_origin.id"))
    origin = relationship(ClientOrigin)
    segment_id = Column(Integer, ForeignKey("market_segment.id"))
    segment = relationship(MarketSegment)
    group_id = Column(Integer, ForeignKey("client_group.id"))
    group = relationship(ClientGroup)
    funnel_stage_id = Column(Integer, ForeignKey("funnel_stage.id"))
    funnel_stage = relationship(FunnelStage)
    participants = relationship(Employee, secondary=client_participant)
    tags = relationship(Tag, secondary=client_tag)
    # Indexed with the id (ix_client_public_access_id).
    public_access = Column(_enum(PublicAccess), nullable=False,
                           default=PublicAccess.PRIVATE)
    mailing_types = relationship(MailingType, secondary=client_mailing)
    # The client asked not to receive mailings: left out of every export.
    mailing_opt_out = Column(Boolean, nullable=False, default=False,
                             server_default=false())
    comments = Column(Text)
    # Name, e-mail, INN and phone digits as search finds them, kept by
    # services/search.py; indexed for any part (migration 0018).
    search = deferred(Column(Text))

    # Row-level access collects a user's client ids from these alone. They
    # carry the search text too (migration 0037): a manager's search by a
    # term too short for any search index tests the clients they see on
    # these indexes alone (services/access.visible_clients). After the
    # unique (…, id) the columns only ride along, as PostgreSQL's INCLUDE
    # would have them, and SQLite has no INCLUDE.
    __table_args__ = (
        Index("ix_client_responsible_id_id", "responsible_id", "id", "search"),
        Index("ix_client_public_access_id", "public_access", "id", "responsible_id", "search"),
        # The sales funnel: clients created in a period by stage, index only.
        Index("ix_client_created_responsible_stage", "created_at", "responsible_id",
              "funnel_stage_id"),
        # Persons past the retention period, oldest first (services/erasure.py).
        Index("ix_client_updated_id", "updated_at", "id"),
        # Lists sorted by name walk it instead of sorting every client.
        Index("ix_client_name_id", "name", "id"),
        *(_where_set("client", c) for c in ("region_id", "status_id", "type_id", "origin_id",
                                              "segment_id", "group_id", "funnel_stage_id")),
    )

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "name"

    def __repr__(self):
        return self.name or ""


class ContactPerson(ConsentMixin, Model):
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
    mailing_types = relationship(MailingType, secondary=contact_mailing)
    mailing_opt_out = Column(Boolean, nullable=False, default=False,
                             server_default=false())

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "name"

    def __repr__(self):
        return self.name or ""


class ProcessingStatus(str, enum.Enum):
    IN_PROCESSING = "in_processing"
    COMPLETED = "completed"
    REFUSED = "refused"


class Application(OwnedMixin, Model):
    """A loan application (заявка) of a client."""

    __tablename__ = "application"
    __label__ = _l("Applications")

    id = Column(Integer, primary_key=True)
    # Indexed with the id (ix_application_responsible_id_id), as the client's.
    responsible_id = Column(Integer, ForeignKey("ab_user.id"))
    # Indexed with the status (ix_application_client_status).
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False)
    client = relationship(Client, backref="applications")
    date = Column(Date, nullable=False, default=datetime.date.today)
    amount = Column(Numeric(14, 2), nullable=False, default=0)
    term_months = Column(Integer)
    rate_percent = Column(Numeric(6, 3))  # annual interest rate of the loan
    loan_purpose_id = Column(Integer, ForeignKey("loan_purpose.id"))
    loan_purpose = relationship(LoanPurpose)
    offer = Column(String(255))
    status = Column(_enum(ProcessingStatus), nullable=False,
                    default=ProcessingStatus.IN_PROCESSING)
    origin_id = Column(Integer, ForeignKey("client_origin.id"))
    origin = relationship(ClientOrigin)
    comment = Column(Text)

    __table_args__ = (
        # A manager's own applications, index-only on PostgreSQL (a list's
        # count looks at some of them first: views/datamodel.py).
        Index("ix_application_responsible_id_id", "responsible_id", "id"),
        Index("ix_application_date_id", "date", "id"),
        Index("ix_application_status_date", "status", "date"),
        # Is the client in work (services/followup.py)? Index only.
        Index("ix_application_client_status", "client_id", "status"),
        _where_set("application", "loan_purpose_id"),
        _where_set("application", "origin_id"),
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
    # Indexed with the status (ix_deal_client_status), the status with the id.
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False)
    client = relationship(Client, backref="deals")
    amount = Column(Numeric(14, 2), nullable=False, default=0)
    currency_id = Column(Integer, ForeignKey("currency.id"), index=True)
    currency = relationship(Currency)
    stage_id = Column(Integer, ForeignKey("funnel_stage.id"), index=True)
    stage = relationship(FunnelStage)
    probability = Column(Integer, nullable=False, default=0)
    expected_close = Column(Date)
    status = Column(_enum(DealStatus), nullable=False, default=DealStatus.OPEN)
    loss_reason_id = Column(Integer, ForeignKey("refusal_reason.id"), index=True)
    loss_reason = relationship(RefusalReason)
    closed_at = Column(DateTime)
    participants = relationship(Employee, secondary=deal_participant)
    comment = Column(Text)

    # Statistics, index only: deals won in a period per employee, and deals
    # created in a period by funnel stage.
    __table_args__ = (
        Index("ix_deal_status_closed", "status", "closed_at", "responsible_id", "amount",
              "currency_id"),
        Index("ix_deal_created_stage", "created_at", "responsible_id", "stage_id", "status",
              "amount", "currency_id"),
        # Open deals newest first, and a client's open deals, index only
        # (services/followup.py: deals and clients without a planned task).
        Index("ix_deal_status_id", "status", "id"),
        Index("ix_deal_client_status", "client_id", "status"),
        # The deals board, index only: each stage's count and sum, its
        # newest cards, the row rule's and the filters' columns.
        Index("ix_deal_board", "status", "stage_id", "id", "responsible_id", "client_id",
              "currency_id", "amount"),
    )

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "title"

    def __repr__(self):
        return self.title or ""


class Lead(ConsentMixin, OwnedMixin, Model):
    """A lead: an enquiry not yet a deal; the client may be new."""

    __tablename__ = "lead"
    __label__ = _l("Leads")

    id = Column(Integer, primary_key=True)
    title = Column(String(255), nullable=False)
    client_id = Column(Integer, ForeignKey("client.id"), index=True)
    client = relationship(Client, backref="leads")
    contact_name = Column(String(255))
    company_name = Column(String(255))
    inn = Column(String(12))
    phone = Column(String(20), index=True)
    email = Column(String(255))
    amount = Column(Numeric(14, 2))
    origin_id = Column(Integer, ForeignKey("client_origin.id"), index=True)
    origin = relationship(ClientOrigin)
    segment_id = Column(Integer, ForeignKey("market_segment.id"), index=True)
    segment = relationship(MarketSegment)
    web_form_id = Column(Integer, ForeignKey("web_form.id", ondelete="SET NULL"), index=True)
    web_form = relationship("WebForm")
    status = Column(_enum(LeadStatus), nullable=False, default=LeadStatus.NEW, index=True)
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    closed_at = Column(DateTime)
    participants = relationship(Employee, secondary=lead_participant)
    comment = Column(Text)

    # Leads past the retention period, oldest first (services/erasure.py).
    __table_args__ = (Index("ix_lead_updated_id", "updated_at", "id"),)

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "title"

    def __repr__(self):
        return self.title or ""


class Note(Model):
    """A timeline entry on a client, a deal or a lead, optionally with a
    file. A lead without a client has notes of its own (no client)."""

    __tablename__ = "note"
    __label__ = _l("Notes")

    id = Column(Integer, primary_key=True)
    client_id = Column(Integer, ForeignKey("client.id", ondelete="CASCADE"), index=True)
    client = relationship(Client, backref="notes")
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    lead_id = Column(Integer, ForeignKey("lead.id", ondelete="SET NULL"))
    lead = relationship(Lead)
    text = Column(Text, nullable=False)
    file = Column(FileColumn(255))
    author_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    author = relationship(Employee)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)

    __table_args__ = (_where_set("note", "lead_id"),)

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

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "name"

    def __repr__(self):
        return self.name or ""


class CounterpartyAction(OwnedMixin, Model):
    """Work with a counterparty: a planned action and its result."""

    __tablename__ = "counterparty_action"
    __label__ = _l("Work with counterparties")

    id = Column(Integer, primary_key=True)
    # A lead from the website may have no client yet.
    client_id = Column(Integer, ForeignKey("client.id"), index=True)
    client = relationship(Client, backref="actions")
    contact_id = Column(Integer, ForeignKey("contact_person.id", ondelete="SET NULL"),
                        index=True)
    contact = relationship(ContactPerson, backref="actions")
    lead_id = Column(Integer, ForeignKey("lead.id", ondelete="SET NULL"), index=True)
    lead = relationship(Lead, backref="actions")
    deal_id = Column(Integer, ForeignKey("deal.id", ondelete="SET NULL"), index=True)
    deal = relationship(Deal, backref="actions")
    action_type_id = Column(Integer, ForeignKey("action_type.id"), index=True)
    action_type = relationship(ActionType)
    planned_at = Column(DateTime)
    done_at = Column(DateTime)
    action_result_id = Column(Integer, ForeignKey("action_result.id"), index=True)
    action_result = relationship(ActionResult)
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
    # Indexed with the planned time and status (ix_task_client_planned,
    # ix_task_deal_planned).
    client_id = Column(Integer, ForeignKey("client.id"))
    client = relationship(Client, backref="tasks")
    deal_id = Column(Integer, ForeignKey("deal.id"))
    deal = relationship(Deal)
    # A lead's task (a lead without a client has tasks of its own).
    lead_id = Column(Integer, ForeignKey("lead.id", ondelete="SET NULL"))
    lead = relationship(Lead)
    application_id = Column(Integer, ForeignKey("application.id"), index=True)
    application = relationship(Application)
    assignee_id = Column(Integer, ForeignKey("ab_user.id"))
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
    # Set by the jobs (app/jobs/): the planned time a reminder was sent for
    # and the deadline the assignee was told is overdue. Moving the task
    # re-arms them; they are never shown.
    reminder_sent_for = Column(DateTime)
    overdue_marked_for = Column(DateTime)

    __table_args__ = (
        # A manager's own tasks, index-only on PostgreSQL (views/datamodel.py).
        Index("ix_task_assignee_id_id", "assignee_id", "id"),
        Index("ix_task_planned_id", "planned_at", "id"),
        Index("ix_task_deadline", "deadline"),
        # Lists by assignee or by status in planned order (their prefixes), and
        # index only for the statistics: the hours of a period that the
        # roll-up task_day leaves out, per assignee; done calls of a month.
        Index("ix_task_assignee_planned_status", "assignee_id", "planned_at", "status_id",
              "type_id"),
        Index("ix_task_status_planned_type", "status_id", "planned_at", "type_id",
              "assignee_id"),
        # Has the client (the deal) an open task planned from now on? Index
        # only (services/followup.py). Partial: most tasks have no deal, and
        # on SQLite an index holding them told the planner that a deal's
        # look-up finds millions of rows.
        Index("ix_task_client_planned", "client_id", "planned_at", "status_id",
              sqlite_where=text("client_id IS NOT NULL"),
              postgresql_where=text("client_id IS NOT NULL")),
        Index("ix_task_deal_planned", "deal_id", "planned_at", "status_id",
              sqlite_where=text("deal_id IS NOT NULL"),
              postgresql_where=text("deal_id IS NOT NULL")),
        _where_set("task", "lead_id"),
    )

    def __repr__(self):
        return f"№{self.id}"


class InvoiceStatus(str, enum.Enum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    REJECTED = "rejected"


class PaymentTerm(str, enum.Enum):
    """When an invoice is due: on receipt, in 15/30/45 days, a date."""

    ON_RECEIPT = "receipt"
    DAYS_15 = "15"
    DAYS_30 = "30"
    DAYS_45 = "45"
    DATE = "date"


class Invoice(OwnedMixin, Model):
    __tablename__ = "invoice"
    __label__ = _l("Invoices")

    id = Column(Integer, primary_key=True)
    number = Column(String(20), unique=True)
    issue_date = Column(Date, nullable=False, default=datetime.date.today)
    payment_term = Column(_enum(PaymentTerm), nullable=False, default=PaymentTerm.DAYS_15,
                          server_default=PaymentTerm.DAYS_15.value)
    due_date = Column(Date)
    # The buyer.
    client_id = Column(Integer, ForeignKey("client.id"), nullable=False, index=True)
    client = relationship(Client, backref="invoices", foreign_keys=[client_id])
    # The recipient (consignee), when not the buyer.
    recipient_id = Column(Integer, ForeignKey("client.id"), index=True)
    recipient = relationship(Client, foreign_keys=[recipient_id])
    deal_id = Column(Integer, ForeignKey("deal.id"), index=True)
    deal = relationship(Deal)
    currency_id = Column(Integer, ForeignKey("currency.id"), index=True)
    currency = relationship(Currency)
    exchange_rate = Column(Numeric(14, 6), nullable=False, default=1, server_default="1")
    order_number = Column(String(50))
    status = Column(_enum(InvoiceStatus), nullable=False, default=InvoiceStatus.DRAFT,
                    index=True)
    terms = Column(Text)
    comment = Column(Text)  # notes for the client, printed on the invoice
    # Typed prices already hold the VAT («в т. ч. НДС»), or it is added on top.
    prices_include_vat = Column(Boolean, nullable=False, default=False,
                                server_default=false())
    # Computed by app/services/invoices.py from the lines, never typed in.
    subtotal = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    tax_amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    total = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")

    def __repr__(self):
        return self.number or f"#{self.id}"


class InvoiceLine(Model):
    __tablename__ = "invoice_line"
    __label__ = _l("Invoice lines")

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    # Deleting a draft deletes its lines (the default nulled their invoice
    # first, and the database refused it).
    invoice = relationship(Invoice, backref=backref("lines", cascade="all, delete-orphan",
                                                    passive_deletes=True))
    product_id = Column(Integer, ForeignKey("product.id"), index=True)
    product = relationship(Product)
    description = Column(String(500), nullable=False)
    quantity = Column(Numeric(14, 3), nullable=False, default=1)
    price = Column(Numeric(14, 2), nullable=False, default=0)
    discount_percent = Column(Numeric(5, 2), nullable=False, default=0)
    tax_id = Column(Integer, ForeignKey("tax.id"), index=True)
    tax = relationship(Tax)
    # The rate taken from the tax when the line was last saved as a draft, so
    # that a later change of the dictionary leaves issued invoices as they
    # were; NULL: no VAT («Без НДС»).
    tax_rate = Column(Numeric(5, 2))
    # Computed: quantity x price less the discount, and the tax on it.
    amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    tax_amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    sort_order = Column(Integer, nullable=False, default=0, server_default="0")

    def __repr__(self):
        return self.description or ""


class ClosingStatus(str, enum.Enum):
    """An act's or a UPD's state: its lines are edited while a draft; an
    issued one is read-only."""

    DRAFT = "draft"
    ISSUED = "issued"


class ClosingDocumentMixin(OwnedMixin):
    """What an act and a UPD made from an invoice share: their own number
    (services/closing.py takes it by the invoice numbering rule), the
    invoice, its client and deal, and totals computed from the lines."""

    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    date = Column(Date, nullable=False, default=datetime.date.today)
    status = Column(_enum(ClosingStatus), nullable=False, default=ClosingStatus.DRAFT,
                    index=True)
    prices_include_vat = Column(Boolean, nullable=False, default=False,
                                server_default=false())
    comment = Column(Text)
    subtotal = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    tax_amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    total = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")

    @declared_attr
    def client_id(cls):
        return Column(Integer, ForeignKey("client.id"), nullable=False, index=True)

    @declared_attr
    def client(cls):
        return relationship(Client, foreign_keys=[cls.client_id])

    @declared_attr
    def invoice_id(cls):
        return Column(Integer, ForeignKey("invoice.id"), nullable=False, index=True)

    @declared_attr
    def invoice(cls):
        return relationship(Invoice)

    @declared_attr
    def deal_id(cls):
        return Column(Integer, ForeignKey("deal.id"), index=True)

    @declared_attr
    def deal(cls):
        return relationship(Deal)

    @declared_attr
    def currency_id(cls):
        return Column(Integer, ForeignKey("currency.id"), index=True)

    @declared_attr
    def currency(cls):
        return relationship(Currency)

    def __repr__(self):
        return self.number or f"#{self.id}"


class ClosingLineMixin:
    """A line of an act or a UPD: copied from the invoice's line, edited
    while the document is a draft; amounts computed as an invoice line's."""

    id = Column(Integer, primary_key=True)
    description = Column(String(500), nullable=False)
    unit = Column(String(20), nullable=False, default="", server_default="")
    quantity = Column(Numeric(14, 3), nullable=False, default=1)
    price = Column(Numeric(14, 2), nullable=False, default=0)
    discount_percent = Column(Numeric(5, 2), nullable=False, default=0, server_default="0")
    tax_rate = Column(Numeric(5, 2))  # NULL: «Без НДС»
    amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    tax_amount = Column(Numeric(14, 2), nullable=False, default=0, server_default="0")
    sort_order = Column(Integer, nullable=False, default=0, server_default="0")

    @declared_attr
    def tax_id(cls):
        return Column(Integer, ForeignKey("tax.id"), index=True)

    @declared_attr
    def tax(cls):
        return relationship(Tax)

    def __repr__(self):
        return self.description or ""


class Act(ClosingDocumentMixin, Model):
    """«Акт выполненных работ (оказанных услуг)» made from an invoice."""

    __tablename__ = "act"
    __label__ = _l("Acts")


class ActLine(ClosingLineMixin, Model):
    __tablename__ = "act_line"
    __label__ = _l("Act lines")

    document_id = Column(Integer, ForeignKey("act.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    document = relationship(Act, backref=backref("lines", cascade="all, delete-orphan",
                                                    passive_deletes=True))


class Upd(ClosingDocumentMixin, Model):
    """«Универсальный передаточный документ» made from an invoice: status 1
    (a счёт-фактура too) when a line carries VAT, 2 otherwise."""

    __tablename__ = "upd"
    __label__ = _l("UPD")


class UpdLine(ClosingLineMixin, Model):
    __tablename__ = "upd_line"
    __label__ = _l("UPD lines")

    document_id = Column(Integer, ForeignKey("upd.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    document = relationship(Upd, backref=backref("lines", cascade="all, delete-orphan",
                                                    passive_deletes=True))


class FieldMode(str, enum.Enum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


class WebForm(Model):
    """A web-to-lead form: which fields the
    public form asks, who gets its leads and which sites may post it."""

    __tablename__ = "web_form"
    __label__ = _l("Web forms")

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    # Public, unguessable part of the form's address.
    key = Column(String(32), nullable=False, unique=True)
    is_enabled = Column(Boolean, nullable=False, default=True)
    heading = Column(String(255))
    field_name = Column(_enum(FieldMode), nullable=False, default=FieldMode.REQUIRED)
    field_phone = Column(_enum(FieldMode), nullable=False, default=FieldMode.REQUIRED)
    field_email = Column(_enum(FieldMode), nullable=False, default=FieldMode.OPTIONAL)
    field_company = Column(_enum(FieldMode), nullable=False, default=FieldMode.OFF)
    field_inn = Column(_enum(FieldMode), nullable=False, default=FieldMode.OFF)
    field_message = Column(_enum(FieldMode), nullable=False, default=FieldMode.OPTIONAL)
    # Sites (scheme://host[:port]) whose pages may post the form, one a line.
    allowed_origins = Column(Text)
    segment_id = Column(Integer, ForeignKey("market_segment.id"), index=True)
    segment = relationship(MarketSegment)
    default_manager_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    default_manager = relationship(Employee)
    origin_id = Column(Integer, ForeignKey("client_origin.id"), index=True)
    origin = relationship(ClientOrigin)
    success_message = Column(String(255))
    # The visitor must tick a box agreeing to the operator's text; the lead
    # keeps the consent.
    consent_required = Column(Boolean, nullable=False, default=False,
                              server_default=false())
    consent_text = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    # The column of the text __repr__ gives (an export reads it in SQL).
    __title__ = "name"

    def __repr__(self):
        return self.name or ""


class TemplateEntity(str, enum.Enum):
    """What a document template is printed from."""

    CLIENT = "client"
    APPLICATION = "application"
    DEAL = "deal"
    TASK = "task"
    INVOICE = "invoice"
    ACT = "act"
    UPD = "upd"


class DocumentTemplate(Model):
    """A user-written HTML template with placeholders."""

    __tablename__ = "document_template"
    __label__ = _l("Templates")

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    entity = Column(_enum(TemplateEntity), nullable=False, default=TemplateEntity.CLIENT,
                    index=True)
    body = Column(Text, nullable=False, default="")
    is_active = Column(Boolean, nullable=False, default=True, server_default="1")
    # Seeded templates carry a code so that seeding never adds them twice.
    code = Column(String(40), unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self):
        return self.name or ""


class PrintedDocument(Model):
    """A PDF printed from a template, kept so it can be downloaded again."""

    __tablename__ = "printed_document"
    __label__ = _l("Documents")

    id = Column(Integer, primary_key=True)
    template_id = Column(Integer, ForeignKey("document_template.id", ondelete="SET NULL"),
                         index=True)
    template = relationship(DocumentTemplate)
    template_name = Column(String(150), nullable=False)
    entity = Column(_enum(TemplateEntity), nullable=False)
    entity_id = Column(Integer, nullable=False)
    client_id = Column(Integer, ForeignKey("client.id", ondelete="SET NULL"), index=True)
    client = relationship(Client)
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    author = relationship(Employee)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    file_name = Column(String(255), nullable=False)
    size = Column(Integer, nullable=False, default=0)
    content = deferred(Column(LargeBinary, nullable=False))

    __table_args__ = (Index("ix_printed_document_entity", "entity", "entity_id"),)

    def __repr__(self):
        return self.file_name or ""


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


class AccessAction(str, enum.Enum):
    VIEW = "view"
    EXPORT = "export"
    PRINT = "print"
    CHANGE = "change"
    # «Данные субъекта»: everything about the person downloaded (PDF or archive).
    SUBJECT_DATA = "subject_data"
    ERASE = "erase"


class PersonalDataLog(Model):
    """Who opened, exported, printed or changed a person's record: one row
    per record page, export, print or change (not per list row); kept
    PERSONAL_DATA_LOG_DAYS."""

    __tablename__ = "personal_data_log"
    __label__ = _l("Personal data access log")

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    user = relationship(Employee)
    action = Column(_enum(AccessAction), nullable=False)
    # "client", "contact" or "lead" (as the history names them); an export
    # names the list's entity and no id.
    entity = Column(String(40), nullable=False)
    entity_id = Column(Integer)
    rows = Column(Integer)  # an export's row count

    __table_args__ = (Index("ix_personal_data_log_entity", "entity", "entity_id"),)


class SignInFailureReason(str, enum.Enum):
    WRONG_PASSWORD = "wrong_password"
    UNKNOWN_USER = "unknown_user"
    LOCKED = "locked"
    INACTIVE = "inactive"


class SignInFailure(Model):
    """A failed sign-in on the screen or the API (services/sign_in_failures.py):
    the login as typed, the employee it names if any, the client's address
    and why; kept SIGN_IN_FAILURE_DAYS."""

    __tablename__ = "sign_in_failure"
    __label__ = _l("Sign-in failures")

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    username = Column(String(256), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), index=True)
    user = relationship(Employee)
    address = Column(String(64))
    reason = Column(_enum(SignInFailureReason), nullable=False)


# --- Notifications and jobs ----------------------------------------------------


class Notification(Model):
    """An in-app message to one employee (the bell in the top bar); also
    e-mailed when SMTP is configured. ``key`` makes a message idempotent:
    one user never gets two notifications with the same key."""

    __tablename__ = "notification"
    __label__ = _l("Notifications")

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    user = relationship(Employee)
    kind = Column(String(30), nullable=False, default="info")
    text = Column(Text, nullable=False)
    link = Column(String(500))
    key = Column(String(150))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    read_at = Column(DateTime)
    emailed_at = Column(DateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        # The bell's count and the list: the user's unread ones, newest first.
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_user_created", "user_id", "created_at"),
    )

    def __repr__(self):
        return (self.text or "")[:50]


class JobLease(Model):
    """Who runs a scheduled job now, and which scheduled run was taken, so
    that each run executes once across processes and machines."""

    __tablename__ = "job_lease"

    name = Column(String(60), primary_key=True)
    holder = Column(String(120))
    lease_until = Column(DateTime)
    # The scheduled time of the last run taken (UTC); manual runs leave it.
    slot = Column(DateTime)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    result = Column(String(500))
# --- Plans -------------------------------------------------------------------


class SalesPlan(Model):
    """A manager's plan for one month, set by the head of sales.
    ``month`` is the first day of the month."""

    __tablename__ = "sales_plan"
    __label__ = _l("Sales plans")

    id = Column(Integer, primary_key=True)
    manager_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    manager = relationship(Employee, foreign_keys=[manager_id])
    month = Column(Date, nullable=False, index=True)
    deals = Column(Integer, nullable=False, default=0)
    revenue = Column(Numeric(14, 2), nullable=False, default=0)
    calls = Column(Integer, nullable=False, default=0)
    comment = Column(Text)

    __table_args__ = (
        UniqueConstraint("manager_id", "month", name="uq_sales_plan_manager_month"),
    )

    def __repr__(self):
        return f"{self.manager} {self.month:%m.%Y}" if self.month else ""
# --- Custom fields (the admin's own fields on records) -------------------------


class CustomFieldType(str, enum.Enum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    DICTIONARY = "dictionary"


class CustomField(Model):
    """A field the admin added to an entity. Its values live in
    ``custom_value``, so defining a field never changes the schema."""

    __tablename__ = "custom_field"
    __label__ = _l("Custom fields")

    id = Column(Integer, primary_key=True)
    entity = Column(String(20), nullable=False)
    code = Column(String(40), nullable=False)
    label_ru = Column(String(100), nullable=False)
    label_en = Column(String(100))
    type = Column(_enum(CustomFieldType), nullable=False, default=CustomFieldType.TEXT)
    required = Column(Boolean, nullable=False, default=False)
    default = Column(String(255))
    help_text = Column(String(255))
    # One choice per line, for the "choice" types.
    choices = Column(Text)
    # The dictionary model's class name, for the "dictionary" type.
    dictionary = Column(String(60))
    sort_order = Column(Integer, nullable=False, default=0)
    is_active = Column(Boolean, nullable=False, default=True)
    in_list = Column(Boolean, nullable=False, default=False)
    in_filters = Column(Boolean, nullable=False, default=False)

    __table_args__ = (UniqueConstraint("entity", "code", name="uq_custom_field_entity_code"),)

    def __repr__(self):
        return self.label_ru or self.code or ""


class CustomValue(Model):
    """One value of a custom field for one record (a row per choice of a
    multiple choice). Each kind of value has its column, indexed with the
    field first, so a filter or a sort on any field is an index range."""

    __tablename__ = "custom_value"

    id = Column(Integer, primary_key=True)
    field_id = Column(Integer, ForeignKey("custom_field.id", ondelete="CASCADE"),
                      nullable=False)
    field = relationship(CustomField)
    record_id = Column(Integer, nullable=False)
    # Short text, a choice, a dictionary row's name.
    text_value = Column(String(255))
    long_value = Column(Text)
    # Integers, decimals, money, yes/no (1/0), a dictionary row's id.
    number_value = Column(Numeric(18, 4))
    date_value = Column(Date)

    __table_args__ = (
        Index("ix_custom_value_record", "record_id", "field_id"),
        Index("ix_custom_value_number", "field_id", "number_value", "record_id"),
        Index("ix_custom_value_date", "field_id", "date_value", "record_id"),
        Index("ix_custom_value_text", "field_id", "text_value", "record_id"),
    )
# --- Imports --------------------------------------------------------------


class RollupMixin:
    """A per-day roll-up for the statistics, kept exact by database triggers
    (migration 0011, services/rollups.py): its key is the day and two ids
    (0 stands for "none"), ``n`` the records counted there. The day range
    is read from the key alone (PostgreSQL: the sums ride along in its
    index; SQLite: the table is the key's b-tree)."""

    day = Column(Date, nullable=False)
    n = Column(Integer, nullable=False)

    @staticmethod
    def key(*columns, sums=("n",)):
        return (PrimaryKeyConstraint("day", *columns, postgresql_include=list(sums)),
                {"sqlite_with_rowid": False})


class TaskDay(RollupMixin, Model):
    """Tasks per UTC day of ``planned_at``, assignee and status."""

    __tablename__ = "task_day"
    __table_args__ = RollupMixin.key("assignee_id", "status_id")

    assignee_id = Column(Integer, nullable=False)
    status_id = Column(Integer, nullable=False)


class ClientDay(RollupMixin, Model):
    """Clients per UTC day of ``created_at``, responsible and funnel stage."""

    __tablename__ = "client_day"
    __table_args__ = RollupMixin.key("responsible_id", "stage_id")

    responsible_id = Column(Integer, nullable=False)
    stage_id = Column(Integer, nullable=False)


class ApplicationDay(RollupMixin, Model):
    """Applications per date (already a local day), responsible and status,
    with their amount in kopecks: integers add up exactly on SQLite too."""

    __tablename__ = "application_day"
    __table_args__ = RollupMixin.key("responsible_id", "status", sums=("n", "kopecks"))

    responsible_id = Column(Integer, nullable=False)
    status = Column(String(20), nullable=False)
    kopecks = Column(BigInteger, nullable=False)


class ImportJob(Model):
    """One CSV import: the journal entry, its stored file, its options, its
    progress and its final report. Workers claim a queued job with an atomic UPDATE."""

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
    # Claims so far: a job whose worker died is queued again until this
    # reaches IMPORT_MAX_ATTEMPTS, then failed (app/services/import_jobs.py).
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    # When the stored upload and the file of bad rows were deleted
    # (IMPORT_KEEP_DAYS after the import); the entry itself stays.
    files_removed_at = Column(DateTime)

    def __repr__(self):
        return self.file_name or f"#{self.id}"


class ImportAttempt(Model):
    """One claim of an import by a worker, and how it ended: the journal
    tells a run that died and was taken over from one that went through."""

    __tablename__ = "import_attempt"

    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("import_job.id", ondelete="CASCADE"), nullable=False,
                    index=True)
    worker = Column(String(100))
    started_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime)
    rows_done = Column(Integer, nullable=False, default=0)
    # running | finished | failed | died (its worker stopped) | lost (taken
    # back from a worker thought dead that was not)
    outcome = Column(String(20), nullable=False, default="running")


class ImportUndo(Model):
    """«Отменить импорт» of a finished import: who, when, what it did
    (services/import_undo.py); the job's status becomes "undone"."""

    __tablename__ = "import_undo"

    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("import_job.id", ondelete="CASCADE"), nullable=False,
                    index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    user = relationship(Employee)
    at = Column(DateTime, nullable=False, default=utcnow)
    deleted = Column(Integer, nullable=False, default=0)
    restored = Column(Integer, nullable=False, default=0)
    # Records changed since the import that the user chose to leave as they are.
    kept = Column(Integer, nullable=False, default=0)


class ImportCreated(Model):
    """Ids of records an import created, as ranges (a batch's ids are
    consecutive but for other writers' rows in between on PostgreSQL):
    what «Отменить импорт» deletes."""

    __tablename__ = "import_created"

    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("import_job.id", ondelete="CASCADE"), nullable=False,
                    index=True)
    table_name = Column(String(60), nullable=False)
    first_id = Column(Integer, nullable=False)
    last_id = Column(Integer, nullable=False)


class ImportChange(Model):
    """A column an import changed on an existing record, with the stored
    values before and after (JSON, as the column holds them: the history's
    texts are for people and cannot be written back)."""

    __tablename__ = "import_change"

    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("import_job.id", ondelete="CASCADE"), nullable=False,
                    index=True)
    table_name = Column(String(60), nullable=False)
    record_id = Column(Integer, nullable=False)
    field = Column(String(60), nullable=False)
    old_value = Column(Text)
    new_value = Column(Text)

    __table_args__ = (
        # One record's rows: what erasure and «Данные субъекта» look up.
        Index("ix_import_change_table_record", "table_name", "record_id"),
    )


class RateLimitCounter(Model):
    """One rate limit's count for one address (or other key) and window,
    shared by every worker and machine on this database
    (services/ratelimits.py, ``RATELIMIT_STORAGE_URI=database://``)."""

    __tablename__ = "rate_limit"

    key = Column(String(255), primary_key=True)
    count = Column(Integer, nullable=False)
    # When the window ends, Unix time in seconds: an ended window restarts.
    expiry = Column(Double, nullable=False, index=True)


# --- Saved list views -----------------------------------------------------------------


class SavedView(Model):
    """A list's filters, sort and page size under a name (services/
    saved_views.py): a user's own, or shared by an administrator with
    everyone who may open that list."""

    __tablename__ = "saved_view"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    user = relationship(Employee)
    # The list's FAB view class, e.g. "DealView": its own route rebuilds the URL.
    view_name = Column(String(100), nullable=False)
    title = Column(String(100), nullable=False)
    # Only the list's own arguments (filters, sort, page size), re-checked when opened.
    query = Column(Text, nullable=False, default="")
    shared = Column(Boolean, nullable=False, default=False, server_default=false())
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        # A user's views of a list, by title; one title once per user and list.
        UniqueConstraint("user_id", "view_name", "title", name="uq_saved_view_user_view_title"),
        Index("ix_saved_view_view_shared", "view_name", "shared"),
    )

    def __repr__(self):
        return self.title or ""
