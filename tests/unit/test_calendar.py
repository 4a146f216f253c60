import datetime

from sqlalchemy import select

from app.models import Employee, Task, TaskStatus
from app.services import calendar
from tests.conftest import unique


def test_counts_group_by_local_day_and_filters(session):
    head, manager = (session.scalar(select(Employee).where(Employee.username == name))
                     for name in ("head", "manager"))
    done = session.scalar(select(TaskStatus).where(TaskStatus.name == "Завершена"))
    tag = unique("календарь")
    # 22:30 UTC on the 1st is 01:30 on the 2nd in Moscow.
    times = [datetime.datetime(2031, 3, 1, 8, 0), datetime.datetime(2031, 3, 1, 22, 30),
             datetime.datetime(2031, 3, 2, 9, 0)]
    session.add_all([Task(description=tag, assignee_id=manager.id, planned_at=t) for t in times])
    session.add(Task(description=tag, assignee_id=head.id, status=done,
                     planned_at=datetime.datetime(2031, 3, 3, 9, 0)))
    session.commit()
    grid = calendar.counts(session, start=datetime.date(2031, 3, 1), days=30,
                           tz_name="Europe/Moscow", assignee_ids=[head.id, manager.id])
    assert grid == {(manager.id, datetime.date(2031, 3, 1)): 1,
                    (manager.id, datetime.date(2031, 3, 2)): 2,
                    (head.id, datetime.date(2031, 3, 3)): 1}
    only_done = calendar.counts(session, start=datetime.date(2031, 3, 1), days=30,
                                tz_name="Europe/Moscow", assignee_ids=[head.id, manager.id],
                                status_ids=[done.id])
    assert only_done == {(head.id, datetime.date(2031, 3, 3)): 1}
    assert calendar.counts(session, start=datetime.date(2031, 3, 3), days=1,
                           tz_name="Europe/Moscow", assignee_ids=[manager.id]) == {}


def test_offset_spans_cut_where_the_zone_changes_its_offset():
    from app.services import localtime

    hour = datetime.timedelta(hours=1)
    # Berlin: +1 until 01:00 UTC on 30.03.2031, +2 after.
    spans = localtime.offset_spans(datetime.datetime(2031, 3, 25), datetime.datetime(2031, 4, 5),
                                   "Europe/Berlin")
    assert spans == [(datetime.datetime(2031, 3, 25), datetime.datetime(2031, 3, 30, 1), hour),
                     (datetime.datetime(2031, 3, 30, 1), datetime.datetime(2031, 4, 5), 2 * hour)]
    kolkata = localtime.offset_spans(datetime.datetime(2031, 3, 1), datetime.datetime(2031, 4, 1),
                                     "Asia/Kolkata")
    assert kolkata == [(datetime.datetime(2031, 3, 1), datetime.datetime(2031, 4, 1),
                        datetime.timedelta(hours=5, minutes=30))]


def test_counts_keep_local_days_across_daylight_saving_and_half_hour_zones(session):
    """A task at 00:30 and one at 23:30 office time fall on their own day,
    whatever the offset does within the grid."""
    from app.services import localtime

    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    tag = unique("летнее время")
    cases = {"Europe/Berlin": [datetime.date(2031, 3, 29), datetime.date(2031, 3, 30),
                               datetime.date(2031, 3, 31), datetime.date(2031, 10, 26)],
             "Asia/Kolkata": [datetime.date(2031, 3, 29), datetime.date(2031, 3, 30)],
             "Australia/Adelaide": [datetime.date(2031, 4, 5), datetime.date(2031, 4, 6)]}
    for zone, days in cases.items():
        tasks = [Task(description=tag, assignee_id=manager.id,
                      planned_at=localtime.to_utc(datetime.datetime.combine(day, time), zone))
                 for day in days for time in (datetime.time(0, 30), datetime.time(23, 30))]
        session.add_all(tasks)
        session.commit()
        start = min(days) - datetime.timedelta(days=2)
        grid = calendar.counts(session, start=start, days=(max(days) - start).days + 3,
                               tz_name=zone, assignee_ids=[manager.id],
                               row_filter=Task.description == tag)
        assert grid == {(manager.id, day): 2 for day in days}, zone
        since, until = calendar.bounds(days[1], zone)
        assert localtime.to_local(since, zone) == datetime.datetime.combine(
            days[1], datetime.time())
        assert localtime.to_local(until, zone).date() == days[1] + datetime.timedelta(days=1)
        for task in tasks:
            session.delete(task)
        session.commit()
