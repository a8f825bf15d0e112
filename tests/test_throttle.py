"""The sign-in throttle holds under concurrency: parallel wrong passwords for one account get at most the
allowed number of password checks, on both databases, and the refusals that follow offer the owner one sign-in
link, not one per refusal (issue 15, point 3)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from convergence.accounts import services as account_services
from convergence.accounts.services import AuthService
from convergence.identity.context import Context
from convergence.core.db import unit_of_work
from convergence.core.errors import DomainError
from convergence.core.models import OutboxMessage


@pytest.fixture
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    checks: list[int] = []
    verify = account_services.verify_password_async

    async def counted(*args: Any) -> bool:
        checks.append(1)
        await asyncio.sleep(0.02)  # the slow hash: the window in which parallel attempts used to slip through
        return await verify(*args)

    monkeypatch.setattr(account_services, "verify_password_async", counted)
    return checks


async def attempt(db: Any, settings: Any, email: str, ip: str) -> str:
    try:
        async with unit_of_work(db) as session:
            auth = AuthService(Context(session=session, settings=settings, ip=ip))
            await auth.authenticate(email, "not the password")
    except DomainError as exc:
        return exc.code
    return "ok"


async def sign_in_links(db: Any, email: str) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == email, OutboxMessage.kind == "sign_in_link"))


async def test_parallel_wrong_passwords_get_at_most_the_allowed_checks(db, cast, settings, counted_checks):
    outcomes = await asyncio.gather(*(attempt(db, settings, cast.manager.email, f"192.0.2.{n}") for n in range(16)))
    checks = len(counted_checks)
    assert checks <= settings.throttle_per_account, (checks, outcomes)
    assert outcomes.count("invalid_credentials") == checks
    assert outcomes.count("throttled") == 16 - checks
    assert await sign_in_links(db, cast.manager.email) == 1


async def test_parallel_guesses_from_one_address_get_at_most_the_allowed_checks(db, cast, settings, counted_checks):
    emails = [f"guess{n}@example.org" for n in range(24)]
    outcomes = await asyncio.gather(*(attempt(db, settings, email, "198.51.100.9") for email in emails))
    assert len(counted_checks) == settings.throttle_per_address, outcomes
    assert outcomes.count("throttled") == 24 - settings.throttle_per_address
