"""The follow-up jobs: task reminders, overdue tasks, deals and clients
with nothing planned, and the head of sales' daily digest. The questions
are asked by app/services/followup.py; here they become notifications."""
import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.jobs import job
from app.security import HEAD_OF_SALES
from app.services import calendar, followup
from app.services.localtime import to_local
from app.services.notifications import notify
from app.services.printing import format_money

UNPLANNED_LINK = "/followup/unplanned/"
COUNT_LIMIT = 10_000


def _local(moment, config):
    """A naive UTC time as local "ДД.ММ.ГГГГ ЧЧ:ММ"."""
    return to_local(moment, config.get("APP_TIMEZONE", "Europe/Moscow")) \
        .strftime("%d.%m.%Y %H:%M")


def _about(row):
    """"Звонок, клиент «Ромашка»: описание" of a task row."""
    parts = [row.type_name or gettext("Task") + f" №{row.id}"]
    if row.client_name:
        parts.append(gettext("client «%(name)s»", name=row.client_name))
    text = ", ".join(parts)
    description = (row.description or "").strip()
    if description:
        text += ": " + (description[:200] + "…" if len(description) > 200 else description)
    return text


@job("reminders", "* * * * *", _l("Task reminders to assignees"))
def reminders(session, now, config):
    rows = followup.due_reminders(session, now)
    sent = _announce(session, rows, "reminder", "planned_at", config,
                     _l("Reminder: %(task)s — planned for %(when)s"))
    followup.mark_reminded(session, rows)
    return f"{sent} reminders sent, {len(rows)} tasks due"


@job("overdue", "*/5 * * * *", _l("Tell assignees about overdue tasks"))
def overdue(session, now, config):
    rows = followup.newly_overdue(session, now, config.get("JOBS_OVERDUE_LOOKBACK_DAYS", 7))
    sent = _announce(session, rows, "overdue", "deadline", config,
                     _l("Overdue: %(task)s — the deadline was %(when)s"))
    followup.mark_overdue(session, rows)
    return f"{sent} overdue notices sent, {len(rows)} tasks newly overdue"


def _announce(session, rows, kind, moment, config, message):
    """Tell each task's assignee once per ``moment`` (its planned time or
    deadline: moving the task announces it again); how many were told."""
    sent = 0
    for row in rows:
        when = getattr(row, moment)
        text = str(message) % {"task": _about(row), "when": _local(when, config)}
        if notify(session, row.assignee_id, text, link=f"/tasks/work/{row.id}",
                  key=f"{kind}:{row.id}:{when:%Y%m%d%H%M}", kind=kind):
            sent += 1
    return sent


def _today(now, config):
    return to_local(now, config.get("APP_TIMEZONE", "Europe/Moscow")).date()


def _more(n):
    return f"{n}+" if n >= COUNT_LIMIT else str(n)


# An hour before the working day ends (17:00 office time, weekdays) the head
# of sales hears of the open deals and clients in work nobody planned a task for.
@job("unplanned", "0 17 * * 1-5", _l("Deals and clients without a planned task"))
def unplanned(session, now, config):
    deals = followup.count_of(session, followup.unplanned_deals_query(session, now),
                              COUNT_LIMIT)
    clients = followup.count_of(session, followup.unplanned_clients_query(session, now),
                                COUNT_LIMIT)
    if not deals and not clients:
        return "every open deal and client in work has a planned task"
    day = _today(now, config)
    text = gettext("Without a planned task: %(deals)s open deals and %(clients)s clients "
                   "in work (%(day)s)", deals=_more(deals), clients=_more(clients),
                   day=day.strftime("%d.%m.%Y"))
    heads = followup.users_with_role(session, HEAD_OF_SALES)
    sent = sum(1 for head in heads
               if notify(session, head.id, text, link=UNPLANNED_LINK,
                         key=f"unplanned:{day.isoformat()}", kind="unplanned"))
    return f"{deals} deals and {clients} clients without plans; {sent} heads of sales told"


@job("digest", "0 8 * * *", _l("Daily digest of key figures to the head of sales"))
def digest(session, now, config):
    day = _today(now, config) - datetime.timedelta(days=1)
    since, until = calendar.bounds(day, config.get("APP_TIMEZONE", "Europe/Moscow"))
    figures = followup.digest_figures(session, since, until, day)
    lines = [
        gettext("Key figures of %(day)s", day=day.strftime("%d.%m.%Y")),
        gettext("New applications: %(n)s", n=figures["applications"]),
        gettext("New leads: %(n)s", n=figures["leads"]),
        gettext("New clients: %(n)s", n=figures["clients"]),
        gettext("Tasks completed: %(n)s", n=figures["tasks_completed"]),
        gettext("Tasks that went overdue and are still open: %(n)s",
                n=figures["tasks_overdue"]),
        gettext("Deals won: %(n)s for %(amount)s ₽", n=figures["deals_won"],
                amount=format_money(figures["deals_won_amount"])),
    ]
    heads = followup.users_with_role(session, HEAD_OF_SALES)
    sent = sum(1 for head in heads
               if notify(session, head.id, "\n".join(lines), link="/",
                         key=f"digest:{day.isoformat()}", kind="digest",
                         subject=gettext("Sdelka CRM: figures of %(day)s",
                                         day=day.strftime("%d.%m.%Y"))))
    return f"digest of {day.isoformat()} sent to {sent} heads of sales: {figures}"
