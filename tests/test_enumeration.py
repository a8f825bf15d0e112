"""No enumeration of people (issue 15, point 5): an account request, a password reset or an invitation for an
address that already has an account is answered exactly like one for a new address; the address's owner is told
by mail instead."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from convergence.accounts import services as account_services
from convergence.accounts.models import AccountRequest, PasswordToken, User
from convergence.companies.team_models import Invitation, MemberRight
from convergence.core import ratelimit
from convergence.core.models import AuditEvent, OutboxMessage, RateEvent
from tests.factories import csrf, page_login, token_for
from tests.test_joining_api import REQUEST, count, mails_to
from tests.test_team import invite


# ------------------------------------------------------------------------------------ account requests

async def test_request_for_a_registered_address_is_answered_like_a_new_one(client, db, cast):
    new = await client.post("/api/v1/account-requests", json=REQUEST)
    registered = await client.post("/api/v1/account-requests", json={**REQUEST, "siren": "542107651",
                                                                       "email": cast.outsider.email})
    assert new.status_code == registered.status_code == 201
    assert set(new.json()) == set(registered.json()) and registered.json()["status"] == "pending"
    # The owner is told (sign in, or reset the password), and gets no acknowledgement of a request to review.
    assert [m.kind for m in await mails_to(db, REQUEST["email"])] == ["account_request_received"]
    (notice,) = await mails_to(db, cast.outsider.email)
    assert notice.kind == "account_request_existing"
    assert "/login" in notice.body and "/password/forgot" in notice.body
    # Support sees it; approving it is still refused.
    support = await token_for(client, cast.support.email)
    listed = (await client.get("/api/v1/account-requests?status=pending", headers=support)).json()
    flags = {item["email"]: item["email_registered"] for item in listed["items"]}
    assert flags == {REQUEST["email"]: False, cast.outsider.email: True}
    approve = await client.post(f"/api/v1/account-requests/{registered.json()['id']}/approve", headers=support)
    assert approve.status_code == 409 and approve.json()["code"] == "email_already_registered"
    await page_login(client, cast.support.email)
    detail = await client.get(f"/support/requests/{registered.json()['id']}")
    assert "Un compte existe déjà pour cette adresse" in detail.text
    assert "Un compte existe déjà pour cette adresse" not in (await client.get(
        f"/support/requests/{new.json()['id']}")).text


async def test_a_repeated_request_gets_the_first_ones_id_and_sends_nothing(client, db, cast):
    body = {**REQUEST, "email": cast.outsider.email}
    first = await client.post("/api/v1/account-requests", json=body)
    again = await client.post("/api/v1/account-requests", json=body)
    assert again.status_code == 201 and again.json() == first.json()
    assert await count(db, AccountRequest) == 1 and len(await mails_to(db, cast.outsider.email)) == 1


async def test_the_request_page_answers_the_same_for_a_registered_address(client, db, cast):
    await client.get("/account-request")
    for email in ("new.person@example.org", cast.outsider.email):
        response = await client.post("/account-request", data={**REQUEST, "email": email,
                                                                 "is_corporate_officer": "yes", "_csrf": csrf(client)})
        assert response.status_code == 303 and response.headers["location"] == "/account-request/sent"
    assert await count(db, AccountRequest, AccountRequest.status == "pending") == 2


# ------------------------------------------------------------------------------------ password reset

async def test_padding_waits_out_the_floor_on_success_only():
    slept: list[float] = []
    times = iter([100.0, 100.05])

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with ratelimit.at_least(0.3, clock=lambda: next(times), sleep=sleep):
        pass
    assert slept == [pytest.approx(0.25)]
    times = iter([100.0, 100.5])
    async with ratelimit.at_least(0.3, clock=lambda: next(times), sleep=sleep):
        pass
    assert len(slept) == 1  # already slower than the floor: no wait
    times = iter([100.0, 100.01])
    with pytest.raises(ValueError):
        async with ratelimit.at_least(0.3, clock=lambda: next(times), sleep=sleep):
            raise ValueError("refused")
    assert len(slept) == 1  # an error leaves at once


async def test_reset_answers_the_same_padded_whether_or_not_the_address_is_known(client, db, cast,
                                                                                monkeypatch: pytest.MonkeyPatch):
    """Both paths are padded, with their writes inside the padded block, and write the same rate events and audit
    event; only the known address gets a token and a mail."""
    padded: list[dict[str, int]] = []
    real = ratelimit.at_least

    def recording(seconds: float, **_: Any) -> Any:
        async def sleep(_seconds: float) -> None:  # what has been committed when the wait starts
            async with client.app.state.sessionmaker() as session:  # the app's loop, not the test's
                padded.append({model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                               for model in (RateEvent, AuditEvent, PasswordToken, OutboxMessage)})
        assert seconds == account_services.RESET_FLOOR_SECONDS
        return real(seconds, clock=iter([0.0, 0.0, 0.0, 0.0]).__next__, sleep=sleep)

    monkeypatch.setattr(ratelimit, "at_least", recording)
    known = await client.post("/api/v1/password/reset", json={"email": cast.manager.email})
    unknown = await client.post("/api/v1/password/reset", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
    # Committed before the wait (the wait holds no lock); the second path added the same rows but the token and mail.
    assert padded == [{"rate_event": 2, "audit_event": 1, "password_token": 1, "outbox_message": 1},
                      {"rate_event": 4, "audit_event": 2, "password_token": 1, "outbox_message": 1}]
    async with db() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["user.password_reset_requested"] * 2
    await client.get("/password/forgot")
    for email in (cast.contributor.email, "nobody@example.org"):
        page = await client.post("/password/forgot", data={"email": email, "_csrf": csrf(client)})
        assert page.status_code == 200 and "Si un compte existe pour cette adresse" in page.text
    assert len(padded) == 4


# ------------------------------------------------------------------------------------ invitations

async def test_inviting_an_address_with_an_account_elsewhere_looks_like_a_fresh_invitation(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    rights = [{"product_id": None, "level": "read"}]
    fresh = await invite(client, manager, cast.company.id, email="fresh@example.org", rights=rights)
    known = await invite(client, manager, cast.company.id, email=cast.outsider.email, rights=rights)
    ans = await invite(client, manager, cast.company.id, email=cast.support.email, role="manager")
    assert fresh.status_code == known.status_code == ans.status_code == 201
    assert set(fresh.json()) == set(known.json()) == set(ans.json())
    for key in ("email", "role", "status", "sent_count", "rights"):
        assert known.json()[key] == {**fresh.json(), "email": cast.outsider.email}[key], key
    assert ans.json()["rights"] == [] and ans.json()["role"] == "manager"

    # Recorded without an account; the owners' accounts are untouched and they are told.
    async with db() as session:
        invitation = await session.get(Invitation, known.json()["id"])
        outsider = await session.get(User, cast.outsider.id)
        rights_held = await session.scalar(select(func.count()).select_from(MemberRight).where(
            MemberRight.user_id == cast.outsider.id))
    assert invitation.user_id is None and invitation.status == "pending"
    assert outsider.company_id == cast.other_company.id and outsider.active and rights_held == 0
    (notice,) = await mails_to(db, cast.outsider.email)
    assert notice.kind == "invitation_existing_account" and cast.company.name in notice.body
    assert "token=" not in notice.body
    assert [m.kind for m in await mails_to(db, cast.support.email)] == ["invitation_existing_account"]

    # Listed as pending (API and page), re-sent as a notice, cancellable.
    listed = (await client.get(f"/api/v1/companies/{cast.company.id}/invitations", headers=manager)).json()
    assert {i["email"] for i in listed["items"]} == {"fresh@example.org", cast.outsider.email, cast.support.email}
    members = await client.get(f"/api/v1/companies/{cast.company.id}/members", headers=manager)
    assert members.status_code == 200
    base = f"/api/v1/companies/{cast.company.id}/invitations/{known.json()['id']}"
    resent = await client.post(f"{base}/resend", headers=manager)
    assert resent.status_code == 200 and resent.json()["sent_count"] == 2
    assert [m.kind for m in await mails_to(db, cast.outsider.email)] == ["invitation_existing_account"] * 2
    await page_login(client, cast.manager.email)
    page = await client.get("/team")
    assert page.status_code == 200 and cast.outsider.email in page.text
    assert f"/team/invitations/{known.json()['id']}/cancel" in page.text
    cancelled = await client.post(f"/team/invitations/{known.json()['id']}/cancel", data={"_csrf": csrf(client)})
    assert cancelled.status_code == 303
    async with db() as session:
        assert (await session.get(Invitation, known.json()["id"])).status == "cancelled"
        assert (await session.get(User, cast.outsider.id)).active
        assert await session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(("team.invited", "team.invitation_resent", "team.invitation_cancelled")))) == 5
    assert cast.outsider.email not in (await client.get("/team")).text


async def test_an_address_already_in_the_team_or_invited_is_still_refused(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    same = await invite(client, manager, cast.company.id, email=cast.contributor.email)
    assert same.status_code == 409 and same.json()["code"] == "email_already_registered"
    assert (await invite(client, manager, cast.company.id, email=cast.outsider.email)).status_code == 201
    twice = await invite(client, manager, cast.company.id, email=cast.outsider.email)
    assert twice.status_code == 409 and twice.json()["code"] == "email_already_registered"
    assert len(await mails_to(db, cast.outsider.email)) == 1


async def test_the_owner_of_an_invited_address_cannot_use_the_invitation(client, db, cast):
    """The invitation without an account carries no link, and setting a password elsewhere fulfils nothing."""
    manager = await token_for(client, cast.manager.email)
    await invite(client, manager, cast.company.id, email=cast.outsider.email)
    await client.post("/api/v1/password/reset", json={"email": cast.outsider.email})
    reset = (await mails_to(db, cast.outsider.email))[-1]
    token = re.search(r"token=([\w-]+)", reset.body).group(1)
    assert (await client.post("/api/v1/password/set", json={"token": token,
                                                            "password": "Un secret assez long ici"})).status_code == 204
    async with db() as session:
        invitation = await session.scalar(select(Invitation).where(Invitation.email == cast.outsider.email))
        outsider = await session.get(User, cast.outsider.id)
    assert invitation.status == "pending" and outsider.company_id == cast.other_company.id
