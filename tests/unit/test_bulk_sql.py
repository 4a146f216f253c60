"""services/bulk_sql.bulk_session on SQLite: the log is copied back into the
database by a thread of its own while the bulk write goes on."""
import os
import threading
import time

from sqlalchemy import create_engine

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
