"""One "machine" for test_jobs.py: builds the app against DATABASE_URL,
registers a job firing every second that appends "pid slot" to OUT, runs
the real scheduler for SECONDS, then exits. Not a test module."""
import os
import sys
import time

from sqlalchemy import select

from app import jobs
from app.models import JobLease
from tests.conftest import make_app


def main(url, out, seconds):
    app = make_app(url, JOBS_ENABLED=True, TESTING=False,
                   JOBS_DISABLED="reminders,overdue,unplanned,digest")

    @jobs.job("test-process", "every 1 seconds")
    def record(session, now, config):
        slot = session.scalar(select(JobLease.slot).where(JobLease.name == "test-process"))
        with open(out, "a", encoding="ascii") as fh:
            fh.write(f"{os.getpid()} {slot.isoformat()}\n")
        return "recorded"

    jobs.start_scheduler(app)
    time.sleep(seconds)
    jobs.stop_scheduler(app)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
