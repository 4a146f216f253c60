"""Search as people search: the quick search box of
every register list, the filter by client and the client picker find any
part of a name, a phone in any format, an INN or an e-mail, in any case,
ё as е; row access applies to what they find exactly as to the list."""
import random
import re
import sqlite3
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select, text

from app.models import (
    Application,
    Client,
    Deal,
    Employee,
    Invoice,
    Lead,
    ProcessingStatus,
    PublicAccess,
    Task,
)
from app.services import search
from app.views.requestargs import MAX_PAGE_SIZE
from tests.conftest import employee_id, statements_sent, unique
from tests.web.test_registers import REGISTER_LISTS

Q = "_flt_0_quick"
BY_CLIENT = "_flt_1_client"


def _word():
    """A Cyrillic word no other test's data holds."""
    return "".join(random.choice("бвгджзклмнпрстфхцчшщ") + random.choice("аоуыэя")
                   for _ in range(4)) + uuid.uuid4().hex[:4]


@pytest.fixture
def people(session):
    """A company of the manager, one of the head of sales (hidden from the
    manager), each with an application, a deal, a task and an invoice."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    word = _word()
    digits = "".join(random.choice("0123456789") for _ in range(7))
    inn = "77" + "".join(random.choice("0123456789") for _ in range(8))
    own = Client(name=f"ООО «{word.capitalize()}-Ёлка»", phone=f"+7916{digits}",
                 email=f"Info.{word}@Example.com", inn=inn, responsible_id=manager)
    other = Client(name=f"ИП {word.capitalize()} Хранитель", responsible_id=head,
                   public_access=PublicAccess.PRIVATE)
    session.add_all([own, other])
    session.flush()
    for client, owner in ((own, manager), (other, head)):
        session.add_all([
            Application(client=client, amount=Decimal("100"), responsible_id=owner),
            Deal(client=client, title=f"Сделка {client.name}", responsible_id=owner),
            Task(client=client, description="звонок", assignee_id=owner, author_id=owner),
            Invoice(client=client, number=uuid.uuid4().hex[:12], responsible_id=owner),
        ])
    session.commit()
    return {"word": word, "digits": digits, "inn": inn, "own": own.id, "other": other.id,
            "own_name": own.name, "other_name": other.name}


def _client_ids(page):
    return {int(i) for i in re.findall(r"/clients/show/(\d+)", page)}


def _found(user, typed):
    return _client_ids(user.get("/clients/list/", query_string={Q: typed}).text)


def test_search_text_is_folded():
    assert search.fold("  ООО «Ёлка»  Вектор ") == "ооо «елка» вектор"
    assert search.phone_digits("8 (916) 123-45-67") == "79161234567"
    assert search.terms("8 916 123") == ["8 916 123", "8916123", "7916123"]
    # A whole phone number written with separators is looked for as phones
    # are kept, and only so; a shorter number may be a name's («ООО 1-2-3»).
    assert search.terms("8 (916) 123-45-67") == ["79161234567"]
    assert search.terms("+7 916 123 45 67") == ["79161234567"]
    assert search.terms("(916) 123-45-67") == ["9161234567"]
    assert search.terms("1-2-3") == ["1-2-3", "123"]


_LETTERS = "абвеёжйоыяАБВЕЁЖЙОЫЯabzABZ019*?[]%_\\«»-. "


@given(text=st.text(_LETTERS, max_size=12), start=st.integers(0, 12), size=st.integers(1, 6))
def test_sqlite_glob_of_a_term_matches_as_folding_does(text, start, size):
    """A title's own words on SQLite: GLOB with a class per letter finds
    exactly what folding both sides would (one space is one: no runs)."""
    text = " ".join(text.split())
    term = search.fold(text[start:start + size])
    other = search.fold(text[::-1][:size])
    with sqlite3.connect(":memory:") as db:
        for typed in (term, other):
            if not typed:
                continue
            found = db.execute("SELECT ? GLOB ?", (text, search.glob_pattern(typed))).fetchone()[0]
            assert bool(found) == (typed in search.fold(text)), (text, typed)


@given(text=st.text(_LETTERS, max_size=12), size=st.integers(1, 6))
def test_sqlite_glob_of_a_beginning_matches_as_folding_does(text, size):
    """A client's name begins with what was typed, on SQLite."""
    text = " ".join(text.split())
    with sqlite3.connect(":memory:") as db:
        for typed in (search.fold(text[:size]), search.fold(text[1:size + 1])):
            if not typed:
                continue
            found = db.execute("SELECT ? GLOB ?",
                               (text, search.glob_pattern(typed, prefix=True))).fetchone()[0]
            assert bool(found) == search.fold(text).startswith(typed), (text, typed)


