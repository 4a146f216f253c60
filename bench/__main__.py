"""`python -m bench`: run every benchmark and print its figures."""
from bench import calendar, custom_fields, documents, jobs, lists, startup, stats
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
    report("process", peak_rss_mb=peak_rss_mb())


if __name__ == "__main__":
    main()
