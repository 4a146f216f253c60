"""The import flow through the screens, as Admin and as Manager: upload,
mapping, dry run, real run, duplicates, errors file, AlmaCRM, templates,
the journal, background jobs and their atomic claim."""
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import db
from app.models import Application, Client, ImportJob, ProcessingStatus, Region
from app.services import import_jobs, imports
from tests.conftest import unique
from tests.import_screens import (
    ALMA,
    alma_rows,
    count,
    inn10,
    job,
    job_id_of,
    mapping_form,
    phone,
    purge,
    queued_job,
    run,
    upload,
    wait,
)


def test_alma_file_imports_clients_with_applications(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Алмаев").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(3, surname),
                        f"01.02.2026;{surname};Олег;;Тверская область;Тверь;1 500,5;"
                        f"8 (916) 555-11-22;;Отказ;"]) + "\r\n"
    response = upload(admin, "clients", body, "alma.csv")
    job_id = job_id_of(response)
    assert job(app, job_id).entity == imports.ALMA_KEY  # recognised by its header
    page = admin.get(f"/import/job/{job_id}/").text
    assert "cp1251" in page or "windows-1251" in page.lower()
    run(admin, app, job_id, action="dry")
    checked = job(app, job_id)
    assert checked.status == "checked" and checked.error_count == 0
    assert (checked.created, checked.report_data["created"]) == (0, 4)  # would be, if run
    assert "Было бы создано" in admin.get(f"/import/job/{job_id}/report").text
    assert count(session, Client, Client.last_name == surname) == 0  # a dry run saves nothing
    response = admin.post(f"/import/job/{job_id}/run")
    assert "import-done" in response.text
    done = job(app, job_id)
    assert done.status == "done" and done.created == 4
    clients = session.scalars(select(Client).where(Client.last_name == surname)
                              .order_by(Client.id)).all()
    assert len(clients) == 4
    first = clients[0]
    assert first.name == f"{surname} Иван0 Петрович" and first.region.name == "Московская область"
    assert first.birth_date.isoformat() == "1985-03-02" and first.city == "Подольск"
    assert first.comments == "коммент 0"
    oleg = clients[-1]
    assert oleg.phone == "+79165551122"
    apps = session.scalars(select(Application).where(Application.client_id == oleg.id)).all()
    assert len(apps) == 1 and str(apps[0].amount) == "1500.50"
    assert apps[0].status == ProcessingStatus.REFUSED and apps[0].date.isoformat() == "2026-02-01"
    assert session.scalar(select(Application.amount).where(
        Application.client_id == first.id)) == pytest.approx(150000)
    session.rollback()


def test_errors_are_reported_by_line_and_field_and_nothing_is_half_written(app, as_role,
                                                                          session):
    admin = as_role("admin")
    surname = unique("Ошибкин").replace(" ", "")
    good = alma_rows(2, surname)
    body = "\r\n".join([ALMA, good[0],
                        f"32.13.2026;{surname};Пётр;;;;-5;12345;01.01.2090;Непонятно;",
                        good[1], f"{surname};лишь;три"]) + "\r\n"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
    run(admin, app, job_id, action="run", mode="all")
    failed = job(app, job_id)
    assert failed.status == "failed" and failed.error_count == 2
    assert count(session, Client, Client.last_name == surname) == 0  # all or nothing
    # The journal counts what happened; the report what would have been.
    assert failed.created == 0 and failed.report_data["created"] == 2
    refused = admin.get(f"/import/job/{job_id}/report").text
    assert "Было бы создано" in refused and "Создано" not in refused.replace("создано", "")
    problems = failed.report_data["problems"]
    fields = {(p["row"], p["field"]) for p in problems}
    assert {(3, "Дата"), (3, "сумма"), (3, "телефон"), (3, "статус")} <= fields
    assert any(p["row"] == 5 and "3" in p["message"] for p in problems)  # column count
    page = admin.get(f"/import/job/{job_id}/report").text
    assert "Непонятно" in page and "import-errors-file" in page
    errors = admin.get(f"/import/job/{job_id}/errors.csv")
    text = errors.data.decode("cp1251")
    assert text.splitlines()[0].startswith("Ошибка;Дата;Фамилия")
    assert "Непонятно" in text and len([ln for ln in text.splitlines() if ln]) == 3
    # An unknown status is an error that names the choice on the mapping
    # screen, which lists it (tests/web/test_import_choices.py).
    status = next(p["message"] for p in problems if p["field"] == "статус")
    assert "Непонятно" in status and "на экране сопоставления" in status
    assert failed.report_data["unknown"] == {"status": {"Непонятно": 1}}
    assert 'data-text="Непонятно"' in admin.get(f"/import/job/{job_id}/").text
    # The same file, keeping the good rows; «Непонятно» now means «Отказ»,
    # and its row is still refused for its other errors.
    run(admin, app, job_id, action="run", mode="good",
        **{"value-text-status-0": "Непонятно", "value-status-0": "REFUSED"})
    kept = job(app, job_id)
    assert kept.status == "done" and kept.created == 2 and kept.error_count == 2
    fields = {(p["row"], p["field"]) for p in kept.report_data["problems"]}
    assert {(3, "Дата"), (3, "сумма"), (3, "телефон")} <= fields and (3, "статус") not in fields
    assert count(session, Client, Client.last_name == surname) == 2
    assert count(session, Application, Application.client_id.in_(
        select(Client.id).where(Client.last_name == surname))) == 2


