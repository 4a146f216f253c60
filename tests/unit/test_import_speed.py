"""The pieces that make imports fast keep their behaviour: the row
converter with its specialised, remembering parsers against converting cell
by cell with the general ``convert``, the garbage collector's settings, and
the driver-level INSERT and look-up on both databases."""
import datetime
import gc
import zoneinfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app import db
from app.labels import ENUMS, FIELDS
from app.models import Application, Client
from app.services import bulk_sql, csv_io, imports

TZ = zoneinfo.ZoneInfo("Europe/Moscow")


def _entities():
    clients = imports.entity_for(
        "clients", Client, ["kind", "name", "last_name", "phone", "inn", "email", "region",
                            "birth_date", "responsible", "public_access", "comments"],
        FIELDS, ENUMS, ("phone", "inn"))
    applications = imports.entity_for(
        "applications", Application, ["client", "date", "amount", "term_months",
                                      "rate_percent", "loan_purpose", "status", "offer"],
        FIELDS, ENUMS)
    return [clients, applications, imports.alma_entity()]


def by_cell(importer, cells):
    """What converting each cell with ``convert`` gives (the behaviour the
    row converter must keep)."""
    width = importer.width
    if len(cells) != width and not (
            len(cells) > width and not any(c.strip() for c in cells[width:])):
        return {}, [("", f"The row has {len(cells)} fields, the header has {width}")]
    values, errors = {}, []
    nul = "\x00" in "".join(cells)
    for index, spec in importer.columns:
        text = cells[index]
        if not text or text.isspace():
            continue
        text = text.strip()
        if nul and "\x00" in text:
            errors.append((str(spec.label), "Contains zero bytes"))
            continue
        text = csv_io.from_cell(text)
        try:
            values[spec.name] = imports.convert(spec, text, TZ)
        except imports.Bad as exc:
            errors.append((str(spec.label), str(exc.args[0])))
    return values, errors


CELLS = st.one_of(
    st.sampled_from(["", " ", "  \t", "15.01.2026", "31.02.2026", "2026-01-15", "1.2.26",
                     "150 000", "1 500,5", "-5", "1e400", "12345678901234567", "abc",
                     "8 916 123-45-67", "+7 (916) 123 45 67", "12345", "7707083893",
                     "7707083894", "a@b.ru", "not mail", "Компания", "company", "Кооператив",
                     "В обработке", "отказ", "Москва", "'=1+1", "'-5", "'@x", "да", "x" * 300,
                     '="+7 (916) 123 45 67"', '="0012345678"', "''=1", "'+79161234567",
                     "Иванов\x00", "0", "600", "601", "№15", "  Подольск  ", "50,5", "100,001"]),
    st.text(max_size=12))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 2), data=st.data())
def test_row_converter_converts_like_each_cell_alone(which, data):
    entity = _entities()[which]
    names = [spec.name for spec in entity.fields if spec.name != "id"]
    mapping = data.draw(st.lists(st.sampled_from(names + [None]), min_size=1, max_size=12))
    seen = set()
    mapping = [n if n not in seen and not seen.add(n) else None for n in mapping]
    importer = imports.Importer(None, entity, imports.Options(mapping=mapping))
    width = len(mapping)
    rows = data.draw(st.lists(st.lists(CELLS, min_size=max(width - 1, 0),
                                       max_size=width + 1), min_size=1, max_size=4))
    for cells in rows * 2:  # twice: the second time from the remembered values
        row = importer._convert(7, cells)
        values, errors = by_cell(importer, cells)
        assert row.line == 7 and row.cells is cells
        assert row.values == values
        assert [(str(label), str(message)) for label, message in row.errors] == errors


def test_bad_values_are_not_remembered_and_good_ones_are_the_same_objects():
    entity = imports.alma_entity()
    importer = imports.Importer(None, entity, imports.Options(
        mapping=imports.auto_map(entity, list(imports.ALMA_HEADER))))
    cells = ["31.02.2026", "Иванов", "", "", "", "", "150 000", "89161234567", "02.03.1985",
             "Отказ", ""]
    first, second = importer._convert(2, cells), importer._convert(3, list(cells))
    assert [str(label) for label, _ in first.errors] == ["Дата"] == \
        [str(label) for label, _ in second.errors]
    assert second.values["birth_date"] is first.values["birth_date"]
    assert second.values["amount"] == 150000 and "date" not in second.values


def test_collector_settings_are_restored_after_the_last_import():
    before = gc.get_threshold()
    with imports.fewer_collections():
        assert gc.get_threshold()[0] >= 50_000
        with imports.fewer_collections():
            pass
        assert gc.get_threshold()[0] >= 50_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_driver_insert_and_look_up_past_one_statement(app):
    """More rows than one SQLite statement may hold: ids come back in the
    order of the rows, and the look-up finds every value."""
    with app.app_context():
        connection = db.session.connection()
        now = datetime.datetime(2026, 1, 1, 12)
        sqlite = connection.dialect.name == "sqlite"
        stamp = now.isoformat(" ") if sqlite else now
        rows = [("person", f"Драйверов {i}", f"+7999{i:07d}", "private", stamp, stamp)
                for i in range(5000)]
        ids = bulk_sql.insert_rows(connection, "client", (
            "kind", "name", "phone", "public_access", "created_at", "updated_at"), rows,
            with_ids=True)
        assert len(ids) == 5000 == len(set(ids))
        names = dict(db.session.execute(select(Client.id, Client.name).where(
            Client.id.in_(ids[:3] + ids[-3:]))).all())
        assert [names[i] for i in ids[:3] + ids[-3:]] == \
            [f"Драйверов {i}" for i in (0, 1, 2, 4997, 4998, 4999)]
        found = bulk_sql.find(connection, "client", "phone",
                              [f"+7999{i:07d}" for i in range(0, 10000, 2)])
        assert sorted(found) == sorted((f"+7999{i:07d}", ids[i]) for i in range(0, 5000, 2))
        assert bulk_sql.find(connection, "client", "phone", []) == []
        db.session.execute(delete(Client).where(Client.id.in_(ids)))
        db.session.commit()
        db.session.remove()
