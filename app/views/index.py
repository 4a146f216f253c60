from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

LANDS_ON_STATISTICS = ("Admin", "Head of sales")


class SdelkaIndexView(IndexView):
    """The start page; the admin and the head of sales land on the
    statistics dashboard instead."""

    index_template = "sdelka/index.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if (user is not None and user.is_authenticated
                and any(role.name in LANDS_ON_STATISTICS for role in user.roles)
                and self.appbuilder.sm.has_access("can_show", "StatsView")):
            return redirect(url_for("StatsView.index"))
        return super().index()
