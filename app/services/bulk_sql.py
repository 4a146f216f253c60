"""Rows straight to the database driver, for imports at tens of thousands
of rows a second: no per-value processing by SQLAlchemy, one statement per
table and batch, in the caller's transaction (``connection`` is the
session's ``Connection``). Values must already be what the column stores:
on SQLite dates as ISO text, amounts as text; PostgreSQL takes Python
dates and Decimals.

- ``insert_rows``: COPY on PostgreSQL (ids taken from the sequence first
  when asked for); on SQLite multi-row ``INSERT … SELECT * FROM (VALUES
  (…), (…)) LIMIT ?`` as few as the variable limit allows — one statement
  runs without Python's lock, where executemany hands it back and forth for
  every row — with room for a power of two of rows (``_room``).
- ``find``: (value, id) of the rows whose column holds one of ``values``,
  one indexed look-up per batch: ``= ANY(array)`` on PostgreSQL (one
  parameter, one plan), ``IN (?, …)`` on SQLite."""
import contextlib
import itertools
import sqlite3
import threading

from sqlalchemy.exc import DBAPIError


def _is_postgresql(connection):
    return connection.dialect.name == "postgresql"


def _sqlite_variables(connection):
    """How many ``?`` one SQLite statement may hold."""
    raw = connection.connection.driver_connection
    try:
        return raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11
        return 999


def insert_rows(connection, table, columns, rows, with_ids=False, meanwhile=None):
    """INSERT ``rows`` (tuples in the order of ``columns``); with ``with_ids``
    return the new ids in the order of the rows. ``meanwhile``: work of the
    caller's to do while PostgreSQL stores the rows sent (COPY streams them:
    the server works through them as they come, and the end of the COPY
    waits for it), never on SQLite, whose writing is this process's."""
    if not rows:
        return [] if with_ids else None
    if _is_postgresql(connection):
        return _copy(connection, table, columns, rows, with_ids, meanwhile)
    width = len(columns)
    step = max(1, (_sqlite_variables(connection) - 1) // width)  # and the LIMIT
    head = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM (VALUES "
    one = "(" + ", ".join("?" * width) + ")"
    ids = [] if with_ids else None
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        room = _room(len(part), step)
        result = connection.exec_driver_sql(
            head + ", ".join([one] * room) + ") LIMIT ?",
            (*itertools.chain.from_iterable(part), *(None,) * (width * (room - len(part))),
             len(part)))
        if with_ids:
            # The transaction holds SQLite's only write lock and the table
            # has no AUTOINCREMENT: the rows got the rowids after the
            # largest, in order, and lastrowid is the last of them.
            last = result.lastrowid
            ids.extend(range(last - len(part) + 1, last + 1))
    return ids


def _copy(connection, table, columns, rows, with_ids, meanwhile):
    ids = None
    if with_ids:
        # The sequence looked up once (OFFSET 0 keeps the planner from
        # pulling the look-up into the row loop): asked per row, the name
        # look-up made taking a thousand ids six times slower.
        ids = connection.exec_driver_sql(
            "SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence(%(table)s, 'id')"
            "::regclass AS seq OFFSET 0) AS s, generate_series(1, %(n)s)",
            {"table": table, "n": len(rows)}).scalars().all()
        columns = ("id", *columns)
        rows = [(i, *row) for i, row in zip(ids, rows)]
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
            if meanwhile is not None:
                meanwhile()
    except connection.dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy raises what the server refuses in its statements: the
        # import's callers take back a refused batch on SQLAlchemyError.
        raise DBAPIError.instance(statement, None, exc,
                                  connection.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
    return ids


def find(connection, table, column, values):
    """(value, id) of every row of ``table`` whose ``column`` is in ``values``.
    No ORDER BY: it could lead the planner to the primary key instead of
    the column's index."""
    values = list(values)
    if not values:
        return []
    if _is_postgresql(connection):
        return connection.exec_driver_sql(
            f"SELECT {column}, id FROM {table} WHERE {column} = ANY(%s)", (values,)).all()
    found = []
    step = _sqlite_variables(connection)
    for start in range(0, len(values), step):
        part = values[start:start + step]
        room = _room(len(part), step)
        found += connection.exec_driver_sql(
            f"SELECT {column}, id FROM {table} WHERE {column} IN ({', '.join('?' * room)})",
            (*part, *(None,) * (room - len(part)))).all()  # NULL is in no IN list
    return found


def _room(count, most):
    """Places for ``count`` values in a SQLite statement: the next power of
    two, at most ``most``, the rest filled with NULLs. A statement is parsed
    again by each transaction after a change of the schema, and an import
    changes it in each of its transactions (rollups.deferred drops the
    insert triggers): with a statement of their own length, batches shortened
    by duplicates were parsed every time, thousands of placeholders each, a
    tenth of an import. With their room they share one statement."""
    return min(most, 1 << max(count - 1, 0).bit_length())


@contextlib.contextmanager
def bulk_session(connection, cache_mb=64):
    """Settings of one connection for a bulk write, restored afterwards.

    SQLite: a page cache of ``cache_mb`` (the default 2 MB makes every
    insert into a dozen indexes fetch and evict pages; the cache is a fixed
    size, so memory does not grow with the file), and the log copied back
    into the database by ``_Checkpoints``, not by the commits (an import
    that commits every second copied its index pages back at each commit, a
    tenth of its time; with the log copied only once it held ``cache_mb``,
    still a third of its commits' time). A database with no file of its own
    keeps the copying in the commits, once the log holds ``cache_mb``.
    Durability is left as it is: every connection already runs WAL with
    synchronous=NORMAL (app/__init__.py)."""
    if _is_postgresql(connection):
        yield
        return
    pages = 1024 * int(cache_mb) * 1024 // connection.exec_driver_sql(
        "PRAGMA page_size").scalar()
    before = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
              for name in ("cache_size", "wal_autocheckpoint")}
    connection.exec_driver_sql(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
    checkpoints = _Checkpoints.start(connection)
    connection.exec_driver_sql(
        f"PRAGMA wal_autocheckpoint = {0 if checkpoints else pages}")
    try:
        yield
    finally:
        if checkpoints:
            checkpoints.stop()
        for name, value in before.items():
            connection.exec_driver_sql(f"PRAGMA {name} = {int(value)}")


class _Checkpoints:
    """Copies the log back into the database from a thread of its own, on a
    connection of its own, while a bulk write goes on: SQLite does that in
    the commit that finds the log past ``wal_autocheckpoint`` (a third of
    an import's commit time), with Python's lock released, so the other
    processor does it instead. PASSIVE: it never waits for, nor blocks,
    the writer or readers; what it cannot copy yet it copies next time."""

    EVERY = 0.25

    def __init__(self, path):
        self.path = path
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoints",
                                       daemon=True)

    @classmethod
    def start(cls, connection):
        path = connection.engine.url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        checkpoints = cls(path)
        checkpoints.thread.start()
        return checkpoints

    def _run(self):
        try:
            own = sqlite3.connect(self.path, timeout=0)
        except sqlite3.Error:
            return  # the log then waits for the first commit after the bulk write
        try:
            while not self.done.wait(self.EVERY):
                self._once(own)
            self._once(own)
        finally:
            own.close()

    @staticmethod
    def _once(own):
        try:
            own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # busy with another checkpoint: the next turn copies it

    def stop(self):
        self.done.set()
        self.thread.join()
