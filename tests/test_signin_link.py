"""No owner lockout (issue 15, point 3): too many wrong passwords for an account answer 429, the same whether or
not it exists, and its owner is mailed a one-time sign-in link (at most once per window) that bypasses both
throttles; opening the link uses nothing, its button signs in."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from convergence.accounts.models import PasswordToken, User, UserSession
from convergence.core.models import AuditEvent, OutboxMessage, RateEvent, utcnow
from tests.factories import PASSWORD, csrf, page_login, token_for
from tests.test_ratelimit import peers  # noqa: F401 - the fixture

WRONG = "not-the-password-1"
ATTACKER = {"X-Test-Peer": "203.0.113.66"}
OWNER = {"X-Test-Peer": "198.51.100.7"}


async def sign_in(client: Any, email: str, password: str, headers: dict[str, str] | None = None) -> Any:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password}, headers=headers)


async def links_to(db: Any, email: str) -> list[str]:
    async with db() as session:
        mails = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == email, OutboxMessage.kind == "sign_in_link").order_by(OutboxMessage.id))).all()
    return [re.search(r"/login/link\?token=([\w-]+)", m.body).group(1) for m in mails]


async def lock_out(client: Any, email: str, times: int = 6, headers: dict[str, str] | None = None) -> list[int]:
    """Wrong passwords: by default the five allowed failures, then the refusal that offers the link."""
    return [(await sign_in(client, email, WRONG, headers)).status_code for _ in range(times)]


async def test_an_attackers_wrong_passwords_never_lock_the_owner_out(client, db, cast, peers):  # noqa: F811
    email = cast.manager.email
    statuses = await lock_out(client, email, 12, ATTACKER)
    assert statuses == [401] * 5 + [429] * 7
    throttled = await sign_in(client, email, PASSWORD, OWNER)  # the right password, from elsewhere: still paused
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
    (token,) = await links_to(db, email)  # one link, however many refusals

    # Opening the link (as a mail scanner would) uses nothing; its button signs in.
    for _ in range(2):
        opened = await client.get(f"/login/link?token={token}", headers=OWNER)
        assert opened.status_code == 200 and 'action="/login/link"' in opened.text and email in opened.text
    await client.get("/login", headers=OWNER)
    signed = await client.post("/login/link", data={"token": token, "_csrf": csrf(client)}, headers=OWNER)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert "Bienvenue" in (await client.get("/", headers=OWNER)).text
    async with db() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "user.signed_in"))
    assert event.actor_id == cast.manager.id and event.data["method"] == "link"

    # Used: the link is dead; the account's failures are cleared, the password works again.
    client.cookies.clear()
    await client.get("/login", headers=OWNER)
    again = await client.post("/login/link", data={"token": token, "_csrf": csrf(client)}, headers=OWNER)
    assert again.status_code == 400 and client.cookies.get("cv_session") is None
    assert (await sign_in(client, email, PASSWORD, OWNER)).status_code == 200


async def test_the_throttled_answer_does_not_tell_whether_the_account_exists(client, db, cast):
    await lock_out(client, cast.contributor.email)
    await lock_out(client, "ghost@example.org")
    known = await sign_in(client, cast.contributor.email, PASSWORD)
    unknown = await sign_in(client, "ghost@example.org", PASSWORD)
    assert known.status_code == unknown.status_code == 429
    assert known.json() | {"retry_after": 0} == unknown.json() | {"retry_after": 0}
    assert len(await links_to(db, cast.contributor.email)) == 1 and await links_to(db, "ghost@example.org") == []
    async with db() as session:  # the same rate events on both sides (failures, then the link offer)
        buckets = (await session.execute(select(RateEvent.key, RateEvent.bucket))).all()
    assert sorted(b for k, b in buckets if k == "ghost@example.org") == sorted(
        b for k, b in buckets if k == cast.contributor.email)


async def test_the_page_shows_the_sentence_and_the_link_is_sent_once_per_window(client, db, cast):
    await client.get("/login")
    for _ in range(7):
        page = await client.post("/login", data={"email": cast.manager.email, "password": WRONG,
                                                 "_csrf": csrf(client)})
    assert page.status_code == 429 and page.headers["retry-after"]
    assert "un lien de connexion à usage unique vient de lui être envoyé" in page.text and "<form" in page.text
    assert len(await links_to(db, cast.manager.email)) == 1
    # A window later, a still-throttled account gets a new link.
    async with db() as session, session.begin():
        await session.execute(update(RateEvent).where(RateEvent.bucket == "sign_in.link").values(
            created_at=utcnow() - timedelta(minutes=16)))
    await lock_out(client, cast.manager.email, 1)
    assert len(await links_to(db, cast.manager.email)) == 2


async def test_the_link_bypasses_the_address_throttle_too(client, db, cast):
    await lock_out(client, cast.manager.email)
    for number in range(15):
        await sign_in(client, f"guess{number}@example.org", WRONG)
    blocked = await sign_in(client, cast.contributor.email, PASSWORD)
    assert blocked.status_code == 429 and blocked.headers["retry-after"]
    assert blocked.json()["detail"].startswith("Too many failed sign-in attempts. Wait")
    (token,) = await links_to(db, cast.manager.email)
    await client.get("/login")
    assert (await client.post("/login/link", data={"token": token, "_csrf": csrf(client)})).status_code == 303


async def test_the_link_rotates_the_session(client, db, cast):
    await lock_out(client, cast.manager.email)
    (token,) = await links_to(db, cast.manager.email)
    await page_login(client, cast.contributor.email)  # someone else was signed in on this browser
    before_key, before_csrf = client.cookies.get("cv_session"), csrf(client)
    signed = await client.post("/login/link", data={"token": token, "_csrf": csrf(client)})
    assert signed.status_code == 303
    assert client.cookies.get("cv_session") not in (None, before_key) and csrf(client) != before_csrf
    async with db() as session:
        sessions = (await session.scalars(select(UserSession))).all()
    assert [s.user_id for s in sessions] == [cast.manager.id]  # the previous session is destroyed


async def test_a_link_works_only_for_its_purpose_and_only_for_15_minutes(client, db, cast):
    await lock_out(client, cast.manager.email)
    (token,) = await links_to(db, cast.manager.email)
    # Not a password link: it cannot set a password.
    refused = await client.post("/api/v1/password/set", json={"token": token, "password": "Un tout nouveau secret"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_token"
    assert (await client.get(f"/password/set?token={token}")).status_code == 400
    # A password link does not sign in through /login/link.
    await client.post("/api/v1/password/reset", json={"email": cast.contributor.email})
    async with db() as session:
        mail = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "password_reset"))
    reset_token = re.search(r"token=([\w-]+)", mail.body).group(1)
    assert (await client.get(f"/login/link?token={reset_token}")).status_code == 400
    # Fifteen minutes.
    async with db() as session:
        row = await session.scalar(select(PasswordToken).where(PasswordToken.purpose == "sign_in"))
    assert timedelta(minutes=14) < row.expires_at - row.created_at <= timedelta(minutes=15)
    async with db() as session, session.begin():
        await session.execute(update(PasswordToken).where(PasswordToken.purpose == "sign_in").values(
            expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get(f"/login/link?token={token}")).status_code == 400
    await client.get("/login")
    expired = await client.post("/login/link", data={"token": token, "_csrf": csrf(client)})
    assert expired.status_code == 400 and "ne peut pas être utilisé" in expired.text


async def test_no_link_for_an_inactive_account_or_one_without_password(client, db, cast):
    async with db() as session, session.begin():
        await session.execute(update(User).where(User.id == cast.contributor.id).values(active=False))
        await session.execute(update(User).where(User.id == cast.manager.id).values(password_hash=None))
    for user in (cast.contributor, cast.manager):
        await lock_out(client, user.email, 6)
        assert await links_to(db, user.email) == []


async def test_the_api_answers_429_with_retry_after(client, cast):
    await lock_out(client, cast.manager.email)
    throttled = await sign_in(client, cast.manager.email, PASSWORD)
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert int(throttled.headers["retry-after"]) == throttled.json()["retry_after"] > 0
    assert (await token_for(client, cast.contributor.email))  # another account is not affected


async def test_failures_are_counted_per_account_whatever_the_case(client, db):
    await lock_out(client, "Someone@Example.org", 3)
    await lock_out(client, "someone@example.org", 2)
    assert (await sign_in(client, " SOMEONE@example.org ", WRONG)).status_code == 429
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(RateEvent).where(
            RateEvent.bucket == "sign_in.account")) == 5
