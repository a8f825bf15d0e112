"""Outgoing mail. Every message is stored in the outbox table; the smtp backend also relays it."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.models import OutboxMessage, utcnow
from convergence.settings import Settings

log = logging.getLogger(__name__)


def _relay(settings: Settings, message: OutboxMessage) -> None:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(email)


class Mailer:
    def __init__(self, settings: Settings, session: AsyncSession) -> None:
        self.settings = settings
        self.session = session

    async def send(self, recipient: str, subject: str, body: str, kind: str) -> OutboxMessage:
        message = OutboxMessage(recipient=recipient, subject=subject, body=body, kind=kind)
        self.session.add(message)
        if self.settings.mail_backend == "smtp":
            try:
                await asyncio.to_thread(_relay, self.settings, message)
                message.sent_at = utcnow()
            except OSError:
                # The message stays in the outbox with no sent_at: support sees it was not relayed.
                log.warning("SMTP relay to %s:%s failed for a %s message", self.settings.smtp_host,
                            self.settings.smtp_port, kind)
        else:
            message.sent_at = utcnow()
        return message
