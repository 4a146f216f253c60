"""Filtering 1 000 000 clients by a custom field: a money field «Ежемесячный
доход» with a value for every generated client, the client list filtered by
it (a range that leaves a few hundred clients, and one that leaves most) and
sorted by it, through the test client as Admin and as a Manager."""
import random
import time

from sqlalchemy import func, insert, select

from bench import generate, lists
from bench.common import repeats, report, timed

CODE = "bench_income"
BATCH = 50_000


def _field(db):
    """The benchmark's field, with a value for every client (made once)."""
    from app.models import Client, CustomField, CustomFieldType, CustomValue

    field = db.session.scalar(select(CustomField).where(CustomField.entity == "client",
                                                        CustomField.code == CODE))
    if field is None:
        field = CustomField(entity="client", code=CODE, label_ru="Ежемесячный доход",
                            type=CustomFieldType.MONEY, in_list=True, in_filters=True)
        db.session.add(field)
        db.session.commit()
    have = db.session.scalar(select(func.count()).select_from(CustomValue)
                             .where(CustomValue.field_id == field.id))
    clients = db.session.scalar(select(func.count()).select_from(Client))
    if have < clients:
        started = time.perf_counter()
        rng = random.Random(10)
        db.session.query(CustomValue).filter(CustomValue.field_id == field.id).delete()
        ids = db.session.scalars(select(Client.id).order_by(Client.id)).all()
        for start in range(0, len(ids), BATCH):
            db.session.execute(insert(CustomValue), [
                {"field_id": field.id, "record_id": client_id,
                 "number_value": rng.randrange(20_000, 500_000)}
                for client_id in ids[start:start + BATCH]])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE custom_value")
        else:
            db.session.execute(select(func.count()).select_from(CustomValue))
            db.session.connection().exec_driver_sql("ANALYZE custom_value")
            db.session.commit()
        report("  custom values generated", rows=len(ids),
               seconds=time.perf_counter() - started)
    return field


def _top(db, field):
    """A few clients, one in 500 (at least 100, so that a manager sees some
    on a tiny dataset), and the income only they exceed: 499 000 at a
    million clients (incomes are spread up to 500 000)."""
    from app.models import CustomValue

    values = db.session.scalar(select(func.count()).select_from(CustomValue)
                               .where(CustomValue.field_id == field.id))
    few = max(values // 500, min(values - 1, 100))
    nth = db.session.scalar(select(CustomValue.number_value)
                            .where(CustomValue.field_id == field.id)
                            .order_by(CustomValue.number_value.desc()).offset(few).limit(1))
    return few, min(499_000, int(nth))


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    generate.ensure(url)
    from app import db
    from app.views.clients import ClientView
    from app.views.custom_fields import filters_for

    with app.app_context():
        field = _field(db)
        arg = {f.arg_name: i for i, f in enumerate(filters_for(field, ClientView.datamodel))}
        few, high = _top(db, field)
    column = f"cf_{CODE}"
    pages = [
        (f"income > {high:,} (about {few:,} clients)".replace(",", " "),
         f"/clients/list/?_flt_{arg['gt']}_{column}={high}"),
        ("income > 100 000 (most clients)", f"/clients/list/?_flt_{arg['gt']}_{column}=100000"),
        ("sorted by income, desc", f"/clients/list/?_oc_ClientView={column}&_od_ClientView=desc"),
    ]
    for role, username in (("admin", lists.ADMIN_USER), ("manager", generate.MANAGER.format(1))):
        client = app.test_client()
        client.post("/login/", data={"username": username, "password": generate.PASSWORD})
        for name, page in pages:
            response = client.get(page)
            assert response.status_code == 200 and "/clients/show/" in response.text, name
            for _ in range(repeats(lists.WARM_UP)):
                client.get(page)
            median, p95 = timed(lambda: client.get(page), lists.REPEAT)
            report(f"[{label}] {role} clients {name}", median_ms=median, p95_ms=p95)


if __name__ == "__main__":  # python -m bench.custom_fields
    from bench.common import database_urls

    for bench_label, bench_url in database_urls():
        run(bench_label, bench_url)