def _name_filter(app, filter_name):
    """The number of a filter of the client list's «Наименование» column."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "ClientView")
    found = view._filters.get_search_filters()["name"]
    return next(i for i, f in enumerate(found) if type(f).__name__ == filter_name)


@pytest.mark.parametrize("how, typed, expected", [
    ("FilterNameStartsWith", "ооо «{word}", {"own"}),
    ("FilterNameStartsWith", "ООО «{WORD}-ЕЛКА»", {"own"}),
    ("FilterNameStartsWith", "ип {Word}", {"other"}),
    ("FilterNameStartsWith", "{word}", set()),  # in the middle, not at the start
    ("FilterNameContains", "{WORD}", {"own", "other"}),
    ("FilterNameContains", "{word}-ёлка", {"own"}),
    ("FilterNameContains", "ип", {"other"}),  # too short for an index
    ("FilterNameContains", "{word}%", set()),  # % and _ are letters here
])
def test_the_name_filters_read_as_people_write(app, as_role, people, session, database_url,
                                                how, typed, expected):
    """«Наименование» begins with / holds: any case of Cyrillic, ё as е, on
    both databases; a term of a trigram or more goes through the client
    index (FAB's ILIKE read every client, and on SQLite knew no Cyrillic
    case). A manager's list still shows only the clients they may see."""
    word = people["word"]
    typed = typed.format(word=word, Word=word.capitalize(), WORD=word.upper())
    query = {f"_flt_{_name_filter(app, how)}_name": typed}
    admin = as_role("admin")
    with statements_sent(app) as sent:
        page = admin.get("/clients/list/", query_string=query)
    found = _client_ids(page.text) & {people["own"], people["other"]}
    assert found == {people[k] for k in expected}, (how, typed)
    if len(search.fold(typed)) >= search.TRIGRAM:
        index = "client_search MATCH" if database_url.startswith("sqlite") \
            else "client.search LIKE"
        assert any(index in statement for statement in sent), sent
    mine = _client_ids(as_role("manager").get("/clients/list/", query_string=query).text)
    assert mine & {people["own"], people["other"]} == \
        {people[k] for k in expected if k == "own"}


def test_the_name_filters_leave_fabs_rest_operators_alone(app, as_role, people, many_tags):
    """FAB keeps one filter class per operator name for every model's REST
    filters, written by each filter made: with FAB's "sw" the name filter
    took over the tags' API, which then filtered tags by a client's name
    (none found)."""
    from flask_appbuilder.models.filters import map_args_filter
    from flask_appbuilder.models.sqla.filters import FilterContains, FilterStartsWith

    admin = as_role("admin")
    for how in ("FilterNameStartsWith", "FilterNameContains"):
        admin.get("/clients/list/", query_string={
            f"_flt_{_name_filter(app, how)}_name": people["word"]})
    assert map_args_filter["sw"] is FilterStartsWith
    assert map_args_filter["ct"] is FilterContains
    found = admin.get(f"/api/v1/tag/?q=(filters:!((col:name,opr:sw,value:'{many_tags}')))")
    assert found.json["count"] == MAX_PAGE_SIZE + 5, found.json


@pytest.mark.parametrize("typed", ["{word}", "{Word}", "{WORD}", "ёлка", "ЕЛКА", "-елка",
                                   "ооо «{word}"])
def test_quick_search_finds_any_part_in_any_case(as_role, people, typed):
    word = people["word"]
    typed = typed.format(word=word, Word=word.capitalize(), WORD=word.upper())
    if "лка" in typed:  # common words: the company's own with its name
        typed = f"{word}-{typed.lstrip('-')}"
    assert people["own"] in _found(as_role("admin"), typed)


@pytest.mark.parametrize("phone", ["+7 916 {a}-{b}-{c}", "8 (916) {a}{b}{c}", "916{a}{b}{c}",
                                   "{a}-{b}-{c}", "7916{a}{b}{c}"])
