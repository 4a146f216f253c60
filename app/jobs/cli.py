"""`flask jobs list` and `flask jobs run NAME`: the scheduled jobs by hand."""
import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app import db, jobs
from app.models import JobLease

jobs_cli = AppGroup("jobs", help="Scheduled jobs: list them, run one by hand.")


def _when(moment):
    return moment.strftime("%d.%m.%Y %H:%M:%S UTC") if moment else "—"


@jobs_cli.command("list")
def list_jobs():
    """Every job with its schedule, whether it is on, and its last run."""
    config = current_app.config
    off = jobs.disabled(config)
    leases = {lease.name: lease for lease in db.session.scalars(select(JobLease))}
    scheduler = "on" if config.get("JOBS_ENABLED") else "off (JOBS_ENABLED=False)"
    click.echo(f"Scheduler in the app processes: {scheduler}")
    for name, spec in jobs.schedules(config).items():
        lease = leases.get(name)
        state = "off" if name in off else "on"
        click.echo(f"{name:12} {state:3}  {spec:16}  {jobs.JOBS[name].description}")
        if lease is not None:
            click.echo(f"{'':12} last run {_when(lease.started_at)} → "
                       f"{_when(lease.finished_at)}: {lease.result or ''}")


@jobs_cli.command("run")
@click.argument("name")
def run_job(name):
    """Run job NAME once now (also when it is switched off in JOBS_DISABLED)."""
    if name not in jobs.load():
        raise click.ClickException(
            f"No job {name!r}; there are: {', '.join(sorted(jobs.JOBS))}")
    try:
        result = jobs.run(current_app._get_current_object(), name)
    except Exception as exc:
        raise click.ClickException(f"Job {name} failed: {exc}") from exc
    if result is None:
        raise click.ClickException(f"Job {name} is running in another process now; "
                                   "try again later.")
    click.echo(f"{name}: {result}")
