"""The register screens in the menu. Their common base is in
register_base.py; each register has its module (clients.py, deals.py, ...)."""
from flask_babel import lazy_gettext as _l

from app.views.actions import CounterpartyActionView
from app.views.applications import ApplicationView
from app.views.clients import ClientView, ContactPersonView, NoteView, ProjectView
from app.views.closing import ActLineView, ActView, UpdLineView, UpdView
from app.views.deals import DealView
from app.views.invoices import InvoiceLineView, InvoiceView
from app.views.leads import LeadView
from app.views.tasks import TaskView

REGISTER_VIEWS = (ClientView, ContactPersonView, ApplicationView, LeadView, DealView,
                  TaskView, NoteView, ProjectView, CounterpartyActionView, InvoiceView,
                  InvoiceLineView)


def register(appbuilder):
    menu = (
        (ClientView, "Clients", "fa-address-book", "Clients"),
        (ContactPersonView, "Contact persons", "fa-user", "Clients"),
        (NoteView, "Notes", "fa-sticky-note", "Clients"),
        (ProjectView, "Projects", "fa-folder-open", "Clients"),
        (CounterpartyActionView, "Work with counterparties", "fa-handshake-o", "Clients"),
        (ApplicationView, "Applications", "fa-file-text", "Sales"),
        (LeadView, "Leads", "fa-bullhorn", "Sales"),
        (DealView, "Deals", "fa-briefcase", "Sales"),
        (InvoiceView, "Invoices", "fa-file-invoice", "Sales"),
        (ActView, "Acts", "fa-file-text-o", "Sales"),
        (UpdView, "UPD", "fa-file-o", "Sales"),
        (TaskView, "Tasks", "fa-tasks", None),
    )
    categories = {"Clients": (_l("Clients"), "fa-address-book"),
                  "Sales": (_l("Sales"), "fa-line-chart")}
    for view, name, icon, category in menu:
        kwargs = {}
        if category:
            label, category_icon = categories[category]
            kwargs = dict(category=category, category_label=label,
                          category_icon=category_icon)
        appbuilder.add_view(view, name, label=view.datamodel.obj.__label__, icon=icon,
                            **kwargs)
        if view is DealView:  # the board beside the list
            appbuilder.add_link("Funnel", href="/deals/board/", label=_l("Funnel"),
                                icon="fa-columns", category=category)
    appbuilder.add_view_no_menu(InvoiceLineView)
    appbuilder.add_view_no_menu(ActLineView)
    appbuilder.add_view_no_menu(UpdLineView)
