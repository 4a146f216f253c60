"""Requests served at the same time by one process's threads (gunicorn's
--threads) keep their own state: FAB keeps one filters object per view and
fills it from each request's URL, and an add form takes its client from it."""
import threading

from sqlalchemy import select

from app.models import Client, Note
from app.views.clients import NoteView
from tests.conftest import unique


def test_each_request_has_its_own_filters(app):
    view = next(v for v in app.appbuilder.baseviews if isinstance(v, NoteView))
    shared = view.__dict__["_plain_filters"]
    with app.test_request_context("/notes/add?_flt_0_client=1"):
        first = view._filters
        assert first is view._filters  # one per request
    with app.test_request_context("/notes/add?_flt_0_client=2"):
        second = view._filters
    assert first is not second and shared not in (first, second)


def test_notes_posted_at_once_from_two_client_tabs_land_on_their_clients(
        as_role, session):
    clients = [Client(name=unique("Параллельный"), kind="company") for _ in range(2)]
    session.add_all(clients)
    session.commit()
    tag = unique("одновременно")
    users = [as_role("admin"), as_role("head")]
    for user in users:
        user.get("/notes/list/")  # signed in before the race

    def post(user, client_id, n):
        for i in range(n):
            user.post(f"/notes/add?_flt_0_client={client_id}",
                      {"text": f"{tag} {client_id} {i}"}, follow=False)

    threads = [threading.Thread(target=post, args=(user, client.id, 25))
               for user, client in zip(users, clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.expire_all()
    notes = session.execute(select(Note.text, Note.client_id)
                            .where(Note.text.like(f"{tag}%"))).all()
    assert len(notes) == 50
    wrong = [text for text, client_id in notes if text.split()[-2] != str(client_id)]
    assert wrong == []
