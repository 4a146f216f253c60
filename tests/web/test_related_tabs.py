"""A record page's tabs of related records are fetched when opened
(views/related_tabs.py): the page holds a placeholder per tab, the tab's
list comes from /<route>/related/<pk>/<Tab> under the record's row rule and
the tab's list permission, with its own paging."""
import re

import pytest

from app import db
from app.models import Client, Task
from app.security import MANAGER
from tests.conftest import employee_id, make_app, unique

TAB = re.compile(r'class="sdelka-related-tab" data-src="([^"]+)"')


@pytest.fixture
def client_with_tasks(session):
    """A manager's client with 27 tasks (two pages of 25), and someone else's
    private client."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("вкладки").split()[-1]
    own = Client(name=f"{tag} свой", responsible_id=manager)
    hidden = Client(name=f"{tag} чужой", responsible_id=head)
    session.add_all([own, hidden])
    session.flush()
    session.add_all([Task(client_id=own.id, description=f"{tag} задача {i:02d}",
                          assignee_id=manager, author_id=manager) for i in range(27)])
    session.commit()
    return tag, own.id, hidden.id


def test_the_page_holds_placeholders_and_each_tab_its_clients_rows(as_role, client_with_tasks):
    tag, own, _ = client_with_tasks
    manager = as_role("manager")
    page = manager.get(f"/clients/show/{own}").text
    tabs = TAB.findall(page)
    assert f"/clients/related/{own}/TaskView" in tabs and len(tabs) >= 6
    # No list is built with the page: the tab holds its placeholder alone.
    assert re.search(r'<div id="TaskView" class="tab-pane">\s*<div class="sdelka-related-tab"'
                     r'[^>]*><p class="text-muted">Загрузка…</p></div>\s*</div>', page)
    tasks = manager.get(f"/clients/related/{own}/TaskView")
    assert tasks.status_code == 200 and "<html" not in tasks.text
    assert len(set(re.findall(r"/tasks/show/(\d+)", tasks.text))) == 25
    assert "action_check" not in tasks.text  # no bulk actions in a tab
    # The next page, by FAB's own argument: its pager links come back here.
    second = manager.get(f"/clients/related/{own}/TaskView?page_TaskView=1").text
    assert len(set(re.findall(r"/tasks/show/(\d+)", second))) == 2
    assert f"/clients/related/{own}/TaskView?page_TaskView=1" in tasks.text
    # A page asked with a tab's arguments hands them on to that tab.
    page = manager.get(f"/clients/show/{own}?page_TaskView=1&_flt_0_x=1").text
    assert f"/clients/related/{own}/TaskView?page_TaskView=1" in TAB.findall(page)


def test_a_tab_follows_the_records_row_rule(as_role, client_with_tasks):
    _, own, hidden = client_with_tasks
    manager = as_role("manager")
    assert manager.get(f"/clients/related/{hidden}/TaskView").status_code == 404
    assert manager.get(f"/clients/related/{own}/NoSuchView").status_code == 404
    assert manager.get(f"/clients/related/{2**31}/TaskView").status_code == 404
    assert as_role("head").get(f"/clients/related/{hidden}/TaskView").status_code == 200
    auditor = as_role("auditor")  # read-only: the record page's tabs are reading
    assert auditor.get(f"/clients/related/{own}/TaskView").status_code == 200


def test_a_tab_needs_its_lists_permission(as_role, client_with_tasks, database_url):
    tag, own, _ = client_with_tasks
    manager = as_role("manager")
    other = make_app(database_url)
    with other.app_context():
        sm = other.appbuilder.sm
        role, grant = sm.find_role(MANAGER), sm.find_permission_view_menu("can_list", "TaskView")
        sm.del_permission_role(role, grant)
        try:
            page = manager.get(f"/clients/show/{own}").text
            assert f"/clients/related/{own}/TaskView" not in page
            assert 'href="#TaskView"' not in page
            refused = manager.get(f"/clients/related/{own}/TaskView")
            assert refused.status_code == 403 and f"{tag} задача" not in refused.text
        finally:
            sm.add_permission_role(role, grant)
        db.session.remove()


def test_the_edit_page_offers_the_same_tabs(as_role, client_with_tasks):
    """FAB's edit page lists the related views too: the same placeholders."""
    _, own, _ = client_with_tasks
    page = as_role("manager").get(f"/clients/edit/{own}").text
    assert f"/clients/related/{own}/TaskView" in TAB.findall(page)
