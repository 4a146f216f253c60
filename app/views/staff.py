"""Employees, departments, own profile and password."""
from flask import flash, g
from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.views import (
    ResetMyPasswordView,
    UserDBModelView,
    UserInfoEditView,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Optional, ValidationError

from app import db
from app.models import Department, Employee
from app.services import staff, validation
from app.views.fields import Normalised, min_length
from app.views.filters import FilterInBranch, add_search_filter
from app.views.labels import blank_if_none
from app.views.refusal import KeepTypedMixin, refuse_on

EMPLOYEE_LABELS = {
    "username": _l("Login"),
    "full_name": _l("Full name"),
    "last_name": _l("Last name"),
    "first_name": _l("First name"),
    "middle_name": _l("Middle name"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "skype": _l("Skype"),
    "position": _l("Position"),
    "department": _l("Department"),
    "roles": _l("Roles"),
    "active": _l("Active"),
    "last_login": _l("Last login"),
    "login_count": _l("Login count"),
    "fail_login_count": _l("Failed logins"),
    "locked_until": _l("Locked until"),
    "created_on": _l("Created on"),
    "changed_on": _l("Changed on"),
}


class EmployeeView(KeepTypedMixin, UserDBModelView):
    route_base = "/employees"
    datamodel = SQLAInterface(Employee)

    list_title = _l("Employees")
    show_title = _l("Employee")
    add_title = _l("Add employee")
    edit_title = _l("Edit employee")
    user_info_title = _l("My profile")

    label_columns = EMPLOYEE_LABELS
    description_columns = {
        "username": _l("Used to sign in"),
        "active": _l("An inactive employee cannot sign in; records stay assigned"),
    }
    list_columns = ["username", "full_name", "department", "position", "phone",
                    "email", "roles", "active"]
    order_columns = ["username", "department", "position", "email", "active"]
    search_columns = ["username", "last_name", "first_name", "email", "phone",
                      "department", "position", "roles", "active"]
    add_columns = ["username", "last_name", "first_name", "middle_name", "email",
                   "phone", "skype", "department", "position", "roles"]
    edit_columns = add_columns + ["active"]
    personal = ["last_name", "first_name", "middle_name", "email", "phone", "skype"]
    show_fieldsets = [
        (_l("Employee"), {"fields": ["username", "department", "position",
                                      "roles", "active"]}),
        (_l("Personal info"), {"fields": personal, "expanded": True}),
        (_l("Sign-in"), {"fields": ["last_login", "login_count",
                                     "fail_login_count", "locked_until",
                                     "created_on", "changed_on"],
                          "expanded": False}),
    ]
    user_show_fieldsets = [
        (_l("Personal info"), {"fields": personal + ["department", "position"],
                               "expanded": True}),
        (_l("Employee"), {"fields": ["username", "roles", "last_login"]}),
    ]
    add_form_extra_fields = {}
    formatters_columns = {"department": blank_if_none}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        add_search_filter(self._filters, "department", FilterInBranch)
    validators_columns = {
        "roles": [DataRequired(message=_l("Choose at least one role"))],
        "phone": [Normalised(validation.phone)],
        "email": [Email(message=_l("Not an email address"))],
    }

    def pre_add(self, item):
        # Kept on g, not on the view: one view instance serves every request.
        g.new_employee_password = staff.set_new_password(item)

    def post_add(self, item):
        flash(
            _l(
                "Employee %(login)s created. Password: %(password)s — give it to "
                "the employee now; it is not stored and will not be shown again.",
                login=item.username,
                password=g.pop("new_employee_password"),
            ),
            "warning",
        )

    def pre_update(self, item):
        super().pre_update(item)
        refuse_on(staff.check_can_deactivate, item, g.user.id)

    def pre_delete(self, item):
        refuse_on(staff.check_can_delete, db.session, item, g.user.id)


class DepartmentView(KeepTypedMixin, ModelView):
    route_base = "/departments"
    datamodel = SQLAInterface(Department)
    list_title = _l("Departments")
    show_title = _l("Department")
    add_title = _l("Add department")
    edit_title = _l("Edit department")
    label_columns = {"name": _l("Name"), "parent": _l("Parent department"),
                     "head": _l("Head of department"),
                     "employees": _l("Employees"), "children": _l("Sub-departments")}
    description_columns = {
        "parent": _l("Leave empty for a top-level department; at most three levels"),
    }
    list_columns = ["name", "parent", "head"]
    show_columns = ["name", "parent", "head", "children", "employees"]
    add_columns = edit_columns = ["name", "parent", "head"]
    search_columns = ["name", "parent", "head"]
    formatters_columns = {"parent": blank_if_none, "head": blank_if_none}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        add_search_filter(self._filters, "parent", FilterInBranch)
    order_columns = ["name"]
    base_order = ("name", "asc")

    def pre_add(self, item):
        refuse_on(staff.check_department_parent, item)

    pre_update = pre_add

    def pre_delete(self, item):
        refuse_on(staff.check_can_delete_department, db.session, item)


class ProfileForm(DynamicForm):
    last_name = StringField(_l("Last name"), [DataRequired()], widget=BS3TextFieldWidget())
    first_name = StringField(_l("First name"), [DataRequired()], widget=BS3TextFieldWidget())
    middle_name = StringField(_l("Middle name"), [Optional()], widget=BS3TextFieldWidget())
    email = StringField(
        _l("Email"), [DataRequired(), Email(message=_l("Not an email address"))],
        widget=BS3TextFieldWidget(),
    )
    phone = StringField(
        _l("Phone"), [Normalised(validation.phone)], widget=BS3TextFieldWidget()
    )
    skype = StringField(_l("Skype"), [Optional()], widget=BS3TextFieldWidget())

    def validate_email(self, field):
        taken = db.session.scalar(
            select(Employee.id).where(
                func.lower(Employee.email) == field.data.strip().lower(),
                Employee.id != g.user.id,
            )
        )
        if taken:
            raise ValidationError(_l("This email belongs to another employee"))


class ProfileView(UserInfoEditView):
    route_base = "/profile"
    form = ProfileForm
    form_title = _l("Edit my profile")
    message = _l("Profile saved")

    def form_post(self, form):
        # FAB's version rebuilds the form from the raw request and would
        # store the phone as typed instead of its validated E.164 form.
        user = db.session.get(Employee, g.user.id)
        form.populate_obj(user)
        db.session.commit()
        flash(str(self.message), "info")


class ChangePasswordForm(DynamicForm):
    old_password = PasswordField(
        _l("Current password"), [DataRequired()], widget=BS3PasswordFieldWidget()
    )
    password = PasswordField(
        _l("New password"), [DataRequired(), min_length(8)],
        widget=BS3PasswordFieldWidget(),
    )
    conf_password = PasswordField(
        _l("Repeat the new password"),
        [EqualTo("password", message=_l("Passwords must match"))],
        widget=BS3PasswordFieldWidget(),
    )

    def validate_old_password(self, field):
        if not staff.password_matches(g.user, field.data):
            raise ValidationError(_l("The current password is wrong"))

    def validate_password(self, field):
        if field.data == self.old_password.data:
            raise ValidationError(_l("The new password must differ from the current one"))


class ChangePasswordView(ResetMyPasswordView):
    route_base = "/changepassword"
    form = ChangePasswordForm
    form_title = _l("Change my password")
    message = _l("Password changed")

    def form_post(self, form):
        user = db.session.get(Employee, g.user.id)
        staff.set_password(user, form.password.data)
        db.session.commit()
        flash(str(self.message), "info")
