"""The dictionaries (справочники) over the API, with the rules of their
screens."""
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect
from sqlalchemy.orm import ONETOMANY

from app import db
from app.models import dictionary_models
from app.services import dictionaries
from app.views.api.base import GuardedApi, answer_columns
from app.views.api.fields import guard_schema


class DictionaryApi(GuardedApi):
    """A dictionary over the API, with the rules of its screen."""

    page_size = 100

    def _init_model_schemas(self):
        super()._init_model_schemas()
        guard_schema(self.add_model_schema, self.datamodel.obj)
        guard_schema(self.edit_model_schema, self.datamodel.obj)

    def pre_add(self, item):
        """The rules of the screen; GuardedApi answers their refusal."""
        if hasattr(item, "parent"):
            dictionaries.check_parent(item)
        if hasattr(item, "is_base"):
            dictionaries.check_single_base(db.session, item.is_base, item.id)
        dictionaries.check_synonyms(db.session, item)

    pre_update = pre_add

    def pre_delete(self, item):
        dictionaries.check_can_delete(db.session, item)


def dictionary_api(model):
    mapper = inspect(model)
    names = [attr.key for attr in mapper.column_attrs] + [
        rel.key for rel in mapper.relationships if rel.direction is not ONETOMANY]
    shown = answer_columns(model, names)
    return type(f"{model.__name__}Api", (DictionaryApi,), {
        "resource_name": model.__tablename__, "datamodel": SQLAInterface(model),
        "list_columns": shown, "show_columns": shown})


DICTIONARY_APIS = [dictionary_api(model) for model in dictionary_models()]