def imported_client(admin, app, session, surname, comment=""):
    """(surname, phone, id) of a client an AlmaCRM file of one row made."""
    surname, number = unique(surname).replace(" ", ""), phone()
    row = f"15.01.2026;{surname};Анна;;;;1000;{number};;В обработке;{comment}"
    run(admin, app, job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\n{row}\n")))
    existing = session.scalar(select(Client.id).where(Client.last_name == surname))
    session.rollback()
    return surname, number, existing


REFUSING = {
    "sqlite": ["CREATE TRIGGER refuse_unlucky BEFORE INSERT ON application "
               "WHEN CAST(NEW.amount AS REAL) = 666000 "
               "BEGIN SELECT RAISE(ABORT, 'несчастливая сумма'); END"],
    "postgresql": ["CREATE FUNCTION refuse_unlucky() RETURNS trigger AS $$ BEGIN "
                   "IF NEW.amount = 666000 THEN RAISE EXCEPTION 'несчастливая сумма'; END IF; "
                   "RETURN NEW; END $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_unlucky BEFORE INSERT ON application "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_unlucky()"],
}
FORGIVING = {"sqlite": ["DROP TRIGGER refuse_unlucky"],
             "postgresql": ["DROP TRIGGER refuse_unlucky ON application",
                            "DROP FUNCTION refuse_unlucky()"]}


def test_a_batch_the_database_refuses_leaves_nothing_half_written(app, as_role, session):
    """The database refuses one application of an AlmaCRM batch after its
    clients were written (on SQLite without a savepoint of the batch's own):
    the batch is taken back whole, then its rows go one by one — the good
    ones imported, the refused one reported, no client left without its
    application."""
    admin = as_role("admin")
    surname = unique("Отказов").replace(" ", "")
    rows = alma_rows(5, surname)
    rows[3] = rows[3].replace('"150 000,30"', '"666 000,00"')
    dialect = session.get_bind().dialect.name
    for statement in REFUSING[dialect]:
        session.execute(text(statement))
    session.commit()
    try:
        response = upload(admin, "clients", "\r\n".join([ALMA, *rows]) + "\r\n", "alma.csv")
        job_id = job_id_of(response)
        run(admin, app, job_id, mode="good")
    finally:
        for statement in FORGIVING[dialect]:
            session.execute(text(statement))
        session.commit()
    done = job(app, job_id)
    assert (done.status, done.created, done.error_count) == ("done", 4, 1)
    assert "несчастливая сумма" in admin.get(f"/import/job/{job_id}/report").text
    names = session.scalars(select(Client.first_name).where(Client.last_name == surname)
                            .order_by(Client.id)).all()
    assert names == ["Иван0", "Иван1", "Иван2", "Иван4"]
    assert count(session, Application, Application.client.has(Client.last_name == surname)) == 4
    if dialect == "sqlite":  # the search index holds no row of the taken back clients
        session.execute(text("INSERT INTO client_search(client_search) VALUES ('integrity-check')"))
    purge(session, Client.last_name == surname)


def test_duplicates_by_phone_skip_update_or_create(app, as_role, session):
    admin = as_role("admin")
    surname, number, existing = imported_client(admin, app, session, "Дублев", "первый")
    again = f"16.01.2026;{surname};Анна;;;Казань;2000;{number[:2]} {number[2:]};;Завершена;второй"
    twice = f"{ALMA}\n{again}\n{again}\n"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, twice))
    run(admin, app, job_id, action="dry", on_duplicate="skip")
    dry = job(app, job_id)
    # A check writes nothing: the journal counts none, the report tells.
    assert (dry.skipped, dry.created) == (0, 0)
    assert (dry.report_data["skipped"], dry.report_data["created"]) == (2, 0)
    dupes = dry.report_data["duplicates"]
    assert dupes[0]["id"] == existing and dupes[0]["row"] == 2
    page = admin.get(f"/import/job/{job_id}/report").text
    assert f"/clients/show/{existing}" in page
    run(admin, app, job_id, on_duplicate="update")
    assert count(session, Client, Client.last_name == surname) == 1
    client = session.get(Client, existing)
    assert client.city == "Казань" and client.comments == "второй"
    assert count(session, Application, Application.client_id == existing) == 3
    session.rollback()
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\n{again}\n"))
    run(admin, app, job_id, on_duplicate="create")
    assert count(session, Client, Client.last_name == surname) == 2


