"""Services never commit: the caller (a view, the API, a job, an admin
command) owns the transaction and commits or rolls back once. Read from
the source: a call of ``.commit()`` or ``.begin()`` (which commits when its
block ends) in app/services is one of the exceptions below, each with its
reason (docs/ARCHITECTURE.md, «Transactions»), or the test fails."""
import ast
import os

import pytest

SERVICES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "app", "services")

# (module, the call) -> why it commits on its own.
ALLOWED = {
    ("import_jobs.py", "session.commit"):
        "an import job's life cycle: the claim, checkpoints, the final state, the take-back",
    ("imports.py", "self.savepoint.commit"):
        "releases the savepoint of one chunk; the job commits chunks (checkpoint)",
    ("ratelimits.py", "dbapi_connection.commit"):
        "the limiter's own engine: a new connection's setting",
    ("ratelimits.py", "self.engine.begin"):
        "the limiter's own engine: a hit counts whatever the request does",
    ("notifications.py", "conn.commit"):
        "after the caller's commit: the mails sent, on a connection of its own",
    ("backup.py", "engine.begin"):
        "a restore drops the schema on the engine, with no session of the app",
    ("personal_data.py", "engine.begin"):
        "the access log's row of a page or an export: apart, never failing the page",
    ("sign_in_failures.py", "engine.begin"):
        "a failed sign-in's row, after the answer: apart, never failing the sign-in",
}


def _calls(path):
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("commit", "begin"):
            yield node.lineno, ast.unparse(node.func)


def _found():
    for name in sorted(os.listdir(SERVICES)):
        if name.endswith(".py"):
            for line, call in _calls(os.path.join(SERVICES, name)):
                yield name, line, call


def test_no_service_commits_but_the_listed_exceptions():
    stray = [f"app/services/{name}:{line} {call}()" for name, line, call in _found()
             if (name, call) not in ALLOWED]
    assert not stray, "services leave the commit to their caller: " + ", ".join(stray)


@pytest.mark.parametrize("allowed", sorted(ALLOWED))
def test_each_exception_is_still_there(allowed):
    """An exception no longer needed is taken off the list."""
    assert allowed in {(name, call) for name, _, call in _found()}


def test_the_scan_sees_a_commit(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text("def save(session):\n    session.add(1)\n    session.commit()\n"
                    "def nested(session):\n    with session.begin_nested():\n        pass\n")
    assert list(_calls(path)) == [(3, "session.commit")]
