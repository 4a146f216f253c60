"""The quick search box of a list, in Chromium: a
manager types part of a client's name in another case, with е for ё,
presses Enter and sees their client — not another manager's — and the
search text stays in the box."""
import uuid

import pytest
from sqlalchemy import select

from app.models import Client, Employee
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_typing_into_the_quick_search_box_finds_the_client(live_server, page, session):
    manager = session.scalar(select(Employee.id).where(Employee.username == "manager"))
    head = session.scalar(select(Employee.id).where(Employee.username == "head"))
    word = "Ёжик" + uuid.uuid4().hex[:6]
    own = Client(name=f"ООО «{word} Лесной»", phone="+79165550101", responsible_id=manager)
    other = Client(name=f"ООО «{word} Чужой»", responsible_id=head)
    session.add_all([own, other])
    session.commit()
    sign_in(page, live_server, "manager")
    page.goto(live_server + "/clients/list/")
    typed = word.lower().replace("ё", "е")
    page.fill("#quick-search", typed)
    page.press("#quick-search", "Enter")
    page.wait_for_selector(f"text={own.name}")
    assert page.input_value("#quick-search") == typed
    assert other.name not in page.content()
    assert "_flt_0_quick=" in page.url
