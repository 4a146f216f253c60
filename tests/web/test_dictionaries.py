"""Dictionary screens: lists, changes, the "in use" rule, trees and branch
filters, field checks and who may change what."""
import json

import pytest
from sqlalchemy import select

from app.models import (
    Client,
    ClientOrigin,
    ClientStatus,
    ClientType,
    Currency,
    Employee,
    FunnelStage,
    MarketSegment,
    Product,
    StatusKind,
    Tag,
    Task,
    TaskStatus,
    TaskType,
    Tax,
)
from app.views.dictionaries import TaskTypeView
from tests.conftest import unique

IN_USE = "Запись используется: {} — удалить нельзя, сделайте её неактивной"

SCREENS = {
    "/task-types/list/": ("Типы задач", ["Звонок", "Встреча", "Договор", "Письмо"]),
    "/task-statuses/list/": ("Статусы задач", ["В работе", "Брак: дубль", "#d9edf7"]),
    "/client-statuses/list/": ("Статусы клиентов", ["Потенциальный", "Постоянный"]),
    "/client-types/list/": ("Типы клиентов", ["Покупатель", "Конкурент"]),
    "/client-groups/list/": ("Группы клиентов", []),
    "/client-origins/list/": ("Источники клиентов", ["Сайт", "Входящий звонок"]),
    "/market-segments/list/": ("Сегменты рынка", ["Оптовые покупатели"]),
    "/funnel-stages/list/": ("Стадии воронки", ["Коммерческое предложение", "Вероятность, %"]),
    "/loan-purposes/list/": ("Цели кредита", ["Ипотека", "Рефинансирование"]),
    "/regions/list/": ("Регионы", ["Республика Адыгея", "Код региона"]),
    "/products/list/": ("Товары и услуги", ["Консультация", "5\u00a0000,00"]),
    "/taxes/list/": ("Налоги", ["НДС 22 %", "Ставка, %"]),
    "/currencies/list/": ("Валюты", ["Российский рубль", "RUB", "Базовая валюта"]),
    "/tags/list/": ("Теги", ["VIP", "Повторный"]),
    "/refusal-reasons/list/": ("Причины отказа", ["Выбрали конкурента"]),
    "/action-types/list/": ("Виды действий", ["Отправка документов"]),
}


def _add(session, obj):
    session.add(obj)
    session.commit()
    return obj


def _form(name, **fields):
    return {"name": name, "is_active": "y", "sort_order": "0", **fields}


def _exists(session, model, pk):
    session.expire_all()
    return session.get(model, pk) is not None


# --- lists and menu ------------------------------------------------------------


@pytest.mark.parametrize("url", SCREENS)
def test_each_dictionary_lists_its_russian_values(as_role, url):
    title, values = SCREENS[url]
    page = as_role("admin").get(url)
    assert page.status_code == 200
    assert title in page.text
    for value in values:
        assert value in page.text, (url, value)


def test_dictionaries_have_their_own_menu(as_role):
    page = as_role("admin").get("/task-types/list/").text
    assert "Справочники" in page
    for label in ("Типы задач", "Статусы задач", "Стадии воронки", "Валюты", "Регионы"):
        assert label in page


def test_list_goes_by_sort_order_then_name(as_role, session):
    second, first = unique("Яблоко"), unique("Арбуз")
    _add(session, ClientType(name=second, sort_order=5))
    _add(session, ClientType(name=first, sort_order=5))
    page = as_role("admin").get("/client-types/list/").text
    assert page.index(first) < page.index(second) < page.index("Покупатель")


def test_task_statuses_show_colour_and_kind(as_role):
    page = as_role("admin").get("/task-statuses/list/").text
    assert "background:#c8e6c9" in page  # the swatch of "Завершена"
    assert "Брак" in page and "Учитывается как" in page


