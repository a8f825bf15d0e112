"""Rate limits (issue 15, point 4): the sliding-window counter holds under concurrency on both databases; password
resets, account requests, invitations and the "already represented" answer are limited per client address and per
target e-mail, known or not, with 429 `throttled` and `Retry-After`; the client address comes from
`X-Forwarded-For` only through a trusted proxy."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import transport as test_transport
from sqlalchemy import func, select

from convergence.accounts import services as account_services
from convergence.core import ratelimit
from convergence.core.db import unit_of_work
from convergence.core.models import OutboxMessage, RateEvent, utcnow
from convergence.core.ratelimit import Limit, address_key
from convergence.core.web import client_ip
from tests.conftest import base_settings
from tests.factories import csrf, page_login, token_for
from tests.test_joining_api import REQUEST

WINDOW = timedelta(minutes=60)


@pytest.fixture
def settings(database_url: str) -> Any:
    """Small limits, so that a test reaches them in a few calls; 10.0.0.0/8 is our reverse proxy."""
    return base_settings(database_url).with_(rate_per_address=4, rate_per_target=2, trusted_proxies=("10.0.0.0/8",))


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test client always connects as "testclient": an `X-Test-Peer` header sets the direct peer instead."""
    original = test_transport.TestClientTransport.parse_request

    def parse_request(self: Any, request: Any) -> dict[str, Any]:
        scope = original(self, request)
        peer = request.headers.get("x-test-peer")
        if peer:
            scope["client"] = (peer, 50000)
        return scope

    monkeypatch.setattr(test_transport.TestClientTransport, "parse_request", parse_request)


@pytest.fixture(autouse=True)
def no_reset_padding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account_services, "RESET_FLOOR_SECONDS", 0)


async def rows(db: Any, bucket: str | None = None) -> int:
    async with db() as session:
        query = select(func.count()).select_from(RateEvent)
        return await session.scalar(query.where(RateEvent.bucket == bucket) if bucket else query)


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "throttled" and response.json()["detail"].endswith(".")
    assert 0 < int(response.headers["retry-after"]) <= 3600


# ------------------------------------------------------------------------------------------ the counter

async def test_hit_allows_up_to_the_limit_then_says_when_to_come_back(db):
    limit = Limit("test", "k", 3, WINDOW)
    start = utcnow()
    async with unit_of_work(db) as session:
        for minute in range(3):
            assert (await ratelimit.hit(session, limit, now=start + timedelta(minutes=minute))).allowed
        refused = await ratelimit.hit(session, limit, now=start + timedelta(minutes=10))
    assert not refused.allowed and refused.retry_after == 50 * 60  # when the first event leaves the window
    assert await rows(db) == 3  # refused hits are not recorded: a key holds at most `limit` rows per window
    async with unit_of_work(db) as session:
        assert (await ratelimit.hit(session, limit, now=start + WINDOW + timedelta(seconds=1))).allowed
        assert (await ratelimit.hit(session, Limit("test", "other key", 3, WINDOW), now=start)).allowed


async def test_hit_records_under_every_limit_or_none(db):
    address, target = Limit("test.address", "192.0.2.1", 5, WINDOW), Limit("test.target", "a@example.org", 1, WINDOW)
    async with unit_of_work(db) as session:
        assert (await ratelimit.hit(session, address, target)).allowed
        assert not (await ratelimit.hit(session, address, target)).allowed
    assert await rows(db, "test.address") == 1  # the refusal by the target cost the address nothing


async def test_hit_holds_under_concurrency(db):
    """Parallel units of work, each its own transaction: exactly `limit` get through, on both databases."""
    limit = Limit("test", "contended", 5, WINDOW)

    async def attempt() -> bool:
        async with unit_of_work(db) as session:
            outcome = await ratelimit.hit(session, limit)
            await asyncio.sleep(0.01)  # keep the transaction open: the window in which counts used to interleave
            return outcome.allowed

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))
    assert outcomes.count(True) == 5
    assert await rows(db) == 5


