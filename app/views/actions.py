"""The register of work with counterparties."""
from flask import flash, g, redirect, url_for
from flask_appbuilder.actions import action
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import db
from app.models import CounterpartyAction
from app.services import actions
from app.views.datamodel import ListInterface
from app.views.labels import FIELDS
from app.views.register_base import RegisterView
from app.views.rowaccess import may_change


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
    quick_search_words = ("result",)
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
        created = [actions.next_step(db.session, item, g.user.id) for item in items
                   if may_change(CounterpartyAction, item.id)]
        db.session.commit()
        if len(created) == 1:
            flash(gettext("The next step is created from №%(id)s: adjust it and save",
                          id=created[0].based_on_id), "success")
            return redirect(url_for(".edit", pk=created[0].id))
        flash(gettext("Next steps created: %(count)s", count=len(created)), "success")
        return redirect(url_for(".list"))

    def render_template(self, template, **kwargs):
        if template == self.show_template:
            kwargs["next_step_allowed"] = self.appbuilder.sm.has_access(
                "can_next_step", self.class_permission_name)
        return super().render_template(template, **kwargs)