def test_a_malformed_colour_in_the_database_is_shown_as_text(as_role, session):
    # Only the form checks colours; an import or the database may not.
    tag = _add(session, Tag(name=unique("Странный"), color='"><i>'))
    page = as_role("admin").get(f"/tags/show/{tag.id}").text
    assert "&#34;&gt;&lt;i&gt;" in page and '"><i>' not in page
    assert 'background:"' not in as_role("admin").get("/tags/list/").text


def test_task_statuses_can_be_searched_by_kind(as_role):
    page = as_role("admin").get("/task-statuses/list/?_flt_0_kind=junk").text
    assert "Брак: дубль" in page
    assert "Переговоры" not in page


# --- add, edit, delete -------------------------------------------------------------


def test_admin_adds_edits_and_deletes_a_value(as_role, session):
    admin = as_role("admin")
    name = unique("Партнёрская программа")
    admin.post("/client-origins/add", _form(name, sort_order="70"))
    origin = session.scalar(select(ClientOrigin).where(ClientOrigin.name == name))
    assert origin is not None and origin.is_active and origin.sort_order == 70
    assert name in admin.get("/client-origins/list/").text

    # An unticked box is not sent: the value becomes inactive.
    admin.post(f"/client-origins/edit/{origin.id}", {"name": name + " (старая)",
                                                      "sort_order": "71"})
    session.expire_all()
    origin = session.get(ClientOrigin, origin.id)
    assert origin.name == name + " (старая)" and origin.is_active is False

    page = admin.post(f"/client-origins/delete/{origin.id}").text
    assert "Запись используется" not in page
    assert not _exists(session, ClientOrigin, origin.id)


def test_admin_adds_a_task_status_with_colour_kind_and_dates(as_role, session):
    name = unique("Ожидает документы")
    as_role("admin").post("/task-statuses/add", _form(
        name, color="#112233", kind="junk", takes_dates="y"))
    status = session.scalar(select(TaskStatus).where(TaskStatus.name == name))
    assert (status.color, status.kind, status.takes_dates) == ("#112233", StatusKind.JUNK, True)


def test_admin_adds_a_product_with_a_russian_price(as_role, session):
    tax = session.scalar(select(Tax).where(Tax.name == "НДС 22 %"))
    name = unique("Оценка залога")
    as_role("admin").post("/products/add", _form(
        name, price="12 500,50", unit="услуга", tax=str(tax.id)))
    product = session.scalar(select(Product).where(Product.name == name))
    assert str(product.price) == "12500.50" and product.tax_id == tax.id


def test_head_of_sales_maintains_dictionaries(as_role, session):
    name = unique("Горячий")
    as_role("head").post("/tags/add", _form(name, color="#ff0000"))
    assert session.scalar(select(Tag).where(Tag.name == name)) is not None


# --- a value in use stays ------------------------------------------------------------


def test_client_status_in_use_is_not_deleted(as_role, session):
    status = _add(session, ClientStatus(name=unique("Ключевой")))
    client = _add(session, Client(name=unique("ООО Ромашка"), status=status))
    page = as_role("admin").post(f"/client-statuses/delete/{status.id}").text
    assert IN_USE.format("Клиенты: 1") in page
    assert _exists(session, ClientStatus, status.id)
    # Once no client has it, it goes.
    client.status = None
    session.commit()
    as_role("admin").post(f"/client-statuses/delete/{status.id}")
    assert not _exists(session, ClientStatus, status.id)


def test_task_status_in_use_is_not_deleted(as_role, session):
    status = _add(session, TaskStatus(name=unique("Пауза"), color="#eeeeee"))
    for _ in range(2):
        _add(session, Task(status=status, description="Позвонить"))
    page = as_role("admin").post(f"/task-statuses/delete/{status.id}").text
    assert IN_USE.format("Задачи: 2") in page
    assert _exists(session, TaskStatus, status.id)


def test_tag_on_clients_is_named_by_the_clients(as_role, session):
    tag = _add(session, Tag(name=unique("Сомнительный"), color="#000000"))
    _add(session, Client(name=unique("ИП Петров"), tags=[tag]))
    page = as_role("admin").post(f"/tags/delete/{tag.id}").text
    assert IN_USE.format("Клиенты: 1") in page
    assert _exists(session, Tag, tag.id)


