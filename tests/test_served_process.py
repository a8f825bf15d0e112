"""What a served process does besides answering requests, for the tail of its latencies: SQLite's write-ahead log is
copied back into the database file by a background task, not in the commit of whichever request takes the log past
its limit (core/db.py); and the long-lived objects are frozen out of the garbage collector's sight (app.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from convergence.core.db import SQLITE_WAL_AUTOCHECKPOINT_PAGES, create_engine, run_checkpointer
from tests.conftest import base_settings


async def test_the_background_task_checkpoints_the_log(tmp_path) -> None:
    path = tmp_path / "checkpoint.db"
    engine = create_engine(base_settings(f"sqlite+aiosqlite:///{path}"))
    try:
        async with engine.begin() as connection:
            limit = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
            await connection.execute(text("CREATE TABLE blob (data BLOB)"))
            await connection.execute(text("INSERT INTO blob VALUES (randomblob(2000000))"))
        assert limit == SQLITE_WAL_AUTOCHECKPOINT_PAGES
        # Committed, the two megabytes are in the log, not yet in the database file.
        assert path.stat().st_size < 1_000_000 and (tmp_path / "checkpoint.db-wal").stat().st_size > 2_000_000
        task = asyncio.create_task(run_checkpointer(engine, every=0.02))
        try:
            for _ in range(100):
                await asyncio.sleep(0.02)
                if path.stat().st_size > 2_000_000:
                    break
        finally:
            task.cancel()
        assert path.stat().st_size > 2_000_000
        async with engine.connect() as connection:  # still readable, the task stopped cleanly
            assert (await connection.execute(text("SELECT length(data) FROM blob"))).scalar_one() == 2_000_000
    finally:
        await engine.dispose()


async def test_a_served_process_freezes_its_long_lived_objects(tmp_path) -> None:
    """`convergence serve` sets CONVERGENCE_FREEZE_GC=1 for its workers; their startup then moves the objects
    built so far out of the collector's sight (app.py), and an app built without the setting does not."""
    import gc

    from convergence.app import create_app

    url = f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}"
    gc.unfreeze()
    try:
        async with create_app(base_settings(url)).lifespan():
            assert gc.get_freeze_count() == 0
        async with create_app(base_settings(url).with_(freeze_gc=True)).lifespan():
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
