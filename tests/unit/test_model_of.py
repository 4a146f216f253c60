"""model_of(table) names the class people see, whatever order the registry
keeps its mappers in (it is a weak set: the order changed between runs and
a department's refusal once read «ab_user: 1» instead of «Сотрудники: 1»)."""
from types import SimpleNamespace

import pytest
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User

import app.models as models
from app.models import Client, Employee, model_of


@pytest.mark.parametrize("reverse", [False, True])
def test_the_most_derived_class_wins_in_any_order(monkeypatch, reverse):
    mappers = sorted(Model.registry.mappers, key=lambda m: len(m.class_.__mro__),
                     reverse=reverse)
    monkeypatch.setattr(models, "Model", SimpleNamespace(
        registry=SimpleNamespace(mappers=mappers)))
    assert model_of(User.__table__) is Employee
    assert model_of(Client.__table__) is Client


def test_a_link_table_has_no_model():
    assert model_of(User.__table__.metadata.tables["ab_user_role"]) is None
