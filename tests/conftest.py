"""Test harness: every database test runs on SQLite and on PostgreSQL (migrated once per run,
emptied before each test), against the real app through an async HTTP client."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.app import create_app
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.fixtures import load_terms
from convergence.migrate import upgrade
from convergence.models import metadata
from convergence.settings import Settings
from tests.factories import Cast, make_cast

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("CONVERGENCE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BASE_URL = "http://testserver.local"


def base_settings(database_url: str) -> Settings:
    return Settings(root=ROOT, database_url=database_url, secret_key="test-secret-key-not-for-production",
                    base_url=BASE_URL, argon2_memory_kib=1024, argon2_time_cost=1)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_url() -> Iterator[str]:
    name = f"convergence_test_{os.getpid()}"
    try:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:  # noqa: BLE001 - any failure to reach the server means "no PostgreSQL"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); set CI=true to require it")
    base = re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_URL).replace("postgresql://", "postgresql+asyncpg://")
    yield base
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(base_settings(url))
        yield url
        return
    generator = _postgres_url()
    url = next(generator)
    upgrade(base_settings(url))
    yield url
    next(generator, None)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return base_settings(database_url)


_RESET: dict[str, str] = {}


async def _empty(session: AsyncSession) -> None:
    """Every table emptied and (PostgreSQL) every id sequence restarted, in one statement.

    The tables are migrated once per run, never rebuilt. On PostgreSQL a TRUNCATE of every table costs about
    0.7 s (new files for each table); deleting the few rows a test wrote, in one DO block, costs a few ms.
    """
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    if session.bind.dialect.name == "postgresql":
        if "postgresql" not in _RESET:
            sequences = (await session.scalars(text(
                "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'"))).all()
            _RESET["postgresql"] = "DO $$ BEGIN " + " ".join(
                [f'DELETE FROM "{t}";' for t in tables] + [f'ALTER SEQUENCE "{q}" RESTART;' for q in sequences]
            ) + " END $$"
        await session.execute(text(_RESET["postgresql"]))
    else:
        for table in tables:
            await session.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on the test database, emptied and given the reference data before each test."""
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    async with unit_of_work(maker) as session:
        await _empty(session)
        await load_terms(settings, session)
    yield maker
    await engine.dispose()


_APPS: dict[Settings, Litestar] = {}


def shared_app(settings: Settings) -> Litestar:
    """One app per settings for the whole run: building one costs about 0.4 s (its routes, its Jinja
    environment, whose compiled templates are then reused too), more than most tests. Its lifespan still runs
    per test (a fresh engine on the test's own event loop); the app keeps no other state between requests."""
    app = _APPS.get(settings)
    if app is None:
        app = _APPS[settings] = create_app(settings)
    return app


@pytest.fixture
async def client(settings: Settings, db: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncTestClient[Any]]:
    app = shared_app(settings)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as test_client:
        test_client.follow_redirects = False  # tests assert the 303s themselves
        test_client.headers["Accept-Language"] = "en"  # API sentences in English; pages stay French
        yield test_client


@pytest.fixture
async def cast(settings: Settings, db: async_sessionmaker[AsyncSession]) -> Cast:
    return await make_cast(settings, db)
