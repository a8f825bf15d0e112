"""`convergence db backup` / `db restore`: a round trip into a fresh database finds every row of every table, on
SQLite (online backup API, taken while another connection is writing) and on PostgreSQL (pg_dump / pg_restore);
clear errors with exit code 1; the PostgreSQL password never on a command line or in a message."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from convergence import backup as backup_module
from convergence.backup import BackupError, backup, restore
from tests.conftest import IN_CI, PG_ADMIN_URL, ROOT, _pg_admin, base_settings

# Tables that the fixtures and the simulation always fill: the round trip must find rows in each.
FILLED = ("alembic_version", "company", "user_account", "product", "response", "questionnaire", "item",
          "faq_entry", "terms_version")


def cli(url: str, *args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    environment = {**os.environ, "CONVERGENCE_ROOT": str(ROOT), "CONVERGENCE_DATABASE_URL": url,
                   "CONVERGENCE_SECRET_KEY": "test-secret-key-not-for-production",
                   "CONVERGENCE_ARGON2_MEMORY_KIB": "1024", "CONVERGENCE_ARGON2_TIME_COST": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "convergence.cli", *args], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=300, input=stdin)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


async def _snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Every table of the database: its row count and a checksum of its rows (independent of their order)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            tables = {}
            for name in sorted(names):
                rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
                digest = hashlib.sha256("\n".join(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest()
                tables[name] = (len(rows), digest)
            return tables
    finally:
        await engine.dispose()


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    return asyncio.run(_snapshot(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases (a file, or a temporary PostgreSQL database dropped afterwards); answers their URL."""
    created: list[str] = []
    if request.param == "postgresql":
        try:
            asyncio.run(_pg_admin("SELECT 1"))
        except (OSError, Exception) as exc:  # noqa: BLE001 - any failure to reach the server means "no PostgreSQL"
            if IN_CI:
                pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_ADMIN_URL}: {exc}")
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__})")

    def make(label: str) -> str:
        if request.param == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / label}.db"
        name = f"convergence_backup_{os.getpid()}_{label}"
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return re.sub(r"/[^/]*$", f"/{name}", PG_ADMIN_URL).replace("postgresql://", "postgresql+asyncpg://")

    make.engine = request.param  # type: ignore[attr-defined]
    yield make
    for name in created:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def populated(make: Callable[[str], str]) -> str:
    url = make("source")
    ok(cli(url, "db", "upgrade"))
    ok(cli(url, "fixtures", "load"))
    ok(cli(url, "simulate", "--companies", "2"))
    return url


def test_a_backup_restores_every_row_of_every_table_into_a_fresh_database(fresh, tmp_path):
    source = populated(fresh)
    before = snapshot(source)
    assert all(before[t][0] > 0 for t in FILLED), {t: before[t][0] for t in FILLED}
    archive = tmp_path / "convergence.backup"
    if fresh.engine == "sqlite":
        # Taken while the server is writing: another connection holds an uncommitted write transaction.
        writer = sqlite3.connect(source.removeprefix("sqlite+aiosqlite:///"), timeout=5)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE company SET name = 'not committed'")
        try:
            written = cli(source, "db", "backup", str(archive))
        finally:
            writer.rollback()
            writer.close()
    else:
        written = cli(source, "db", "backup", str(archive))
    assert "written to" in ok(written) and archive.stat().st_size > 0
    assert not list(tmp_path.glob("*.partial"))

    target = fresh("target")
    assert snapshot(target) == {}  # nothing there, not even the schema
    assert "restored" in ok(cli(target, "db", "restore", "--yes", str(archive)))
    after = snapshot(target)
    assert after == before  # every table, same counts, same rows
    assert "not committed" not in str(after)
    # The restored database is a working one: the migrations see it at head, and the app's CLI can use it.
    ok(cli(target, "db", "upgrade"))
    assert "terms: 0 new" in ok(cli(target, "fixtures", "load"))


def test_restore_replaces_what_the_database_holds(fresh, tmp_path):
    source = populated(fresh)
    before = snapshot(source)
    archive = tmp_path / "convergence.backup"
    ok(cli(source, "db", "backup", str(archive)))
    ok(cli(source, "simulate", "--companies", "1", "--seed", "7"))  # rows added after the backup
    assert snapshot(source) != before
    # Without --yes the command asks; answering no (or nothing) restores nothing.
    refused = cli(source, "db", "restore", str(archive), stdin="n\n")
    assert refused.returncode == 1 and "Nothing was restored." in refused.stderr
    assert snapshot(source) != before
    ok(cli(source, "db", "restore", str(archive), stdin="y\n"))
    assert snapshot(source) == before


