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
