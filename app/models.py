"""Declarative models of Sdelka CRM, grouped by area. Alembic migrations in
migrations/ are generated from these and are the schema's only source."""
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

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
