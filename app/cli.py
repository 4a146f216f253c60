"""`flask sdelka ...` commands used by the Makefile and by admins."""
import os

import click
import flask_migrate
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup

from app import db
from app.security import ADMIN, sync_roles
from app.services import backup, rollups, staff
from app.services.seed import seed_dictionaries

sdelka_cli = AppGroup("sdelka", help="Sdelka CRM administration.")


@sdelka_cli.command("init")
def init():
    """Create roles and permissions, then the first admin if there is none."""
    sm = current_app.appbuilder.sm
    sync_roles(sm)
    seed_dictionaries(db.session)
    db.session.commit()
    if sm.count_users():
        click.echo("Roles and permissions are up to date; users already exist.")
        return
    password = os.environ.get("ADMIN_PASSWORD") or staff.generate_password()
    user = sm.add_user(
        username="admin",
        first_name="Администратор",
        last_name="Главный",
        email=os.environ.get("ADMIN_EMAIL", "admin@example.com"),
        role=sm.find_role(ADMIN),
        password=password,
    )
    if not user:
        raise click.ClickException("Could not create the admin user (see the log).")
    click.echo("=" * 60)
    click.echo("First administrator created; the password is shown only now.")
    click.echo("  login:    admin")
    click.echo(f"  password: {password}")
    click.echo("=" * 60)


@sdelka_cli.command("reset-password")
@click.argument("username")
def reset_password(username):
    """Give USERNAME a new random password and print it once."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=username)
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    password = staff.set_new_password(user)
    user.locked_until = None
    db.session.commit()
    click.echo(f"New password for {username}: {password}")


@sdelka_cli.command("check-rollups")
def check_rollups():
    """Compare the statistics roll-ups with a fresh count of the records."""
    with db.engine.connect() as connection:
        found = rollups.check(connection)
    if found:
        raise click.ClickException("Roll-ups differ from the records (rows): "
                                   + ", ".join(f"{t} {n}" for t, n in found.items())
                                   + ". Run `flask sdelka rebuild-rollups`.")
    click.echo("The roll-ups match the records.")


@sdelka_cli.command("rebuild-rollups")
def rebuild_rollups():
    """Count the statistics roll-ups afresh, e.g. after loading records with
    triggers off. Writers of tasks, clients and applications wait meanwhile."""
    with db.engine.begin() as connection:
        rollups.rebuild(connection)
    click.echo("Roll-ups rebuilt.")


@sdelka_cli.command("backup")
@click.argument("directory", required=False)
def backup_command(directory):
    """Write the database and the uploaded files to one archive in DIRECTORY
    (default instance/backups) while the app keeps running."""
    directory = directory or os.path.join(current_app.config["INSTANCE_DIR"], "backups")
    path, manifest = backup.create(db.engine, current_app.config["UPLOAD_FOLDER"], directory)
    click.echo(f"Backup written: {path}")
    click.echo(f"  {sum(manifest['tables'].values())} rows in {len(manifest['tables'])} "
               f"tables, {len(manifest['files'])} files, migration {manifest['revision']}")


@sdelka_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(archive, yes):
    """Replace the database and the uploaded files with those of ARCHIVE,
    then bring the schema up to this version. Stop the app servers first."""
    try:
        manifest = backup.read_manifest(archive)
        known = {script.revision for script in ScriptDirectory.from_config(
            current_app.extensions["migrate"].migrate.get_config()).walk_revisions()}
        if manifest["revision"] not in known:
            raise backup.BackupError(
                f"The backup is of a newer version (migration {manifest['revision']}); "
                "update the app first")
        if not yes:
            click.confirm(f"Everything in the database and the uploads is replaced by the "
                          f"backup of {manifest['created_at']}. Go on?", abort=True)
        backup.restore(db.engine, current_app.config["UPLOAD_FOLDER"], archive)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    flask_migrate.upgrade()
    click.echo(f"Restored the backup of {manifest['created_at']}: "
               f"{sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables "
               f"and {len(manifest['files'])} files, each checked.")
