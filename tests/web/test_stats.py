"""Statistics screens per role: the dashboard, its links to the
lists that count each figure, the funnel, plans, and the exports."""
import datetime
import html
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    Application,
    Client,
    Deal,
    DealStatus,
    Department,
    Employee,
    FunnelStage,
    ProcessingStatus,
    SalesPlan,
    StatusKind,
    Task,
    TaskStatus,
)
from tests.conftest import employee, unique

# July 2034: no other test puts data there.
PERIOD = "period=custom&start=2034-07-01&end=2034-07-31"
MID = datetime.datetime(2034, 7, 10, 9, 0)
EDGE = datetime.datetime(2034, 6, 30, 21, 0)  # 00:00 on 1 July in Moscow


@pytest.fixture(scope="module")
def dataset(app):
    """The manager's and the head's July figures (made once per database)."""
    from app import db

    with app.app_context():
        session = db.session
        manager, head = employee(session, "manager"), employee(session, "head")
        statuses = {kind: session.scalar(select(TaskStatus).where(TaskStatus.kind == kind)
                                         .order_by(TaskStatus.id)) for kind in StatusKind}
        stages = session.scalars(select(FunnelStage).where(FunnelStage.is_active.is_(True))
                                 .order_by(FunnelStage.sort_order, FunnelStage.id)).all()
        client = Client(name=unique("Статистика"), responsible_id=manager.id,
                        funnel_stage=stages[1], created_at=MID)
        session.add(client)
        session.add(Client(name=unique("Статистика"), responsible_id=head.id,
                           funnel_stage=stages[1], created_at=MID))
        kinds = [StatusKind.DONE] * 3 + [StatusKind.OPEN] * 2 + [StatusKind.REFUSED,
                                                                  StatusKind.JUNK]
        for i, kind in enumerate(kinds):
            session.add(Task(client=client, assignee_id=manager.id, author_id=manager.id,
                             status=statuses[kind], planned_at=EDGE if i == 0 else MID))
        session.add(Task(client=client, assignee_id=manager.id, status=statuses[StatusKind.DONE],
                         planned_at=EDGE - datetime.timedelta(seconds=1)))  # 30 June
        session.add_all([Task(assignee_id=head.id, author_id=head.id,
                              status=statuses[StatusKind.OPEN], planned_at=MID)
                         for _ in range(4)])
        for day, status, amount in ((1, ProcessingStatus.COMPLETED, "1500.50"),
                                    (31, ProcessingStatus.COMPLETED, "500"),
                                    (12, ProcessingStatus.REFUSED, "900")):
            session.add(Application(client=client, responsible_id=manager.id, status=status,
                                    amount=Decimal(amount), date=datetime.date(2034, 7, day)))
        session.add(Deal(title="Июльская", client=client, responsible_id=manager.id,
                         status=DealStatus.WON, amount=Decimal("10000"), closed_at=MID,
                         created_at=MID, stage=stages[4]))
        session.add(SalesPlan(manager_id=manager.id, month=datetime.date(2034, 7, 1), deals=2,
                              revenue=Decimal("24001"), calls=10))
        session.commit()
        return {"manager": manager.id, "head": head.id, "stage": stages[1].id}


def _row(page, employee_id):
    return page.split(f'data-employee="{employee_id}"')[1].split("</tr>")[0]


def _figures(row):
    """{figure: (number shown, link)} of a row of the employee table."""
    found = re.findall(r'data-figure="(\w+)"[^>]*>(?:<a href="([^"]+)">)?([^<]+)', row)
    return {name: (text.strip(), html.unescape(link)) for name, link, text in found}


