"""The dictionaries (справочники) over the API, with the rules of their
screens."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect
from sqlalchemy.orm import ONETOMANY

from app import db
from app.models import dictionary_models
from app.services import dictionaries
from app.views.api.base import GuardedApi, Refusal, answer_columns
from app.views.api.fields import guard_schema


class DictionaryApi(GuardedApi):
    """A dictionary over the API, with the rules of its screen."""

    page_size = 100

    def _init_model_schemas(self):
        super()._init_model_schemas()
        guard_schema(self.add_model_schema, self.datamodel.obj)
        guard_schema(self.edit_model_schema, self.datamodel.obj)

    def _check(self, check, *args):
        try:
            check(*args)
        except dictionaries.DictionaryError as exc:
            db.session.rollback()
            raise Refusal(422, str(exc)) from None

    def pre_add(self, item):
        if hasattr(item, "parent"):
            self._check(dictionaries.check_parent, item)
        if hasattr(item, "is_base"):
            self._check(dictionaries.check_single_base, db.session, item.is_base, item.id)
        self._check(dictionaries.check_synonyms, db.session, item)

    pre_update = pre_add

    def pre_delete(self, item):
        self._check(dictionaries.check_can_delete, db.session, item)


def dictionary_api(model):
    mapper = inspect(model)
    names = [attr.key for attr in mapper.column_attrs] + [
        rel.key for rel in mapper.relationships if rel.direction is not ONETOMANY]
    shown = answer_columns(model, names)
    return type(f"{model.__name__}Api", (DictionaryApi,), {
        "resource_name": model.__tablename__, "datamodel": SQLAInterface(model),
        "list_columns": shown, "show_columns": shown})


DICTIONARY_APIS = [dictionary_api(model) for model in dictionary_models()]
