"""Loan calculator: the form, the schedule with its chart, and exports.

Inputs travel as GET parameters: a calculation changes nothing, and a
schedule can be bookmarked, exported or opened from a client's record with
its amount and term already filled in."""
import datetime
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import db
from app.models import Client
from app.services import charts, csv_io, loan, printing, values
from app.services.company import get_company
from app.services.search import number_of
from app.views.rowaccess import may_read

KINDS = (("annuity", _l("Annuity (equal payments)")),
         ("differentiated", _l("Differentiated (equal principal)")))
BASES = (("monthly", _l("Rate / 12 each month")),
         ("actual", _l("Actual days in the period / 365")))


def _defaults():
    today = datetime.date.today()
    return {"first_date": loan.next_month(today).isoformat(),
            "kind": "annuity", "interest_basis": "monthly"}


class CalculatorView(BaseView):
    route_base = "/calculator"
    default_view = "index"
    # One permission for the screen and its exports: reading a schedule.
    method_permission_name = {"index": "show", "csv": "show", "pdf": "show"}

    def _form_data(self):
        data = _defaults()
        data.update({f: request.args[f] for f in loan.FORM_FIELDS if f in request.args})
        return data

    @staticmethod
    def _client():
        """The client the schedule is for (``client=<id>``), if the user may see it."""
        client_id = number_of(request.args.get("client"))
        if client_id and may_read(Client, client_id):
            return db.session.get(Client, client_id)
        return None

    def _export_args(self, data, client):
        args = {f: data[f] for f in loan.FORM_FIELDS if f in data}
        return {**args, "client": client.id} if client else args

    def _schedule_or_redirect(self):
        schedule, values, errors = loan.schedule_from_form(self._form_data())
        if errors:
            flash(gettext("Fix the calculator's inputs before exporting."), "danger")
            return None, None, redirect(url_for(".index", **{**request.args, "calc": 1}))
        return schedule, values, None

    @expose("/")
    @has_access
    def index(self):
        data = self._form_data()
        schedule, errors = None, {}
        if request.args.get("calc"):
            schedule, _, errors = loan.schedule_from_form(data)
            errors = {field: str(message) for field, message in errors.items()}
        chart = _chart(schedule) if schedule else None
        client = self._client()
        return self.render_template(
            "sdelka/calculator.html", data=data, errors=errors, schedule=schedule,
            chart=chart, kinds=KINDS, bases=BASES, client=client,
            export_args=self._export_args(data, client),
        )

    @expose("/csv")
    @has_access
    def csv(self):
        schedule, values, refusal = self._schedule_or_redirect()
        if refusal:
            return refusal
        header = [gettext("No."), gettext("Date"), gettext("Payment"), gettext("Interest"),
                  gettext("Principal"), gettext("Balance")]
        rows = [(r.number, r.date, r.payment, r.interest, r.principal, r.balance)
                for r in schedule.rows]
        rows.append(("", gettext("Total"), schedule.total_payment, schedule.total_interest,
                     schedule.total_principal, None))
        body = csv_io.to_csv(header, rows, request.args.get("encoding", "utf-8"))
        filename = f"schedule_{values['amount']}_{values['months']}.csv"
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @expose("/pdf")
    @has_access
    def pdf(self):
        schedule, values, refusal = self._schedule_or_redirect()
        if refusal:
            return refusal
        html = render_template(
            "sdelka/pdf/loan_schedule.html", schedule=schedule, values=values,
            kind_label=dict(KINDS)[values["kind"].value], client=self._client(),
            company=get_company(db.session),
            chart_uri=charts.pdf_image_uri(_chart(schedule), 900, 260),
        )
        body = printing.html_to_pdf(html)
        filename = f"График платежей {values['amount']} ₽ на {values['months']} мес.pdf"
        return Response(body, mimetype="application/pdf", headers={
            "Content-Disposition": "attachment; filename*=UTF-8''" + quote(filename)})


def _chart(schedule):
    return charts.stacked_bars(
        [(gettext("Principal"), "#337ab7", [r.principal for r in schedule.rows]),
         (gettext("Interest"), "#f0ad4e", [r.interest for r in schedule.rows])],
        [values.month_text(r.date) for r in schedule.rows],
    )
