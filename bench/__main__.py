"""`python -m bench`: run every benchmark and print its figures."""
from bench import calendar, custom_fields, documents, imports, jobs, lists, startup, stats
from bench.common import database_urls, peak_rss_mb, report


def main():
    for label, url in database_urls():
        startup.run(label, url)
        lists.run(label, url)
        calendar.run(label, url)
        jobs.run(label, url)
        stats.run(label, url)
        custom_fields.run(label, url)
    documents.run()  # no database: the renderer alone
    # Imports write: a database of their own (a fresh SQLite file, the schema
    # BENCH_IMPORT_SCHEMA on PostgreSQL), never the generated list dataset.
    for label, url in imports.database_urls():
        imports.run(label, url, imports.sizes())
    report("process", peak_rss_mb=peak_rss_mb())


if __name__ == "__main__":
    main()
