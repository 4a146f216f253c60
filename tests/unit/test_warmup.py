"""app/warmup.py: what a server does before its first request, so that the
first user of each worker does not pay for compiling templates and
reading catalogues (gunicorn.conf.py calls it in the master)."""
import os
import runpy
from types import SimpleNamespace

from flask_babel import force_locale, get_domain, get_translations

from app.warmup import warm_up

CONF = os.path.join(os.path.dirname(__file__), "..", "..", "gunicorn.conf.py")


def cached_templates(env):
    return {key[1] for key in env.cache.keys()}


def test_every_template_is_compiled_before_the_first_request(app):
    env = app.jinja_env
    env.cache.clear()
    assert warm_up(app) == len(env.list_templates())
    compiled = cached_templates(env)
    # The signatures' part is compiled by the printing sandbox, which has its filters.
    missing = set(env.list_templates()) - compiled - {"print/_stamp_signatures.html"}
    assert not missing
    assert {"sdelka/widgets/list.html", "appbuilder/general/model/list.html"} <= compiled


def test_the_catalogues_are_read(app):
    with app.test_request_context():
        domain = get_domain()
        domain.cache.clear()
        warm_up(app)
        read = len(domain.cache)
        with force_locale("ru"):
            assert get_translations().gettext("Save") == "Сохранить"
        assert len(domain.cache) == read >= 2  # nothing more was read for Russian


def test_the_master_warms_the_preloaded_app_before_the_workers_fork(app):
    hooks = runpy.run_path(CONF)
    app.jinja_env.cache.clear()
    logged = []
    log = SimpleNamespace(info=lambda *a: logged.append(a), exception=logged.append)
    server = SimpleNamespace(cfg=SimpleNamespace(preload_app=True), log=log,
                             app=SimpleNamespace(wsgi=lambda: app))
    hooks["when_ready"](server)
    assert "sdelka/widgets/list.html" in cached_templates(app.jinja_env)
    assert logged[0][0].startswith("Warmed up")


def test_a_failed_warm_up_is_logged_and_the_server_starts(app):
    hooks = runpy.run_path(CONF)
    logged = []
    log = SimpleNamespace(info=logged.append, exception=logged.append)
    broken = SimpleNamespace(jinja_env=None, config={})
    server = SimpleNamespace(cfg=SimpleNamespace(preload_app=True), log=log,
                             app=SimpleNamespace(wsgi=lambda: broken))
    hooks["when_ready"](server)  # no exception
    assert logged == ["Warm-up failed; pages compile their templates when first used"]


def test_a_worker_freezes_what_it_kept_after_its_first_requests():
    """After SETTLE_AFTER's requests a worker freezes its long-lived objects
    (compiled statements): full collections stop walking them. Only then,
    and a bounded number of times."""
    import gc

    hooks = runpy.run_path(CONF)
    logged = []
    worker = SimpleNamespace(pid=1, log=SimpleNamespace(info=lambda *a: logged.append(a)))
    first, second = hooks["SETTLE_AFTER"][:2]
    assert len(hooks["SETTLE_AFTER"]) <= 5
    before = gc.get_freeze_count()
    try:
        for _ in range(first - 1):
            hooks["post_request"](worker, None, {}, None)
        assert not logged and gc.get_freeze_count() == before
        kept = [[]]  # a list is always tracked by the collector
        assert any(o is kept for o in gc.get_objects())
        hooks["post_request"](worker, None, {}, None)
        assert len(logged) == 1 and gc.get_freeze_count() > before
        assert not any(o is kept for o in gc.get_objects())  # out of the collector's sight
        for _ in range(second - first):
            hooks["post_request"](worker, None, {}, None)
        assert len(logged) == 2
    finally:
        gc.unfreeze()
