"""Backups that restore: one archive holds the database and the uploaded
files, with a manifest of what they held.

The database is copied while the app runs: SQLite through its online
backup API (a consistent copy, writers wait at most a page step), and
PostgreSQL with ``pg_dump`` (one snapshot). The manifest records the
migration, the row count of every table and every file with its size, so a
restore is checked against it and says what it brought back, not only that
nothing failed. The secret key is not in the archive: it stays with the
server's configuration (instance/secret_key or SECRET_KEY)."""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from urllib.parse import unquote

from sqlalchemy import func, inspect, select, table, text

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.dump"
UPLOADS = "uploads"
FORMAT = 1


class BackupError(RuntimeError):
    pass


def _revision(connection):
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def counts(engine):
    """{table: rows} of every table of the app's schema."""
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {name: connection.execute(select(func.count()).select_from(table(name)))
                .scalar() for name in sorted(names)}


def _files(folder):
    """{path relative to ``folder``: size} of every file under it."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.path.getsize(path)
    return found


def _schema(url):
    """The schema a PostgreSQL URL works in (``options=-csearch_path=...``),
    else public."""
    for option in unquote(url.query.get("options", "")).split():
        if option.startswith("-csearch_path="):
            return option.split("=", 1)[1].split(",")[0].strip('"')
    return "public"


def _libpq(url):
    """A URL ``pg_dump`` and ``pg_restore`` take, and the environment that
    carries the password (never on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command, env):
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _copy_sqlite(source_path, target_path):
    """SQLite's online backup: a consistent copy while others read and write."""
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        with target:
            source.backup(target, pages=4096)
    finally:
        target.close()
        source.close()


def create(engine, upload_folder, directory):
    """Write ``sdelka-backup-<time>.tar.gz`` into ``directory``; returns its
    path and the manifest."""
    os.makedirs(directory, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(directory, f"sdelka-backup-{stamp}.tar.gz")
    url = engine.url
    with tempfile.TemporaryDirectory(dir=directory) as work:
        if url.get_backend_name() == "sqlite":
            database = os.path.join(work, SQLITE_FILE)
            _copy_sqlite(url.database, database)
        else:
            database = os.path.join(work, PG_FILE)
            target, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--schema={_schema(url)}", f"--file={database}", f"--dbname={target}"], env)
        with engine.connect() as connection:
            revision = _revision(connection)
        manifest = {"format": FORMAT, "created_at": datetime.datetime.now().isoformat(
            timespec="seconds"), "database": url.get_backend_name(), "revision": revision,
            "tables": counts(engine), "files": _files(upload_folder)}
        with open(os.path.join(work, MANIFEST), "w", encoding="utf-8") as out:
            json.dump(manifest, out, ensure_ascii=False, indent=1)
        partial = path + ".part"
        with tarfile.open(partial, "w:gz", compresslevel=3) as archive:
            archive.add(os.path.join(work, MANIFEST), MANIFEST)
            archive.add(database, os.path.basename(database))
            archive.add(upload_folder, UPLOADS)
        os.replace(partial, path)  # a half-written archive never looks like a backup
    return path, manifest


def read_manifest(path):
    try:
        with tarfile.open(path, "r:gz") as archive:
            return json.load(archive.extractfile(MANIFEST))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{path} is not a Sdelka CRM backup: {exc}") from None


def _restore_database(engine, work, manifest):
    url = engine.url
    engine.dispose()  # no pooled connection keeps the old data
    if url.get_backend_name() == "sqlite":
        _copy_sqlite(os.path.join(work, SQLITE_FILE), url.database)
        return
    schema = _schema(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    target, env = _libpq(url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={target}", os.path.join(work, PG_FILE)], env)


def _restore_files(work, upload_folder):
    """The archive's files replace the folder's; the old ones go only once
    the new ones are in place."""
    folder = upload_folder.rstrip("/")
    old = f"{folder}.before-restore"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(folder):
        os.replace(folder, old)
    shutil.move(os.path.join(work, UPLOADS), folder)
    shutil.rmtree(old, ignore_errors=True)


def restore(engine, upload_folder, path):
    """Replace the database and the uploaded files with the backup's; check
    every table's count and every file against the manifest. Returns it."""
    manifest = read_manifest(path)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}")
    if manifest["database"] != engine.url.get_backend_name():
        raise BackupError(f"The backup is of {manifest['database']}; this server uses "
                          f"{engine.url.get_backend_name()}")
    parent = os.path.dirname(upload_folder.rstrip("/")) or "."
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as work:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(work, filter="data")  # no path outside ``work``
        os.makedirs(os.path.join(work, UPLOADS), exist_ok=True)
        _restore_database(engine, work, manifest)
        _restore_files(work, upload_folder)
    verify(engine, upload_folder, manifest)
    return manifest


def verify(engine, upload_folder, manifest):
    """Raise BackupError unless the database and the folder hold what the
    manifest lists."""
    found, files = counts(engine), _files(upload_folder)
    wrong = {name: (rows, found.get(name)) for name, rows in manifest["tables"].items()
             if found.get(name) != rows}
    missing = [name for name, size in manifest["files"].items() if files.get(name) != size]
    if wrong or missing:
        raise BackupError(f"Restored data differ from the backup: tables {wrong}, "
                          f"files {sorted(missing)[:20]}")
