"""Alembic environment: the app's own engine factory (same SQLite pragmas), one transaction per run."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from convergence.core.db import create_engine, writing
from convergence.models import include_name, metadata
from convergence.settings import Settings

config = context.config
settings: Settings = config.attributes.get("settings") or Settings.from_env()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(settings)
    try:
        with writing():
            async with engine.connect() as connection:
                await connection.run_sync(_run)
                await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.database_url, target_metadata=metadata, literal_binds=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