def test_quick_search_finds_a_phone_typed_in_any_format(as_role, people, phone):
    d = people["digits"]
    typed = phone.format(a=d[:3], b=d[3:5], c=d[5:])
    assert people["own"] in _found(as_role("admin"), typed)


def test_quick_search_finds_inn_and_email(as_role, people):
    admin = as_role("admin")
    assert people["own"] in _found(admin, people["inn"])
    assert people["own"] in _found(admin, people["inn"][2:9])
    assert people["own"] in _found(admin, f"INFO.{people['word']}@example")


def test_manager_never_finds_another_managers_client(as_role, people):
    word = people["word"]
    manager, head = as_role("manager"), as_role("head")
    assert _found(manager, word) == {people["own"]}
    assert _found(head, word) == {people["own"], people["other"]}
    for path in ("/applications/list/", "/deals/list/", "/tasks/list/", "/invoices/list/"):
        own_page = manager.get(path, query_string={Q: word}).text
        assert f"/clients/show/{people['other']}" not in own_page
        assert people["other_name"] not in own_page and "Хранитель" not in own_page
    picked = manager.get("/clients/lookup", query_string={"q": word}).json["results"]
    assert [row["id"] for row in picked] == [people["own"]]


def test_a_short_term_finds_each_client_a_manager_sees_once(app, as_role, session,
                                                          database_url):
    """Two letters reach no index: on PostgreSQL a manager's visible clients
    are tested on the indexes they are found by (services/access.
    visible_clients), in three streams that must not repeat a client that
    is both their own and public, or public and theirs to take part in,
    nor miss a public client without a responsible."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    pair = "щъ"  # in no other test's names, nor in any real word
    stem = _word()

    def client(label, owner, access=PublicAccess.PRIVATE, takes_part=False, name=None):
        made = Client(name=name or f"Ма{pair}{stem} {label}", responsible_id=owner,
                      public_access=access)
        if takes_part:
            made.participants.append(session.get(Employee, manager))
        session.add(made)
        return made

    visible = [
        client("свой", manager),
        client("свой открытый", manager, PublicAccess.READ),
        client("открытый", head, PublicAccess.READ),
        client("открытый для записи", head, PublicAccess.WRITE),
        client("участник", head, takes_part=True),
        client("участник открытый", head, PublicAccess.READ, takes_part=True),
        client("ничей открытый", None, PublicAccess.READ),
    ]
    hidden = [client("чужой", head),
              client("без букв", head, takes_part=True, name=f"Без букв {stem}")]
    session.commit()
    user = as_role("manager")
    with statements_sent(app) as sent:
        page = user.get("/clients/list/", query_string={Q: pair.upper()}).text
    shown = _client_ids(page)
    assert {c.id for c in visible} <= shown
    assert not shown & {c.id for c in hidden}
    assert re.search(r"Количество записей:\D*7\b", page), "each visible client counted once"
    # With another filter (here a second term) the list's own query runs.
    both = user.get("/clients/list/", query_string=[(Q, pair), (Q, "свой")]).text
    assert _client_ids(both) == {visible[0].id, visible[1].id}
    # One who sees every client: all of them, on the index by public access.
    with statements_sent(app) as sent_for_all:
        everyone = as_role("head").get("/clients/list/", query_string={Q: pair}).text
    assert _client_ids(everyone) == {c.id for c in visible + hidden[:1]}
    assert re.search(r"Количество записей:\D*8\b", everyone)
    assert any("ORDER BY client.public_access, client.id" in statement
               for statement in sent_for_all)
    finder = "strpos" if database_url.startswith("postgresql") else "instr"
    assert any("UNION ALL" in statement and finder in statement for statement in sent)
    carried = {index["name"]: index["column_names"]
               for index in inspect(session.get_bind()).get_indexes("client")}
    assert carried["ix_client_responsible_id_id"] == ["responsible_id", "id", "search"]
    assert carried["ix_client_public_access_id"] == [
        "public_access", "id", "responsible_id", "search"]
    if database_url.startswith("sqlite"):
        from app.services import access

        plan = " ".join(row[-1] for row in session.execute(
            text("EXPLAIN QUERY PLAN " + str(select(access.visible_clients(
                manager, search.record_condition(Client, pair, "sqlite")).subquery()).compile(
                    compile_kwargs={"literal_binds": True})))))
        assert "COVERING INDEX ix_client_responsible_id_id" in plan
        assert "COVERING INDEX ix_client_public_access_id" in plan


def test_box_on_every_register_list_keeps_the_other_filters(as_role):
    admin = as_role("admin")
    for path in REGISTER_LISTS:
        page = admin.get(path).text
        assert 'id="quick-search"' in page and f'name="{Q}"' in page, path
    page = admin.get("/applications/list/?_flt_0_status=completed&" + Q + "=x").text
    assert 'type="hidden" name="_flt_0_status" value="completed"' in page
    assert 'value="x"' in page


REGISTERS = {"/applications/list/": (Application, "applications"),
             "/deals/list/": (Deal, "deals"), "/tasks/list/": (Task, "tasks"),
             "/invoices/list/": (Invoice, "invoices")}


@pytest.mark.parametrize("path", list(REGISTERS))
def test_register_filters_by_client_and_searches_its_client(as_role, people, session, path):
    model, route = REGISTERS[path]
    word = people["word"]
    rows = dict(session.execute(select(model.client_id, model.id).where(
        model.client_id.in_([people["own"], people["other"]]))).all())
    head = as_role("head")

    def listed(user, **args):
        page = user.get(path, query_string=args).text
        return {int(i) for i in re.findall(rf"/{route}/show/(\d+)", page)} & set(rows.values())

    # The client's name in the filter offered by the search form.
    assert listed(head, **{BY_CLIENT: f"ооо «{word}"}) == {rows[people["own"]]}
    assert listed(head, **{BY_CLIENT: word.upper()}) == set(rows.values())
    assert listed(head, **{BY_CLIENT: people["digits"]}) == {rows[people["own"]]}
    assert listed(head, **{"_flt_0_client": people["other"]}) == {rows[people["other"]]}
    # The quick search box looks in the client's name and the row's number.
    assert listed(head, **{Q: word}) == set(rows.values())
    assert listed(head, **{Q: str(rows[people["other"]])}) >= {rows[people["other"]]}
    # A manager: the same filters, only what the list shows them.
    manager = as_role("manager")
    assert listed(manager, **{BY_CLIENT: word}) == {rows[people["own"]]}
    assert listed(manager, **{Q: word}) == {rows[people["own"]]}
    form = head.get(path).text
    assert "Клиент" in form and 'name="client"' in form


def test_registers_find_their_client_after_a_rename_a_move_and_a_bulk_insert(
        as_role, people, session):
    """On PostgreSQL each register row keeps its client's words (migration
    0036, triggers): they follow the client's new name, the row's move to
    another client, and a row a bulk writer inserted without them."""
    head = as_role("head")

    def found(path, route, typed):
        page = head.get(path, query_string={Q: typed}).text
        return {int(i) for i in re.findall(rf"/{route}/show/(\d+)", page)}

    own, other = session.get(Client, people["own"]), session.get(Client, people["other"])
    application = session.scalar(select(Application).where(Application.client_id == own.id))
    deal = session.scalar(select(Deal).where(Deal.client_id == own.id))
    renamed = _word()
    own.name = f"АО «{renamed.upper()}»"
    session.commit()
    assert application.id in found("/applications/list/", "applications", renamed)
    assert deal.id in found("/deals/list/", "deals", renamed[1:6])
    assert application.id not in found("/applications/list/", "applications",
                                       people["word"] + "-ёлка")
    # Moved to the other client: found by its words, no longer by the first's.
    application.client_id = other.id
    session.commit()
    assert application.id in found("/applications/list/", "applications",
                                   f"{people['word']} хранитель")
    assert application.id not in found("/applications/list/", "applications", renamed)
    # Written as the import writes, straight and without the client's words.
    session.execute(Application.__table__.insert().values(
        client_id=own.id, amount=Decimal("5"), status=ProcessingStatus.IN_PROCESSING,
        responsible_id=own.responsible_id, created_at=own.created_at,
        updated_at=own.created_at))
    session.commit()
    straight = session.scalar(select(func.max(Application.id)))
    assert straight in found("/applications/list/", "applications", renamed.upper())


def test_every_register_searched_by_client_keeps_its_client_s_words(app, session,
                                                                    database_url):
    """The registers a list or a link field searches by client are those
    migration 0036 gave the copy of the client's words on PostgreSQL."""
    from app.views.register_base import RegisterView

    searched = {view.datamodel.obj.__tablename__ for view in app.appbuilder.baseviews
                if isinstance(view, RegisterView)
                and "client_id" in view.datamodel.obj.__table__.columns}
    assert {"application", "deal", "task", "invoice", "note"} <= searched
    assert searched <= set(search.CLIENT_WORDS_TABLES), searched - set(search.CLIENT_WORDS_TABLES)
    if not database_url.startswith("postgresql"):
        return
    columns = set(session.execute(text(
        "SELECT table_name FROM information_schema.columns WHERE column_name = :c "
        "AND table_schema = current_schema()"), {"c": search.CLIENT_WORDS}).scalars())
    assert columns == set(search.CLIENT_WORDS_TABLES)


