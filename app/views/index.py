"""The start page: the admin and the head of sales land on the statistics
dashboard; everyone else on «Мой день» (services/my_day.py)."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app import db
from app.models import Client, Deal, utcnow
from app.services import access, my_day, tasks
from app.services.values import date_text
from app.views.fields import office_zone
from app.views.rowaccess import restricted_user_id

LANDS_ON_STATISTICS = ("Admin", "Head of sales")


def _filter_arg(view, column, filter_name):
    """FAB's URL argument of the list filter ``filter_name`` on ``column``
    (``_flt_<position>_<column>``: positions depend on the view's filters)."""
    found = view._filters.get_search_filters()[column]
    position = next(i for i, f in enumerate(found) if type(f).__name__ == filter_name)
    return f"_flt_{position}_{column}"


class SdelkaIndexView(IndexView):
    index_template = "sdelka/index.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return super().index()
        sm = self.appbuilder.sm
        if (any(role.name in LANDS_ON_STATISTICS for role in user.roles)
                and sm.has_access("can_show", "StatsView")):
            return redirect(url_for("StatsView.index"))
        see_tasks = sm.has_access("can_list", "TaskView")
        see_deals = sm.has_access("can_list", "DealView")
        now = utcnow()
        sections = my_day.my_day(db.session, user.id, now, office_zone(),
                                 tasks=see_tasks, deals=see_deals)
        done_status = (tasks.done_status(db.session)
                       if see_tasks and sm.has_access("can_edit", "TaskView") else None)
        rows = [row for section in sections.values() for row in section.rows]
        scope = restricted_user_id()
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, day=sections,
            client_links=access.readable_ids(db.session, Client,
                                             {row.client_id for row in rows}, scope),
            # A task of one's own may be on a colleague's deal of a hidden client.
            deal_links=access.readable_ids(db.session, Deal,
                                           {getattr(row, "deal_id", None) for row in rows}, scope),
            today=date_text(my_day.office_today(now, office_zone())),
            done_status=done_status, links=self._links(user.id, now, see_tasks, see_deals),
            unplanned_url=(url_for("UnplannedView.unplanned")
                           if sm.has_access("can_list", "UnplannedView") else None))

    def _links(self, user_id, now, see_tasks, see_deals):
        """The full lists behind the sections, filtered as far as the lists
        can filter."""
        views = {type(v).__name__: v for v in self.appbuilder.baseviews}
        today = date_text(my_day.office_today(now, office_zone()))
        links = {}
        if see_tasks and "TaskView" in views:
            view = views["TaskView"]
            mine = {_filter_arg(view, "assignee", "FilterRelationOneToManyEqual"): user_id,
                    _filter_arg(view, "status", "FilterStatusKind"): "open"}
            links["today"] = url_for(
                "TaskView.list", **mine,
                **{_filter_arg(view, "planned_at", "FilterInPeriod"): today},
                _oc_TaskView="planned_at", _od_TaskView="asc")
            links["overdue"] = url_for("TaskView.list", **mine, _oc_TaskView="planned_at",
                                       _od_TaskView="desc")
        if see_deals and "DealView" in views:
            view = views["DealView"]
            links["late"] = url_for(
                "DealView.list",
                **{_filter_arg(view, "responsible", "FilterRelationOneToManyEqual"): user_id,
                   _filter_arg(view, "status", "FilterEqual"): "open",
                   _filter_arg(view, "expected_close", "FilterSmaller"): today},
                _oc_DealView="expected_close", _od_DealView="desc")
        return links
