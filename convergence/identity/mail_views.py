"""Reading the outbox and retrying failed deliveries (ANS support only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.mail import MailStatus
from convergence.core.models import OutboxMessage, utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Permission


def outbox_json(m: OutboxMessage) -> dict[str, Any]:
    return {"id": m.id, "recipient": m.recipient, "subject": m.subject, "body": m.body, "kind": m.kind,
            "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "status": m.status, "attempts": m.attempts,
            "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
            "last_error": m.last_error}


class OutboxService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, recipient: str | None, limit: int = 50, offset: int = 0,
                   status: str | None = None) -> tuple[list[OutboxMessage], int]:
        self.ctx.require(Permission.OUTBOX_READ)
        query = select(OutboxMessage)
        if recipient:
            query = query.where(OutboxMessage.recipient == recipient.strip().lower())
        if status:
            if status not in set(MailStatus):
                raise Invalid("The status is queued, sent or failed.", code="invalid_input",
                              fields={"status": "The status is queued, sent or failed."})
            query = query.where(OutboxMessage.status == status)
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

    async def retry(self, message_id: int) -> OutboxMessage:
        """Put a failed message back in the queue, due now: the sender gives it one more attempt."""
        self.ctx.require(Permission.OUTBOX_RETRY)
        message = await self.get(message_id)
        # Compare-and-set: of two concurrent retries, one re-queues the message and the other is told it is not
        # failed any more (a single audit event).
        changed = await self.ctx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == MailStatus.FAILED)
            .values(status=MailStatus.QUEUED, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False))
        if changed.rowcount != 1:
            raise Conflict("Only a message whose delivery failed can be sent again.", code="not_failed")
        await self.ctx.session.refresh(message)
        self.ctx.audit("mail.retry_requested", target_type="outbox_message", target_id=message.id,
                       attempts=message.attempts)
        return message