def test_a_duplicate_is_reported_whatever_other_errors_its_row_has(app, as_role, session):
    admin = as_role("admin")
    surname, number, existing = imported_client(admin, app, session, "Двойнов")
    # Row 1's phone written as 8XXXXXXXXXX, on a row with a bad date too.
    again = f"32.13.2026;{surname};Анна;;;;1000;8{number[2:]};;В обработке;"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\n{again}\n{again}\n"))
    run(admin, app, job_id, action="dry", on_duplicate="skip")
    report = job(app, job_id).report_data
    assert [(d["row"], d["id"], d["action"]) for d in report["duplicates"]] == [
        (2, existing, "error"), (3, existing, "error")]
    assert report["errors"] == 2 and report["skipped"] == 0
    page = admin.get(f"/import/job/{job_id}/report").text
    assert f"/clients/show/{existing}" in page
    purge(session, Client.last_name == surname)


def test_duplicates_within_one_file_are_found(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Двойнов").replace(" ", "")
    number = phone()
    row = f"15.01.2026;{surname};Анна;;;;1000;{number};;В обработке;"
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\n{row}\n{row}\n"))
    run(admin, app, job_id, on_duplicate="skip")
    done = job(app, job_id)
    assert done.created == 1 and done.skipped == 1
    assert done.report_data["duplicates"][0]["row"] == 3
    assert count(session, Client, Client.last_name == surname) == 1


def test_generic_client_import_maps_english_and_russian_headers(app, as_role, session):
    admin = as_role("admin")
    name = unique("ООО Импорт")
    inn, number = inn10(), phone()
    region = unique("Неизвестный край")
    body = ("Name,Kind,INN,Phone,Регион,Email\r\n"
            f"\"{name}, филиал\",Company,{inn},{number[:2]} {number[2:]},{region},a@b.ru\r\n"
            f"{name} 2,Компания,{inn[:-1]}{(int(inn[-1]) + 1) % 10},,,\r\n")
    job_id = job_id_of(upload(admin, "clients", body, encoding="utf-8"))
    form = mapping_form(app, job_id)
    assert [form[f"map_{i}"] for i in range(6)] == ["name", "kind", "inn", "phone", "region",
                                                   "email"]
    run(admin, app, job_id, action="dry")
    dry = job(app, job_id)
    messages = " ".join(p["message"] for p in dry.report_data["problems"])
    assert region in messages and dry.error_count == 2  # INN check digit too
    run(admin, app, job_id, action="run", mode="good", create_missing="1")
    done = job(app, job_id)
    assert done.created == 1 and done.error_count == 1
    client = session.scalar(select(Client).where(Client.name == f"{name}, филиал"))
    assert client.kind.value == "company" and client.phone == number
    assert client.region.name == region and client.inn == inn
    session.rollback()


def test_manager_imports_own_clients_and_cannot_import_dictionaries(app, as_role, session):
    manager = as_role("manager")
    surname = unique("Менеджеров").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(2, surname)]) + "\r\n"
    job_id = job_id_of(upload(manager, "applications", body))
    run(manager, app, job_id)
    assert job(app, job_id).created == 2
    owners = set(session.scalars(select(Client.responsible_id).where(Client.last_name == surname)))
    manager_id = session.scalar(select(ImportJob.user_id).where(ImportJob.id == job_id))
    session.rollback()
    assert owners == {manager_id}
    listed = manager.get(f"/clients/list/?_flt_0_name={surname}").text
    assert surname in listed
    assert upload(manager, "regions", "Название\nНовый\n").status_code == 403
    assert manager.get("/regions/list/").status_code == 200
    # The admin's journal entries are not the manager's.
    admin = as_role("admin")
    other = job_id_of(upload(admin, imports.ALMA_KEY, f"{ALMA}\n"))
    assert manager.get(f"/import/job/{other}/report").status_code == 403
    journal = manager.get("/imports/list/").text
    assert "data.csv" in journal


