"""Reference data (questionnaire structure, themes, steps, FAQ answers...) read once per process and kept while
the database says it has not changed.

Each domain names the tables its cached data comes from (`watch`). Their *stamp* — the total number of rows and
the latest `updated_at` over those tables — is read in the statement that authenticates the request (identity's
`authenticate` adds `stamp_columns()` to it), so a signed-in request pays no extra statement to learn whether the
caches still hold. A change by any server process (fixtures loaded, a bound changed, a row added or removed)
moves the stamp, and every process drops its copies at its next request: the invalidation is exact and needs no
message between servers. A request that did not authenticate (anonymous pages, the CLI) reads the stamp with one
small statement of its own, only if it asks a cache.

(A row added changes the count; a row changed gets a later `updated_at`, set by the ORM and by Core updates
alike; a row removed changes the count. Hosts' clocks are assumed synchronised to well under the time between
two loads of reference data.)

Cached objects are detached from every session, with all their attributes loaded: they are shared, read-only,
by every request of the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

_tables: dict[str, Table] = {}
_columns: tuple[ColumnElement[Any], ...] | None = None
# The stamp read with this request's authentication; None until read.
_current: ContextVar[tuple[Any, ...] | None] = ContextVar("reference_stamp", default=None)


def watch(*tables: Table) -> None:
    """The tables some cached reference data is read from (domains call this at import)."""
    global _columns
    for table in tables:
        if table.name not in _tables:
            _tables[table.name] = table
            _columns = None


def stamp_columns() -> tuple[ColumnElement[Any], ...]:
    """Two scalar subqueries to add to a statement: the rows of the watched tables, and their latest change."""
    global _columns
    if _columns is None:
        names = sorted(_tables)
        if not names:
            _columns = (literal(0).label("reference_rows"), literal(None).label("reference_changed"))
        else:
            # Literal SQL (table names from the models, never from input): the statement it joins is keyed for
            # SQLAlchemy's statement cache on every request, and a text column costs one string in that key where
            # the same subqueries built as expressions cost a walk over a dozen nodes.
            counts = " UNION ALL ".join(f"SELECT count(*) AS n FROM {name}" for name in names)
            latest = " UNION ALL ".join(f"SELECT max(updated_at) AS at FROM {name}" for name in names)
            _columns = (literal_column(f"(SELECT sum(n) FROM ({counts}) AS reference_counts)")
                        .label("reference_rows"),
                        literal_column(f"(SELECT max(at) FROM ({latest}) AS reference_latest)")
                        .label("reference_changed"))
    return _columns


def remember(*values: Any) -> None:
    """The stamp read by the request's authentication (`stamp_columns()`, in that order)."""
    _current.set(tuple(values))


def forget() -> None:
    """At the start of every request: a stamp read by an earlier one proves nothing."""
    _current.set(None)


async def stamp(session: AsyncSession) -> tuple[Any, ...]:
    current = _current.get()
    if current is None:
        row = (await session.execute(select(*stamp_columns()))).one()
        current = tuple(row)
        _current.set(current)
    return current


class Cache:
    """Values computed from the watched tables, per database (tests use several in one process), dropped as a
    whole when the stamp moves."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._by_database: dict[str, tuple[tuple[Any, ...], dict[Any, Any]]] = {}

    async def get(self, session: AsyncSession, key: Any, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of `key`, or `await load()` (which must return detached, fully loaded objects)."""
        current = await stamp(session)
        database = str(session.bind.url) if session.bind is not None else ""
        held = self._by_database.get(database)
        if held is None or held[0] != current:
            held = self._by_database[database] = (current, {})
        values = held[1]
        if key in values:
            return values[key]
        value = await load()
        # Only while the stamp read at the start of the request still holds: a load that raced a change of
        # reference data may hold either version, and a later request must not keep it.
        if self._by_database.get(database) is held:
            values[key] = value
        return value

    def clear(self) -> None:
        self._by_database.clear()
