"""The register of work with counterparties."""
import json

from flask import flash, g, redirect, request, url_for
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import db
from app.labels import FIELDS
from app.models import CounterpartyAction, Employee
from app.services import actions
from app.services.search import number_of
from app.views.datamodel import ListInterface
from app.views.register_base import RegisterView
from app.views.rowaccess import may_change


class ResultsOfTypeWidget(Select2Widget):
    """The results drop-down with the action type of each result: the form
    offers only the chosen action's results (js/action_results.js)."""

    def __call__(self, field, **kwargs):
        kwargs["data-action-types"] = json.dumps(
            {str(pk): result.action_type_id for pk, result in field._get_object_list()})
        return super().__call__(field, **kwargs)


# What a next step takes from the action it is based on.
DRAFTED = ("client", "contact", "lead", "deal", "action_type", "responsible", "based_on")


class CounterpartyActionView(RegisterView):
    """Work with a counterparty; a tab on clients, contacts, leads and deals."""

    route_base = "/counterparty-actions"
    datamodel = ListInterface(CounterpartyAction)
    list_columns = ["planned_at", "action_type", "action_result", "client", "lead", "deal",
                    "responsible", "done_at"]
    add_columns = edit_columns = ["client", "contact", "lead", "deal", "action_type",
                                  "action_result", "planned_at", "responsible", "done_at",
                                  "result", "based_on"]
    show_columns = add_columns
    search_columns = ["planned_at", "done_at", "result"]
    base_order = ("planned_at", "desc")
    label_columns = dict(FIELDS, action_result=_l("Result"),
                         result=_l("Comment on the result"))
    description_columns = {"action_result": _l("One of the results the chosen action allows")}
    show_template = "sdelka/action_show.html"
    method_permission_name = {"next_step": "next_step"}

    @action("next_step", _l("Create based on this one"), icon="fa-share", multiple=True,
            single=False)
    def next_step(self, items):
        items = [i for i in (items if isinstance(items, list) else [items]) if i is not None]
        allowed = [item for item in items if may_change(CounterpartyAction, item.id)]
        if len(items) == 1 and allowed:
            # One step: a form to fill in; nothing is saved until the user saves.
            return redirect(url_for(".add", based_on=allowed[0].id))
        created = [actions.next_step(db.session, item, g.user.id) for item in allowed]
        db.session.commit()
        flash(gettext("Next steps created: %(count)s", count=len(created)), "success")
        return redirect(url_for(".list"))

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        form.action_result.widget = ResultsOfTypeWidget()
        source_id = number_of(request.args.get("based_on"))
        if request.method == "GET" and source_id and may_change(CounterpartyAction, source_id):
            draft = actions.next_step_draft(db.session.get(CounterpartyAction, source_id),
                                            g.user.id)
            if draft.responsible is None:
                draft.responsible = db.session.get(Employee, draft.responsible_id)
            for name in DRAFTED:
                if name in form:
                    form[name].data = getattr(draft, name)
            flash(gettext("A next step based on №%(id)s: fill it in and save", id=source_id),
                  "info")
        return super()._get_add_widget(form, exclude_cols, widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        form.action_result.widget = ResultsOfTypeWidget()
        return super()._get_edit_widget(form, exclude_cols, widgets)

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["next_step_allowed"] = self.appbuilder.sm.has_access(
                "can_next_step", self.class_permission_name)
        return super().render_template(template, **kwargs)
