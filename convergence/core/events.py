"""In-transaction hooks: a lower layer announces what it did, a higher layer reacts in the same session.

Identity must not import the domains, yet a company created on approval needs its global-strategy responses
(questionnaires). Identity emits `company.created`; questionnaires subscribe (wired where the app is built,
`convergence.app.create_app`). Handlers run in order, awaited, inside the caller's unit of work: an error
rolls the whole transaction back, as if the code were inline.

Events (name: keyword data):
- `company.created`: company_id
- `team.invited`: company_id, user_id (the account created for the invitee), actor_id
- `team.rights_changed`: company_id, user_id (the member), actor_id
- `response.submitted`, `response.returned`, `response.validated`: response_id, company_id, product_id (None
  for the global strategy), actor_id, recipient_ids (whom the workflow tells), comment (returned only)
- `review.commented`: response_id, company_id, product_id, actor_id, comment_id
- `attestation.revoked`: attestation_id, company_id, product_id (actor_id when someone revoked it)
- `response.reopened`: as `response.validated` (recipient_ids empty)
- `product.changed`: product_id, company_id, actor_id, reason ("updated" with `changes`, or "new_version" with
  `new_product_id`): a referenced product changed (referencing flags it for ANS)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

COMPANY_CREATED = "company.created"
TEAM_INVITED = "team.invited"
RIGHTS_CHANGED = "team.rights_changed"
RESPONSE_SUBMITTED = "response.submitted"
RESPONSE_RETURNED = "response.returned"
RESPONSE_VALIDATED = "response.validated"
REVIEW_COMMENTED = "review.commented"
ATTESTATION_REVOKED = "attestation.revoked"
RESPONSE_REOPENED = "response.reopened"
PRODUCT_CHANGED = "product.changed"

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
