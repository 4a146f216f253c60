"""Files on notes: upload with a limit, stored under a generated name,
downloaded only from a note the user may see, as an attachment with its
original name; the calendar names only a visible client; a custom field's
label cannot run as script in the list's filter menu."""
import io
import os
import re
import uuid

import pytest
from sqlalchemy import select

from app.models import Client, CustomFieldType, Note
from tests.conftest import employee_id, new_user, unique

STORED = re.compile(r"[0-9a-f]{32}_sep_(.+)")


@pytest.fixture(scope="module")
def other_manager_login(app):
    """A second manager who signs in, and sees none of "manager"'s private
    clients."""
    return new_user(app, prefix="manager_files")[0]


@pytest.fixture
def own_client(session):
    client = Client(name=unique("Клиент с файлами"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    return client


def _folder(app):
    return app.config["UPLOAD_FOLDER"]


def _upload(user, client_id, name, content, text=None):
    text = text or unique("заметка")
    page = user.post("/notes/add", {"client": str(client_id), "text": text,
                                    "file": (io.BytesIO(content), name)},
                     content_type="multipart/form-data")
    return text, page


def _note(session, text):
    session.expire_all()
    return session.scalar(select(Note).where(Note.text == text))


def test_upload_stores_a_generated_name_and_the_owner_downloads_it(app, as_role, session,
                                                                    own_client):
    manager = as_role("manager")
    content = b"%PDF-1.4 contract"
    text, page = _upload(manager, own_client.id, "Договор поставки.pdf", content)
    assert page.status_code == 200
    note = _note(session, text)
    assert note is not None, page.text[-2000:]
    match = STORED.fullmatch(note.file)
    assert match and match.group(1) == "Договор поставки.pdf"
    disk = os.path.join(_folder(app), note.file[:32])
    with open(disk, "rb") as fh:
        assert fh.read() == content
    assert "Договор поставки.pdf" not in os.listdir(_folder(app))

    shown = manager.get(f"/notes/show/{note.id}").text
    assert "Договор поставки.pdf" in shown and "/notes/download/" in shown

    response = manager.get(f"/notes/download/{note.file}")
    assert response.status_code == 200
    assert response.data == content
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80" in disposition
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_editing_without_a_file_keeps_it_and_a_new_file_replaces_it(app, as_role, session,
                                                                     own_client):
    manager = as_role("manager")
    text, _ = _upload(manager, own_client.id, "first.txt", b"first")
    note = _note(session, text)
    stored = note.file
    form = manager.get(f"/notes/edit/{note.id}").text
    assert "first.txt" in form and "Удалить файл" in form and "Не больше 20 МБ" in form
    edited = text + " изменено"
    manager.post(f"/notes/edit/{note.id}", {"client": str(own_client.id), "text": edited},
                 content_type="multipart/form-data")
    note = _note(session, edited)
    assert note is not None and note.file == stored
    assert os.path.isfile(os.path.join(_folder(app), stored[:32]))

    manager.post(f"/notes/edit/{note.id}", {"client": str(own_client.id), "text": edited,
                                            "file": (io.BytesIO(b"second"), "second.txt")},
                 content_type="multipart/form-data")
    note = _note(session, edited)
    assert note.file != stored and note.file.endswith("_sep_second.txt")
    assert not os.path.exists(os.path.join(_folder(app), stored[:32]))

    replaced = note.file
    manager.post(f"/notes/edit/{note.id}", {"client": str(own_client.id), "text": edited,
                                            "_file-delete": "on"},
                 content_type="multipart/form-data")
    assert _note(session, edited).file is None
    assert not os.path.exists(os.path.join(_folder(app), replaced[:32]))

    text, _ = _upload(manager, own_client.id, "third.txt", b"third")
    note = _note(session, text)
    stored = note.file
    manager.post(f"/notes/delete/{note.id}")
    assert _note(session, text) is None
    assert not os.path.exists(os.path.join(_folder(app), stored[:32]))


def test_a_manager_who_may_not_see_the_client_gets_404(as_role, session, own_client,
                                                       other_manager_login):
    text, _ = _upload(as_role("manager"), own_client.id, "secret.txt", b"secret")
    stored = _note(session, text).file
    other = as_role(other_manager_login)
    assert other.get(f"/notes/download/{stored}").status_code == 404
    # A note of their own pointing at the same file gains them nothing.
    theirs = Client(name=unique("Чужой"), responsible_id=employee_id(session, other_manager_login))
    session.add(theirs)
    session.flush()
    session.add(Note(client_id=theirs.id, text=unique("копия"), file=stored))
    session.commit()
    assert other.get(f"/notes/download/{stored}").status_code == 404
    # Screens without files answer 404, to the admin too.
    admin = as_role("admin")
    assert admin.get(f"/notes/download/{stored}").status_code == 200
    for prefix in ("/clients", "/deals", "/tasks"):
        assert admin.get(f"{prefix}/download/{stored}").status_code == 404


def test_a_too_large_file_is_refused_in_russian_and_nothing_is_saved(app, as_role, session,
                                                                      own_client,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "NOTE_FILE_MAX_MB", 1)
    before = set(os.listdir(_folder(app)))
    text, page = _upload(as_role("manager"), own_client.id, "big.zip",
                         b"x" * (1024 * 1024 + 1))
    assert "Файл слишком большой: можно не больше 1 МБ" in page.text
    assert _note(session, text) is None
    assert set(os.listdir(_folder(app))) == before


def test_a_file_of_a_refused_type_is_refused_in_russian(app, as_role, session, own_client):
    text, page = _upload(as_role("manager"), own_client.id, "page.html", b"<script>1</script>")
    assert "Неверное расширение файла" in page.text
    assert _note(session, text) is None


@pytest.mark.parametrize("name, body", [
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("picture.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
])
def test_html_and_svg_are_served_as_attachments_never_as_pages(app, as_role, session,
                                                                own_client, name, body):
    # Stored before the extensions were limited, or by an older version.
    stored = uuid.uuid4().hex + "_sep_" + name
    with open(os.path.join(_folder(app), stored[:32]), "wb") as fh:
        fh.write(body)
    session.add(Note(client_id=own_client.id, text=unique("страница"), file=stored))
    session.commit()
    response = as_role("manager").get(f"/notes/download/{stored}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert name in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_missing_file_is_404(as_role, session, own_client):
    stored = uuid.uuid4().hex + "_sep_lost.pdf"
    session.add(Note(client_id=own_client.id, text=unique("потерян"), file=stored))
    session.commit()
    manager = as_role("manager")
    assert manager.get(f"/notes/download/{stored}").status_code == 404
    assert manager.get("/notes/download/" + uuid.uuid4().hex + "_sep_x.pdf").status_code == 404


def test_calendar_names_only_a_client_the_user_may_see(as_role, own_client, other_manager_login):
    url = f"/calendar/?client={own_client.id}"
    assert own_client.name in as_role("manager").get(url).text
    page = as_role(other_manager_login).get(url)
    assert page.status_code == 200
    assert own_client.name not in page.text


def test_a_custom_field_label_is_escaped_in_the_list_and_its_filter_menu(as_role, define):
    label = "<script>alert(1)</script>" + uuid.uuid4().hex[:6]
    define(entity="client", label_ru=label, type=CustomFieldType.TEXT, in_list=True,
           in_filters=True)
    page = as_role("manager").get("/clients/list/").text
    assert "<script>alert" not in page
    # The filter script gets the label as HTML-escaped text (jQuery's append
    # reads a string as HTML), inside JSON that escapes & and <.
    assert "\\u003cscript\\u003ealert" not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in page
    # The menu and the column header show it as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_custom_field_label_is_escaped_in_forms_and_record_pages(as_role, session, define,
                                                                   own_client):
    label = "<img src=x onerror=alert(1)>" + uuid.uuid4().hex[:6]
    define(entity="client", label_ru=label, type=CustomFieldType.TEXT, in_list=True,
           in_filters=True)
    manager = as_role("manager")
    for url in ("/clients/add", f"/clients/edit/{own_client.id}",
                f"/clients/show/{own_client.id}"):
        page = manager.get(url).text
        assert "<img src=x onerror" not in page, url
        assert "\\u003cimg src=x" not in page, url
