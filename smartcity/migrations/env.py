"""Alembic environment: the database comes from the settings, the schema from smartcity.models."""

from __future__ import annotations

from alembic import context

from smartcity.config import get_settings
from smartcity.core.db import make_engine
from smartcity.models import Base

config = context.config
settings = config.attributes.get("settings") or get_settings()
target_metadata = Base.metadata
# Made by migrations beside the models, never by autogenerate: the knowledge base's search index tables
# (SQLite FTS5) and PostGIS's own table. Autogenerate must not propose to drop them.
UNMAPPED_TABLES = ("hotline_article_fts", "spatial_ref_sys", "sta_observation_p")  # p: monthly partitions


def include_name(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
    table = name if type_ == "table" else parents.get("table_name")
    return not (table is not None and table.startswith(UNMAPPED_TABLES))


def run_offline() -> None:
    context.configure(
        url=settings.database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=settings.is_sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                include_name=include_name,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
