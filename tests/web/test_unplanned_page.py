"""«Продажи → Без планов» in pages: fifty rows a page, newest
first, a pager for each list, and page numbers that cannot break it."""
import re

from sqlalchemy import select

from app.models import Client, Deal, Employee
from app.views.followup import MAX_PAGE, PAGE_SIZE
from tests.conftest import unique


def _section(page, kind):
    return page.split(f'id="unplanned-{kind}"')[1].split('id="unplanned-')[0]


def _deal_ids(page):
    return [int(i) for i in re.findall(r"/deals/show/(\d+)", _section(page, "deal"))]


def test_deals_come_in_pages_newest_first(as_role, session):
    head = session.scalar(select(Employee).where(Employee.username == "head"))
    client = Client(name=unique("Много сделок"), responsible_id=head.id)
    session.add(client)
    session.flush()
    deals = [Deal(title=unique(f"Без плана {n}"), client_id=client.id,
                  responsible_id=head.id) for n in range(PAGE_SIZE + 10)]
    session.add_all(deals)
    session.commit()
    newest_first = sorted((d.id for d in deals), reverse=True)
    user = as_role("head")
    first = user.get("/followup/unplanned/").text
    assert _deal_ids(first) == newest_first[:PAGE_SIZE]
    assert "page_deal=1" in _section(first, "deal")
    second = user.get("/followup/unplanned/?page_deal=1").text
    assert _deal_ids(second)[:10] == newest_first[PAGE_SIZE:]
    # The clients' list keeps its own page.
    assert _section(second, "client") == _section(
        user.get("/followup/unplanned/?page_deal=1&page_client=0").text, "client")


def test_page_numbers_out_of_range_or_not_numbers(as_role):
    user = as_role("head")
    for args in ("page_deal=abc&page_client=-1", "page_deal=99999999999999",
                 f"page_deal={MAX_PAGE + 1}", "page_client=1e3"):
        response = user.get(f"/followup/unplanned/?{args}")
        assert response.status_code == 200, args
        assert 'id="unplanned-deal"' in response.text
    far = user.get(f"/followup/unplanned/?page_deal={MAX_PAGE + 50}").text
    last = user.get(f"/followup/unplanned/?page_deal={MAX_PAGE}").text
    assert _deal_ids(far) == _deal_ids(last)  # the last page the list reaches
    if not _deal_ids(far):
        assert "На этой странице ничего нет." in _section(far, "deal")