async def test_old_events_are_swept(db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 1)
    long_ago = utcnow() - 2 * WINDOW
    async with unit_of_work(db) as session:
        await ratelimit.record(session, Limit("test", "old", 9, WINDOW), Limit("kept", "old", 9, WINDOW),
                               now=long_ago)
        await ratelimit.record(session, Limit("test", "new", 9, WINDOW))
    async with db() as session:
        left = (await session.execute(select(RateEvent.bucket, RateEvent.key).order_by(RateEvent.id))).all()
    assert [tuple(r) for r in left] == [("kept", "old"), ("test", "new")]  # other buckets keep their own window


def test_address_keys():
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("testclient") == "testclient" and address_key(None) == "unknown"


# ------------------------------------------------------------------------------------ client address

def scope(peer: str, *forwarded: str) -> dict[str, Any]:
    return {"client": (peer, 4242), "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def test_forwarded_for_is_read_only_behind_a_trusted_proxy():
    trusted = ("10.0.0.0/8", "2001:db8::1")
    assert client_ip(scope("192.0.2.9", "203.0.113.5")) == "192.0.2.9"  # no proxy configured
    assert client_ip(scope("192.0.2.9", "203.0.113.5"), trusted) == "192.0.2.9"  # a stranger's header is ignored
    assert client_ip(scope("10.1.2.3", "203.0.113.5"), trusted) == "203.0.113.5"
    assert client_ip(scope("2001:db8::1", "203.0.113.5"), trusted) == "203.0.113.5"
    # The client can write anything left of what our proxies appended: the right-most untrusted hop counts.
    assert client_ip(scope("10.1.2.3", "1.1.1.1, 203.0.113.5, 10.9.9.9"), trusted) == "203.0.113.5"
    assert client_ip(scope("10.1.2.3", "1.1.1.1", "203.0.113.5"), trusted) == "203.0.113.5"  # two header lines
    assert client_ip(scope("10.1.2.3", "10.0.0.7, 10.0.0.8"), trusted) == "10.0.0.7"  # only proxies
    assert client_ip(scope("10.1.2.3", "1.1.1.1, not-an-address, 10.0.0.8"), trusted) == "10.0.0.8"
    assert client_ip(scope("10.1.2.3"), trusted) == "10.1.2.3"
    assert client_ip({"headers": []}, trusted) == "unknown"


async def test_limits_follow_the_forwarded_client_through_our_proxy(client, peers):
    """Behind the proxy, each client has its own budget; a client cannot pick one by writing the header."""
    async def reset(peer: str, forwarded: str, email: str) -> int:
        response = await client.post("/api/v1/password/reset", json={"email": email},
                                     headers={"X-Test-Peer": peer, "X-Forwarded-For": forwarded})
        return response.status_code

    assert [await reset("10.0.0.2", "198.51.100.1", f"a{n}@example.org") for n in range(5)] == [202] * 4 + [429]
    assert await reset("10.0.0.2", "198.51.100.2", "b@example.org") == 202  # another client behind the proxy
    # Not through our proxy: the header is the client's own word, and the peer is counted.
    assert [await reset("192.0.2.50", f"198.51.100.{n + 10}", f"c{n}@example.org") for n in range(5)] == [
        202] * 4 + [429]


# ------------------------------------------------------------------------------------ what is limited

async def test_password_reset_is_limited_per_target_known_or_not(client, db, cast):
    for email in (cast.manager.email, "nobody@example.org"):
        for _ in range(2):
            assert (await client.post("/api/v1/password/reset", json={"email": email})).status_code == 202
        assert_throttled(await client.post("/api/v1/password/reset", json={"email": email.upper()}))
    async with db() as session:
        sent = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == cast.manager.email))
    assert sent == 2


async def test_password_reset_is_limited_per_address_and_the_page_says_so(client):
    for number in range(4):
        reset = await client.post("/api/v1/password/reset", json={"email": f"x{number}@example.org"})
        assert reset.status_code == 202
    await client.get("/password/forgot")
    page = await client.post("/password/forgot", data={"email": "y@example.org", "_csrf": csrf(client)})
    assert page.status_code == 429 and 0 < int(page.headers["retry-after"]) <= 3600
    assert "Trop de demandes de ce type" in page.text and 'value="y@example.org"' in page.text
    assert "<form" in page.text  # the sentence is shown in the form, not on an error page


