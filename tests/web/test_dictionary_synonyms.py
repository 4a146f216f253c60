"""Synonyms of dictionary values: the admin writes them
on a value's form, a synonym may name no other value and belong to no other
value, and an import matches them — a region «Мск» lands on «Москва»."""
import html
import re

import pytest
from sqlalchemy import select, update

from app.models import Client, ClientOrigin, Region
from app.services import dictionaries, imports
from tests.conftest import jwt_headers, unique
from tests.import_screens import (
    ALMA,
    count,
    job,
    job_id_of,
    phone,
    purge,
    run,
    upload,
)

MOSCOW, TVER = "Москва", "Тверская область"


@pytest.fixture
def regions(session):
    """{name: id} of two seeded regions; their synonyms are gone after the
    test (the database is shared by the whole run)."""
    found = dict(session.execute(select(Region.name, Region.id).where(
        Region.name.in_([MOSCOW, TVER]))).all())
    session.rollback()
    yield found
    session.rollback()
    session.execute(update(Region).where(Region.id.in_(found.values())).values(synonyms=None))
    session.commit()


def synonyms_of(session, region_id):
    value = session.scalar(select(Region.synonyms).where(Region.id == region_id))
    session.rollback()
    return value


def edit_region(http, session, region_id, synonyms):
    region = session.get(Region, region_id)
    form = {"name": region.name, "code": region.code or "", "is_active": "y",
            "sort_order": str(region.sort_order), "synonyms": synonyms}
    session.rollback()
    return http.post(f"/regions/edit/{region_id}", form)


def set_synonyms(session, region_id, text):
    session.execute(update(Region).where(Region.id == region_id).values(synonyms=text))
    session.commit()


def alma_row(surname, first, region):
    return f"15.01.2026;{surname};{first};;{region};Город;1 000;{phone()};;В обработке;"


def region_of_clients(session, surname):
    found = dict(session.execute(select(Client.first_name, Region.name).join(
        Region, Client.region_id == Region.id).where(Client.last_name == surname)).all())
    session.rollback()
    return found


# --- the form ----------------------------------------------------------------------


def test_admin_adds_synonyms_on_the_edit_form(as_role, session, regions):
    admin = as_role("admin")
    form = admin.get(f"/regions/edit/{regions[MOSCOW]}").text
    assert "Синонимы" in form and "по одному в строке" in form
    assert "<textarea" in form and 'name="synonyms"' in form
    page = edit_region(admin, session, regions[MOSCOW],
                       "  Мск \r\n\r\nмск\r\nг. Мск; Первопрестольная\r\nМосква\r\n")
    assert page.status_code == 200 and "alert-danger" not in page.text
    # Repeats written alike and the value's own name go; the rest as typed.
    assert synonyms_of(session, regions[MOSCOW]) == "Мск\nПервопрестольная"
    shown = as_role("admin").get(f"/regions/show/{regions[MOSCOW]}").text
    assert "Синонимы" in shown and "Мск<br>Первопрестольная" in shown
    # The list stays the values themselves.
    assert "Первопрестольная" not in admin.get("/regions/list/").text


def test_a_synonym_naming_another_value_is_refused(as_role, session, regions):
    admin = as_role("admin")
    page = edit_region(admin, session, regions[TVER], "Тверь\nг. Москва").text
    assert ("Синоним «г. Москва» — это значение «Москва» этого справочника; синоним "
            "не может называть другое значение") in html.unescape(page)
    assert re.search(r'<textarea[^>]*name="synonyms"[^>]*>\s*Тверь\s+г\. Москва', page)  # as typed
    assert synonyms_of(session, regions[TVER]) is None  # nothing saved


def test_a_synonym_of_another_value_is_refused(as_role, session, regions):
    admin = as_role("admin")
    set_synonyms(session, regions[MOSCOW], "Мск")
    page = html.unescape(edit_region(admin, session, regions[TVER], "Тверь\nМСК").text)
    assert "Синоним «МСК» уже есть у значения «Москва»" in page
    assert synonyms_of(session, regions[TVER]) is None
    # Nor may a new value be called by another's synonym.
    made = html.unescape(admin.post("/regions/add", {
        "name": "мск", "is_active": "y", "sort_order": "0"}).text)
    assert "«мск» уже записано синонимом значения «Москва»" in made
    assert count(session, Region, Region.name == "мск") == 0


def test_the_api_shows_and_checks_synonyms(app, session, regions):
    http, admin = app.test_client(), jwt_headers(app, "admin")
    saved = http.put(f"/api/v1/region/{regions[TVER]}", json={"synonyms": "Тверь;тверь"},
                     headers=admin)
    assert saved.status_code == 200, saved.json
    assert http.get(f"/api/v1/region/{regions[TVER]}",
                    headers=admin).json["result"]["synonyms"] == "Тверь"
    refused = http.put(f"/api/v1/region/{regions[MOSCOW]}", json={"synonyms": "Тверь"},
                       headers=admin)
    assert refused.status_code == 422 and "уже есть у значения" in refused.json["message"]
    assert synonyms_of(session, regions[MOSCOW]) is None


# --- matching -----------------------------------------------------------------------


