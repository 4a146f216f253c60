"""Each test module starts from the database the run's setup left: the
migrated schema, the roles, the seeded dictionaries and the four test users,
and nothing an earlier module made, changed or deleted.

Migrating a database for each module would cost seconds on PostgreSQL;
putting the setup's rows back costs milliseconds. So they are taken once
(``Baseline.take``) and put back before each module (``Baseline.restore``).

SQLite: the whole file is copied back page by page (its backup API), since
its triggers cannot be switched off and would refill the roll-ups while the
rows are deleted. PostgreSQL: each table that changed (its row count or newest
row version) is emptied and its rows inserted with triggers and foreign
keys off (the replica role); truncating every table took two seconds. The
sequences go on counting, so no id is given twice within a run there."""
import sqlite3
import threading

from sqlalchemy import column, insert, table


class Baseline:
    def __init__(self, engine):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.copy = None
        self.rows = {}
        self.marks = {}

    def take(self):
        if self.sqlite:
            self.copy = sqlite3.connect(":memory:")
            with sqlite3.connect(self.engine.url.database) as live:
                live.backup(self.copy)
            return
        with self.engine.connect() as conn:
            for name in self._pg_tables(conn):
                result = conn.exec_driver_sql(f'SELECT * FROM "{name}"')
                self.rows[name] = (list(result.keys()), [tuple(row) for row in result])
            self.marks = self._marks(conn)

    def restore(self):
        _wait_for_imports()
        if self.sqlite:
            # Pooled connections would keep pages of the old file.
            self.engine.dispose()
            live = sqlite3.connect(self.engine.url.database)
            try:
                self.copy.backup(live)
            finally:
                live.close()
            return
        with self.engine.begin() as conn:
            changed = [name for name, mark in self._marks(conn).items()
                       if mark != self.marks.get(name)]
            if not changed:
                return
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for name in changed:
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
                columns, rows = self.rows.get(name, ((), ()))
                if rows:
                    target = table(name, *(column(c) for c in columns))
                    conn.execute(insert(target), [dict(zip(columns, row)) for row in rows])

    def _marks(self, conn):
        """Each table's row count and newest row version: a row inserted,
        updated or deleted since changes one of them."""
        return {name: (count, newest) for name, count, newest in conn.exec_driver_sql(
            " UNION ALL ".join(f"SELECT '{name}', count(*), max(xmin::text::bigint) "
                               f'FROM "{name}"' for name in self._pg_tables(conn)))}

    @staticmethod
    def _pg_tables(conn):
        return [name for (name,) in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]


def _wait_for_imports(timeout=60):
    """An import started in the background by the previous module
    (services/import_jobs.start_background) must not write into the next."""
    for thread in threading.enumerate():
        if thread.name.startswith("import-"):
            thread.join(timeout)