def test_picker_matches_anywhere_in_the_name(as_role, people):
    word = people["word"]
    head = as_role("head")
    # The name's end with its quote; with the word's last letters, so that
    # the other tests' «…-Ёлка» companies do not crowd it out of the page.
    for typed in (word, word[2:7].upper(), f"{word}-ёлка", f"{word[-3:].upper()}-ЕЛКА»"):
        found = head.get("/clients/lookup", query_string={"q": typed}).json["results"]
        assert people["own"] in [row["id"] for row in found], typed


def test_search_text_follows_edits(as_role, people, session):
    head = as_role("head")
    client = session.get(Client, people["own"])
    new = _word()
    client.name = f"АО «{new.upper()}»"
    session.commit()
    assert people["own"] in _found(head, new)
    assert people["own"] not in _found(head, people["word"] + "-елка")


def test_own_words_are_found_in_any_case_and_follow_edits(as_role, session):
    """A deal by a part of its title, a lead by its contact: indexed
    (migration 0019), in any case, ё as е, after edits, never another
    manager's."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    word = _word()
    mine = Client(name="ООО «Заказчик»", responsible_id=manager)
    theirs = Client(name="ООО «Чужой»", responsible_id=head, public_access=PublicAccess.PRIVATE)
    deal = Deal(client=mine, title=f"Поставка «{word.upper()}» зелёных ёлок",
                responsible_id=manager)
    hidden = Deal(client=theirs, title=f"Поставка {word}", responsible_id=head)
    lead = Lead(title="Заявка с сайта", contact_name=f"Пётр {word.capitalize()}",
                responsible_id=manager)
    session.add_all([deal, hidden, lead])
    session.commit()
    user = as_role("manager")

    def deals(typed):
        page = user.get("/deals/list/", query_string={Q: typed}).text
        return {int(i) for i in re.findall(r"/deals/show/(\d+)", page)}

    def leads(typed):
        page = user.get("/leads/list/", query_string={Q: typed}).text
        return {int(i) for i in re.findall(r"/leads/show/(\d+)", page)}

    for typed in (word, word[1:6].upper(), f"«{word}» зеленых"):
        found = deals(typed)
        assert deal.id in found and hidden.id not in found, typed
    assert deals(word[:2]) >= {deal.id}  # shorter than an index's trigram: read row by row
    assert lead.id in leads(f"петр {word}")
    deal.title = "Поставка стульев"
    session.commit()
    assert deal.id not in deals(word) and deal.id in deals("СТУЛЬЕВ")
    deal_id = deal.id
    session.delete(deal)
    session.commit()
    assert deal_id not in deals("стульев")


@pytest.mark.parametrize("table", sorted(search.WORDS))
def test_each_register_s_words_index_answers_as_folding_does(session, table):
    """The triggers (SQLite) and indexes (PostgreSQL) of migration 0019
    find what reading each row would, for every register with own words."""
    from app.models import ContactPerson, CounterpartyAction, InvoiceLine, Model, Note, Project

    model = next(m.class_ for m in Model.registry.mappers if m.local_table.name == table)
    dialect = session.get_bind().dialect.name
    column = search.WORDS[table][0]
    word = _word()[:8]
    client = Client(name=unique("Владелец"), responsible_id=employee_id(session, "manager"))
    invoice = Invoice(client=client, number=uuid.uuid4().hex[:12])
    made = {"contact_person": lambda: ContactPerson(client=client, name="Контакт"),
            "lead": lambda: Lead(title="Лид"), "deal": lambda: Deal(client=client, title="С"),
            "note": lambda: Note(client=client, text="Заметка"),
            "project": lambda: Project(client=client, name="Проект"),
            "counterparty_action": lambda: CounterpartyAction(client=client),
            "invoice": lambda: invoice,
            "invoice_line": lambda: InvoiceLine(invoice=invoice, description="Строка")}
    row = made[table]()
    session.add(row)
    session.commit()
    before = getattr(row, column)
    setattr(row, column, f"Ёлка {word.upper()}")
    session.commit()
    try:
        found = set(session.scalars(select(model.id).where(
            search.words_condition(model, f"елка {word}", dialect))))
        assert row.id in found
        setattr(row, column, before)
        session.commit()
        found = set(session.scalars(select(model.id).where(
            search.words_condition(model, word, dialect))))
        assert row.id not in found
    finally:
        session.rollback()
        session.delete(row)
        session.commit()
        assert row.id not in set(session.scalars(select(model.id).where(
            search.words_condition(model, before or "x", dialect))))


def test_the_picker_gives_the_first_matches_by_name(as_role, session):
    """A name part (the words' index) gives the first 20 of the matches the
    manager may see, in order of name, whatever order they were made in."""
    word = unique("Ригорий").split()[-1]
    manager = employee_id(session, "manager")
    letters = "ЯЮЭЬЫЪЩШЧЦХФУТСРПОНМЛКЙИЗЖ"
    names = [f"{letter}ригор{word} {i:02d}" for i, letter in enumerate(letters)]
    session.add_all([Client(name=name, responsible_id=manager) for name in names])
    session.add(Client(name=f"Аригор{word} чужой", responsible_id=employee_id(session, "head")))
    session.commit()
    picked = as_role("manager").get("/clients/lookup",
                                    query_string={"q": f"ригор{word}"}).json["results"]
    assert [row["text"] for row in picked] == sorted(names)[:20]


def test_postgresql_plans_each_search_for_the_term_typed(app, database_url):
    """psycopg prepares a statement run five times in a transaction, and
    PostgreSQL may then keep one generic plan for any value: for ``LIKE '%'
    || $1 || '%'`` it reads the whole trigram index (1.4 s against 20 ms at
    a million clients). The app's connections prepare nothing: each
    statement is planned for its values."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's plan cache")
    from app import db

    with app.app_context(), db.engine.connect() as connection:
        for _ in range(12):  # prepared after five, generic plans possible after ten
            connection.execute(select(Client.id).where(
                search.client_condition(Client.id, "вектор", "postgresql")).limit(5)).all()
        prepared = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements").scalar()
        assert prepared == 0