def test_keys_of_splits_lines_and_semicolons_but_not_commas():
    assert dictionaries.keys_of(" Мск \n\n;г. Мск;Кабель 2,5 мм\r\n—") == {
        "мск": "Мск", "кабель 2 5 мм": "Кабель 2,5 мм"}
    assert dictionaries.keys_of(None) == {}


def test_a_values_own_name_wins_over_another_values_synonym(app, session):
    named, other = unique("Выставка"), unique("Ярмарка")
    # Written straight, as an import of a dictionary file may write them;
    # the name wins even over an active value's synonym.
    first = ClientOrigin(name=named, is_active=False)
    second = ClientOrigin(name=other, synonyms=f"{named}\nЯрм {other.split()[-1]}")
    session.add_all([first, second])
    session.commit()
    keys = imports.dictionary_keys(session, ClientOrigin)
    assert keys[imports.dictionary_key(named)] == first.id
    assert keys[imports.dictionary_key(f"ярм {other.split()[-1]}")] == second.id
    session.delete(first)
    session.delete(second)
    session.commit()


def test_an_alma_import_lands_a_synonym_on_its_value(app, as_role, session, regions):
    set_synonyms(session, regions[MOSCOW], "Мск\nПервопрестольная")
    admin = as_role("admin")
    surname = unique("Синонимов").replace(" ", "")
    rows = [alma_row(surname, "Иван0", "Мск"), alma_row(surname, "Иван1", "г. МСК"),
            alma_row(surname, "Иван2", "первопрестольная")]
    before = count(session, Region)
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, action="run", mode="all", create_missing="1")
    done = job(app, job_id)
    assert done.created == 3, (done.report_data or {}).get("problems")
    assert not done.report_data.get("unknown")
    assert region_of_clients(session, surname) == {
        "Иван0": MOSCOW, "Иван1": MOSCOW, "Иван2": MOSCOW}
    assert count(session, Region) == before  # no value made for a synonym
    purge(session, Client.last_name == surname)


def _chosen(page, text):
    """The option selected for ``text`` among the mapping screen's unknown values."""
    row = re.search(r'class="import-value-text">' + re.escape(html.escape(text, quote=False))
                    + r"<.*?</tr>", page, re.S).group(0)
    found = re.search(r'<option value="([^"]*)"\s+selected', row)
    return found.group(1) if found else None


def test_the_mapping_screen_suggests_the_value_of_a_new_synonym(app, as_role, session,
                                                                regions):
    """The check found «Мск» unknown; the admin then gives «Москва» the
    synonym, and the mapping screen chooses «Москва» for it."""
    admin = as_role("admin")
    surname = unique("Подсказкин").replace(" ", "")
    rows = [alma_row(surname, "Иван0", "Мск"), alma_row(surname, "Иван1", "Мск")]
    job_id = job_id_of(upload(admin, imports.ALMA_KEY, "\r\n".join([ALMA, *rows]) + "\r\n"))
    run(admin, app, job_id, action="dry", mode="all")
    assert job(app, job_id).report_data["unknown"] == {"region": {"Мск": 2}}
    assert _chosen(admin.get(f"/import/job/{job_id}/").text, "Мск") is None

    edit_region(admin, session, regions[MOSCOW], "Мск")
    assert _chosen(admin.get(f"/import/job/{job_id}/").text, "Мск") == str(regions[MOSCOW])
    run(admin, app, job_id, action="run", mode="all")
    assert job(app, job_id).created == 2
    assert region_of_clients(session, surname) == {"Иван0": MOSCOW, "Иван1": MOSCOW}
    purge(session, Client.last_name == surname)


def test_a_dictionary_file_keeps_the_synonym_rule(app, as_role, session, regions):
    """A regions file may add synonyms, but none that names another value,
    belongs to another value or to an earlier row of the file."""
    admin = as_role("admin")
    set_synonyms(session, regions[TVER], "Тверь обл")
    new, later = unique("Регион"), unique("Регион")
    header = admin.get("/import/template/regions.csv").data.decode("utf-8-sig").splitlines()[0]
    assert "Синонимы" in header
    body = "\n".join([
        "Название;Синонимы",
        f'{new};"Новый край; Новокрай"',
        f"{unique('Регион')};Москва",
        f"{unique('Регион')};тверь обл.",
        f"{later};НОВОКРАЙ",
    ]) + "\n"
    job_id = job_id_of(upload(admin, "regions", body, encoding="utf-8"))
    run(admin, app, job_id, on_duplicate="skip", mode="good")
    done = job(app, job_id)
    assert (done.created, done.error_count) == (1, 3), done.report_data
    problems = " ".join(p["message"] for p in done.report_data["problems"])
    assert "Синоним «Москва» — это значение «Москва»" in problems
    assert "Синоним «тверь обл.» уже есть у значения «Тверская область»" in problems
    assert f"Синоним «НОВОКРАЙ» уже есть у значения «{new}»" in problems
    assert session.scalar(select(Region.synonyms).where(Region.name == new)) == \
        "Новый край\nНовокрай"
    assert session.scalar(select(Region.id).where(Region.name == later)) is None
    session.rollback()