def _list_count(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    found = re.search(r"</strong>\s*(\d+)", page.text)
    return int(found.group(1)) if found else 0


def test_admin_and_head_land_on_the_dashboard_managers_do_not(as_role):
    for who in ("admin", "head"):
        response = as_role(who).get("/")
        assert response.status_code == 302 and response.location.endswith("/stats/")
    assert as_role("manager").get("/").status_code == 200
    page = as_role("admin").get("/stats/").text
    assert "Статистика" in page and "<svg" in page and "Всего задач" in page


def test_head_sees_exact_figures_and_every_link_counts_the_same(as_role, dataset):
    head = as_role("head")
    page = head.get(f"/stats/?{PERIOD}").text
    figures = _figures(_row(page, dataset["manager"]))
    assert {k: v[0] for k, v in figures.items()} == {
        "total": "7", "done": "3", "open": "2", "refused": "1", "junk": "1",
        "deals": "10\u00a0000,00", "applications": "2\u00a0000,50"}
    expected = {"total": 7, "done": 3, "open": 2, "refused": 1, "junk": 1, "deals": 1,
                "applications": 2}
    for name, (_, link) in figures.items():
        assert _list_count(head, link) == expected[name], (name, link)
    assert "12\u00a0000,50" in _row(page, dataset["manager"])  # profit
    assert _figures(_row(page, dataset["head"]))["open"][0] == "4"
    # The plan: 1 deal of 2, 12 000,50 of 24 001, no calls of 10.
    plans = page.split('id="plans"')[1]
    assert "50,0 %" in plans and "0,0 %" in plans


def test_sorting_and_scope_by_manager_and_department(as_role, dataset, session):
    head = as_role("head")
    page = head.get(f"/stats/?{PERIOD}&sort=total&desc=1").text
    rows = re.findall(r'data-employee="(\d*)"', page)
    assert rows.index(str(dataset["manager"])) < rows.index(str(dataset["head"]))
    only = head.get(f"/stats/?{PERIOD}&manager={dataset['head']}").text
    assert re.findall(r'data-employee="(\d*)"', only) == [str(dataset["head"])]
    link = _figures(_row(only, dataset["head"]))["open"][1]
    assert _list_count(head, link) == 4
    department = Department(name=unique("Отдел статистики"))
    session.add(department)
    session.flush()
    session.get(Employee, dataset["head"]).department_id = department.id
    session.commit()
    try:
        page = head.get(f"/stats/?{PERIOD}&department={department.id}").text
        assert re.findall(r'data-employee="(\d*)"', page) == [str(dataset["head"])]
        totals = page.split('id="task-totals"')[1].split("</div></div>")[0]
        link = html.unescape(re.search(r'<a href="([^"]+)">4</a>', totals).group(1))
        assert _list_count(head, link) == 4
    finally:
        session.get(Employee, dataset["head"]).department_id = None
        session.commit()


def test_manager_sees_only_own_figures_whatever_is_asked(as_role, dataset):
    manager = as_role("manager")
    page = manager.get(f"/stats/?{PERIOD}&manager={dataset['head']}").text
    assert re.findall(r'data-employee="(\d*)"', page) == [str(dataset["manager"])]
    assert 'name="manager"' not in page and 'name="department"' not in page
    figures = _figures(_row(page, dataset["manager"]))
    assert figures["total"][0] == "7"
    assert _list_count(manager, figures["done"][1]) == 3
    funnel = manager.get(f"/stats/funnel/?{PERIOD}").text
    stage_row = funnel.split(f'data-stage="{dataset["stage"]}"')[1].split("</tr>")[0]
    assert re.search(r'data-figure="clients"><a href="[^"]+">1</a>', stage_row)
    csv = manager.get(f"/stats/csv?{PERIOD}").data.decode("utf-8-sig")
    assert "Тестов Head" not in csv and "Тестов Manager" in csv


def test_funnel_counts_link_to_the_clients_list(as_role, dataset):
    head = as_role("head")
    page = head.get(f"/stats/funnel/?{PERIOD}&manager={dataset['manager']}").text
    assert "Воронка продаж" in page and page.count("<svg") == 2
    assert "Звонок" in page and "Договор" in page
    stage_row = page.split(f'data-stage="{dataset["stage"]}"')[1].split("</tr>")[0]
    link = html.unescape(re.search(r'data-figure="clients"><a href="([^"]+)">(\d+)</a>',
                                   stage_row).group(1))
    assert _list_count(head, link) == 1
    everyone = head.get(f"/stats/funnel/?{PERIOD}").text
    stage_row = everyone.split(f'data-stage="{dataset["stage"]}"')[1].split("</tr>")[0]
    link = html.unescape(re.search(r'data-figure="clients"><a href="([^"]+)">2</a>',
                                   stage_row).group(1))
    assert _list_count(head, link) == 2


def test_exports_csv_and_pdf(as_role, dataset):
    head = as_role("head")
    response = head.get(f"/stats/csv?{PERIOD}")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    assert "Тестов Manager;7;3;2;1;1;10000,00;2000,50;12000,50" in text
    cp1251 = head.get(f"/stats/csv?{PERIOD}&encoding=cp1251&part=plans").data.decode("cp1251")
    assert "Тестов Manager;2;1;50,0" in cp1251
    days = head.get(f"/stats/csv?{PERIOD}&part=days").data.decode("utf-8-sig")
    assert "31.07.2034;1;0;0;1" in days
    funnel = head.get(f"/stats/funnel/csv?{PERIOD}").data.decode("utf-8-sig")
    assert "Звонок;20;2;" in funnel
    # Texts drawn only by the charts: a day of the bars, a caption of the funnel.
    pdfs = ((f"/stats/pdf?{PERIOD}", ("Статистика", "Тестов Manager", "50,0", "31.07")),
            (f"/stats/funnel/pdf?{PERIOD}", ("Воронка продаж", "Договор 1 · 10 000,00 ₽")))
    for url, words in pdfs:
        response = head.get(url)
        assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
        reader = PdfReader(io.BytesIO(response.data))
        text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
        for word in words:
            assert word in text, (url, word)


def test_bad_period_is_a_message_not_an_error(as_role):
    page = as_role("head").get("/stats/?period=custom&start=2034-07-31&end=2034-07-01")
    assert page.status_code == 200
    assert "Период не может закончиться раньше, чем начался" in page.text
    assert as_role("head").get("/stats/?period=custom&start=x").status_code == 200
    assert as_role("head").get("/stats/?manager=999999").status_code == 200
    assert as_role("head").get("/stats/funnel/?department=abc").status_code == 200


def test_read_only_sees_reports_but_cannot_plan(as_role, dataset):
    auditor = as_role("auditor")
    assert auditor.get(f"/stats/?{PERIOD}").status_code == 200
    assert auditor.get(f"/stats/funnel/?{PERIOD}").status_code == 200
    assert auditor.get(f"/stats/csv?{PERIOD}").status_code == 200
    assert "Тестов Manager" in auditor.get("/plans/list/").text
    response = auditor.post("/plans/add", {"manager": dataset["manager"],
                                           "month": "2034-09-01", "deals": "1",
                                           "revenue": "1", "calls": "1"}, follow=False)
    assert response.status_code in (302, 403)
    assert "/plans" not in (response.location or "/login")


def test_head_sets_plans_once_per_manager_and_month(as_role, dataset, session):
    head = as_role("head")
    form = {"manager": dataset["head"], "month": "2034-08-17", "deals": "3",
            "revenue": "150000", "calls": "40", "comment": ""}
    head.post("/plans/add", form)
    plan = session.scalar(select(SalesPlan).where(SalesPlan.manager_id == dataset["head"],
                                                  SalesPlan.month == datetime.date(2034, 8, 1)))
    assert plan is not None and plan.revenue == Decimal("150000.00")
    page = head.post("/plans/add", {**form, "month": "2034-08-02"}).text
    assert "уже есть план на 08.2034" in page
    bad = head.post("/plans/add", {**form, "month": "2034-09-01", "deals": "-1"}).text
    assert session.scalar(select(SalesPlan).where(
        SalesPlan.month == datetime.date(2034, 9, 1))) is None
    assert "has-error" in bad or "Number must be" in bad or "не меньше" in bad.lower() or \
        "должно быть" in bad


def test_manager_reads_only_own_plans_and_cannot_edit(as_role, dataset, session):
    manager = as_role("manager")
    page = manager.get("/plans/list/").text
    assert "07.2034" in page
    session.add(SalesPlan(manager_id=dataset["head"], month=datetime.date(2034, 10, 1),
                          deals=1, revenue=Decimal("1"), calls=1))
    session.commit()
    assert "10.2034" not in manager.get("/plans/list/").text
    plan = session.scalar(select(SalesPlan).where(SalesPlan.manager_id == dataset["manager"]))
    response = manager.get(f"/plans/edit/{plan.id}")
    assert response.status_code in (302, 403)


@pytest.mark.parametrize("url, words", [
    (f"/stats/pdf?{PERIOD}", ("Задачи", "Выполнено", "клиентов", "Прибыль,", "Сделки:")),
    (f"/stats/funnel/pdf?{PERIOD}", ("Вероятность,", "Клиентов", "Конверсия", "Выиграно")),
])
def test_report_headers_do_not_overlap(as_role, dataset, url, words):
    """No header or cell of the PDFs' tables is drawn over its neighbour
    (tests/web/test_report_pdfs.py reads the texts and their places)."""
    from tests.web.test_report_pdfs import _pieces, overlaps

    response = as_role("head").get(url)
    assert response.mimetype == "application/pdf"
    texts = {text for *_, text, _ in _pieces(response.data)}
    for word in words:  # the header words are there, each a piece of its own
        assert any(word in text for text in texts), word
    assert overlaps(response.data) == []