async def test_account_requests_are_limited_per_target_and_per_address(client, db):
    sirens = ("443061841", "542107651", "552100554", "383474814", "732829320")
    assert (await client.post("/api/v1/account-requests", json={**REQUEST, "siren": sirens[0]})).status_code == 201
    assert (await client.post("/api/v1/account-requests", json={**REQUEST, "siren": sirens[1]})).status_code == 201
    assert_throttled(await client.post("/api/v1/account-requests", json={**REQUEST, "siren": sirens[2]}))
    assert (await client.post("/api/v1/account-requests", json={**REQUEST, "siren": sirens[2],
                                                                "email": "other@example.org"})).status_code == 201
    assert (await client.post("/api/v1/account-requests", json={**REQUEST, "siren": sirens[3],
                                                                "email": "third@example.org"})).status_code == 201
    await client.get("/account-request")
    page = await client.post("/account-request", data={**REQUEST, "siren": sirens[4], "email": "fourth@example.org",
                                                       "is_corporate_officer": "yes", "_csrf": csrf(client)})
    assert page.status_code == 429 and page.headers["retry-after"]
    assert 'id="account-request-form"' in page.text and "Trop de demandes de ce type" in page.text
    # Bad input is refused before counting: it sends no mail.
    assert (await client.post("/api/v1/account-requests", json={**REQUEST, "siren": "1"})).status_code == 422


async def test_already_represented_answers_are_limited_per_address(client, db, cast, peers):
    async def ask(peer: str, email: str) -> Any:
        return await client.post("/api/v1/account-requests", json={**REQUEST, "siren": cast.company.siren,
                                                                     "email": email}, headers={"X-Test-Peer": peer})

    for number in range(4):
        response = await ask("192.0.2.1", f"probe{number}@example.org")
        assert response.status_code == 409 and response.json()["code"] == "company_already_represented"
    assert_throttled(await ask("192.0.2.1", "probe9@example.org"))
    assert (await ask("192.0.2.2", "probe9@example.org")).status_code == 409
    # However many ask, the managers are told a few times per window, not flooded.
    async with db() as session:
        notices = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == cast.manager.email))
    assert notices == 2


async def test_invitations_and_resends_are_limited(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    base = f"/api/v1/companies/{cast.company.id}/invitations"
    body = {"first_name": "Ana", "last_name": "Lyse", "role": "contributor", "rights": []}
    invited = await client.post(base, json={**body, "email": "ana@example.org"}, headers=manager)
    assert invited.status_code == 201
    assert (await client.post(f"{base}/{invited.json()['id']}/resend", headers=manager)).status_code == 200
    assert_throttled(await client.post(f"{base}/{invited.json()['id']}/resend", headers=manager))
    # An address with an account elsewhere is counted the same way (a refusal, rolled back, counts nothing).
    assert (await client.post(base, json={**body, "email": cast.outsider.email}, headers=manager)).status_code == 201
    assert (await client.post(base, json={**body, "email": cast.outsider.email}, headers=manager)).status_code == 409
    assert (await client.post(base, json={**body, "email": "n@example.org"}, headers=manager)).status_code == 201
    assert_throttled(await client.post(base, json={**body, "email": "last@example.org"}, headers=manager))


async def test_the_team_page_shows_the_limit_in_the_form(client, cast):
    await page_login(client, cast.manager.email)
    statuses = []
    for number in range(5):
        response = await client.post("/team/invite", data={"email": f"p{number}@example.org", "first_name": "P",
                                                           "last_name": "Q", "role": "contributor",
                                                           "_csrf": csrf(client)})
        statuses.append(response.status_code)
    assert statuses == [303] * 4 + [429]
    assert 'id="invite-form"' in response.text and "Trop de demandes de ce type" in response.text
    assert response.headers["retry-after"]
