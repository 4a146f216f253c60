"""The scheduled runs of imports; the work is app/services/import_jobs.py."""
from flask_babel import lazy_gettext as _l

from app.jobs import job
from app.services import import_jobs


@job("imports", "every 10 seconds", _l("Imports queued for the background"))
def queued_imports(session, now, config):
    """Takes back the jobs of workers that died, then picks up what no
    upload thread took (a restarted server, a thread that died before its
    claim)."""
    from flask import current_app

    done, queued, failed = import_jobs.run_queue(current_app._get_current_object(), now,
                                                 config)
    result = f"{len(done)} queued imports processed"
    if queued or failed:
        result += f"; {queued} abandoned ones queued again, {failed} failed"
    return result


@job("import-files", "30 3 * * *", _l("Remove the stored files of old imports"))
def old_import_files(session, now, config):
    """Uploads and files of bad rows are kept IMPORT_KEEP_DAYS after the
    import finished (0 keeps them for ever)."""
    days = config.get("IMPORT_KEEP_DAYS", 30)
    if not days:
        return "kept: IMPORT_KEEP_DAYS is 0"
    return f"files of {import_jobs.remove_old_files(session, now, days)} imports removed"
