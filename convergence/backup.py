"""`convergence db backup PATH` and `convergence db restore PATH` for the configured database.

SQLite goes through its online backup API (`sqlite3.Connection.backup`): a consistent copy taken page by page
while the server keeps serving (committed transactions only). PostgreSQL goes through `pg_dump --format=custom`
and `pg_restore --clean --if-exists --no-owner` in one transaction. The connection parameters come from
`CONVERGENCE_DATABASE_URL`; the password reaches the tools through the PGPASSWORD environment variable, never on
a command line, in a message or in a log.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from convergence.core.db import sqlite_path
from convergence.settings import Settings

SQLITE_TIMEOUT_S = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
# libpq names for what an asyncpg URL may carry in its query string.
PG_QUERY_ENV = {"sslmode": "PGSSLMODE", "ssl": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
                "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "target_session_attrs": "PGTARGETSESSIONATTRS"}


class BackupError(Exception):
    """A sentence for the operator; the command exits with 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def backup(settings: Settings, path: Path) -> str:
    """Write a copy of the configured database to `path`; answers a sentence saying what was written."""
    url = make_url(settings.database_url)
    path = Path(path)
    if not path.parent.is_dir():
        raise BackupError(f"The folder {path.parent} does not exist.")
    if path.is_dir():
        raise BackupError(f"{path} is a folder: give the path of the backup file to write.")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(settings), path)
        elif url.get_backend_name() == "postgresql":
            _pg_backup(url, path)
        else:
            raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
    except OSError as exc:
        raise BackupError(f"The backup could not be written to {path} ({exc.strerror}).") from None
    return f"Backup of the {url.get_backend_name()} database written to {path} ({path.stat().st_size} bytes)."


def restore(settings: Settings, path: Path) -> str:
    """Replace the content of the configured database by the backup at `path`."""
    url = make_url(settings.database_url)
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"The backup file {path} does not exist.")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
        if url.get_backend_name() == "sqlite":
            if not header.startswith(SQLITE_HEADER):
                raise BackupError(f"{path} is not a SQLite backup (was it made from a PostgreSQL database?).")
            _sqlite_restore(path, _sqlite_file(settings))
        elif url.get_backend_name() == "postgresql":
            if not header.startswith(PG_DUMP_HEADER):
                raise BackupError(f"{path} is not a pg_dump custom-format backup (was it made from a SQLite "
                                  f"database?).")
            _pg_restore(url, path)
        else:
            raise BackupError(f"Restoring {url.get_backend_name()} databases is not supported.")
    except OSError as exc:
        raise BackupError(f"The backup {path} could not be read ({exc.strerror}).") from None
    return f"The {url.get_backend_name()} database was restored from {path}."


# ------------------------------------------------------------------------------------------------ SQLite

def _sqlite_file(settings: Settings) -> Path:
    """The file the app serves from (a relative path is under CONVERGENCE_ROOT, as for the app itself)."""
    url = make_url(settings.database_url)
    path = sqlite_path(settings)
    if path is None or url.database.startswith("file:"):
        raise BackupError("The SQLite database must be a file path in CONVERGENCE_DATABASE_URL.")
    return path


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    # mode=rw refuses to create a missing file (sqlite3.connect would silently create an empty database).
    mode = "rwc" if create else "rw"
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=SQLITE_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise BackupError(f"The SQLite database {path} could not be opened ({exc}).") from None


def _copy(source: Path, target: Path, *, create_target: bool) -> None:
    src = _connect(source, create=False)
    try:
        dst = _connect(target, create=create_target)
        try:
            src.backup(dst)  # the online backup API: consistent, and other connections keep working
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"The SQLite copy from {source} to {target} failed ({exc}).") from None
    finally:
        src.close()


def _sqlite_backup(database: Path, path: Path) -> None:
    if not database.is_file():
        raise BackupError(f"The SQLite database {database} does not exist.")
    # Copy next to the destination, then rename: a failed backup never leaves a half-written file at PATH.
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(database, partial, create_target=True)
        # A single file, whatever the journal mode of the live database.
        with sqlite3.connect(partial) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(path: Path, database: Path) -> None:
    check = _connect(path, create=False)
    try:
        result = check.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a readable SQLite backup ({exc}).") from None
    finally:
        check.close()
    if not result or result[0] != "ok":
        raise BackupError(f"{path} is damaged (SQLite quick_check: {result[0] if result else 'no answer'}).")
    database.parent.mkdir(parents=True, exist_ok=True)  # as the app does on a fresh install
    _copy(path, database, create_target=True)


# ------------------------------------------------------------------------------------------------ PostgreSQL

def _pg_env(url: URL) -> dict[str, str]:
    """The connection as libpq environment variables: nothing secret on the command line."""
    env = dict(os.environ)
    values = {"PGHOST": url.host, "PGPORT": str(url.port) if url.port else None, "PGUSER": url.username,
              "PGPASSWORD": url.password, "PGDATABASE": url.database}
    for key, value in url.query.items():
        name = PG_QUERY_ENV.get(key)
        value = value[0] if isinstance(value, tuple) else value
        if name and value:
            env_value = {"true": "require", "false": "disable"}.get(value.lower(), value) if key == "ssl" else value
            values[name] = env_value
    env.update({k: v for k, v in values.items() if v})
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools (same major version as the "
                          f"server or newer) and put them on the PATH.")
    return found


def _run(command: list[str], url: URL, what: str) -> None:
    try:
        done = subprocess.run(command, env=_pg_env(url), capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise BackupError(f"{Path(command[0]).name} could not be started ({exc.strerror}).") from None
    if done.returncode != 0:
        detail = done.stderr.strip()
        if url.password:
            detail = detail.replace(url.password, "***")
        raise BackupError(f"{what} failed ({Path(command[0]).name} exited with {done.returncode}): {detail}")


def _pg_backup(url: URL, path: Path) -> None:
    if not url.database:
        raise BackupError("CONVERGENCE_DATABASE_URL names no database.")
    pg_dump = _tool("pg_dump")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _run([pg_dump, "--format=custom", "--no-password", f"--file={partial}"], url,
             f"The backup of the database {url.database}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _pg_restore(url: URL, path: Path) -> None:
    if not url.database:
        raise BackupError("CONVERGENCE_DATABASE_URL names no database.")
    pg_restore = _tool("pg_restore")
    # --dbname is what makes pg_restore restore into a database (the name only: the rest comes from the env).
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
          "--no-password", f"--dbname={url.database}", str(path)], url,
         f"The restore into the database {url.database}")