def test_manager_may_not_attach_to_clients_of_others(app, as_role, session):
    admin = as_role("admin")
    foreign = Client(name=unique("Чужой"), responsible_id=None)
    session.add(foreign)
    session.commit()
    manager = as_role("manager")
    job_id = job_id_of(upload(manager, "applications", f"Client ID;Amount\n{foreign.id};100\n",
                              encoding="utf-8"))
    run(manager, app, job_id)
    failed = job(app, job_id)
    assert failed.status == "failed" and failed.error_count == 1
    assert count(session, Application, Application.client_id == foreign.id) == 0
    job_id = job_id_of(upload(admin, "applications", f"Client ID;Amount\n{foreign.id};100\n",
                              encoding="utf-8"))
    run(admin, app, job_id)
    assert count(session, Application, Application.client_id == foreign.id) == 1


def test_dictionary_import_by_name_with_duplicates(app, as_role, session):
    admin = as_role("admin")
    name = unique("Регион")
    body = f"Название;Код региона;Действует\n{name};999;да\nМосква;77;да\n"
    job_id = job_id_of(upload(admin, "regions", body, encoding="utf-8"))
    run(admin, app, job_id, on_duplicate="skip")
    done = job(app, job_id)
    assert (done.created, done.skipped) == (1, 1)
    assert session.scalar(select(Region.code).where(Region.name == name)) == "999"
    session.rollback()


