"""Bulk assignment on a register list («Назначить сегмент рынка», «… тип рассылки»):
the selected rows (a list action) or every row the list's filter shows go
to a confirmation page that names how many records change, then the
service changes them. Only records the user may change are touched."""
from flask import flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField

from app import db
from app.models import MailingType, MarketSegment
from app.services import access, assignment, mailing
from app.services.errors import Refused
from app.views.rowaccess import restricted_user_id

KINDS = {
    "segment": (MarketSegment, _l("Assign a market segment"), _l("Market segment"),
                _l("Also hand each client to the segment's next manager")),
    "mailing": (MailingType, _l("Assign a mailing type"), _l("Mailing type"),
                _l("Take them off this mailing list instead")),
}


class BulkForm(FlaskForm):
    target = SelectField(coerce=int)
    option = BooleanField()


class BulkAssignMixin:
    """``bulk_kinds``: which of KINDS the view offers."""

    bulk_kinds = ()

    def _target_ids(self):
        """Ids from ``?ids=`` or, with ``?all=1``, from the list's filters;
        only records the user may change; at most the services' limit + 1."""
        model = self.datamodel.obj
        limit = assignment.BULK_LIMIT + 1
        query = select(model.id)
        if request.args.get("all"):
            get_filter_args(self._filters)
            filters = self._filters.get_joined_filters(self._base_filters)
            query = filters.apply_all(query)
        else:
            ids = [int(v) for v in request.args.get("ids", "").split(",")
                   if v.strip().isdigit()][:limit]
            query = query.where(model.id.in_(ids))
        user_id = restricted_user_id()
        if user_id is not None:
            query = query.where(access.clause(model, user_id, write=True, driving=True))
        return list(db.session.scalars(query.order_by(model.id).limit(limit)))

    @expose("/bulk/<kind>", methods=["GET", "POST"])
    @has_access
    def bulk(self, kind):
        if kind not in self.bulk_kinds:
            return redirect(url_for(".list"))
        model, title, label, option_label = KINDS[kind]
        form = BulkForm()
        form.target.label.text = label
        form.option.label.text = option_label
        form.target.choices = [(row.id, row.name) for row in db.session.scalars(
            select(model).where(model.is_active.is_(True))
            .order_by(model.sort_order, model.name))]
        ids = self._target_ids()
        too_many = len(ids) > assignment.BULK_LIMIT
        if request.method == "POST" and form.validate_on_submit():
            if not ids:
                flash(gettext("No records to change: none selected or none you may change"),
                      "warning")
                return redirect(url_for(".list"))
            target = db.session.get(model, form.target.data)
            # A commit per batch of 500: 10 000 changes take 9 s on SQLite,
            # all that time holding its only write lock, so every other
            # save waited (and past SQLITE_BUSY_TIMEOUT failed). Each batch
            # is whole; after a failure the batches before it stay done,
            # and doing it again changes only what is left (with
            # reassignment, the clients are handed out in turn again).
            try:
                if kind == "segment":
                    count = assignment.assign_segment(db.session, ids, target,
                                                      reassign=form.option.data,
                                                      each_batch=db.session.commit)
                else:
                    count = mailing.assign(db.session, self.datamodel.obj, ids, target,
                                           remove=form.option.data,
                                           each_batch=db.session.commit)
            except Refused as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            else:
                db.session.commit()
                flash(gettext("%(what)s «%(name)s»: %(count)s records changed",
                              what=label, name=target.name, count=count), "success")
                return redirect(url_for(".list"))
        return self.render_template(
            "sdelka/bulk_assign.html", form=form, title=title, count=len(ids),
            too_many=too_many, limit=assignment.BULK_LIMIT,
            filtered=bool(request.args.get("all")))


def bulk_action(kind, name, text):
    """A list action that sends the selected rows to the bulk page."""

    @action(name, text, icon="fa-tags", multiple=True, single=False)
    def handler(self, items):
        items = items if isinstance(items, list) else [items]
        ids = ",".join(str(item.id) for item in items if item is not None)
        return redirect(url_for(".bulk", kind=kind, ids=ids))

    handler.__name__ = name
    return handler
