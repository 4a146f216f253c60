"""Where a list's row scope comes from: the row filter's value gives it and
the filtered query carries it to the count, never a request-wide flag."""
from sqlalchemy import select

from app.models import Client, Deal, PublicAccess, Task, client_participant, deal_participant
from app.services import access
from app.views import datamodel, rowaccess
from tests.conftest import employee_id, unique


def test_row_filters_take_the_scope_from_their_value():
    assert rowaccess.ROW_ACCESS == [["id", rowaccess.FilterRowAccess,
                                     rowaccess.restricted_user_id]]
    assert rowaccess.NEW_LINK_CHOICES["responsible"] == [
        ["id", rowaccess.FilterAssignable, rowaccess.restricted_user_id]]


def test_the_count_samples_the_own_rows_of_the_user_the_filter_applied(
        as_role, session, monkeypatch):
    """The manager's count samples their own rows (the scope the row filter
    put on the query); an admin's list has no row filter to sample for."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("областьстрок").split()[-1]
    session.add_all([Client(name=f"{tag} свой {i}", responsible_id=manager) for i in range(3)]
                    + [Client(name=f"{tag} общий", responsible_id=head,
                              public_access=PublicAccess.READ)])
    session.commit()
    seen = []
    real = datamodel.ListInterface._own_rows_pass

    def spy(self, query, filters, select_columns, limit, user_id):
        seen.append(user_id)
        return real(self, query, filters, select_columns, limit, user_id)

    monkeypatch.setattr(datamodel.ListInterface, "_own_rows_pass", spy)
    page = as_role("manager").get(f"/clients/list/?_flt_0_name={tag}").text
    assert page.count(f"{tag} свой") == 3 and f"{tag} общий" in page
    assert seen and set(seen) == {manager}
    seen.clear()
    as_role("admin").get(f"/clients/list/?_flt_0_name={tag}")
    assert seen and set(seen) == {None}


def test_every_form_of_the_client_rule_finds_the_same_clients(session, database_url):
    """Per row, the set of visible clients, and PostgreSQL's conditions on
    the client's own indexes (access._indexed_client) see exactly the same
    clients, for reading and for writing: own, a participant's, public for
    reading or writing, and someone else's private one."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("формыправила").split()[-1]
    own = Client(name=f"{tag} свой", responsible_id=manager)
    taking_part = Client(name=f"{tag} участник", responsible_id=head)
    readable = Client(name=f"{tag} чтение", responsible_id=head, public_access=PublicAccess.READ)
    writable = Client(name=f"{tag} запись", responsible_id=head,
                      public_access=PublicAccess.WRITE)
    hidden = Client(name=f"{tag} чужой", responsible_id=head)
    session.add_all([own, taking_part, readable, writable, hidden])
    session.flush()
    session.execute(client_participant.insert().values(client_id=taking_part.id,
                                                       ab_user_id=manager))
    session.commit()
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    for write, expected in ((False, {own, taking_part, readable, writable}),
                            (True, {own, taking_part, writable})):
        found = [set(session.scalars(select(Client).where(
            Client.name.startswith(tag), access.clause(Client, manager, write, **form))))
            for form in ({}, {"driving": True}, {"driving": True, "dialect": dialect})]
        assert found == [expected] * 3, write


