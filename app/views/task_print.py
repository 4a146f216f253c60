""""Печать списка задач": the task list as the user filtered and sorted it,
with the same row-level rule, to PDF."""
from urllib.parse import quote

from flask import Response, current_app, flash, g, redirect, render_template, url_for
from flask_appbuilder.exceptions import ApplyFilterException
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError

from app import db
from app.models import utcnow
from app.services import printing, task_print
from app.services.company import get_company
from app.services.localtime import to_local, today
from app.views.datamodel import AtLeast
from app.views.fields import datetime_text

# A4 landscape with the page number in a footer frame (#footer of the template).
PAGE_CSS = (
    "@page { size: a4 landscape; margin: 1.2cm 1cm 1.5cm 1cm;\n"
    "  @frame footer { -pdf-frame-content: footer; bottom: 0.5cm; margin-left: 1cm;"
    " margin-right: 1cm; height: 0.8cm; } }\n")


def _filter_texts(view):
    """"Статус равно В работе" for each filter the list applies."""
    texts = []
    for flt, values in view._filters.get_filters_values():
        label = view.label_columns.get(flt.column_name, flt.column_name)
        shown = []
        for value in values if isinstance(values, (list, tuple)) else [values]:
            if view.datamodel.is_relation(flt.column_name) and str(value).isdigit():
                related = view.datamodel.get_related_interface(flt.column_name).get(int(value))
                value = related if related is not None else value
            shown.append(str(value))
        texts.append(f"{label} {str(flt.name).lower()} {', '.join(shown)}")
    return texts


def print_task_list(view):
    get_filter_args(view._filters)
    order_column, order_direction = get_order_args().get(view.__class__.__name__, ("", ""))
    if order_column not in view.order_columns:
        order_column = ""
    if not order_column and view.base_order:
        order_column, order_direction = view.base_order
    limit = current_app.config.get("TASK_PRINT_LIMIT", 300)
    joined = view._filters.get_joined_filters(view._base_filters)
    try:
        total, tasks = view.datamodel.query(joined, order_column, order_direction,
                                            page=0, page_size=limit)
    except (ApplyFilterException, SQLAlchemyError, ValueError, TypeError):  # a bad filter value
        db.session.rollback()
        flash(gettext("The list's filters are not valid; the list is shown without them."),
              "danger")
        return redirect(url_for("TaskView.list"))
    tz_name = current_app.config["APP_TIMEZONE"]
    lines = task_print.lines(db.session, tasks, tz_name)
    over = isinstance(total, AtLeast) or total > len(tasks)
    html = render_template(
        "print/task_list.html", lines=lines, filters=_filter_texts(view),
        over_limit=over, limit=limit, total=str(total),
        company=get_company(db.session), app_name=current_app.config.get("APP_NAME", ""),
        printed_at=datetime_text(utcnow()),
        printed_by=g.user.get_full_name(),
        address=task_print.address, phone=task_print.phone_text,
        local=lambda moment: to_local(moment, tz_name))
    try:
        body = printing.html_to_pdf(html, page_css=PAGE_CSS)
    except printing.PdfError as exc:
        flash(gettext("The task list could not be printed: %(error)s", error=str(exc)),
              "danger")
        return redirect(url_for("TaskView.list"))
    filename = gettext("Tasks") + today(tz_name).strftime(" %d.%m.%Y") + ".pdf"
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": "inline; filename*=UTF-8''" + quote(filename)})
