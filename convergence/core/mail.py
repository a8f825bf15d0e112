"""Outgoing mail goes through a durable outbox: `Mailer.send` only stores the message, inside the caller's
transaction, so a mail that cannot be sent never fails the request.

With the `outbox` backend the stored message is the delivery (status "sent" at once). With the `smtp` backend
it is stored "queued" and the background sender (`core/mail_sender.py`) relays it, retrying with growing delays.

Headers never carry a line break: the recipient is refused if it is not one plain address, the subject has its
control characters collapsed, and the e-mail is built with `email.policy.SMTP`, which refuses CR/LF in any header
so that even a case missed here cannot inject one.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.policy import SMTP
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.models import OutboxMessage, utcnow
from convergence.settings import Settings

MAX_RECIPIENT = 320  # the column
MAX_SUBJECT = 300  # the column
MAX_BODY = 20_000
TRUNCATED_NOTE = "\n\n[…]"
SMTP_TIMEOUT_SECONDS = 10
# C0 and C1 control characters (CR and LF among them) and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# One address, nothing around it: no display name, no list, no spaces, one "@".
_ADDRESS = re.compile(r"[^\s@,;<>()\"]+@[^\s@,;<>()\"]+")


# Whether a message may be stored now: (session, recipient, kind) → bool. The notifications domain plugs in the
# recipients' e-mail preferences (immediately, daily digest, never) for its kinds of mail; every other kind (sign-in
# link, password, invitation) passes untouched. Wired in `convergence.app.create_app`.
MailGate = Callable[[AsyncSession, str, str], Awaitable[bool]]
_gate: MailGate | None = None


def gate_with(gate: MailGate | None) -> None:
    global _gate
    _gate = gate


class MailStatus(StrEnum):
    QUEUED = "queued"  # waiting for the sender (next_attempt_at says when)
    SENT = "sent"
    FAILED = "failed"  # retries exhausted: support sees last_error and may retry


def clean_recipient(recipient: str) -> str:
    """The recipient as stored, or ValueError: addresses are validated upstream, so a bad one is a bug."""
    if len(recipient) > MAX_RECIPIENT or _CONTROL.search(recipient) or not _ADDRESS.fullmatch(recipient):
        raise ValueError("A mail recipient must be a single address without control characters.")
    return recipient


def clean_subject(subject: str) -> str:
    """One line: every run of control characters (CR/LF included) becomes a space; cut to the column."""
    return " ".join(_CONTROL.sub(" ", subject).split())[:MAX_SUBJECT]


def clean_body(body: str) -> str:
    if len(body) <= MAX_BODY:
        return body
    return body[:MAX_BODY - len(TRUNCATED_NOTE)] + TRUNCATED_NOTE


def build_email(settings: Settings, message: OutboxMessage) -> EmailMessage:
    """`policy=SMTP` raises ValueError on a header value holding CR or LF, and writes CRLF line ends."""
    email = EmailMessage(policy=SMTP)
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def relay(settings: Settings, message: OutboxMessage) -> None:
    """Hand one message to the SMTP server (blocking: the sender runs it in a thread)."""
    email = build_email(settings, message)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(email)


class Mailer:
    def __init__(self, settings: Settings, session: AsyncSession) -> None:
        self.settings = settings
        self.session = session

    async def send(self, recipient: str, subject: str, body: str, kind: str) -> OutboxMessage | None:
        """Store the message in the caller's transaction; nothing is relayed here. None when the recipient chose
        not to receive this kind of mail now (see `gate_with`)."""
        if _gate is not None and not await _gate(self.session, recipient, kind):
            return None
        message = OutboxMessage(recipient=clean_recipient(recipient), subject=clean_subject(subject),
                                body=clean_body(body), kind=kind)
        now = utcnow()
        if self.settings.mail_backend == "smtp":
            message.status, message.attempts, message.next_attempt_at = MailStatus.QUEUED, 0, now
        else:
            message.status, message.attempts, message.sent_at = MailStatus.SENT, 1, now
        self.session.add(message)
        return message
