"""gunicorn settings read by `make run` (gunicorn -c gunicorn.conf.py).

Scheduled jobs: with --preload the app is built once in the master, before
the workers fork, and threads do not survive a fork. So each worker starts
its own scheduler after it starts (post_worker_init). Every worker, and
every other machine, fires the same runs; the job lease in the database
lets exactly one of them execute each run (app/jobs/__init__.py), so the
duplicates are harmless and a crashed worker does not stop the jobs."""
import itertools

# After how many requests a worker freezes what it has kept (``post_request``).
SETTLE_AFTER = (200, 1000, 5000)


def when_ready(server):
    # Before the first worker forks; without --preload each worker warms
    # its own app in post_worker_init.
    if server.cfg.preload_app:
        _warm_up(server.app.wsgi(), server.log)


def _warm_up(app, log):
    from app.warmup import warm_up

    try:
        log.info("Warmed up: %d templates compiled", warm_up(app))
    except Exception:  # noqa: BLE001  (a cold first page is slow, not wrong)
        log.exception("Warm-up failed; pages compile their templates when first used")


def pre_fork(server, worker):
    # The preloaded app is some 290 000 objects that live as long as the
    # process; a full garbage collection walked them all (0.3-0.8 s on the
    # test machine, a request stalled behind it). Frozen before the fork,
    # collections skip them (then ~0 ms) and the workers keep sharing their
    # memory pages with the master.
    import gc

    gc.freeze()


def post_fork(server, worker):
    # Connections opened by the master (migrations check, role sync) must not
    # be shared by the workers: each worker opens its own.
    from app import db

    app = worker.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)


def post_worker_init(worker):
    from app.jobs import start_scheduler

    if not worker.cfg.preload_app:
        _warm_up(worker.wsgi, worker.log)

    # What the jobs do is in the app's log (app/logs.py), beside gunicorn's.
    if start_scheduler(worker.wsgi) is not None:
        worker.log.info("Scheduled jobs started in worker %s", worker.pid)


_served = itertools.count(1)  # per worker: the master serves no request


def post_request(worker, req, environ, resp):
    if next(_served) in SETTLE_AFTER:
        _settle(worker)


def _settle(worker):
    # What a worker keeps from its first requests (SQLAlchemy's compiled
    # statements above all, some 100 000 objects) made each full garbage
    # collection walk them: 60-120 ms every few seconds, every thread of
    # the worker stalled behind it. Collected once more and frozen, they
    # are no longer walked. Frozen objects are never collected, so this
    # is done a few times only: what of them a cache drops later stays in
    # memory, bounded by what was frozen.
    import gc

    gc.collect()
    gc.freeze()
    worker.log.info("Worker %s froze %d long-lived objects", worker.pid, gc.get_freeze_count())


def worker_exit(server, worker):
    from app.jobs import stop_scheduler

    if getattr(worker, "wsgi", None) is not None:
        stop_scheduler(worker.wsgi)