def test_places_written_with_their_affixes_match_the_dictionary(app, as_role, session):
    """An AlmaCRM file says «г. Москва», «Московская обл.», «Респ. Татарстан»:
    each lands on the dictionary's value, all-or-nothing, and ticking «add
    to dictionaries» creates no near-duplicate."""
    admin = as_role("admin")
    surname = unique("Москвичёв").replace(" ", "")
    places = ["г. Москва", "Московская обл.", "Респ. Татарстан", "ТВЕРСКАЯ ОБЛАСТЬ",
              "Краснодарский кр."]
    rows = [f"15.01.2026;{surname};Иван{i};Петрович;{place};Город;\"150 000,00\";{phone()};"
            f"02.03.1985;В обработке;" for i, place in enumerate(places)]
    regions_before = count(session, Region)
    job_id = job_id_of(upload(admin, "applications", "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, action="run", mode="all", create_missing="1")
    done = job(app, job_id)
    assert done.created == len(places), (done.report_data or {}).get("problems")
    regions = dict(session.execute(select(Client.first_name, Region.name).join(
        Region, Client.region_id == Region.id).where(Client.last_name == surname)).all())
    assert regions == {"Иван0": "Москва", "Иван1": "Московская область",
                       "Иван2": "Республика Татарстан", "Иван3": "Тверская область",
                       "Иван4": "Краснодарский край"}
    assert count(session, Region) == regions_before
    purge(session, Client.last_name == surname)


def test_a_dictionary_file_adds_no_near_duplicate(app, as_role, session):
    admin = as_role("admin")
    body = "Название;Код региона;Действует\nг. Москва;77;да\nМОСКОВСКАЯ ОБЛ.;50;да\n"
    job_id = job_id_of(upload(admin, "regions", body, encoding="utf-8"))
    run(admin, app, job_id, on_duplicate="skip")
    done = job(app, job_id)
    assert (done.created, done.skipped) == (0, 2)
    assert count(session, Region, Region.name.in_(["г. Москва", "МОСКОВСКАЯ ОБЛ."])) == 0


def test_templates_for_every_entity(app, as_role):
    admin = as_role("admin")
    alma = admin.get(f"/import/template/{imports.ALMA_KEY}.csv")
    assert alma.data.decode("cp1251").splitlines()[0] == ALMA
    for key in ("clients", "applications", "deals", "tasks", "regions", "task-statuses"):
        response = admin.get(f"/import/template/{key}.csv")
        assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
        header = response.data.decode("utf-8-sig").splitlines()[0]
        # The template maps back onto the entity by itself.
        entity = imports.get_entity(key)
        assert all(imports.auto_map(entity, header.split(";")))


def test_bad_uploads_get_a_message(app, as_role):
    admin = as_role("admin")
    response = upload(admin, "clients", b"", follow=True)
    assert response.status_code == 200 and "import-error" in response.text
    response = upload(admin, "clients", b"\x00\x00\x00;\x00\n", follow=True)
    assert response.status_code == 200 and "import-error" in response.text
    assert admin.get("/import/nothing/").status_code == 404


def test_unmapped_required_field_is_a_file_problem(app, as_role):
    admin = as_role("admin")
    job_id = job_id_of(upload(admin, "applications", "Сумма\n100\n", encoding="utf-8"))
    response = run(admin, app, job_id, action="dry")
    assert "import-file-error" in response.text and job(app, job_id).status == "failed"


def test_readonly_role_cannot_import(app, as_role):
    auditor = as_role("auditor")
    assert upload(auditor, "clients", f"{ALMA}\n").status_code in (302, 403)
    assert "csv-import" not in auditor.get("/clients/list/").text


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=400))
def test_any_bytes_give_a_report_never_a_500_or_a_partial_write(app, data):
    from tests.conftest import Client as WebClient

    http = WebClient(app)
    http.login("admin")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Client))
        db.session.remove()
    response = upload(http, "clients", data)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        job_id = job_id_of(response)
        page = run(http, app, job_id, action="run", mode="all")
        assert page.status_code == 200
        done = job(app, job_id)
        with app.app_context():
            after = db.session.scalar(select(func.count()).select_from(Client))
            db.session.remove()
        assert after - before == (done.created if done.status == "done" else 0)


# --- background jobs ------------------------------------------------------------------


def test_only_one_of_two_workers_claims_a_job(app, session):
    surname = unique("Параллелев").replace(" ", "")
    job_id = queued_job(app, "\n".join([ALMA, *alma_rows(20, surname)]) + "\n")
    results = {}
    barrier = threading.Barrier(2)

    def work(name):
        barrier.wait()
        results[name] = import_jobs.run_now(app, job_id, worker=name)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values(), key=str) == [None, "done"]
    assert count(session, Client, Client.last_name == surname) == 20
    finished = job(app, job_id)
    assert finished.worker == next(k for k, v in results.items() if v == "done")
    # Nobody can claim it again.
    assert job_id not in import_jobs.process_pending(app)
    assert count(session, Client, Client.last_name == surname) == 20
    purge(session, Client.last_name == surname)


def test_claim_is_atomic(app, session):
    job_id = queued_job(app, ALMA + "\n")
    with app.app_context():
        engine = db.engine

    with Session(engine) as one, Session(engine) as two:
        assert import_jobs.claim(one, job_id, "one") is True
        assert import_jobs.claim(two, job_id, "two") is False
    assert job(app, job_id).worker == "one"


