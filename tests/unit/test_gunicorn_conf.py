"""gunicorn.conf.py, the settings `make run` serves with."""
import gc
import os
import runpy

CONF = os.path.join(os.path.dirname(__file__), "..", "..", "gunicorn.conf.py")


def test_the_preloaded_app_is_frozen_before_each_fork():
    hooks = runpy.run_path(CONF)
    gc.unfreeze()
    try:
        hooks["pre_fork"](None, None)
        assert gc.get_freeze_count() > 1000  # the test process's objects, app included
    finally:
        gc.unfreeze()