def test_imported_clients_carry_their_search_text(app, as_role, session):
    """An import writes clients past the ORM, with the search text its
    conversion worked out: the name from the full name in an AlmaCRM file,
    name, e-mail, INN and phones in a client file; the quick search finds
    both by a part of the name and by the phone as people write it."""
    from app.services import imports
    from tests.import_screens import ALMA, inn10, job, job_id_of, phone, run, upload

    admin = as_role("admin")
    surname = unique("Импортов").replace(" ", "")
    alma_phone = phone()
    body = f"{ALMA}\r\n15.01.2026;{surname};Иван;Петрович;;Подольск;1000;{alma_phone};;;\r\n"
    alma_job = job_id_of(upload(admin, imports.ALMA_KEY, body))
    run(admin, app, alma_job)
    assert job(app, alma_job).created == 1

    company, inn, mail, other_phone = unique("ООО Ёлка"), inn10(), "Sale@Elka.example", phone()
    body = (f"Название;Эл. почта;ИНН;Телефон\r\n{company};{mail};{inn};"
            f"8 {other_phone[2:5]} {other_phone[5:]}\r\n")
    client_job = job_id_of(upload(admin, "clients", body))
    run(admin, app, client_job)
    assert job(app, client_job).created == 1, job(app, client_job).report_data

    person = session.scalars(select(Client).where(Client.last_name == surname)).one()
    firm = session.scalars(select(Client).where(Client.inn == inn)).one()
    session.rollback()
    assert person.name == f"{surname} Иван Петрович"
    assert person.search == search.client_words(person) == \
        f"{search.fold(person.name)} {alma_phone[1:]}"
    assert firm.search == search.client_words(firm) == \
        f"{search.fold(company)} sale@elka.example {inn} {other_phone[1:]}"
    assert person.id in _found(admin, surname[2:9].upper())
    assert person.id in _found(admin, f"8 ({alma_phone[2:5]}) {alma_phone[5:]}")
    assert firm.id in _found(admin, "елка")
    assert firm.id in _found(admin, other_phone[-7:])
