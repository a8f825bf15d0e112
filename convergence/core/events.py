"""In-transaction hooks: a lower layer announces what it did, a higher layer reacts in the same session.

Identity must not import the domains, yet a company created on approval needs its global-strategy responses
(questionnaires). Identity emits `company.created`; questionnaires subscribe (wired where the app is built,
`convergence.app.create_app`). Handlers run in order, awaited, inside the caller's unit of work: an error
rolls the whole transaction back, as if the code were inline.

Events (name: keyword data):
- `company.created`: company_id
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

COMPANY_CREATED = "company.created"

Handler = Callable[..., Awaitable[None]]

_handlers: dict[str, list[Handler]] = {}


def subscribe(name: str, handler: Handler) -> None:
    """Register `handler(session, **data)` for `name`; subscribing the same handler twice keeps one."""
    handlers = _handlers.setdefault(name, [])
    if handler not in handlers:
        handlers.append(handler)


async def emit(session: AsyncSession, name: str, **data: Any) -> None:
    for handler in list(_handlers.get(name, ())):
        await handler(session, **data)
