"""services/bulk_sql.bulk_session on SQLite: the log is copied back into the
database by a thread of its own while the bulk write goes on."""
import os
import sqlite3
import threading
import time

from sqlalchemy import create_engine, event

from app.services import bulk_sql

ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "


def _checkpointers():
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoints"]


def test_a_bulk_write_copies_the_log_back_from_a_thread_of_its_own(tmp_path):
    path = tmp_path / "bulk.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode = WAL")
        connection.exec_driver_sql("CREATE TABLE t (x)")
        connection.commit()
        autocheckpoint = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        with bulk_sql.bulk_session(connection):
            # The commits leave the copying to the thread.
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            assert len(_checkpointers()) == 1
            connection.exec_driver_sql(ROWS + "INSERT INTO t SELECT randomblob(1000) FROM n")
            connection.commit()
            deadline = time.monotonic() + 5
            while os.path.getsize(path) < 3000 * 1000 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert os.path.getsize(path) >= 3000 * 1000  # copied while the write went on
        assert _checkpointers() == []
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == autocheckpoint
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 3000
    engine.dispose()


def test_a_database_in_memory_keeps_its_own_checkpoints():
    engine = create_engine("sqlite://")
    with engine.connect() as connection, bulk_sql.bulk_session(connection):
        assert _checkpointers() == []
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() > 0
    engine.dispose()


def _statements(engine):
    """The texts of the statements ``engine`` runs, as a list filled as it goes."""
    texts = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: texts.append(statement))
    return texts


def test_batches_of_other_lengths_share_one_statement(tmp_path):
    """Rows left out of a batch (duplicates) must not make a statement of
    their own length: each would be parsed again in every transaction."""
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b)")
        texts = _statements(engine)
        ids = []
        for length in (990, 997, 1000, 1):
            ids += bulk_sql.insert_rows(connection, "t", ("a", "b"),
                                        [(length, i) for i in range(length)], with_ids=True)
        assert len(set(texts[:3])) == 1
        found = bulk_sql.find(connection, "t", "b", range(990))
        found += bulk_sql.find(connection, "t", "b", range(997))
        assert len(set(texts[4:])) == 1
        rows = connection.exec_driver_sql("SELECT id, a, b FROM t ORDER BY id").all()
        # No row of the NULLs that fill a statement's room, ids in the rows' order.
        assert [row.id for row in rows] == ids
        assert [(row.a, row.b) for row in rows] == [
            (length, i) for length in (990, 997, 1000, 1) for i in range(length)]
        assert len(found) == (990 * 3 + 1) + (990 + 997 * 2 + 1)
    engine.dispose()


def test_rows_past_one_statement_keep_their_order(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 13)  # 6 rows of 2, and the LIMIT
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b)")
        rows = [(f"a{i}", i) for i in range(37)]
        ids = bulk_sql.insert_rows(connection, "t", ("a", "b"), rows, with_ids=True)
        stored = connection.exec_driver_sql("SELECT id, a, b FROM t ORDER BY id").all()
        assert [tuple(row) for row in stored] == [(i, *row) for i, row in zip(ids, rows)]
        assert len(stored) == 37
        assert sorted(bulk_sql.find(connection, "t", "a", [f"a{i}" for i in range(0, 60, 3)])) \
            == sorted((f"a{i}", ids[i]) for i in range(0, 37, 3))
    engine.dispose()
