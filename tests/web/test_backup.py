"""`flask sdelka backup` and `restore`: back up a working
database with uploaded files, wipe both, restore, and find every record and
file again through the screens. On each backend, in a database of its own."""
import io
import os
import re
import shutil
import sqlite3
import tarfile

import flask_migrate
import pytest
from sqlalchemy import select, text

from app import db
from app.cli import sdelka_cli
from app.models import Client, Deal, Note, Task
from app.security import ADMIN, sync_roles
from app.services import backup
from app.services.seed import seed_dictionaries
from tests.conftest import BACKENDS, PASSWORD, _postgres_schema, make_app
from tests.conftest import Client as Browser


@pytest.fixture(params=BACKENDS)
def own(request, tmp_path):
    """A migrated app on a database of its own, with an admin."""
    if request.param == "sqlite":
        url, drop = "sqlite:///" + str(tmp_path / "own.db"), None
    else:
        url, drop = _postgres_schema()
    app = make_app(url, UPLOAD_FOLDER=str(tmp_path / "uploads") + "/",
                   INSTANCE_DIR=str(tmp_path / "instance"))
    with app.app_context():
        flask_migrate.upgrade()
        sync_roles(app.appbuilder.sm)
        seed_dictionaries(db.session)
        db.session.commit()
        app.appbuilder.sm.add_user(username="admin", first_name="Админ", last_name="Тестов",
                                   email="admin@example.com",
                                   role=app.appbuilder.sm.find_role(ADMIN), password=PASSWORD)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if drop:
        drop()


def _fill(app):
    """Records of several kinds and two uploaded files, through the screens."""
    admin = Browser(app)
    admin.login("admin")
    page = admin.post("/clients/add", {"kind": "company", "public_access": "private",
                                       "name": "ООО «Ромашка»", "inn": "7707083893"}).text
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.name == "ООО «Ромашка»"))
        assert client is not None, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:3000]
        db.session.add_all([
            Deal(title="Поставка станков", client_id=client.id, amount=300000),
            Task(description="Позвонить директору", client_id=client.id),
        ])
        db.session.commit()
        client_id = client.id
    for name, content in (("Договор.pdf", b"%PDF-1.4 contract"), ("Смета.txt", b"x" * 5000)):
        admin.post("/notes/add", {"client": str(client_id), "text": f"Файл {name}",
                                  "file": (io.BytesIO(content), name)},
                   content_type="multipart/form-data")
    with app.app_context():
        notes = db.session.scalars(select(Note).where(Note.client_id == client_id)).all()
        assert len(notes) == 2 and all(note.file for note in notes)
        return client_id, {note.id: note.file for note in notes}


def _wipe(app):
    with app.app_context():
        url = db.engine.url
        db.session.remove()
        db.engine.dispose()
        if url.get_backend_name() == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(url.database + suffix):
                    os.remove(url.database + suffix)
        else:
            schema = backup._schema(url)
            with db.engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    shutil.rmtree(app.config["UPLOAD_FOLDER"])
    os.makedirs(app.config["UPLOAD_FOLDER"])


def test_backup_wipe_restore_finds_every_record_and_file(own, tmp_path):
    client_id, files = _fill(own)
    runner = own.test_cli_runner()
    made = runner.invoke(sdelka_cli, ["backup", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    archive = made.output.split("Backup written: ")[1].split()[0]
    assert archive.endswith(".tar.gz") and os.path.dirname(archive) == str(tmp_path / "backups")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert backup.MANIFEST in names
    assert all(f"uploads/{stored[:32]}" in names for stored in files.values())
    manifest = backup.read_manifest(archive)
    assert manifest["tables"]["client"] == 1 and manifest["tables"]["note"] == 2

    _wipe(own)
    with own.app_context():
        assert "client" not in db.inspect(db.engine).get_table_names()
    assert os.listdir(own.config["UPLOAD_FOLDER"]) == []

    refused = runner.invoke(sdelka_cli, ["restore", archive], input="n\n")
    assert refused.exit_code != 0 and "Go on?" in refused.output
    restored = runner.invoke(sdelka_cli, ["restore", archive, "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "each checked" in restored.output

    admin = Browser(own)
    assert "/logout" in admin.login("admin").text
    page = admin.get(f"/clients/show/{client_id}").text
    assert "ООО «Ромашка»" in page and "7707083893" in page
    with own.app_context():
        assert db.session.scalar(select(Deal.amount).where(Deal.client_id == client_id)) == 300000
        assert db.session.scalar(select(Task.description).where(Task.client_id == client_id)) == \
            "Позвонить директору"
    for note_id, stored in files.items():
        download = admin.get(f"/notes/download/{stored}")
        assert download.status_code == 200
        assert download.data in (b"%PDF-1.4 contract", b"x" * 5000)
    # The restored database takes new records (its id sequences came along).
    admin.post("/clients/add", {"kind": "company", "public_access": "private",
                                "name": "ИП Новый"})
    with own.app_context():
        assert db.session.scalar(select(Client.id).where(Client.name == "ИП Новый")) > client_id


def test_restore_refuses_what_is_not_its_backup(own, tmp_path):
    runner = own.test_cli_runner()
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    result = runner.invoke(sdelka_cli, ["restore", str(junk), "--yes"])
    assert result.exit_code != 0 and "is not a Sdelka CRM backup" in result.output

    made = runner.invoke(sdelka_cli, ["backup", str(tmp_path / "b")])
    archive = made.output.split("Backup written: ")[1].split()[0]
    manifest = backup.read_manifest(archive)
    for change, message in (({"revision": "ffffffffffff"}, "newer version"),
                            ({"database": "oracle"}, "The backup is of oracle")):
        forged = tmp_path / f"forged-{len(message)}.tar.gz"
        _rewrite(archive, forged, {**manifest, **change})
        result = runner.invoke(sdelka_cli, ["restore", str(forged), "--yes"])
        assert result.exit_code != 0 and message in result.output, result.output
    with own.app_context():  # nothing was touched
        assert db.session.scalar(select(db.func.count()).select_from(Client)) == 0
        assert db.session.scalar(text("SELECT count(*) FROM ab_user")) == 1


def _rewrite(source, target, manifest):
    import json

    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            if member.name == backup.MANIFEST:
                data = json.dumps(manifest).encode()
                member.size = len(data)
                new.addfile(member, io.BytesIO(data))
            else:
                new.addfile(member, old.extractfile(member) if member.isfile() else None)


def test_sqlite_backup_is_a_consistent_copy_while_a_writer_holds_a_transaction(own, tmp_path):
    """The online backup copies what is committed, while a writer holds its
    lock: an uncommitted delete is not in it."""
    with own.app_context():
        engine = db.engine
    if engine.url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's online backup API; pg_dump takes one snapshot")
    writer = sqlite3.connect(engine.url.database)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM ab_user_role")
    writer.execute("DELETE FROM ab_user")
    try:
        path, manifest = backup.create(engine, own.config["UPLOAD_FOLDER"],
                                       str(tmp_path / "b"))
    finally:
        writer.rollback()
        writer.close()
    assert manifest["tables"]["ab_user"] == 1
    with tarfile.open(path) as tar:
        tar.extract(backup.SQLITE_FILE, tmp_path, filter="data")
    copy = sqlite3.connect(tmp_path / backup.SQLITE_FILE)
    assert copy.execute("SELECT username FROM ab_user").fetchall() == [("admin",)]
    copy.close()
