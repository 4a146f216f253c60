"""A manager's own deal may be of a client they cannot see (the deal is
theirs, the client private to a colleague). Pages that list such deals —
the board, «Мой день», «Без планов» — name the client but link it only
where it opens: no link leads a user to «Страница не найдена»."""
import datetime
import re
from decimal import Decimal

from app.models import Client, Deal, Task
from tests.conftest import employee_id, unique

PAGES = ("/deals/board/", "/", "/followup/unplanned/")


def test_a_client_the_manager_cannot_open_is_named_not_linked(as_role, session):
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    hidden = Client(name=unique("Чужой клиент сделки"), responsible_id=head)
    own = Client(name=unique("Свой клиент сделки"), responsible_id=manager)
    past = datetime.date.today() - datetime.timedelta(days=3)
    deals = [Deal(title=unique("Сделка"), client=client, amount=Decimal("100"),
                  responsible_id=manager, expected_close=past) for client in (hidden, own)]
    session.add_all([hidden, own, *deals])
    session.commit()
    user = as_role("manager")
    for page in PAGES:
        html = user.get(page).text
        assert hidden.name in html and own.name in html, page
        assert f'href="/clients/show/{hidden.id}"' not in html, page
        assert f'href="/clients/show/{own.id}"' in html, page
        for client_id in set(re.findall(r'href="/clients/show/(\d+)"', html)):
            assert user.get(f"/clients/show/{client_id}").status_code == 200, (page, client_id)
    # Those who see every client get every link.
    head_page = as_role("head").get(f"/deals/board/?client={hidden.id}").text
    assert f'href="/clients/show/{hidden.id}"' in head_page


def test_a_planned_task_keeps_a_deal_off_the_unplanned_page(as_role, session):
    """The fixture above relies on deals without tasks being «Без планов»."""
    manager = employee_id(session, "manager")
    client = Client(name=unique("Запланированный"), responsible_id=manager)
    deal = Deal(title=unique("С задачей"), client=client, responsible_id=manager)
    session.add_all([client, deal, Task(client=client, deal=deal, assignee_id=manager,
                                        description="Позвонить",
                                        planned_at=datetime.datetime(2099, 1, 1, 9, 0))])
    session.commit()
    assert deal.title not in as_role("manager").get("/followup/unplanned/").text


def test_my_day_names_a_colleagues_deal_of_a_hidden_client_without_a_link(as_role, session):
    """A task given to a manager may be on a colleague's deal of a client
    private to someone else: «Мой день» names the deal, and links only deals
    that open (the load bench found such a link answering 404)."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    hidden = Client(name=unique("Скрытый клиент"), responsible_id=head)
    own = Client(name=unique("Свой клиент"), responsible_id=manager)
    closed = Deal(title=unique("Сделка коллеги"), client=hidden, responsible_id=head)
    open_deal = Deal(title=unique("Своя сделка"), client=own, responsible_id=manager)
    now = datetime.datetime.utcnow().replace(microsecond=0)
    session.add_all([hidden, own, closed, open_deal] + [
        Task(client=deal.client, deal=deal, assignee_id=manager, author_id=head,
             description=unique("Позвонить"), planned_at=now) for deal in (closed, open_deal)])
    session.commit()
    user = as_role("manager")
    html = user.get("/").text
    assert closed.title in html and open_deal.title in html
    assert f'href="/deals/show/{closed.id}"' not in html
    assert f'href="/deals/show/{open_deal.id}"' in html
    assert user.get(f"/deals/show/{closed.id}").status_code == 404
    for deal_id in set(re.findall(r'href="/deals/show/(\d+)"', html)):
        assert user.get(f"/deals/show/{deal_id}").status_code == 200, deal_id
