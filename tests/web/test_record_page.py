"""The record page shows values as people read them, and offers editing to
whoever may change the record."""
import datetime
import re
from decimal import Decimal

from app.models import Application, Client, ProcessingStatus, PublicAccess
from tests.conftest import employee_id, unique


def _detail(page):
    """The record's own table (before the history and documents tabs)."""
    return page[page.index('id="Home"'):page.index('id="Documents"')]


def _row(detail, label):
    match = re.search(rf"<th[^>]*>{re.escape(label)}</th>\s*<td>\s*<span[^>]*>(.*?)</span>",
                      detail, re.S)
    assert match, label
    return match.group(1).strip()


def test_client_page_reads_like_a_card(as_role, session):
    client = Client(name=unique("Карточкин"), responsible_id=employee_id(session, "manager"),
                    created_at=datetime.datetime(2026, 3, 1, 21, 30))
    session.add(client)
    session.commit()
    detail = _detail(as_role("manager").get(f"/clients/show/{client.id}").text)
    assert _row(detail, "Вид") == "Физическое лицо"
    assert _row(detail, "Доступ для других") == "Только ответственный и участники"
    assert _row(detail, "Отказ от рассылок") == "Нет"
    assert _row(detail, "Дата рождения") == "" and _row(detail, "Теги") == ""
    assert _row(detail, "Создан") == "02.03.2026 00:30"  # 21:30 UTC is past midnight in Moscow
    for raw in (">None<", ">person<", ">private<", ">False<", ">[]<"):
        assert raw not in detail


def test_application_page_shows_labels_and_money(as_role, session):
    client = Client(name=unique("Заявкин"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.flush()
    application = Application(client_id=client.id, responsible_id=client.responsible_id,
                              date=datetime.date(2026, 4, 5), amount=Decimal("1234567.5"),
                              status=ProcessingStatus.REFUSED)
    session.add(application)
    session.commit()
    detail = _detail(as_role("manager").get(f"/applications/show/{application.id}").text
                     .replace('id="open-calculator"', 'id="Documents"'))
    assert _row(detail, "Статус") == "Отказ"
    assert _row(detail, "Дата") == "05.04.2026"
    assert _row(detail, "Сумма") == "1\u00a0234\u00a0567,50"


def test_edit_link_only_for_who_may_change_the_record(as_role, session):
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    own = Client(name=unique("Свой"), responsible_id=manager)
    shown_only = Client(name=unique("Чужой"), responsible_id=head,
                        public_access=PublicAccess.READ)
    session.add_all([own, shown_only])
    session.commit()
    manager_client = as_role("manager")
    page = manager_client.get(f"/clients/show/{own.id}").text
    assert f'href="/clients/edit/{own.id}"' in page and 'id="edit-record"' in page
    page = manager_client.get(f"/clients/show/{shown_only.id}")
    assert page.status_code == 200 and 'id="edit-record"' not in page.text
    assert manager_client.get(f"/clients/edit/{shown_only.id}").status_code == 403
    auditor = as_role("auditor").get(f"/clients/show/{own.id}")
    assert auditor.status_code == 200 and 'id="edit-record"' not in auditor.text
    head_page = as_role("head").get(f"/clients/show/{shown_only.id}").text
    assert f'href="/clients/edit/{shown_only.id}"' in head_page


def test_a_page_holds_one_confirmation_and_one_alert_dialog(as_role, session):
    """The layout draws FAB's dialogs and the record widget drew them again:
    two elements of one id. Each is drawn once, in Russian, on a record
    page, a list and a form alike."""
    client = Client(name=unique("Диалогов"), responsible_id=employee_id(session, "manager"))
    session.add(client)
    session.commit()
    manager = as_role("manager")
    for path in (f"/clients/show/{client.id}", "/clients/list/", f"/clients/edit/{client.id}"):
        page = manager.get(path).text
        assert page.count('id="modal-confirm"') == 1, path
        assert page.count('id="modal-alert"') == 1, path
        assert "Cancel<" not in page and ">OK<" not in page.replace(" ", "").replace("\n", ""), path
