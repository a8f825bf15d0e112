"""The durable outbox: requests only enqueue, the background sender relays with retries and back-off, failures are
visible to support and can be retried, concurrent senders never send a message twice, and no header can be
injected through the data that ends up in a subject."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from convergence.app import create_app
from convergence.cli import main as cli
from convergence.companies.models import Company
from convergence.core import mail, mail_sender
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.mail import MAX_BODY, MAX_SUBJECT, Mailer, build_email, clean_body, clean_recipient, clean_subject
from convergence.core.mail_sender import deliver_due, retry_delay
from convergence.core.models import AuditEvent, OutboxMessage, utcnow
from tests.conftest import BASE_URL
from tests.factories import csrf, page_login, token_for

INJECTED = "Acme\r\nBcc: x@evil.example"


class FakeSMTP:
    """Stands for smtplib.SMTP: records what it is given, or refuses the connection while `down`."""

    sent: list[Any] = []
    down = False

    def __init__(self, host: str, port: int, timeout: int) -> None:
        if FakeSMTP.down:
            raise ConnectionRefusedError("no server")

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def send_message(self, message: Any) -> None:
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(settings, monkeypatch):
    """The smtp backend, relaying to FakeSMTP; the app's sender polls rarely so that tests drive it themselves."""
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent, FakeSMTP.down = [], False
    return settings.with_(mail_backend="smtp", mail_poll_seconds=3600.0)


@pytest.fixture
async def smtp_client(smtp, db) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(smtp), base_url=BASE_URL) as client:
        client.follow_redirects = False
        client.headers["Accept-Language"] = "en"
        yield client


async def enqueue(db: Any, settings: Any, count: int = 1, subject: str = "Objet") -> list[int]:
    async with unit_of_work(db) as session:
        messages = [await Mailer(settings, session).send(f"r{i}@example.org", subject, "Corps", kind="test")
                    for i in range(count)]
        await session.flush()
        return [m.id for m in messages]


async def stored(db: Any, message_id: int) -> OutboxMessage:
    async with db() as session:
        return await session.get(OutboxMessage, message_id)


async def invite(client: Any, headers: dict[str, str], company_id: int) -> Any:
    return await client.post(f"/api/v1/companies/{company_id}/invitations", headers=headers, json={
        "email": "nouveau@sante-connectee.example", "first_name": "Nina", "last_name": "Nouvelle",
        "role": "contributor", "rights": []})


# ------------------------------------------------------------------------------------------ enqueueing


async def test_outbox_backend_delivers_on_storing(settings, db):
    message_id, = await enqueue(db, settings)
    message = await stored(db, message_id)
    assert (message.status, message.attempts, message.next_attempt_at) == ("sent", 1, None)
    assert message.sent_at is not None


async def test_a_request_succeeds_while_smtp_is_down_and_leaves_a_queued_message(smtp_client, smtp, db, cast):
    FakeSMTP.down = True
    response = await invite(smtp_client, await token_for(smtp_client, cast.manager.email), cast.company.id)
    assert response.status_code == 201, response.text
    async with db() as session:
        message = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.recipient == "nouveau@sante-connectee.example"))
    assert (message.status, message.attempts, message.sent_at, message.last_error) == ("queued", 0, None, None)
    assert message.next_attempt_at is not None and message.next_attempt_at <= utcnow()
    assert FakeSMTP.sent == []


async def test_the_sender_relays_a_due_message_and_marks_it_sent(smtp, db):
    message_id, = await enqueue(db, smtp)
    assert await deliver_due(db, smtp) == 1
    relayed, = FakeSMTP.sent
    assert (relayed["To"], relayed["Subject"], relayed["From"]) == ("r0@example.org", "Objet", smtp.mail_from)
    message = await stored(db, message_id)
    assert (message.status, message.attempts, message.next_attempt_at) == ("sent", 1, None)
    assert message.sent_at is not None
    assert await deliver_due(db, smtp) == 0 and len(FakeSMTP.sent) == 1


# ------------------------------------------------------------------------------------ retries, failures


