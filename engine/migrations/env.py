"""Alembic environment: runs on the connection handed over by engine.db.upgrade (or a URL)."""

from alembic import context
from sqlalchemy import create_engine

import engine.reports.tables  # noqa: F401 - the report tables share the models' metadata
from engine.event_months import is_partition_name
from engine.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _render_item(type_, obj, autogen_context):
    """Render our UTCDateTime as the plain column type it stores, so migrations need no imports."""
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out the history's partitions (migration 0013): storage of `event`, not tables of the models,
    which autogenerate would otherwise propose to drop."""
    return not (type_ == "table" and reflected and compare_to is None and is_partition_name(name or ""))


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