def test_large_upload_runs_in_the_background_with_progress(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Фонов").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(1200, surname)]) + "\r\n"
    app.config.update(IMPORT_BACKGROUND_BYTES=1000, IMPORT_THREAD=False)
    try:
        job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
        page = run(admin, app, job_id, action="run")
        assert "import-progress" in page.text  # queued: the page polls
        status = admin.get(f"/import/job/{job_id}/status").get_json()
        assert status["status"] == "queued" and status["finished"] is False
        assert status["total"] == 1200
        # The scheduled job takes what no upload thread took.
        result = app.test_cli_runner().invoke(args=["jobs", "run", "imports"])
        assert result.exit_code == 0 and "1 queued imports processed" in result.output
    finally:
        app.config.update(IMPORT_BACKGROUND_BYTES=1024 * 1024, IMPORT_THREAD=True)
    status = admin.get(f"/import/job/{job_id}/status").get_json()
    assert status["finished"] and status["rows_done"] == 1200 and status["percent"] == 100
    assert count(session, Client, Client.last_name == surname) == 1200
    journal = admin.get("/imports/list/").text
    assert "data.csv" in journal
    purge(session, Client.last_name == surname)


def test_background_thread_processes_the_upload(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Потоков").replace(" ", "")
    body = "\r\n".join([ALMA, *alma_rows(30, surname)]) + "\r\n"
    app.config.update(IMPORT_BACKGROUND_BYTES=100)
    try:
        job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
        run(admin, app, job_id, action="run")
    finally:
        app.config.update(IMPORT_BACKGROUND_BYTES=1024 * 1024)
    wait(admin, job_id)
    assert job(app, job_id).status == "done"
    assert count(session, Client, Client.last_name == surname) == 30
    purge(session, Client.last_name == surname)


def test_upload_over_the_limit_gets_a_clear_message(app, as_role):
    admin = as_role("admin")
    app.config.update(IMPORT_MAX_MB=1)
    try:
        response = upload(admin, "clients", b"a;b\n" + b"x" * (2 * 1024 * 1024))
    finally:
        app.config.update(IMPORT_MAX_MB=200)
    assert response.status_code == 413 and "Файл слишком большой" in response.text


def test_a_10_mb_field_is_reported_not_a_500(app, as_role, session):
    admin = as_role("admin")
    surname = unique("Длиннополев").replace(" ", "")
    body = (f"{ALMA}\n" + alma_rows(1, surname)[0] + "\n").encode("cp1251") + \
        b'15.01.2026;"' + b"x" * (10 * 1024 * 1024) + b'";;;;;;;;;\n'
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, body))
    run(admin, app, job_id, action="run", mode="good")  # 10 MB: in the background
    wait(admin, job_id)
    response = admin.get(f"/import/job/{job_id}/report")
    assert "import-file-error" in response.text and "1048576" in response.text
    assert job(app, job_id).status == "failed"
    assert count(session, Client, Client.last_name == surname) == 0


def test_rows_converted_while_postgresql_stores_the_last_batch_land_as_read(
        app, as_role, session, monkeypatch, database_url):
    """On PostgreSQL the next batch is converted while the server stores a
    COPY (``bulk_sql.insert_rows``' ``meanwhile``): with batches of three,
    a duplicate of an earlier batch, a bad row and every other row come out
    as in a file read batch by batch, in the file's order."""
    admin = as_role("admin")
    monkeypatch.setattr(imports, "BATCH", 3)
    converted = []
    convert_ahead = imports._convert_ahead
    monkeypatch.setattr(imports, "_convert_ahead",
                        lambda ahead, batches: converted.append(1) or convert_ahead(ahead, batches))
    surname = unique("Потоков").replace(" ", "")
    rows = alma_rows(10, surname)
    rows[4] = rows[4].replace(rows[4].split(";")[7], rows[1].split(";")[7])  # row 2's phone
    rows[7] = rows[7].replace("15.01.2026", "31.02.2026")  # no such day
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, mode="good")
    done = job(app, job_id)
    assert (done.created, done.skipped, done.error_count) == (8, 1, 1), done.report_data
    names = session.scalars(select(Client.first_name).where(Client.last_name == surname)
                            .order_by(Client.id)).all()
    assert names == [f"Иван{i}" for i in range(10) if i not in (4, 7)]
    assert count(session, Application, Application.client_id.in_(
        select(Client.id).where(Client.last_name == surname))) == 8
    assert bool(converted) == database_url.startswith("postgresql")
    purge(session, Client.last_name == surname)
