"""Engine and session plumbing.

SQLite: WAL, a busy timeout, foreign keys, and the driver's own transaction handling turned off so that
we emit BEGIN ourselves: `BEGIN IMMEDIATE` when the unit of work intends to write (the writer lock is taken
up front, so concurrent writers queue on busy_timeout instead of failing or losing an upgrade), plain
`BEGIN` for reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from convergence.settings import Settings

logger = logging.getLogger(__name__)

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)

SQLITE_BUSY_TIMEOUT_MS = 30_000


@contextlib.contextmanager
def writing(enabled: bool = True) -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at BEGIN."""
    token = _write_intent.set(enabled)
    try:
        yield
    finally:
        _write_intent.reset(token)


def sqlite_path(settings: Settings) -> Path | None:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return path if path.is_absolute() else settings.root / path


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite"):
        return create_async_engine(url, **{"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, **kwargs})

    path = sqlite_path(settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        # Reads through a memory map (up to 256 MB of the file) rather than a read() per page: the pages are the
        # operating system's cache, shared by every connection, with no copy into each connection's own.
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()
        # SQLite's own lower() folds ASCII letters only, so a search for "éco" would miss "Éco"; Python's folds
        # every letter, as PostgreSQL's lower() does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")

    return engine


# SQLite copies its write-ahead log back into the database file (a checkpoint) in the commit that takes the log past
# wal_autocheckpoint pages: that commit, an autosave as often as not, pays for writing megabytes (the autosave's p99).
# A server checkpoints from a background task instead (`run_checkpointer`), every CHECKPOINT_EVERY seconds, in the
# PASSIVE mode that never waits for a writer nor makes one wait. Not more often: a checkpoint copies each page once
# however many times it was written since, and every second cost 32 concurrent savers a sixth of their throughput
# (the same response pages copied and synced over and over). The commit-time limit stays, ten times higher, for
# the processes that run no such task (the CLI's loads) and in case the task falls behind.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_EVERY = 5.0


async def run_checkpointer(engine: AsyncEngine, every: float = CHECKPOINT_EVERY) -> None:
    """Checkpoint a SQLite database's write-ahead log every `every` seconds, until cancelled. On a connection of its
    own, outside the engine's pool: requests never wait for it, and it never holds a transaction (a checkpoint
    cannot pass a snapshot its own connection reads)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return
    async with aiosqlite.connect(database) as connection:
        while True:
            await asyncio.sleep(every)
            try:
                await connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except aiosqlite.Error:  # retried at the next tick; the commit-time limit still bounds the log
                logger.warning("The SQLite checkpoint failed; retried in %s s.", every, exc_info=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def write_gate(engine: AsyncEngine) -> asyncio.Lock | None:
    """SQLite admits one writer at a time: the writers of this process queue on an asyncio lock, first come
    first served, instead of polling the file lock through busy_timeout, whose growing sleeps leave unlucky
    writers waiting seconds under load. (Other processes still meet at the file lock.) None for PostgreSQL."""
    return asyncio.Lock() if engine.dialect.name == "sqlite" else None


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextlib.asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A write transaction outside a request (CLI, fixtures): commits on success, rolls back on error."""
    with writing():
        async with sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


# The market's maintained figures (review_theme_count) are updated by triggers that take this advisory lock on
# PostgreSQL before any count row, so that two saves crossing theme scores queue instead of deadlocking on them.
# Every writer then locks in one order: its response rows, this lock, the figures' rows.
MARKET_FIGURES_LOCK = (16, 22)
# The referencing queue's counts (referencing_queue_count) have their own: a decision moves an application between
# two count rows, and two decisions crossing them would otherwise deadlock. Its writers lock the application's
# row, then this lock, then the count rows; none of them holds it while waiting for the market figures' lock.
QUEUE_FIGURES_LOCK = (16, 23)


async def lock_rows_in_order(session: AsyncSession, id_column: Any, *conditions: Any) -> None:
    """Lock, in id order, the rows a transaction is about to change several of (a migration, a reopening of
    several chapters, steps removed, a product deleted) before it changes the first one: otherwise it would hold
    the figures' lock (taken by the first change's trigger) while waiting for a row that a single save holds,
    and that save waits for the lock. SQLite writes one transaction at a time: nothing to do."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(select(id_column).where(*conditions).order_by(id_column).with_for_update())
