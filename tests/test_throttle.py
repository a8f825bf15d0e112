"""The sign-in throttle holds under concurrency: parallel wrong passwords for one account get at most the
allowed number of password checks, on both databases (issue 15, point 3, part)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from convergence.accounts import services as account_services
from convergence.accounts.services import AuthService
from convergence.core.context import Context
from convergence.core.db import unit_of_work
from convergence.core.errors import DomainError


async def test_parallel_wrong_passwords_get_at_most_the_allowed_checks(db, cast, settings,
                                                                      monkeypatch: pytest.MonkeyPatch):
    checks = 0
    verify = account_services.verify_password_async

    async def counted(*args: Any) -> bool:
        nonlocal checks
        checks += 1
        await asyncio.sleep(0.02)  # the slow hash: the window in which parallel attempts used to slip through
        return await verify(*args)

    monkeypatch.setattr(account_services, "verify_password_async", counted)

    async def attempt(number: int) -> str:
        try:
            async with unit_of_work(db) as session:
                await AuthService(Context(session=session, settings=settings, ip=f"192.0.2.{number}")).authenticate(
                    cast.manager.email, "not the password")
        except DomainError as exc:
            return exc.code
        return "ok"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(16)))
    assert checks <= settings.throttle_per_account, (checks, outcomes)
    assert outcomes.count("invalid_credentials") == checks
    assert outcomes.count("throttled") == 16 - checks