def test_segment_goes_with_its_managers_bound(as_role, session):
    manager = session.scalar(select(Employee).where(Employee.username == "manager"))
    segment = _add(session, MarketSegment(name=unique("Госзаказ"), managers=[manager]))
    page = as_role("admin").post(f"/market-segments/delete/{segment.id}").text
    assert "Запись используется" not in page
    assert not _exists(session, MarketSegment, segment.id)
    assert _exists(session, Employee, manager.id)


def test_group_with_subgroups_is_not_deleted(as_role, session):
    top = _add(session, TaskType(name=unique("Продажи")))
    _add(session, TaskType(name=unique("Холодный звонок"), parent=top))
    page = as_role("admin").post(f"/task-types/delete/{top.id}").text
    assert IN_USE.format("Типы задач: 1") in page
    assert _exists(session, TaskType, top.id)


# --- trees and branches ------------------------------------------------------------


def _three_levels(session):
    top = _add(session, TaskType(name=unique("Уровень 1")))
    mid = _add(session, TaskType(name=unique("Уровень 2"), parent=top))
    low = _add(session, TaskType(name=unique("Уровень 3"), parent=mid))
    return top, mid, low


def test_task_types_nest_three_levels_at_most(as_role, session):
    top, mid, low = _three_levels(session)
    name = unique("Уровень 4")
    page = as_role("admin").post("/task-types/add", _form(name, parent=str(low.id))).text
    assert "Вложенность — не больше 3 уровней" in page
    assert session.scalar(select(TaskType).where(TaskType.name == name)) is None


def test_moving_a_branch_counts_its_depth(as_role, session):
    top, mid, low = _three_levels(session)
    other = _add(session, TaskType(name=unique("Другая группа")))
    other_child = _add(session, TaskType(name=unique("Подгруппа"), parent=other))
    # mid carries low along: other > other_child > mid > low is four levels.
    page = as_role("admin").post(f"/task-types/edit/{mid.id}",
                                 _form(mid.name, parent=str(other_child.id))).text
    assert "Вложенность — не больше 3 уровней" in page
    session.expire_all()
    assert session.get(TaskType, mid.id).parent_id == top.id


def test_group_cannot_go_inside_itself(as_role, session):
    top, mid, low = _three_levels(session)
    page = as_role("admin").post(f"/task-types/edit/{top.id}",
                                 _form(top.name, parent=str(low.id))).text
    assert "Элемент не может быть вложен сам в себя" in page
    session.expire_all()
    assert session.get(TaskType, top.id).parent_id is None


def _branch_arg(app):
    """``_flt_<n>_parent``: n is the filter's place among FAB's on that column."""
    view = next(v for v in app.appbuilder.baseviews if isinstance(v, TaskTypeView))
    return f"_flt_{view.branch_filter}_parent"


def _row(name):
    return f"<td>{name}</td>"


def test_list_filtered_by_a_branch(app, as_role, session):
    top, mid, low = _three_levels(session)
    admin = as_role("admin")

    page = admin.get(f"/task-types/list/?{_branch_arg(app)}={top.id}").text
    assert all(_row(t.name) in page for t in (top, mid, low))
    assert _row("Письмо") not in page

    page = admin.get(f"/task-types/list/?{_branch_arg(app)}={mid.id}").text
    assert _row(mid.name) in page and _row(low.name) in page
    assert _row(top.name) not in page


def test_branch_filter_is_offered_and_a_parent_links_to_its_branch(app, as_role, session):
    top, mid, low = _three_levels(session)
    page = as_role("admin").get("/task-types/list/").text
    assert json.dumps("В ветке") in page  # the filter names reach the page as JSON
    assert f"{_branch_arg(app)}={mid.id}" in page  # low's parent cell


def test_nonsense_branch_filter_shows_everything(app, as_role):
    page = as_role("admin").get(f"/task-types/list/?{_branch_arg(app)}=abc")
    assert page.status_code == 200 and _row("Звонок") in page.text


