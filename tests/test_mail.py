"""Mail backends: the outbox keeps every message; with the smtp backend the sender relays it afterwards, and a
relay failure leaves the message unsent in the outbox (queued for a retry) instead of failing the request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from convergence.core import mail
from convergence.core.db import unit_of_work
from convergence.core.mail_sender import deliver_due
from convergence.core.models import OutboxMessage


class FakeSMTP:
    sent: list[Any] = []
    fail = False

    def __init__(self, host: str, port: int, timeout: int) -> None:
        self.address = (host, port)

    def __enter__(self) -> FakeSMTP:
        if FakeSMTP.fail:
            raise ConnectionRefusedError("no server")
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def send_message(self, message: Any) -> None:
        FakeSMTP.sent.append((self.address, message))


async def test_smtp_backend_relays_and_keeps_a_copy(settings, db, monkeypatch):
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent, FakeSMTP.fail = [], False
    smtp_settings = settings.with_(mail_backend="smtp", smtp_host="mail.example", smtp_port=2525)
    async with unit_of_work(db) as session:
        await mail.Mailer(smtp_settings, session).send("a@example.org", "Objet", "Corps", kind="test")
    assert FakeSMTP.sent == []  # nothing is relayed inside the transaction that stores the message
    assert await deliver_due(db, smtp_settings) == 1
    (address, message), = FakeSMTP.sent
    assert address == ("mail.example", 2525) and message["To"] == "a@example.org"
    async with db() as session:
        stored = (await session.scalars(select(OutboxMessage))).one()
    assert stored.sent_at is not None

    FakeSMTP.fail = True
    async with unit_of_work(db) as session:
        await mail.Mailer(smtp_settings, session).send("b@example.org", "Objet", "Corps", kind="test")
    assert await deliver_due(db, smtp_settings) == 1
    async with db() as session:
        unsent = await session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "b@example.org"))
    assert unsent.sent_at is None and unsent.status == "queued" and unsent.last_error