async def test_failures_back_off_then_fail_and_support_sees_and_retries(smtp_client, smtp, db, cast):
    FakeSMTP.down = True
    message_id, = await enqueue(db, smtp)
    now, delays = utcnow(), []
    for attempt in range(1, smtp.mail_max_attempts + 1):
        assert await deliver_due(db, smtp, now=now + timedelta(seconds=1)) == 1
        message = await stored(db, message_id)
        assert message.attempts == attempt and message.last_error == "ConnectionRefusedError: no server"
        if attempt < smtp.mail_max_attempts:
            assert message.status == "queued"
            delays.append((message.next_attempt_at - now).total_seconds() - 1)
            assert await deliver_due(db, smtp, now=message.next_attempt_at - timedelta(seconds=1)) == 0  # not due
            now = message.next_attempt_at
    assert delays == [30, 60, 120, 240, 480]
    assert retry_delay(20) == timedelta(hours=1)
    assert (message.status, message.next_attempt_at, message.sent_at) == ("failed", None, None)
    assert await deliver_due(db, smtp, now=now + timedelta(days=1)) == 0  # a failed message is left alone

    # Support sees it on the outbox page (French by default), filters by status, and retries from the page.
    await page_login(smtp_client, cast.support.email)
    listing = await smtp_client.get("/support/outbox?status=failed")
    assert "Échec de l’envoi" in listing.text and "ConnectionRefusedError: no server" in listing.text
    assert "r0@example.org" not in (await smtp_client.get("/support/outbox?status=sent")).text
    detail = await smtp_client.get(f"/support/outbox/{message_id}")
    assert "Réessayer maintenant" in detail.text and "ConnectionRefusedError: no server" in detail.text
    retried = await smtp_client.post(f"/support/outbox/{message_id}/retry", data={"_csrf": csrf(smtp_client)})
    assert retried.status_code == 303 and retried.headers["location"] == f"/support/outbox/{message_id}?retried=1"
    assert "de nouveau en attente" in (await smtp_client.get(retried.headers["location"])).text
    message = await stored(db, message_id)
    assert message.status == "queued" and message.next_attempt_at <= utcnow()
    again = await smtp_client.post(f"/support/outbox/{message_id}/retry", data={"_csrf": csrf(smtp_client)})
    assert again.status_code == 409 and "Seul un message dont l’envoi a échoué" in again.text
    async with db() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.retry_requested"))).all()
    assert [(e.actor_id, e.target_type, e.target_id) for e in events] == [
        (cast.support.id, "outbox_message", message_id)]

    # The retry is one more attempt: the server is back, the message goes out.
    FakeSMTP.down = False
    assert await deliver_due(db, smtp) == 1
    message = await stored(db, message_id)
    assert (message.status, message.attempts) == ("sent", smtp.mail_max_attempts + 1)


async def test_outbox_api_shows_delivery_state_and_retries(smtp_client, smtp, db, cast):
    sent_id, failed_id = await enqueue(db, smtp, count=2)
    async with unit_of_work(db) as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == failed_id).values(
            status="failed", attempts=6, next_attempt_at=None, last_error="SMTPServerDisconnected: gone"))
    support = await token_for(smtp_client, cast.support.email)
    listing = (await smtp_client.get("/api/v1/outbox?status=failed", headers=support)).json()
    assert listing["total"] == 1
    item, = listing["items"]
    assert {k: item[k] for k in ("id", "status", "attempts", "next_attempt_at", "last_error", "sent_at")} == {
        "id": failed_id, "status": "failed", "attempts": 6, "next_attempt_at": None,
        "last_error": "SMTPServerDisconnected: gone", "sent_at": None}
    assert (await smtp_client.get("/api/v1/outbox?status=lost", headers=support)).status_code == 422

    retried = await smtp_client.post(f"/api/v1/outbox/{failed_id}/retry", headers=support)
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert retried.json()["next_attempt_at"] is not None
    for message_id, status, code in ((failed_id, 409, "not_failed"), (sent_id, 409, "not_failed"),
                                     (987654, 404, "not_found")):
        response = await smtp_client.post(f"/api/v1/outbox/{message_id}/retry", headers=support)
        assert (response.status_code, response.json()["code"]) == (status, code)
    manager = await token_for(smtp_client, cast.manager.email)
    assert (await smtp_client.post(f"/api/v1/outbox/{failed_id}/retry", headers=manager)).status_code == 403


# ------------------------------------------------------------------------------------------ concurrency


async def test_two_concurrent_senders_send_each_message_exactly_once(smtp, db, monkeypatch):
    """Two senders on engines of their own (two server processes) drain the same outbox at the same time."""
    ids = await enqueue(db, smtp, count=30)
    relayed: list[int] = []
    lock = threading.Lock()

    def slow_relay(settings: Any, message: OutboxMessage) -> None:
        time.sleep(0.01)  # let the other sender claim meanwhile
        with lock:
            relayed.append(message.id)

    monkeypatch.setattr(mail_sender, "relay", slow_relay)

    async def sender() -> int:
        engine = create_engine(smtp)
        try:
            handled = 0
            for _round in range(20):  # bounded: 30 messages in batches of 4 need far fewer rounds
                count = await deliver_due(create_sessionmaker(engine), smtp, batch=4)
                handled += count
                if count == 0:
                    break
            return handled
        finally:
            await engine.dispose()

    handled = await asyncio.gather(sender(), sender())
    assert sum(handled) == 30
    assert Counter(relayed) == Counter(ids)  # each exactly once
    async with db() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {(m.status, m.attempts) for m in rows} == {("sent", 1)}


