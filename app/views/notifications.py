"""The bell in the top bar and the list of one's own notifications."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app import db
from app.services import notifications
from app.views.fields import datetime_text

PER_PAGE = 50


def unread_count():
    """For the top bar: one indexed count per page, none for visitors."""
    user = getattr(g, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    if "unread_notifications" not in g:  # else read with the user (security.load_user)
        g.unread_notifications = notifications.unread_count(db.session, user.id)
    return g.unread_notifications


class NotificationView(BaseView):
    route_base = "/notifications"
    default_view = "index"
    # Reading one's own list, and marking one's own messages read: every
    # role has both (security.PROFILE); the rows are always the user's own.
    method_permission_name = {"index": "list", "open": "list", "mark_read": "read",
                              "mark_all_read": "read"}

    @expose("/")
    @has_access
    def index(self):
        page = max(request.args.get("page", 0, type=int), 0)
        unread_only = request.args.get("unread") == "1"
        rows, has_more = notifications.for_user(db.session, g.user.id, page=page,
                                                per_page=PER_PAGE, unread_only=unread_only)
        return self.render_template("sdelka/notifications.html", rows=rows, page=page,
                                    has_more=has_more, unread_only=unread_only)

    @expose("/open/<int:pk>")
    @has_access
    def open(self, pk):
        """Follow a notification's link and mark it read."""
        note = notifications.get_own(db.session, g.user.id, pk)
        if note is None:
            abort(404)
        notifications.mark_read(db.session, g.user.id, [pk])
        db.session.commit()
        return redirect(notifications.safe_link(note.link) or url_for(".index"))

    @expose("/read/<int:pk>", methods=["POST"])
    @has_access
    def mark_read(self, pk):
        if notifications.get_own(db.session, g.user.id, pk) is None:
            abort(404)
        notifications.mark_read(db.session, g.user.id, [pk])
        db.session.commit()
        return redirect(url_for(".index"))

    @expose("/read-all", methods=["POST"])
    @has_access
    def mark_all_read(self):
        changed = notifications.mark_read(db.session, g.user.id)
        db.session.commit()
        flash(gettext("Notifications marked read: %(n)s", n=changed), "success")
        return redirect(url_for(".index"))


def register(appbuilder):
    from flask import current_app

    app = current_app._get_current_object()  # registered inside create_app's context
    app.jinja_env.filters["local_datetime"] = datetime_text
    app.context_processor(lambda: {"unread_notifications": unread_count})
    appbuilder.add_view_no_menu(NotificationView)
