import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging. Loggers that exist already
# (the app's, when migrations run inside it: tests, `flask sdelka restore`)
# keep working: by default fileConfig would silence them for good.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.get_engine()
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def include_object(object, name, type_, reflected, compare_to):
    """What the models do not describe on purpose: the roll-ups' pending
    sums and deferral marks, part of their triggers' machinery (migrations
    0013 and 0015, services/rollups.py), like the triggers themselves; the
    quick search's SQLite FTS5 tables with their shadow tables, its
    PostgreSQL trigram indexes and the registers' copies of their clients'
    words (migrations 0018, 0019 and 0036, services/search.py)."""
    from app.services.rollups import TRIGGER_TABLES
    from app.services.search import CLIENT_WORDS, FTS_TABLE, WORDS, WORDS_SUFFIX

    if not reflected:
        return True
    if type_ == "column" and name == CLIENT_WORDS:
        return False
    if type_ == "table":
        searched = [FTS_TABLE] + [f"{table}_{WORDS_SUFFIX}" for table in WORDS]
        return name not in TRIGGER_TABLES and not any(
            name == fts or name.startswith(fts + "_") for fts in searched)
    return not (type_ == "index" and name.endswith("_trgm"))


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    if conf_args.get("include_object") is None:
        conf_args["include_object"] = include_object

    connectable = get_engine()

    with connectable.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode drops and renames tables, which with foreign keys
            # on would cascade or fail; the app's connections check them.
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()  # or Alembic would take this as the caller's transaction
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            # The connection goes back to the app's pool.
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
