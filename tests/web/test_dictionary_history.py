"""A dictionary's change lands in the history through one path
(services/history.py, as a register's): FAB's edit form and the console's
cell alike write one row per changed field, with its old and new value,
read with the field's Russian label."""
import re

from sqlalchemy import func, select

from app.labels import history_field
from app.models import FunnelStage, HistoryEntry, TaskStatus, TaskType
from tests.conftest import unique


def _add(session, obj):
    session.add(obj)
    session.commit()
    return obj


def _rows(session, entity, pk):
    session.expire_all()
    return session.scalars(select(HistoryEntry).where(
        HistoryEntry.entity == entity, HistoryEntry.entity_id == pk)
        .order_by(HistoryEntry.id)).all()


def _status(session):
    return _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee", sort_order=3))


def _fab_form(status, **fields):
    return {"name": status.name, "color": status.color, "kind": "open",
            "is_active": "y", "sort_order": str(status.sort_order), **fields}


def test_created_value_has_its_row(session):
    status = _status(session)
    rows = _rows(session, "task_status", status.id)
    assert [(r.action, r.new_value) for r in rows] == [("create", status.name)]


def test_fab_edit_form_writes_one_row(as_role, session):
    status = _status(session)
    before = len(_rows(session, "task_status", status.id))
    response = as_role("admin").post(f"/task-statuses/edit/{status.id}",
                                     _fab_form(status, color="#123456"))
    assert response.status_code == 200
    rows = _rows(session, "task_status", status.id)[before:]
    assert [(r.action, r.field, r.old_value, r.new_value) for r in rows] == [
        ("update", "color", "#eeeeee", "#123456")]
    assert rows[0].user.username == "admin" and rows[0].client_id is None


def test_console_cell_writes_one_row(as_role, session):
    status = _status(session)
    before = len(_rows(session, "task_status", status.id))
    response = as_role("admin").post("/console/dictionaries/task_status/ajax/update/",
                                     {"list_form_pk": str(status.id), "color": "#654321"},
                                     follow=False)
    assert response.status_code == 200, response.text
    rows = _rows(session, "task_status", status.id)[before:]
    assert [(r.action, r.field, r.old_value, r.new_value) for r in rows] == [
        ("update", "color", "#eeeeee", "#654321")]
    assert rows[0].user.username == "admin"


def test_refused_cell_writes_nothing(as_role, session):
    status = _status(session)
    before = len(_rows(session, "task_status", status.id))
    response = as_role("admin").post("/console/dictionaries/task_status/ajax/update/",
                                     {"list_form_pk": str(status.id), "color": "red"},
                                     follow=False)
    assert response.status_code == 500
    assert len(_rows(session, "task_status", status.id)) == before


def test_parent_and_flag_on_both_paths(as_role, session):
    top = _add(session, TaskType(name=unique("Верх")))
    child = _add(session, TaskType(name=unique("Низ")))
    before = len(_rows(session, "task_type", child.id))
    c = as_role("admin")
    assert c.post("/console/dictionaries/task_type/ajax/update/",
                  {"list_form_pk": str(child.id), "parent": str(top.id)},
                  follow=False).status_code == 200
    # An unticked box is not sent: the value becomes inactive.
    c.post(f"/task-types/edit/{child.id}", {"name": child.name, "parent": str(top.id),
                                             "sort_order": "0"})
    rows = _rows(session, "task_type", child.id)[before:]
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("parent", None, top.name), ("is_active", "True", "False")]


def test_journal_reads_labels_and_values_in_russian(as_role, session, app):
    stage = _add(session, FunnelStage(name=unique("Переговоры"), probability=30))
    c = as_role("admin")
    assert c.post("/console/dictionaries/funnel_stage/ajax/update/",
                  {"list_form_pk": str(stage.id), "is_active": ""},
                  follow=False).status_code == 200
    page = c.get("/console/journals/history/").text
    with app.test_request_context():
        assert str(history_field("funnel_stage", "is_active")) == "Действует"
        assert str(history_field("tax", "rate")) == "Ставка, %"
        assert str(history_field("client", "phone")) == "Телефон"
    cells = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", page))
    assert (f'<td class="col-entity_id">{stage.id}</td><td class="col-action">изменён</td>'
            '<td class="col-field">Действует</td><td class="col-old_value">Да</td>'
            '<td class="col-new_value">Нет</td>') in cells
    assert ">True<" not in cells


def test_console_delete_writes_one_row(as_role, session):
    status = _status(session)
    pk, name = status.id, status.name
    as_role("admin").post("/console/dictionaries/task_status/delete/", {"id": str(pk)})
    rows = _rows(session, "task_status", pk)
    assert [r.action for r in rows] == ["create", "delete"]
    assert rows[-1].old_value == name


def test_segment_turn_is_not_history(session):
    from app.models import MarketSegment
    from tests.conftest import employee_id

    segment = _add(session, MarketSegment(name=unique("Опт")))
    before = session.scalar(select(func.count()).select_from(HistoryEntry))
    segment.last_assigned_id = employee_id(session, "manager")
    session.commit()
    assert session.scalar(select(func.count()).select_from(HistoryEntry)) == before
