"""Quick search on the generated data, through the test
client, as Admin and as a Manager (row access applies): the list page with
the quick search box or the client filter filled, per kind of query —
part of a name, a phone as typed, an INN-like digit run, a short common
syllable, two letters few names hold, a client's name on applications,
tasks and deals. Median and 95th percentile ms; the list-page budget is
50 ms median."""
import re

from sqlalchemy import select

from bench import generate
from bench.common import report, timed
from bench.lists import ADMIN_USER, WARM_UP, _build

REPEAT = 30


def _fill_search(app):
    """The generator writes clients straight to the database: give them
    their search text (services/search.fill; only rows without one)."""
    from app import db
    from app.services import search

    with app.app_context():
        with db.engine.begin() as connection:
            written = search.fill(connection)
        if written:
            # As autovacuum leaves it some time after: the planner's figures
            # of the column filled after the generator's ANALYZE said
            # "empty" (PostgreSQL sorted every match of a common syllable,
            # 0.5 s, instead of walking the list's order), and the update
            # of every row cleared the visibility map index-only scans need.
            generate.vacuum(db.engine, ["client"])


def _terms(app, manager):
    """What people type, taken from a client of the manager: a part of the
    name from its middle, the phone as typed on paper, its last digits."""
    from app import db
    from app.models import Client, Task
    from app.services import search

    with app.app_context():
        # A client with tasks: the filter by client has rows to show.
        name, phone = db.session.execute(
            select(Client.name, Client.phone).where(
                Client.responsible_id == manager, Client.phone.isnot(None),
                select(Task.id).where(Task.client_id == Client.id).exists())
            .order_by(Client.id.desc()).limit(1)).one()
        own = db.session.scalars(select(Client.search).where(
            Client.responsible_id == manager)).all()
    word = max(name.split(), key=len)
    part = word[1:6].upper() if len(word) > 6 else word.upper()
    # Two letters of the name that the fewest of the manager's clients hold:
    # every client they see is then tested before a page is full.
    folded = search.fold(name)
    pairs = {folded[i:i + 2] for i in range(len(folded) - 1) if folded[i:i + 2].isalpha()}
    rare = min(sorted(pairs), key=lambda pair: sum(pair in text for text in own))
    digits = re.sub(r"\D", "", phone)[-10:]
    typed_phone = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    return {"name part": part, "phone as typed": typed_phone, "last 7 digits": digits[-7:],
            "short syllable": word[:2].lower(), "rare pair of letters": rare,
            "full name": name}


def _queries(terms):
    q, by_client = "_flt_0_quick", "_flt_1_client"
    return [
        ("clients: name part", "/clients/list/", {q: terms["name part"]}),
        ("clients: phone as typed", "/clients/list/", {q: terms["phone as typed"]}),
        ("clients: last 7 digits", "/clients/list/", {q: terms["last 7 digits"]}),
        ("clients: short syllable", "/clients/list/", {q: terms["short syllable"]}),
        ("clients: rare pair of letters", "/clients/list/", {q: terms["rare pair of letters"]}),
        ("applications: client name part", "/applications/list/", {q: terms["name part"]}),
        ("tasks: client filter", "/tasks/list/", {by_client: terms["full name"]}),
        ("deals: client name part", "/deals/list/", {q: terms["name part"]}),
        ("picker: name part", "/clients/lookup", {"q": terms["name part"]}),
    ]


def run(label, url):
    url = generate.database_url(label, url)
    app = _build(url)
    generate.ensure(url)
    _fill_search(app)

    from app import db
    from app.models import Employee

    manager_name = generate.MANAGER.format(1)
    with app.app_context():
        manager = db.session.scalar(select(Employee.id).where(Employee.username == manager_name))
    queries = _queries(_terms(app, manager))
    for role, username in (("admin", ADMIN_USER), ("manager", manager_name)):
        client = app.test_client()
        signed_in = client.post("/login/", data={"username": username,
                                                 "password": generate.PASSWORD},
                                follow_redirects=True)
        assert "/logout" in signed_in.text, f"{username} could not sign in"
        for name, path, args in queries:
            response = client.get(path, query_string=args)
            assert response.status_code == 200, (name, response.status_code)
            rows = (len(response.json["results"]) if path.endswith("lookup")
                    else len(set(re.findall(r"/show/(\d+)", response.text))))
            for _ in range(WARM_UP):
                client.get(path, query_string=args)
            median, p95 = timed(lambda: client.get(path, query_string=args), REPEAT)
            report(f"[{label}] search {role} {name}", median_ms=median, p95_ms=p95, rows=rows)
