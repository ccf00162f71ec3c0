"""Alembic environment: the database comes from the settings, the schema from smartcity.models."""

from __future__ import annotations

from alembic import context

from smartcity.config import get_settings
from smartcity.core.db import make_engine
from smartcity.models import Base

config = context.config
settings = config.attributes.get("settings") or get_settings()
target_metadata = Base.metadata


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
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
