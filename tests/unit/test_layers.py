"""The layers hold: models import nothing of the app's, services and jobs
reach no screen, the roles name no view. Read from the source: the app
modules each module imports when it is loaded (imports inside functions
run later, on demand), followed to the end."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _path(module):
    base = os.path.join(ROOT, *module.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _load_time_nodes(body):
    """Statements run at import: module and class bodies, not functions."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _load_time_nodes(getattr(node, field, []) or [])


def _imports(module):
    path = _path(module)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in _load_time_nodes(tree.body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] == "app" and _path(name))


def loaded(module):
    """Every app module loading ``module`` loads (parents included)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # a package's __init__ runs first
            step = ".".join(parts[:i])
            if step not in seen and _path(step):
                seen.add(step)
                todo.extend(_imports(step))
    return seen


SERVICES = sorted("app.services." + name[:-3] for name in os.listdir(
    os.path.join(ROOT, "app", "services")) if name.endswith(".py") and name != "__init__.py")


@pytest.mark.parametrize("module", ["app.security", "app.permissions", "app.jobs.followup",
                                    "app.jobs.imports", "app.jobs.cli"] + SERVICES)
def test_no_screen_behind(module):
    views = sorted(name for name in loaded(module) if name.startswith("app.views"))
    assert not views, f"{module} loads {views}"


def test_models_import_nothing_of_the_app():
    assert loaded("app.models") <= {"app", "app.models"}


def test_the_check_sees_views():
    """The walk does find a screen where there is one."""
    assert "app.views.rowaccess" in loaded("app.views.api.base")


def test_the_import_jobs_only_schedule():
    """app/jobs/imports.py holds scheduled entry points and nothing else: the
    life cycle of an import job is a service's."""
    import importlib
    import inspect

    from app.jobs import load

    module = importlib.import_module("app.jobs.imports")
    registered = {entry.func for entry in load().values()}
    defined = [value for value in vars(module).values()
               if (inspect.isfunction(value) or inspect.isclass(value))
               and value.__module__ == module.__name__]
    assert defined, "app.jobs.imports defines no job"
    stray = sorted(value.__name__ for value in defined if value not in registered)
    assert not stray, f"app.jobs.imports defines more than jobs: {stray}"
