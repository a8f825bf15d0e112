"""Abuse resistance: sliding-window rate limits over `RateEvent` rows, and answers padded to a fixed duration.

A limit allows at most `limit` events per (bucket, key) over the last `window`. `hit` checks and records
atomically, so that parallel requests cannot all slip under the limit:

- PostgreSQL: a transaction-scoped advisory lock per (bucket, key), taken in sorted order (two requests never wait
  on each other crosswise), held until the unit of work commits; the count then sees every earlier event.
- SQLite: write transactions begin with BEGIN IMMEDIATE (`convergence.core.db.writing`), so a writing unit of work
  already runs alone; `hit` must run in one (every POST does).

Only allowed events are recorded: a key holds at most `limit` rows per window, however hard it is hammered, and
older rows are swept now and then (`PRUNE_EVERY`)."""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from litestar import Request
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.errors import Throttled
from convergence.core.models import RateEvent, utcnow
from convergence.core.web import release_write_gate
from convergence.settings import Settings

# One sweep of a bucket's expired rows every PRUNE_EVERY recorded events (decided on the new row's id, so that it
# needs neither a clock nor randomness).
PRUNE_EVERY = 100


@dataclass(frozen=True)
class Limit:
    bucket: str
    key: str
    limit: int
    window: timedelta

    @property
    def stored_key(self) -> str:
        return self.key[:320]

    @property
    def lock_name(self) -> str:
        return f"rate {self.bucket}:{self.stored_key}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until one more event fits (0 when allowed)


def address_key(ip: str | None) -> str:
    """The key of a client address: an IPv6 client is counted per /64 (one subscriber's network, inside which it
    can take any address), an IPv4 client per address."""
    try:
        parsed = ipaddress.ip_address(ip or "")
    except ValueError:
        return (ip or "unknown")[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


async def serialize(session: AsyncSession, limits: Iterable[Limit]) -> None:
    """Until the unit of work ends, one transaction at a time per (bucket, key) on PostgreSQL. SQLite: a writing
    unit of work already holds the database's write lock."""
    if session.bind.dialect.name != "postgresql":
        return
    for name in sorted({limit.lock_name for limit in limits}):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


async def verdict(session: AsyncSession, limit: Limit, now: datetime | None = None) -> Verdict:
    """Whether one more event fits, without recording it (call `serialize` first)."""
    now = now or utcnow()
    since = now - limit.window
    where = (RateEvent.bucket == limit.bucket, RateEvent.key == limit.stored_key, RateEvent.created_at > since)
    count = await session.scalar(select(func.count()).select_from(RateEvent).where(*where)) or 0
    if count < limit.limit:
        return Verdict(True)
    # The window has room again when the event that brings the count under the limit leaves it.
    leaving = await session.scalar(select(RateEvent.created_at).where(*where).order_by(RateEvent.created_at)
                                   .offset(count - limit.limit).limit(1))
    wait = (leaving + limit.window - now).total_seconds() if leaving is not None else limit.window.total_seconds()
    return Verdict(False, max(1, math.ceil(wait)))


async def record(session: AsyncSession, *limits: Limit, now: datetime | None = None) -> None:
    now = now or utcnow()
    events = [RateEvent(bucket=limit.bucket, key=limit.stored_key, created_at=now) for limit in limits]
    session.add_all(events)
    await session.flush()
    for event, limit in zip(events, limits, strict=True):
        if event.id % PRUNE_EVERY == 0:
            await prune(session, limit.bucket, before=now - limit.window)


async def hit(session: AsyncSession, *limits: Limit, now: datetime | None = None) -> Verdict:
    """Atomically: when every limit has room, record one event under each and allow; otherwise record nothing
    and refuse, with the longest wait."""
    await serialize(session, limits)
    now = now or utcnow()
    refused = [v for v in [await verdict(session, limit, now) for limit in limits] if not v.allowed]
    if refused:
        return Verdict(False, max(v.retry_after for v in refused))
    await record(session, *limits, now=now)
    return Verdict(True)


class Acting(Protocol):
    """What the limits read of the acting context (identity's `Context` fits): core never imports identity."""

    session: AsyncSession
    settings: Settings
    ip: str | None


def mail_limits(ctx: Acting, action: str, target: str) -> tuple[Limit, Limit]:
    """The limits of an action that sends a mail a stranger can trigger (a password reset, an account request, an
    invitation): per client address and per target e-mail, over `rate_window_minutes`."""
    settings = ctx.settings
    window = timedelta(minutes=settings.rate_window_minutes)
    return (Limit(f"{action}.address", address_key(ctx.ip), settings.rate_per_address, window),
            Limit(f"{action}.target", target, settings.rate_per_target, window))


async def limit_mails(ctx: Acting, action: str, target: str) -> None:
    """Count one `action` towards `target` (known or not: the answer must not tell), or refuse with 429."""
    outcome = await hit(ctx.session, *mail_limits(ctx, action, target))
    if not outcome.allowed:
        raise Throttled("Too many requests of this kind from your connection or for this e-mail address. "
                        "Try again later.", retry_after=outcome.retry_after)


async def clear(session: AsyncSession, bucket: str, key: str) -> None:
    await session.execute(delete(RateEvent).where(RateEvent.bucket == bucket, RateEvent.key == key[:320]))


async def prune(session: AsyncSession, bucket: str, *, before: datetime) -> None:
    """Forget a bucket's events that left the window."""
    await session.execute(delete(RateEvent).where(RateEvent.bucket == bucket, RateEvent.created_at <= before))


# ------------------------------------------------------------------------------------ answers

def settle_early(request: Request[Any, Any, Any], session: AsyncSession) -> Callable[[], Awaitable[None]]:
    """For a handler that pads its answer (`at_least`): commit its unit of work at once and hand SQLite's write
    gate on, so that the wait holds no lock and no connection. (The app's commit after the handler then has
    nothing left to do.)"""
    async def settle() -> None:
        await session.commit()
        release_write_gate(request.scope)

    return settle


@asynccontextmanager
async def at_least(seconds: float, *, clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> AsyncIterator[None]:
    """The block, when it succeeds, takes at least `seconds`: an answer whose delay must not tell which path was
    taken (an address with an account or without) is padded to a floor above the slower path's time. An error
    leaves at once: callers use it where errors do not depend on the secret."""
    start = clock()
    yield
    remaining = seconds - (clock() - start)
    if remaining > 0:
        await sleep(remaining)
