"""`python -m bench`: run every benchmark and print its figures.

tests/unit/test_bench_steps.py runs the same steps on a tiny dataset, so a
step that breaks fails the suite rather than the next full run."""
from bench import (
    board,
    calendar,
    custom_fields,
    documents,
    imports,
    jobs,
    lists,
    load,
    search,
    startup,
    stats,
)
from bench.common import database_urls, machine_speed, peak_rss_mb, report

# In this order: lists generates the dataset the later steps read.
DATABASE_STEPS = (startup, lists, search, calendar, jobs, stats, board, custom_fields)


def run_database(label, url):
    for step in DATABASE_STEPS:
        step.run(label, url)


def main():
    machine_speed()
    for label, url in database_urls():
        run_database(label, url)
        # Many sessions against a real server for a minute: not a step the
        # quick tests repeat (tests/unit/test_bench_load.py runs it small).
        load.run(label, url)
    documents.run()  # no database: the renderer alone
    # Imports write: a database of their own (a fresh SQLite file, the schema
    # BENCH_IMPORT_SCHEMA on PostgreSQL), never the generated list dataset.
    for label, url in imports.database_urls():
        imports.run(label, url, imports.sizes())
    report("process", peak_rss_mb=peak_rss_mb())


if __name__ == "__main__":
    main()
