"""The register of loan applications."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from wtforms.validators import NumberRange, Optional

from app import db
from app.models import Application, ProcessingStatus
from app.services import values
from app.views.datamodel import ListInterface
from app.views.filters import FilterInDepartment, FilterInPeriod
from app.views.register_base import RegisterView


class ApplicationView(RegisterView):
    route_base = "/applications"
    datamodel = ListInterface(Application, eager=("client.region",))
    list_template = "sdelka/applications_list.html"
    extra_args = {"quick_filters": (
        (ProcessingStatus.COMPLETED, _l("Show completed")),
        (ProcessingStatus.REFUSED, _l("Show refused")),
        (ProcessingStatus.IN_PROCESSING, _l("Show in processing")),
    )}
    list_columns = ["id", "offer", "client.name", "client.phone", "amount", "client.region",
                    "date", "loan_purpose", "status"]
    order_columns = ["id", "offer", "client.name", "client.phone", "amount", "client.region",
                     "date", "loan_purpose", "status"]
    add_columns = edit_columns = ["client", "date", "amount", "term_months", "rate_percent",
                                  "loan_purpose", "offer", "status", "origin", "responsible",
                                  "comment"]
    show_columns = ["id"] + add_columns + ["created_at", "updated_at"]
    show_template = "sdelka/application_show.html"
    validators_columns = {"amount": [NumberRange(min=0)],
                          "term_months": [Optional(), NumberRange(min=1, max=600)],
                          "rate_percent": [Optional(), NumberRange(min=0, max=100)]}

    search_columns = ["id", "status", "date", "amount", "offer", "responsible"]
    extra_filters = {"date": [FilterInPeriod], "responsible": [FilterInDepartment]}
    base_order = ("date", "desc")

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["calculator_url"] = calculator_url(
                db.session.get(Application, int(kwargs["pk"])))
        return super().render_template(template, **kwargs)


def calculator_url(application):
    """The loan calculator prefilled with an application's amount, term and
    rate, for its client (the printed schedule names him)."""
    args = {"amount": values.number_text(application.amount, 2), "client": application.client_id}
    if application.term_months:
        args["months"] = application.term_months
    if application.rate_percent is not None:
        args["rate"] = values.number_text(application.rate_percent)
    return url_for("CalculatorView.index", **args)
