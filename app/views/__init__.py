"""Registers every screen in the menu. One module per area."""
from flask_babel import lazy_gettext as _l


def register(appbuilder):
    from flask import current_app

    from app.views import (
        api,
        deal_documents,
        dictionaries,
        documents,
        erasure,
        followup,
        health,
        import_undo,
        imports,
        menu,
        notifications,
        personal_data,
        registers,
        saved_views,
        show,
        stats,
        subject_data,
        timeline,
        webform,
    )
    from app.views.calculator import CalculatorView
    from app.views.calendar import CalendarView
    from app.views.company import CompanyView
    from app.views.custom_fields import CustomFieldView
    from app.views.fields import register_template_values
    from app.views.staff import DepartmentView
    from app.views.task_work import TaskWorkView

    register_template_values(current_app._get_current_object())
    current_app.jinja_env.globals["first_on_page"] = show.first_on_page
    menu.register(current_app._get_current_object())
    from app.views import filters, readable

    readable.install()
    filters.install()
    stats.register(appbuilder)
    registers.register(appbuilder)
    appbuilder.add_view_no_menu(TaskWorkView)
    appbuilder.add_view(CalendarView, "Calendar", label=_l("Calendar"), icon="fa-calendar")
    notifications.register(appbuilder)
    followup.register(appbuilder)
    saved_views.register(appbuilder)
    documents.register(appbuilder)
    deal_documents.register(appbuilder)
    api.register(appbuilder)
    dictionaries.register(appbuilder)
    imports.register(appbuilder)
    import_undo.register(appbuilder)
    timeline.register(appbuilder)
    appbuilder.add_view(
        CompanyView, "Company requisites", label=_l("Company requisites"),
        icon="fa-building", category="Company", category_label=_l("Company"),
        category_icon="fa-building",
    )
    appbuilder.add_view(
        DepartmentView, "Departments", label=_l("Departments"),
        icon="fa-sitemap", category="Company",
    )
    webform.register(appbuilder)
    health.register(appbuilder)
    appbuilder.add_view(
        CalculatorView, "Loan calculator", label=_l("Loan calculator"),
        icon="fa-calculator",
    )
    appbuilder.add_view(
        CustomFieldView, "Custom fields", label=_l("Custom fields"), icon="fa-plus-square",
        category="Settings", category_label=_l("Settings"), category_icon="fa-cogs",
    )
    from app import console

    console.register(appbuilder)
    personal_data.register(appbuilder)
    subject_data.register(appbuilder)
    erasure.register(appbuilder)
    _move_employees_to_company(appbuilder.menu)


def _move_employees_to_company(menu):
    """FAB files its user screen under "Security"; here users are staff."""
    security, users, company = (menu.find(n) for n in ("Security", "List Users", "Company"))
    security.childs.remove(users)
    users.label = _l("Employees")
    company.childs.append(users)
