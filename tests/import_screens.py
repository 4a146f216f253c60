"""The import screens driven from tests: an AlmaCRM file's rows, upload,
mapping and run, the job as stored, a job queued as the screens leave it;
and counting and removing what a test imported."""
import io
import itertools
import json
import re
import time
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.models import Application, Client, ImportJob
from tests.conftest import queued_import

ALMA = "Дата;Фамилия;Имя;Отчество;регион;город;сумма;телефон;дата рождения;статус;комментарии"


_PHONES = itertools.count(1)


def phone():
    """A phone number no other test row uses (the database is new each run)."""
    return f"+7903{next(_PHONES):07d}"


def upload(http, key, body, name="data.csv", encoding="cp1251", follow=False):
    data = body.encode(encoding) if isinstance(body, str) else body
    return http.post(f"/import/{key}/", {"file": (io.BytesIO(data), name)}, follow=follow,
                     content_type="multipart/form-data")


def job_id_of(response):
    match = re.search(r"/import/job/(\d+)/", response.headers.get("Location", ""))
    assert match, response.get_data(as_text=True)[:2000]
    return int(match.group(1))


def mapping_form(app, job_id, **options):
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        mapping = json.loads(job.options)["mapping"]
        db.session.remove()
    form = {f"map_{i}": name or "" for i, name in enumerate(mapping)}
    form.update({"on_duplicate": "skip", "mode": "all"}, **options)
    return form


def run(http, app, job_id, action="run", **options):
    form = mapping_form(app, job_id, **options)
    form["action"] = action
    response = http.post(f"/import/job/{job_id}/", form)
    assert response.status_code == 200, response.text[:2000]
    return response


def job(app, job_id):
    with app.app_context():
        found = db.session.get(ImportJob, job_id)
        db.session.expunge(found)
        db.session.remove()
    found.report_data = json.loads(found.report) if found.report else None
    return found


def inn10():
    """A random company INN with a correct check digit."""
    digits = [int(d) for d in str(uuid.uuid4().int)[:9]]
    check = sum(w * d for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), digits)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def wait(http, job_id, seconds=60):
    for _ in range(seconds * 10):
        if http.get(f"/import/job/{job_id}/status").get_json()["finished"]:
            return
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def alma_rows(n, surname, status="В обработке"):
    rows = []
    for i in range(n):
        rows.append(f"15.01.2026;{surname};Иван{i};Петрович;Московская область;Подольск;"
                    f"\"150 000,{i % 10}0\";{phone()};02.03.1985;{status};коммент {i}")
    return rows


def purge(session, *where):
    """Delete the clients a test made, their applications and history:
    other tests count the clients of the shared database, and SQLite reuses
    the ids of deleted rows."""
    from sqlalchemy import delete, or_

    from app.models import HistoryEntry

    ids = session.scalars(select(Client.id).where(*where)).all()
    app_ids = session.scalars(select(Application.id).where(
        Application.client_id.in_(ids))).all()
    session.execute(delete(HistoryEntry).where(or_(
        HistoryEntry.client_id.in_(ids),
        (HistoryEntry.entity == "client") & HistoryEntry.entity_id.in_(ids),
        (HistoryEntry.entity == "application") & HistoryEntry.entity_id.in_(app_ids))))
    session.execute(delete(Application).where(Application.id.in_(app_ids)))
    session.execute(delete(Client).where(Client.id.in_(ids)))
    session.commit()


def count(session, model, *where):
    value = session.scalar(select(func.count()).select_from(model).where(*where))
    session.rollback()
    return value


def queued_job(app, body):
    """A queued AlmaCRM import of ``body`` (see conftest.queued_import): its id."""
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        return queued_import(session, body, "big.csv")
