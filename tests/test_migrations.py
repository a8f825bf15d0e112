"""The migrations build exactly the schema the models describe (no drift), on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from convergence.core.db import create_engine
from convergence.models import include_name, metadata


async def test_models_and_migrations_agree(settings):
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True,
                                                                                  "include_name": include_name}),
                                              metadata))
    finally:
        await engine.dispose()
    assert diff == []


async def test_sqlite_pragmas_are_set(settings):
    if not settings.is_sqlite:
        return
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        await engine.dispose()
