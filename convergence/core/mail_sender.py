"""The background sender: relays the queued messages of the outbox over SMTP, with retries.

Design: claim in one short transaction, relay outside it, record the outcome in another short transaction.
Holding the row lock while relaying would keep a transaction (and, on SQLite, the database's single writer lock)
open during network I/O that may take the whole SMTP timeout, stalling every request that writes. So a claim takes
a lease instead: in the claim transaction the due rows are locked (PostgreSQL `FOR UPDATE SKIP LOCKED`, so that
concurrent senders take disjoint rows; SQLite serialises writers with `BEGIN IMMEDIATE`), their attempt is counted
and their `next_attempt_at` is pushed past the time the relay can take. Another sender, in this process or another,
then sees them as not due, so a message is never relayed by two senders at once. If the process dies mid-relay
the message stays "queued" and is taken again when the lease runs out: delivery is at-least-once (a crash after
the server accepted the message but before "sent" was recorded sends it twice), never at-most-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.mail import SMTP_TIMEOUT_SECONDS, MailStatus, relay
from convergence.core.models import OutboxMessage, utcnow
from convergence.settings import Settings

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
MAX_ERROR = 300
# An SMTP conversation is a handful of blocking steps, each bounded by the socket timeout.
LEASE_PER_MESSAGE = timedelta(seconds=SMTP_TIMEOUT_SECONDS * 8)


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def describe(exc: BaseException) -> str:
    """A short sentence for support: the exception's class and message, on one line. No credential reaches it
    (the relay does not authenticate); the server's answer may name the recipient, which support already sees."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:MAX_ERROR]


@contextlib.asynccontextmanager
async def _write(sessionmaker: async_sessionmaker[AsyncSession],
                 gate: asyncio.Lock | None) -> AsyncIterator[AsyncSession]:
    """A write transaction that queues behind this process's other SQLite writers (the app's write gate)."""
    async with gate if gate is not None else contextlib.nullcontext():
        async with unit_of_work(sessionmaker) as session:
            yield session


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], now: datetime, batch: int,
                 gate: asyncio.Lock | None) -> list[OutboxMessage]:
    async with _write(sessionmaker, gate) as session:
        rows = list(await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == MailStatus.QUEUED,
                   or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)))  # rendered on PostgreSQL; SQLite holds the writer lock instead
        lease_until = now + LEASE_PER_MESSAGE * len(rows)
        for message in rows:
            message.attempts += 1
            message.next_attempt_at = lease_until
    return rows


async def _record(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, message: OutboxMessage,
                  error: BaseException | None, now: datetime, gate: asyncio.Lock | None) -> MailStatus:
    """Write the outcome, only if the claim still holds (same attempt, still queued): a sender whose lease ran out
    and whose message was taken again must not overwrite the newer attempt's state."""
    if error is None:
        status, values = MailStatus.SENT, {"sent_at": now, "next_attempt_at": None}
    else:
        # A ValueError means the message itself is at fault (a header the SMTP policy refuses, text the server
        # cannot take): trying again cannot help.
        exhausted = message.attempts >= settings.mail_max_attempts or isinstance(error, ValueError)
        status = MailStatus.FAILED if exhausted else MailStatus.QUEUED
        values = {"last_error": describe(error),
                  "next_attempt_at": None if status == MailStatus.FAILED else now + retry_delay(message.attempts)}
        log.warning("Mail %s (%s) not relayed through %s:%s on attempt %s (%s); now %s", message.id, message.kind,
                    settings.smtp_host, settings.smtp_port, message.attempts, type(error).__name__, status)
    async with _write(sessionmaker, gate) as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.attempts == message.attempts,
                   OutboxMessage.status == MailStatus.QUEUED)
            .values(status=status, **values)
            .execution_options(synchronize_session=False))
    return status


async def deliver_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                      now: datetime | None = None, batch: int = 20, gate: asyncio.Lock | None = None,
                      outcomes: Counter[str] | None = None) -> int:
    """Relay up to `batch` messages due at `now`; returns how many were attempted (== batch: more may be due).
    `outcomes`, if given, counts them by the status they ended in (sent, queued for a retry, failed)."""
    claimed = await _claim(sessionmaker, now or utcnow(), batch, gate)
    for message in claimed:
        error: BaseException | None = None
        try:
            await asyncio.to_thread(relay, settings, message)
        except Exception as exc:  # noqa: BLE001 - any failure of one message is recorded on it, never raised
            error = exc
        status = await _record(sessionmaker, settings, message, error, now or utcnow(), gate)
        if outcomes is not None:
            outcomes[status] += 1
    return len(claimed)


async def deliver_all_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                          batch: int = 20, gate: asyncio.Lock | None = None) -> Counter[str]:
    """Everything due now, batch after batch (a failed message is rescheduled later, so this ends)."""
    outcomes: Counter[str] = Counter()
    while await deliver_due(sessionmaker, settings, batch=batch, gate=gate, outcomes=outcomes) == batch:
        pass
    return outcomes


async def send_due_once(settings: Settings) -> Counter[str]:
    """`convergence mail send`: everything due, on an engine of its own."""
    engine = create_engine(settings)
    try:
        return await deliver_all_due(create_sessionmaker(engine), settings)
    finally:
        await engine.dispose()


async def run_sender(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                     gate: asyncio.Lock | None = None) -> None:
    """The app's background task: deliver what is due, then wait `mail_poll_seconds`; cancelled at shutdown."""
    while True:
        try:
            await deliver_all_due(sessionmaker, settings, gate=gate)
        except Exception as exc:  # noqa: BLE001 - the database may be briefly unreachable: try at the next tick
            # The class only: a database error's text may quote the row's values (addresses, the last error).
            log.warning("The mail sender failed (%s); it will try again.", type(exc).__name__)
            log.debug("Mail sender failure", exc_info=True)
        await asyncio.sleep(settings.mail_poll_seconds)