def test_taking_part_is_asked_per_user_through_the_statement_cache(session, database_url):
    """A participant's rows, asked for two users one after the other: the
    statements share one compiled form (SQLAlchemy's cache), and each
    binds its own user. A record's client is tested row by row, as a
    scalar sub-select: as EXISTS under OR PostgreSQL could hash every
    visible client first (it read all 100 000 clients for a manager's
    task page)."""
    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    admin = employee_id(session, "admin")
    tag = unique("участники").split()[-1]
    client_a = Client(name=f"{tag} а", responsible_id=admin)
    client_b = Client(name=f"{tag} б", responsible_id=admin)
    session.add_all([client_a, client_b])
    session.flush()
    deal_a = Deal(title=f"{tag} сделка а", client_id=client_b.id, responsible_id=admin)
    session.add(deal_a)
    session.flush()
    task_a = Task(description=f"{tag} задача а", client_id=client_a.id, author_id=admin,
                  assignee_id=admin)
    task_b = Task(description=f"{tag} задача б", client_id=client_b.id, author_id=admin,
                  assignee_id=admin)
    session.add_all([task_a, task_b])
    session.execute(client_participant.insert().values(
        [{"client_id": client_a.id, "ab_user_id": manager},
         {"client_id": client_b.id, "ab_user_id": head}]))
    session.execute(deal_participant.insert().values(deal_id=deal_a.id, ab_user_id=manager))
    session.commit()

    def tasks(user_id):
        return set(session.scalars(select(Task.description).where(
            Task.description.startswith(tag), access.clause(Task, user_id))))

    def deals(user_id):
        return set(session.scalars(select(Deal.title).where(
            Deal.title.startswith(tag), access.clause(Deal, user_id))))

    for _ in range(2):  # the second round runs from the cache
        assert tasks(manager) == {f"{tag} задача а"}
        assert tasks(head) == {f"{tag} задача б"}
        assert deals(manager) == {f"{tag} сделка а"}  # a participant of the deal
        assert deals(head) == {f"{tag} сделка а"}  # of the client of the deal
    sql = " ".join(str(select(Task.id).where(access.clause(Task, manager)).compile(
        dialect=session.get_bind().dialect)).split())
    assert "coalesce((SELECT" in sql and "FROM client AS visible_client WHERE " \
        "visible_client.id = task.client_id" in sql, sql
    assert "EXISTS (SELECT * FROM client AS visible_client" not in sql, sql


def test_a_list_sorted_without_an_index_tests_access_by_the_visible_set(
        app, as_role, session, monkeypatch):
    """Sorted by a column no index gives in order, the page reads and
    sorts every row anyway: the row rule is the set of visible clients,
    built once (a look-up per row cost 750 ms for a manager's applications
    by amount at 100 000 clients). Sorted by an index, the page walks it
    and tests each row. Both show exactly what the manager may see."""
    from decimal import Decimal

    from app.models import Application
    from tests.conftest import statements_sent

    manager, head = employee_id(session, "manager"), employee_id(session, "head")
    tag = unique("порядоксуммы").split()[-1]
    own = Client(name=f"{tag} свой", responsible_id=manager)
    public = Client(name=f"{tag} общий", responsible_id=head, public_access=PublicAccess.READ)
    hidden = Client(name=f"{tag} чужой", responsible_id=head)
    session.add_all([own, public, hidden])
    session.flush()
    amounts = {own.id: Decimal("987654301"), public.id: Decimal("987654302"),
               hidden.id: Decimal("987654303")}
    session.add_all([Application(client_id=client_id, amount=amount, responsible_id=head)
                     for client_id, amount in amounts.items()])
    session.commit()
    # The count stops at once ("more than"), so the page reads the rows itself.
    monkeypatch.setattr(datamodel, "COUNT_LIMIT", 1)
    monkeypatch.setattr(datamodel, "PAGES_AHEAD", 0)
    user = as_role("manager")
    for order, walked in (("amount", False), ("date", True)):
        with statements_sent(app) as sent:
            page = user.get(f"/applications/list/?_oc_ApplicationView={order}"
                            "&_od_ApplicationView=desc&psize_ApplicationView=100").text
        listed = " ".join(" ".join(statement.split()) for statement in sent
                          if f"ORDER BY application.{order} DESC" in statement)
        assert listed, sent
        assert ("visible_client.id = application.client_id" in listed) is walked, order
        assert ("UNION ALL" in listed) is not walked, order
        if order == "amount":
            shown = [amount for amount in ("987654302", "987654301", "987654303")
                     if amount in page.replace("\u00a0", "").replace(" ", "")]
            assert shown == ["987654302", "987654301"], shown
