"""The company's logo, stamp and signatures (issue 24, point 4): only the
admin uploads them in the requisites; a file is taken only if its content
is a PNG or JPEG of limited size and sane dimensions; they are kept in the
uploads folder under generated names, owned by the requisites in the
console; printed documents carry them only while «Печать и подписи в
документах» is on, and a template embeds no other file of the uploads
folder, no file outside it and nothing from the network."""
import http.server
import io
import os
import re
import threading

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Client, Company, DocumentTemplate, Employee, Invoice, TemplateEntity
from app.services import company_images, printing
from app.services.company import ensure_company
from tests.conftest import unique

STORED = re.compile(r"([0-9a-f]{32})_sep_(.+)")
IMAGES = company_images.IMAGES
# The requisites' columns the edit form posts; each test restores them.
KEPT = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "settlement_account",
        "corr_account", "postcode", "director_name", "director_position", "legal_address",
        "actual_address", "okved", "oktmo", "invoice_terms", "chief_accountant_name",
        "print_stamp_signatures", "prices_include_vat", "default_tax_id", *IMAGES)


def _picture(size=(240, 120), color=(30, 40, 170), fmt="PNG", noise=False):
    image = Image.new("RGB", size, (255, 255, 255))
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        draw = ImageDraw.Draw(image)
        draw.line([(4, size[1] - 6), (size[0] // 3, 6), (size[0] - 4, size[1] // 2)],
                  fill=color, width=5)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def company(app, session):
    """The requisites as they were, the images' files removed afterwards."""
    row = ensure_company(session)
    session.commit()
    saved = {name: getattr(row, name) for name in KEPT}
    yield row
    session.expire_all()
    row = session.get(Company, 1)
    folder = app.config["UPLOAD_FOLDER"]
    for name in IMAGES:
        current = getattr(row, name)
        if current and current != saved[name]:
            path = os.path.join(folder, current[:32])
            if os.path.exists(path):
                os.remove(path)
    for name, value in saved.items():
        setattr(row, name, value)
    session.commit()


def _form(session, **extra):
    """The stored requisites as the form posts them; the box «Печать и
    подписи в документах» unticked unless ``extra`` ticks it."""
    session.expire_all()
    row = session.get(Company, 1)
    data = {name: getattr(row, name) or "" for name in KEPT
            if name not in IMAGES and name not in ("print_stamp_signatures",
                                                    "prices_include_vat", "default_tax_id")}
    data["name"] = data["name"] or "ООО «Ромашка»"
    if row.default_tax_id:
        data["default_tax"] = str(row.default_tax_id)
    if row.prices_include_vat:
        data["prices_include_vat"] = "y"
    data.update(extra)
    return data


def _save(user, session, **extra):
    page = user.post("/company/edit/1", _form(session, **extra),
                     content_type="multipart/form-data")
    session.expire_all()
    return page


def _stored(session, name):
    session.expire_all()
    return getattr(session.get(Company, 1), name)


def _upload_all(admin, session, tick=True):
    files = {name: (io.BytesIO(_picture(color=(10 * i, 40, 170))), f"{name}.png")
             for i, name in enumerate(IMAGES)}
    extra = {"print_stamp_signatures": "y"} if tick else {}
    page = _save(admin, session, **files, **extra)
    assert page.status_code == 200
    for name in IMAGES:
        assert _stored(session, name), (name, page.text[-3000:])


def _images_in(pdf):
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def _text_of(pdf):
    return " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def invoice(session):
    manager_id = session.scalar(select(Employee.id).where(Employee.username == "admin"))
    client = Client(name=unique("ООО Покупатель"), responsible_id=manager_id)
    session.add(client)
    session.commit()
    return client


def _new_invoice(user, session, client):
    order = unique("З")
    page = user.post("/invoices/add", {"client": str(client.id), "issue_date": "2026-11-23",
                                       "payment_term": "30", "order_number": order})
    found = session.scalar(select(Invoice).where(Invoice.order_number == order))
    assert found is not None, page.text[-3000:]
    return found


def _print(user, session, invoice, template_id=None):
    template_id = template_id or session.scalar(
        select(DocumentTemplate.id).where(DocumentTemplate.code == "invoice"))
    response = user.post(f"/documents/print/invoice/{invoice.id}",
                         {"template": str(template_id)}, follow=False)
    assert response.mimetype == "application/pdf", response.text[-2000:]
    return response.data


# --- who uploads --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["head", "manager", "auditor"])
def test_only_the_admin_uploads_images(app, as_role, session, company, role):
    user = as_role(role)
    assert user.get("/company/edit/1").status_code == 403
    response = _save(user, session, stamp=(io.BytesIO(_picture()), "stamp.png"),
                     print_stamp_signatures="y")
    assert response.status_code == 403
    assert _stored(session, "stamp") is None
    assert not session.get(Company, 1).print_stamp_signatures


def test_admin_uploads_sees_and_removes_an_image(app, as_role, session, company):
    admin = as_role("admin")
    form = admin.get("/company/edit/1").text
    assert "Печать и подписи в документах" in form and "Подпись главного бухгалтера" in form
    assert 'accept="image/png,image/jpeg"' in form and "Не больше 1 МБ" in form
    content = _picture()
    page = _save(admin, session, stamp=(io.BytesIO(content), "Печать ООО.png"),
                 chief_accountant_name="Петрова Анна Сергеевна")
    assert page.status_code == 200
    stored = _stored(session, "stamp")
    match = STORED.fullmatch(stored or "")
    assert match and match.group(2) == "Печать ООО.png", page.text[-3000:]
    path = os.path.join(app.config["UPLOAD_FOLDER"], match.group(1))
    with open(path, "rb") as f:
        assert f.read() == content
    assert session.get(Company, 1).chief_accountant_name == "Петрова Анна Сергеевна"

    shown = admin.get("/company/show/1").text
    assert '<img src="/company/image/stamp"' in shown and "Печать и подписи" in shown
    for role, allowed in (("admin", True), ("head", True), ("auditor", True),
                          ("manager", False)):
        response = as_role(role).get("/company/image/stamp")
        if allowed:
            assert response.status_code == 200 and response.data == content, role
            assert response.mimetype == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        else:
            assert response.status_code == 403, role
    assert admin.get("/company/image/logo").status_code == 404  # none uploaded
    assert admin.get("/company/image/name").status_code == 404  # not an image

    # Saving without a file keeps it; the box removes it and its file.
    _save(admin, session)
    assert _stored(session, "stamp") == stored
    _save(admin, session, **{"_stamp-delete": "on"})
    assert _stored(session, "stamp") is None
    assert not os.path.exists(path)


def test_a_jpeg_under_any_name_is_stored_as_what_it_is(app, as_role, session, company):
    admin = as_role("admin")
    _save(admin, session, logo=(io.BytesIO(_picture(fmt="JPEG")), "logo.html"))
    stored = _stored(session, "logo")
    assert stored and stored.endswith("_sep_logo.jpg")
    response = admin.get("/company/image/logo")
    assert response.mimetype == "image/jpeg"


# --- what is refused ----------------------------------------------------------------

HTML = b"<html><body><script>alert(1)</script><img src=x></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
NOT_AN_IMAGE = "Файл не является изображением: нужен файл PNG или JPEG"


@pytest.mark.parametrize("name, content, message", [
    ("stamp.png", b"just some text, not a picture", NOT_AN_IMAGE),
    ("stamp.png", HTML, NOT_AN_IMAGE),
    ("stamp.html", HTML, NOT_AN_IMAGE),
    ("stamp.svg", SVG, NOT_AN_IMAGE),
    ("stamp.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", NOT_AN_IMAGE),
    ("stamp.pdf", b"%PDF-1.4 a document", NOT_AN_IMAGE),
    ("stamp.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "Изображение повреждено или не читается"),
    ("stamp.png", "tiny", "Каждая сторона изображения должна быть от 16 до 5000 пикселей "
                          "(у этого — 8 × 8)"),
    ("stamp.png", "wide", "Каждая сторона изображения должна быть от 16 до 5000 пикселей "
                          "(у этого — 6000 × 20)"),
    ("stamp.png", "large", "Изображение слишком большое: не более 1 МБ"),
])
def test_a_file_that_is_not_a_fit_image_is_refused(app, as_role, session, company,
                                                   name, content, message):
    if content == "tiny":
        content = _picture(size=(8, 8))
    elif content == "wide":
        content = _picture(size=(6000, 20))
    elif content == "large":
        content = _picture(size=(700, 700), noise=True)
        assert len(content) > 1024 * 1024
    admin = as_role("admin")
    files_before = set(os.listdir(app.config["UPLOAD_FOLDER"]))
    page = _save(admin, session, stamp=(io.BytesIO(content), name),
                 print_stamp_signatures="y")
    assert message in page.text
    assert _stored(session, "stamp") is None
    assert not session.get(Company, 1).print_stamp_signatures  # the form was not saved
    assert set(os.listdir(app.config["UPLOAD_FOLDER"])) == files_before


def test_a_refused_save_takes_its_new_image_back(app, as_role, session, company):
    admin = as_role("admin")
    _save(admin, session, stamp=(io.BytesIO(_picture()), "stamp.png"))
    stored = _stored(session, "stamp")
    folder = app.config["UPLOAD_FOLDER"]
    files_before = set(os.listdir(folder))
    page = _save(admin, session, stamp=(io.BytesIO(_picture(color=(200, 0, 0))), "new.png"),
                 logo=(io.BytesIO(_picture()), "logo.png"), invoice_prefix="a b")
    assert "Префикс" in page.text and "a b" in page.text
    assert _stored(session, "stamp") == stored and _stored(session, "logo") is None
    assert set(os.listdir(folder)) == files_before


def test_the_check_reads_the_content_not_the_name(app):
    with app.app_context():
        assert company_images.check(io.BytesIO(_picture()), limit_mb=1) == "png"
        assert company_images.check(io.BytesIO(_picture(fmt="JPEG")), limit_mb=1) == "jpg"
        with pytest.raises(company_images.ImageRefused):
            company_images.check(io.BytesIO(_picture(fmt="GIF")), limit_mb=1)
        with pytest.raises(company_images.ImageRefused):
            company_images.check(io.BytesIO(_picture(fmt="BMP")), limit_mb=1)


# --- printing -----------------------------------------------------------------------


def test_the_tick_decides_whether_the_invoice_carries_the_images(app, as_role, session,
                                                                 company, invoice):
    admin = as_role("admin")
    printed = _new_invoice(admin, session, invoice)
    plain = _print(admin, session, printed)
    assert _images_in(plain) == 0

    _upload_all(admin, session, tick=True)
    with_images = _print(admin, session, printed)
    # The logo, both signatures and the stamp.
    assert _images_in(with_images) == 4
    text = _text_of(with_images)
    assert "Главный бухгалтер" in text and "М.П." in text
    assert f"Счёт на оплату № {printed.number}" in text

    _save(admin, session)  # the box unticked
    assert not session.get(Company, 1).print_stamp_signatures
    assert all(_stored(session, name) for name in IMAGES)  # the files stay
    without = _print(admin, session, printed)
    assert _images_in(without) == 0
    assert "М.П." in _text_of(without)

    # Ticked again, a removed image is left out, the others print.
    _save(admin, session, print_stamp_signatures="y", **{"_logo-delete": "on"})
    assert _images_in(_print(admin, session, printed)) == 3


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 (the handler's name)
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(_picture())

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counter.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_template_embeds_only_the_companys_images(app, as_role, session, company,
                                                    invoice, web_server):
    admin = as_role("admin")
    _upload_all(admin, session, tick=True)
    folder = app.config["UPLOAD_FOLDER"]
    stamp_hex = _stored(session, "stamp")[:32]
    # Another upload of the folder (a note's picture) and a picture beside it.
    other = os.urandom(16).hex()
    with open(os.path.join(folder, other), "wb") as f:
        f.write(_picture())
    outside = os.path.join(os.path.dirname(folder.rstrip("/")),
                           unique("outside").replace(" ", "") + ".png")
    with open(outside, "wb") as f:
        f.write(_picture())
    tries = [
        f"{web_server}/remote.png",
        f"//127.0.0.1:{web_server.rsplit(':', 1)[1]}/protocol-relative.png",
        f"{folder}../{os.path.basename(outside)}",
        f"../{os.path.basename(outside)}",
        outside,
        os.path.join(folder, stamp_hex),  # the stamp's file, but by its path
        os.path.join(folder, other),
        f"company-image:{other}",  # a URI of the right form for another file
        f"company-image:../{stamp_hex}",
        f"file://{outside}",
    ]
    body = "<p>Счёт {{ invoice.number }}</p>" + "".join(f'<img src="{uri}">' for uri in tries)
    template = DocumentTemplate(name=unique("Картинки"), entity=TemplateEntity.INVOICE,
                                body=body, is_active=True)
    control = DocumentTemplate(name=unique("Печать"), entity=TemplateEntity.INVOICE,
                               body=body + '<img src="{{ company.stamp }}">', is_active=True)
    session.add_all([template, control])
    session.commit()
    try:
        printed = _new_invoice(admin, session, invoice)
        pdf = _print(admin, session, printed, template.id)
        assert _images_in(pdf) == 0
        assert _Counter.hits == []
        # The same document with the company's own stamp embeds just that.
        assert _images_in(_print(admin, session, printed, control.id)) == 1
        assert _Counter.hits == []
    finally:
        os.remove(os.path.join(folder, other))
        os.remove(outside)


def test_the_link_callback_maps_only_the_given_images(tmp_path):
    picture = tmp_path / "x"
    picture.write_bytes(_picture())
    text = tmp_path / "y"
    text.write_bytes(b"<html>")
    images = {"company-image:" + "a" * 32: str(picture), "company-image:" + "b" * 32: str(text)}
    mapped = printing._link_callback("company-image:" + "a" * 32, None, images=images)
    assert mapped.startswith("data:image/png;base64,")
    # A file that is not a PNG or JPEG is not embedded even when listed.
    assert printing._link_callback("company-image:" + "b" * 32, None, images=images) == "data:,"
    for uri in (str(picture), "company-image:" + "c" * 32, "http://example.com/a.png",
                f"file://{picture}", "../x"):
        assert printing._link_callback(uri, None, images=images) == "data:,", uri


def test_the_sandbox_includes_only_the_print_snippets():
    html = printing.render_template_string(
        '{% include "print/_stamp_signatures.html" %}',
        {"company": {"director_position": "Директор", "director_name": "Иванов Иван Иванович",
                     "chief_accountant_name": "", "stamp": "company-image:" + "a" * 32,
                     "director_signature": "", "accountant_signature": ""}})
    assert "Иванов" in html and "Директор" in html and "М.П." in html
    assert f'<img src="company-image:{"a" * 32}"' in html
    for name in ("print/task_list.html", "print/../print/_stamp_signatures.html",
                 "sdelka/base.html", "/etc/passwd", "print/_missing.html"):
        with pytest.raises(printing.TemplateError):
            printing.render_template_string(f'{{% include "{name}" %}}', {"company": {}})


# --- the console --------------------------------------------------------------------


def test_console_names_the_requisites_as_the_images_owner(app, as_role, session, company):
    admin = as_role("admin")
    _save(admin, session, stamp=(io.BytesIO(_picture()), "stamp.png"))
    hex_name = _stored(session, "stamp")[:32]
    page = admin.get("/console/files/").text
    row = page[page.find(hex_name):][:600]
    assert hex_name in page and "Реквизиты компании, № 1" in row
    page = admin.post("/console/files/delete/", {"path": hex_name}).text
    assert "Файл принадлежит записи «Реквизиты компании, № 1»" in page
    assert os.path.exists(os.path.join(app.config["UPLOAD_FOLDER"], hex_name))


def test_the_act_and_the_upd_carry_the_images_while_ticked(as_role, session, company):
    """The act prints the logo, the director's signature and the stamp; the
    UPD the signatures and the stamp (landscape, no logo); none unticked."""
    from app.models import Act, Upd
    from tests.web.test_acts_upd import _invoice, _made, _make
    from tests.web.test_acts_upd import _print as print_closing

    admin = as_role("admin")
    invoice = _invoice(session, "admin", included=True, tax_name="НДС 22 %")
    _make(admin, "act", invoice)
    _make(admin, "upd", invoice)
    act, upd = _made(session, Act, invoice)[0], _made(session, Upd, invoice)[0]
    assert _images_in(print_closing(admin, session, "act", act)) == 0
    assert _images_in(print_closing(admin, session, "upd", upd)) == 0
    _upload_all(admin, session, tick=True)
    act_pdf = print_closing(admin, session, "act", act)
    assert _images_in(act_pdf) == 3 and "М.П." in _text_of(act_pdf)
    # The director's signature twice (the head and the transfer), the
    # chief accountant's, the stamp.
    assert _images_in(print_closing(admin, session, "upd", upd)) >= 3
    _save(admin, session)  # unticked
    assert _images_in(print_closing(admin, session, "act", act)) == 0