# ------------------------------------------------------------------------------------------ headers


async def test_a_company_name_cannot_inject_a_header(smtp_client, smtp, db, cast):
    async with unit_of_work(db) as session:
        await session.execute(update(Company).where(Company.id == cast.company.id).values(name=INJECTED))
    response = await invite(smtp_client, await token_for(smtp_client, cast.manager.email), cast.company.id)
    assert response.status_code == 201, response.text
    async with db() as session:
        message = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert message.subject == "You are invited to join Acme Bcc: x@evil.example on Convergence"
    assert await deliver_due(db, smtp) == 1
    relayed, = FakeSMTP.sent
    parsed = email.message_from_bytes(relayed.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == message.subject
    assert sorted(parsed.keys()) == ["Content-Transfer-Encoding", "Content-Type", "From", "MIME-Version",
                                     "Subject", "To"]


def test_header_values_are_cleaned_or_refused():
    assert clean_recipient("a.b+c@example.org") == "a.b+c@example.org"
    for bad in ("a@example.org\r\nBcc: x@evil", "a@example.org, b@example.org", "A <a@example.org>", "a b@x.org",
                "nobody", "a@b@c", "", "a@example.org\n"):
        with pytest.raises(ValueError):
            clean_recipient(bad)
    assert clean_subject("Hello\r\nBcc: x\t\x00there\u2028 ") == "Hello Bcc: x there"
    assert len(clean_subject("é" * 1000)) == MAX_SUBJECT
    assert clean_body("short") == "short"
    long = clean_body("x" * (MAX_BODY * 2))
    assert len(long) == MAX_BODY and long.endswith("[…]")


def test_the_email_builder_refuses_a_line_break_that_slipped_through(settings):
    message = OutboxMessage(recipient="a@example.org", subject="Hi\r\nBcc: x@evil", body="b", kind="test")
    with pytest.raises(ValueError):
        build_email(settings, message)


async def test_a_message_that_cannot_be_built_fails_and_is_not_relayed(smtp, db):
    message_id, = await enqueue(db, smtp)
    async with unit_of_work(db) as session:
        await session.execute(update(OutboxMessage).values(subject="Hi\nBcc: x@evil"))
    await deliver_due(db, smtp)
    message = await stored(db, message_id)
    assert FakeSMTP.sent == [] and (message.status, message.attempts) == ("failed", 1)  # retrying cannot help
    assert message.last_error.startswith("ValueError: Header values may not contain")


# ------------------------------------------------------------------------------------------ running it


async def test_the_sender_task_starts_and_stops_with_the_app(smtp, db):
    app = create_app(smtp.with_(mail_poll_seconds=0.05))
    async with AsyncTestClient(app=app, base_url=BASE_URL):
        task = app.state.mail_sender
        assert task is not None and not task.done()
        message_id, = await enqueue(db, smtp)
        for _ in range(200):
            if (await stored(db, message_id)).status == "sent":
                break
            await asyncio.sleep(0.05)
        assert (await stored(db, message_id)).status == "sent"
    assert task.done()
    async with AsyncTestClient(app=create_app(smtp.with_(mail_backend="outbox")), base_url=BASE_URL) as client:
        assert client.app.state.mail_sender is None


async def test_the_cli_sends_what_is_due(smtp, db, monkeypatch):
    FakeSMTP.down = True
    await enqueue(db, smtp, count=2)
    env = {"CONVERGENCE_DATABASE_URL": smtp.database_url, "CONVERGENCE_SECRET_KEY": smtp.secret_key,
           "CONVERGENCE_ROOT": str(smtp.root), "CONVERGENCE_MAIL_BACKEND": "smtp"}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["mail", "send"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 sent, 2 to retry later, 0 failed."
    FakeSMTP.down = False
    await enqueue(db, smtp, count=1)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["mail", "send"], env=env)
    assert result.output.strip() == "1 sent, 0 to retry later, 0 failed."
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["mail", "send"],
                                     env={**env, "CONVERGENCE_MAIL_BACKEND": "outbox"})
    assert result.exit_code == 1
