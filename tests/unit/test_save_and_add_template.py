"""sdelka/widgets/add_form.html is FAB's appbuilder/general/widgets/form.html
with «Сохранить и создать новую» beside its «Сохранить»: an upgrade of FAB
that changes its form fails here instead of leaving the add pages behind."""
import pathlib
import re

import flask_appbuilder

FAB = pathlib.Path(flask_appbuilder.__file__).parent / "templates" / "appbuilder" / "general"
OURS = pathlib.Path(__file__).parents[2] / "app" / "templates" / "sdelka" / "widgets"


def _words(text):
    return " ".join(text.split())


def test_the_add_form_is_fab_s_form_plus_the_button():
    ours = (OURS / "add_form.html").read_text(encoding="utf-8")
    ours = re.sub(r"^\{#.*?#\}\s*", "", ours, flags=re.S)
    controls = re.search(r'<div class="well well-sm">.*?</div>', ours, re.S).group(0)
    fab = (FAB / "widgets" / "form.html").read_text(encoding="utf-8")
    assert _words(ours.replace(controls, "{{ lib.render_form_controls() }}")) == _words(fab)
    lib = (FAB / "lib.html").read_text(encoding="utf-8")
    fab_controls = re.search(r"\{% macro render_form_controls\(\) %\}(.*?)\{% endmacro %\}",
                             lib, re.S).group(1)
    save = re.search(r"<button.*?</button>", fab_controls, re.S).group(0)
    assert save in controls and "lnk_back()" in fab_controls
    assert "sdelka-save-and-add" in controls and "lib.lnk_back()" in controls