def test_missing_files_wrong_formats_and_absent_tools_are_one_sentence_and_exit_1(fresh, tmp_path):
    url = fresh("errors")
    ok(cli(url, "db", "upgrade"))
    missing = cli(url, "db", "restore", "--yes", str(tmp_path / "nowhere.backup"))
    assert missing.returncode == 1 and missing.stderr.startswith("Error: The backup file ")
    assert "does not exist." in missing.stderr and "Traceback" not in missing.stderr
    no_folder = cli(url, "db", "backup", str(tmp_path / "no" / "such" / "folder.backup"))
    assert no_folder.returncode == 1 and "does not exist." in no_folder.stderr
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all")
    wrong = cli(url, "db", "restore", "--yes", str(junk))
    assert wrong.returncode == 1 and "is not a" in wrong.stderr and "Traceback" not in wrong.stderr
    if fresh.engine == "postgresql":
        archive = tmp_path / "pg.backup"
        ok(cli(url, "db", "backup", str(archive)))
        empty = tmp_path / "bin"
        empty.mkdir()
        for args, tool in ((("db", "backup", str(tmp_path / "x.backup")), "pg_dump"),
                           (("db", "restore", "--yes", str(archive)), "pg_restore")):
            absent = cli(url, *args, env={"PATH": str(empty)})
            assert absent.returncode == 1 and f"Error: {tool} was not found" in absent.stderr, absent.stderr
        assert not (tmp_path / "x.backup").exists()
        sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
        crossed = cli(sqlite_url, "db", "restore", "--yes", str(archive))
        assert crossed.returncode == 1 and "is not a SQLite backup" in crossed.stderr
    else:
        gone = cli(f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}", "db", "backup", str(tmp_path / "x.backup"))
        assert gone.returncode == 1 and "does not exist." in gone.stderr
        assert not (tmp_path / "gone.db").exists()  # a backup never creates the database it reads


def test_the_postgresql_password_goes_through_the_environment_only(monkeypatch, tmp_path):
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(command, *, env, **_kwargs):
        calls.append((command, env))
        Path(next(a for a in command if a.startswith("--file=")).removeprefix("--file=")).write_bytes(b"PGDMP")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backup_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(backup_module.subprocess, "run", fake_run)
    url = "postgresql+asyncpg://conv:S3cret%3Bpw@db.example:6543/convergence?ssl=require"
    message = backup(base_settings(url), tmp_path / "x.backup")
    (command, env), = calls
    assert "S3cret" not in " ".join(command) and "S3cret" not in message
    assert command[:2] == ["/usr/bin/pg_dump", "--format=custom"]
    assert (env["PGPASSWORD"], env["PGUSER"], env["PGHOST"], env["PGPORT"], env["PGDATABASE"],
            env["PGSSLMODE"]) == ("S3cret;pw", "conv", "db.example", "6543", "convergence", "require")

    def failing_run(command, *, env, **_kwargs):
        return subprocess.CompletedProcess(command, 1, "", f"pg_dump: error: password {env['PGPASSWORD']} refused")

    monkeypatch.setattr(backup_module.subprocess, "run", failing_run)
    with pytest.raises(BackupError) as failed:
        backup(base_settings(url), tmp_path / "y.backup")
    assert "S3cret" not in failed.value.message and "***" in failed.value.message
    assert not (tmp_path / "y.backup").exists()


def test_a_relative_sqlite_path_is_under_the_root_like_the_app_reads_it(tmp_path):
    live = tmp_path / "var" / "convergence.db"
    live.parent.mkdir()
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("é",), ("=1+1",), (None,)])
    conn.close()
    settings = base_settings("sqlite+aiosqlite:///var/convergence.db").with_(root=tmp_path)
    assert "written to" in backup(settings, tmp_path / "copy.db")
    elsewhere = base_settings("sqlite+aiosqlite:///new/folder/restored.db").with_(root=tmp_path)
    restore(elsewhere, tmp_path / "copy.db")
    with sqlite3.connect(tmp_path / "new" / "folder" / "restored.db") as conn:
        assert sorted(map(repr, conn.execute("SELECT x FROM t"))) == sorted(map(repr, [("é",), ("=1+1",), (None,)]))
    conn.close()
