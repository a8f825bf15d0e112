"""Reading the simulated outbox (ANS support only)."""

from __future__ import annotations

from sqlalchemy import func, select

from convergence.core.context import Context
from convergence.core.errors import NotFound
from convergence.core.models import OutboxMessage
from convergence.core.permissions import Permission


class OutboxService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, recipient: str | None, limit: int = 50, offset: int = 0) -> tuple[list[OutboxMessage], int]:
        self.ctx.require(Permission.OUTBOX_READ)
        query = select(OutboxMessage)
        if recipient:
            query = query.where(OutboxMessage.recipient == recipient.strip().lower())
        total = await self.ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await self.ctx.session.scalars(
            query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit).offset(offset))
        return list(rows), total

    async def get(self, message_id: int) -> OutboxMessage:
        self.ctx.require(Permission.OUTBOX_READ)
        message = await self.ctx.session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound("This message does not exist.")
        return message
