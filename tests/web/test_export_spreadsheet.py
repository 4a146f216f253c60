"""The export as a spreadsheet reads it. Debian's LibreOffice (soffice,
package libreoffice-calc) opens the CSV as its text import does by default
(';' between fields, the file's encoding, Russian locale), saves it as
xlsx, and the cells are read back from the sheet's XML: phones, INNs and
account numbers are the very texts (no apostrophe, leading zeros and the
«+» kept), texts that would be formulas are text, numbers are numbers.
Without soffice the test skips with the reason, except in CI where it
fails."""
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from app.models import Client, ClientKind, Employee
from tests.conftest import unique
from tests.import_screens import job, job_id_of, purge, run, upload

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# LibreOffice's CSV filter options: separator ';' (59), text in '"' (34),
# the character set (76 UTF-8, 34 Windows-1251), from line 1, standard
# cell formats, Russian (1049); the rest as its text import dialog has them.
CHARSETS = {"utf-8": 76, "cp1251": 34}
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

PHONE = "+79161979005"
INN = "0012345673"  # leading zeros, and a correct check digit: the file imports back
ACCOUNT = "40702810900000012345"
FORMULAS = ("=1+1", "+7+cmd|' /c calc'!A1", "-2+3", "@SUM(1)")


def soffice():
    if SOFFICE is None:
        reason = "LibreOffice is not installed (apt-get install libreoffice-calc)"
        if os.environ.get("CI"):
            pytest.fail(reason + " — CI must run the spreadsheet test")
        pytest.skip(reason)
    return SOFFICE


def _index(ref):
    """"AB12" -> (11, 27): the row and column, from 1."""
    letters, digits = re.fullmatch(r"([A-Z]+)([0-9]+)", ref).groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return int(digits), column


def read_xlsx(path):
    """The first sheet's cells: {(row, column): (type, value, formula)};
    type is "n" (a number), "s" (a text) or "str" (a formula's text)."""
    with zipfile.ZipFile(path) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            for item in ElementTree.fromstring(book.read("xl/sharedStrings.xml")):
                shared.append("".join(t.text or "" for t in item.iter(SHEET + "t")))
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    cells = {}
    for c in sheet.iter(SHEET + "c"):
        kind, value, formula = c.get("t", "n"), c.find(SHEET + "v"), c.find(SHEET + "f")
        value = value.text if value is not None else None
        if kind == "s":
            value = shared[int(value)]
        elif kind == "inlineStr":
            kind, value = "s", "".join(t.text or "" for t in c.iter(SHEET + "t"))
        cells[_index(c.get("r"))] = (kind, value, formula.text if formula is not None else None)
    return cells


def as_spreadsheet(data, encoding):
    """The cells LibreOffice reads from ``data``, a CSV file, as rows of
    {header: (type, value, formula)}."""
    with tempfile.TemporaryDirectory(prefix="sdelka-soffice-") as folder:
        source = os.path.join(folder, "export.csv")
        with open(source, "wb") as fh:
            fh.write(data)
        # A profile of its own: runs side by side do not share (and lock) one.
        profile = "file://" + os.path.join(folder, "profile")
        done = subprocess.run(
            [soffice(), f"-env:UserInstallation={profile}", "--headless", "--norestore",
             f"--infilter=CSV:59,34,{CHARSETS[encoding]},1,,1049", "--convert-to", "xlsx",
             "--outdir", folder, source],
            capture_output=True, text=True, timeout=180)
        result = os.path.join(folder, "export.xlsx")
        assert os.path.exists(result), (done.returncode, done.stdout, done.stderr)
        cells = read_xlsx(result)
    width = max(column for _, column in cells)
    height = max(row for row, _ in cells)
    header = [cells[(1, column)][1] for column in range(1, width + 1)]
    return [{name: cells.get((row, column), ("", None, None))
             for column, name in enumerate(header, 1)} for row in range(2, height + 1)]


def _snapshot(session, city):
    clients = session.scalars(select(Client).where(Client.city == city)
                              .order_by(Client.name)).all()
    out = [(c.name, c.kind, c.inn, c.phone, c.settlement_account, c.responsible_id)
           for c in clients]
    session.rollback()
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "cp1251"])
def test_libreoffice_reads_phones_requisites_and_formula_like_names_as_text(
        app, as_role, session, encoding):
    soffice()
    city = unique("Таблицын")
    admin_id = session.scalar(select(Employee.id).where(Employee.username == "admin"))
    session.add_all(
        [Client(name=f"ООО Нули {city}", kind=ClientKind.COMPANY, inn=INN, phone=PHONE,
                settlement_account=ACCOUNT, city=city, responsible_id=admin_id)]
        + [Client(name=name, city=city, responsible_id=admin_id) for name in FORMULAS])
    session.commit()
    before = _snapshot(session, city)
    admin = as_role("admin")
    response = admin.get("/clients/export/", query_string={
        "_flt_0_city": city, "encoding": encoding, "_oc_ClientView": "name",
        "_od_ClientView": "asc"})
    assert response.status_code == 200
    exported = response.data
    response.close()

    rows = {row["Название"][1]: row for row in as_spreadsheet(exported, encoding)}
    company = rows[f"ООО Нули {city}"]
    for label, text in (("Телефон", PHONE), ("ИНН", INN), ("Расчётный счёт", ACCOUNT)):
        kind, value, formula = company[label]
        # The text itself; the file's ="…" is a formula of that text alone.
        assert (kind, value) == ("str", text), (label, company[label])
        assert formula in (None, f'"{text}"'), (label, formula)
    assert company["ID"][0] == "n"  # numbers stay numbers
    for name in FORMULAS:
        # Found under its guarded text: a text cell, nothing evaluated.
        kind, value, formula = rows["'" + name]["Название"]
        assert (kind, value, formula) == ("s", "'" + name, None)

    # The same file imports back to the same records.
    purge(session, Client.city == city)
    job_id = job_id_of(upload(admin, "clients", exported, "clients.csv", encoding=encoding))
    run(admin, app, job_id, action="run", map_0="")  # no IDs: new records
    done = job(app, job_id)
    assert done.status == "done" and done.created == len(before), done.report_data
    assert _snapshot(session, city) == before
    purge(session, Client.city == city)