# --- field checks -------------------------------------------------------------------


def test_invalid_colour_is_refused(as_role, session):
    name = unique("Красный")
    page = as_role("admin").post("/tags/add", _form(name, color="red")).text
    assert "Цвет записывается как #RRGGBB" in page
    assert session.scalar(select(Tag).where(Tag.name == name)) is None


def test_probability_above_100_is_refused(as_role, session):
    name = unique("Оплата")
    page = as_role("admin").post("/funnel-stages/add", _form(name, probability="150")).text
    assert "Вероятность — процент от 0 до 100" in page
    assert session.scalar(select(FunnelStage).where(FunnelStage.name == name)) is None


def test_negative_tax_rate_is_refused(as_role, session):
    name = unique("НДС странный")
    page = as_role("admin").post("/taxes/add", _form(name, rate="-5")).text
    assert "Ставка налога — от 0 до 100 процентов" in page
    assert session.scalar(select(Tax).where(Tax.name == name)) is None


def test_bad_region_code_is_refused(as_role):
    page = as_role("admin").post("/regions/add", _form(unique("Регион"), code="7a")).text
    assert "Две или три цифры" in page


def _code():
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in unique("x")[2:])
    return letters[:3]


def test_second_base_currency_is_refused(as_role, session):
    code = _code()
    page = as_role("admin").post("/currencies/add", _form(
        unique("Золото"), code=code, rate="1", is_base="y")).text
    assert "Базовая валюта уже есть — RUB; сначала снимите отметку у неё" in page
    assert session.scalar(select(Currency).where(Currency.code == code.upper())) is None


def test_currency_code_is_upper_cased_and_checked(as_role, session):
    admin = as_role("admin")
    code = _code()
    admin.post("/currencies/add", _form(unique("Тенге"), code=code, rate="0,18"))
    currency = session.scalar(select(Currency).where(Currency.code == code.upper()))
    assert currency is not None and str(currency.rate) == "0.180000"
    page = admin.post("/currencies/add", _form(unique("Тенге"), code="KZ1", rate="1")).text
    assert "Три латинские буквы по ISO 4217" in page
    page = admin.post("/currencies/add", _form(unique("Тенге"), code=_code(), rate="0")).text
    assert "Курс должен быть больше нуля" in page


def test_base_currency_can_be_saved_as_it_is(as_role, session):
    rub = session.scalar(select(Currency).where(Currency.code == "RUB"))
    page = as_role("admin").post(f"/currencies/edit/{rub.id}", _form(
        rub.name, code="RUB", rate="1", is_base="y", sort_order=str(rub.sort_order))).text
    assert "Базовая валюта уже есть" not in page
    session.expire_all()
    assert session.get(Currency, rub.id).is_base is True


# --- who may change dictionaries -----------------------------------------------------


def test_read_only_sees_lists_but_cannot_add(as_role, session):
    auditor = as_role("auditor")
    assert "Звонок" in auditor.get("/task-types/list/").text
    assert auditor.get("/task-types/add").status_code == 403
    name = unique("Аудит")
    assert auditor.post("/task-types/add", _form(name)).status_code == 403
    assert session.scalar(select(TaskType).where(TaskType.name == name)) is None


def test_manager_reads_dictionaries_but_cannot_change_them(as_role, session):
    manager = as_role("manager")
    assert "Консультация" in manager.get("/products/list/").text
    assert manager.get("/products/add").status_code == 403
    name = unique("Менеджерский")
    assert manager.post("/tags/add", _form(name, color="#123456")).status_code == 403
    assert session.scalar(select(Tag).where(Tag.name == name)) is None
    tag = session.scalar(select(Tag).where(Tag.name == "VIP"))
    assert manager.post(f"/tags/edit/{tag.id}", _form("Взлом", color="#000000")).status_code == 403
    assert manager.post(f"/tags/delete/{tag.id}").status_code == 403
    assert _exists(session, Tag, tag.id)
