"""«Воронка» (the deals board) on the generated data (1M clients, BENCH_DEALS
deals, 300 000 by default): the page as Admin (every deal) and as a Manager
(row access), the whole board and one manager's deals, and the next cards
of a column as on scroll. Run alone: ``python -m bench.board``."""
import re

from bench import generate, lists
from bench.common import database_urls, report, timed

REPEAT = 30


def run(label, url):
    url = generate.database_url(label, url)
    app = lists._build(url)
    generate.ensure(url)
    from sqlalchemy import select

    from app import db
    from app.models import Employee

    with app.app_context():
        manager = db.session.scalar(select(Employee.id).where(
            Employee.username == generate.MANAGER.format(2)))
    for role, username in (("admin", lists.ADMIN_USER), ("manager", generate.MANAGER.format(1))):
        client = app.test_client()
        client.post("/login/", data={"username": username, "password": generate.PASSWORD})
        for name, args in (("all", ""), ("one manager", f"?responsible={manager}")):
            page = "/deals/board/" + args
            response = client.get(page)
            assert response.status_code == 200, (page, response.status_code)
            cards = re.findall(r'id="deal-card-(\d+)"', response.text)
            counts = [int(n) for n in re.findall(r'board-count"[^>]*>(\d+)<', response.text)]
            median, p95 = timed(lambda: client.get(page), REPEAT)
            report(f"[{label}] {role} board {name}", median_ms=median, p95_ms=p95,
                   deals=sum(counts), columns=len(counts), cards=len(cards))
            stage = re.search(r'class="board-column" data-stage="(\d+)"', response.text)
            if not cards or stage is None:
                continue
            more = (f"/deals/board/cards/{stage.group(1)}?before="
                    f"{min(int(c) for c in cards)}" + args.replace("?", "&"))
            assert client.get(more).status_code == 200
            median, p95 = timed(lambda: client.get(more), REPEAT)
            report(f"[{label}] {role} board next cards {name}", median_ms=median, p95_ms=p95)


def main():
    for label, url in database_urls():
        run(label, url)


if __name__ == "__main__":
    main()
