"""The joining calls of api.md, exactly as written there."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from convergence.accounts.models import AccountRequest, PasswordToken, User
from convergence.companies.models import Company
from convergence.core.models import AuditEvent, OutboxMessage, utcnow
from tests.factories import PASSWORD, csrf, page_login, token_for

REQUEST = {
    "company_name": "MédiLogiciel SAS", "siren": "443061841", "first_name": "Alice", "last_name": "Martin",
    "email": "alice.martin@medilogiciel.example", "job_title": "Présidente", "is_corporate_officer": True,
}


async def count(db: Any, model: Any, *where: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def mails_to(db: Any, recipient: str) -> list[OutboxMessage]:
    async with db() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                           .order_by(OutboxMessage.id))).all())


async def file_and_approve(client: Any, db: Any, cast: Any, body: dict[str, Any] = REQUEST) -> tuple[dict, str]:
    created = await client.post("/api/v1/account-requests", json=body)
    assert created.status_code == 201, created.text
    support = await token_for(client, cast.support.email)
    approved = await client.post(f"/api/v1/account-requests/{created.json()['id']}/approve", headers=support)
    assert approved.status_code == 200, approved.text
    mail = (await mails_to(db, body["email"]))[-1]
    token = re.search(r"token=([\w-]+)", mail.body).group(1)
    return approved.json(), token


async def test_account_request_is_filed_pending_and_acknowledged(client, db, cast):
    response = await client.post("/api/v1/account-requests", json=REQUEST)
    assert response.status_code == 201
    assert response.json()["status"] == "pending" and isinstance(response.json()["id"], int)
    assert [m.kind for m in await mails_to(db, REQUEST["email"])] == ["account_request_received"]
    assert await count(db, AuditEvent, AuditEvent.action == "account_request.filed") == 1


@pytest.mark.parametrize("siren", ["443061842", "44306184", "4430618410", "ABCDEFGHI", "", "12345678A"])
async def test_bad_siren_is_refused_with_422_and_nothing_saved(client, db, siren):
    response = await client.post("/api/v1/account-requests", json={**REQUEST, "siren": siren})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_siren"
    assert "SIREN" in response.json()["detail"]
    assert await count(db, AccountRequest) == 0


async def test_siren_with_spaces_is_accepted(client):
    response = await client.post("/api/v1/account-requests", json={**REQUEST, "siren": "443 061 841"})
    assert response.status_code == 201


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "@example.org", "a b@example.org", ""])
async def test_bad_email_is_refused_with_422(client, db, email):
    response = await client.post("/api/v1/account-requests", json={**REQUEST, "email": email})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_email"
    assert await count(db, AccountRequest) == 0


@pytest.mark.parametrize("change", [
    {"is_corporate_officer": False},                      # authorized person without the officer's name
    {"is_corporate_officer": "maybe"},                    # not a boolean
    {"company_name": ""}, {"first_name": "   "}, {"job_title": None},
    {"last_name": 42},
])
async def test_incomplete_requests_get_422_with_a_sentence(client, db, change):
    response = await client.post("/api/v1/account-requests", json={**REQUEST, **change})
    assert response.status_code == 422
    assert response.json()["detail"].endswith(".")
    assert await count(db, AccountRequest) == 0


@pytest.mark.parametrize("change,field", [
    ({"is_corporate_officer": False, "officer_name": "O" * 201}, "officer_name"),
    ({"company_name": "MédiLogiciel SAS\r\nBcc: someone@example.org"}, "company_name"),
    ({"company_name": "Ligne une\nLigne deux"}, "company_name"),
    ({"first_name": "A" * 101}, "first_name"),
    ({"last_name": "Martin\rx"}, "last_name"),
    ({"job_title": "J" * 151}, "job_title"),
])
async def test_texts_are_one_line_and_bounded(client, db, change, field):
    response = await client.post("/api/v1/account-requests", json={**REQUEST, **change})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    assert await count(db, AccountRequest) == 0
    await client.get("/account-request")
    page = await client.post("/account-request", data={**REQUEST, "is_corporate_officer": "yes", **change,
                                                       "_csrf": csrf(client)})
    assert page.status_code == 422 and f'id="e-{field}"' in page.text


async def test_lengths_are_counted_after_normalisation(client, db):
    decomposed = "e\u0301" * 100  # 200 code points, 100 letters once composed (NFC)
    response = await client.post("/api/v1/account-requests", json={**REQUEST, "first_name": decomposed,
                                                                    "company_name": "  Société  "})
    assert response.status_code == 201, response.text
    async with db() as session:
        stored = await session.scalar(select(AccountRequest))
    assert stored.first_name == "\u00e9" * 100 and stored.company_name == "Société"


async def test_authorized_person_names_the_officer(client, db, cast):
    body = {**REQUEST, "is_corporate_officer": False, "officer_name": "Bernard Durand"}
    response = await client.post("/api/v1/account-requests", json=body)
    assert response.status_code == 201
    support = await token_for(client, cast.support.email)
    listed = (await client.get("/api/v1/account-requests?status=pending", headers=support)).json()
    assert listed["total"] == 1 and listed["items"][0]["officer_name"] == "Bernard Durand"


async def test_malformed_body_is_a_clear_error_not_a_500(client):
    response = await client.post("/api/v1/account-requests", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json()["detail"]
    response = await client.post("/api/v1/account-requests", json=["a", "list"])
    assert response.status_code == 422


async def test_already_represented_company_is_refused_and_managers_notified(client, db, cast):
    body = {**REQUEST, "siren": cast.company.siren, "email": "newcomer@example.org"}
    response = await client.post("/api/v1/account-requests", json=body)
    assert response.status_code == 409
    payload = response.json()
    assert payload["code"] == "company_already_represented"
    # The refusal names no manager.
    assert cast.manager.email not in response.text and cast.manager.last_name not in response.text
    notices = await mails_to(db, cast.manager.email)
    assert [m.kind for m in notices] == ["duplicate_company_notice"]
    assert "newcomer@example.org" in notices[0].body
    assert await mails_to(db, cast.contributor.email) == []
    assert await count(db, AccountRequest) == 0


async def test_second_pending_request_for_same_person_answers_the_first(client, db):
    first = await client.post("/api/v1/account-requests", json=REQUEST)
    assert first.status_code == 201
    again = await client.post("/api/v1/account-requests", json=REQUEST)
    assert again.status_code == 201 and again.json() == first.json()
    assert await count(db, AccountRequest) == 1
    assert [m.kind for m in await mails_to(db, REQUEST["email"])] == ["account_request_received"]


async def test_only_support_lists_and_decides(client, cast):
    created = (await client.post("/api/v1/account-requests", json=REQUEST)).json()
    assert (await client.get("/api/v1/account-requests")).status_code == 401
    for user in (cast.manager, cast.contributor, cast.reviewer):
        headers = await token_for(client, user.email)
        assert (await client.get("/api/v1/account-requests", headers=headers)).status_code == 403
        denied = await client.post(f"/api/v1/account-requests/{created['id']}/approve", headers=headers)
        assert denied.status_code == 403
    support = await token_for(client, cast.support.email)
    listed = await client.get("/api/v1/account-requests?status=pending", headers=support)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.json()["items"][0]["siren"] == REQUEST["siren"]
    assert (await client.get("/api/v1/account-requests?status=bogus", headers=support)).status_code == 422
    assert (await client.get("/api/v1/account-requests?limit=0", headers=support)).status_code == 422


async def test_approval_creates_company_manager_and_sends_single_use_link(client, db, cast):
    approved, token = await file_and_approve(client, db, cast)
    async with db() as session:
        user = await session.get(User, approved["user_id"])
        company = await session.get(Company, approved["company_id"])
    assert user.role == "manager" and user.company_id == company.id and user.password_hash is None
    assert company.siren == REQUEST["siren"]
    mail = (await mails_to(db, REQUEST["email"]))[-1]
    assert mail.kind == "account_created" and "/password/set?token=" in mail.body
    support = await token_for(client, cast.support.email)
    again = await client.post("/api/v1/account-requests/1/approve", headers=support)
    assert again.status_code in (404, 409)
    listed = (await client.get("/api/v1/account-requests?status=approved", headers=support)).json()
    again = await client.post(f"/api/v1/account-requests/{listed['items'][0]['id']}/approve", headers=support)
    assert again.status_code == 409 and again.json()["code"] == "request_not_pending"
    assert (await client.post("/api/v1/account-requests/999999/approve", headers=support)).status_code == 404


async def test_rejection_needs_a_reason_and_tells_the_requester(client, db, cast):
    created = (await client.post("/api/v1/account-requests", json=REQUEST)).json()
    support = await token_for(client, cast.support.email)
    no_reason = await client.post(f"/api/v1/account-requests/{created['id']}/reject", json={"reason": " "},
                                  headers=support)
    assert no_reason.status_code == 422
    rejected = await client.post(f"/api/v1/account-requests/{created['id']}/reject",
                                 json={"reason": "Le SIREN ne correspond pas à la raison sociale."}, headers=support)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    mail = (await mails_to(db, REQUEST["email"]))[-1]
    assert mail.kind == "account_request_rejected" and "raison sociale" in mail.body
    assert await count(db, Company) == 2  # the cast's companies only


@pytest.mark.parametrize("password,reason", [
    ("short-pass", "12 characters"),
    ("x" * 257, "256"),
    ("password1234", "common"),
    ("alice.martin-is-great", "e-mail"),
])
async def test_weak_passwords_are_refused(client, db, cast, password, reason):
    _, token = await file_and_approve(client, db, cast)
    response = await client.post("/api/v1/password/set", json={"token": token, "password": password})
    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    assert reason in response.json()["detail"]
    # The link still works after a refused password.
    ok = await client.post("/api/v1/password/set", json={"token": token, "password": "Un mot de passe très long"})
    assert ok.status_code == 204


async def test_password_link_is_single_use_and_expires(client, db, cast):
    _, token = await file_and_approve(client, db, cast)
    assert (await client.post("/api/v1/password/set", json={"token": "nope", "password": "x" * 20})).json()[
        "code"] == "invalid_token"
    ok = await client.post("/api/v1/password/set", json={"token": token, "password": "Quatre chevaux blancs galopent"})
    assert ok.status_code == 204
    reused = await client.post("/api/v1/password/set", json={"token": token, "password": "Un autre mot de passe long"})
    assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"
    signed = await client.post("/api/v1/auth/token", json={"email": REQUEST["email"],
                                                           "password": "Quatre chevaux blancs galopent"})
    assert signed.status_code == 200

    # An expired link is refused too.
    reset = await client.post("/api/v1/password/reset", json={"email": REQUEST["email"]})
    assert reset.status_code == 202
    reset_token = re.search(r"token=([\w-]+)", (await mails_to(db, REQUEST["email"]))[-1].body).group(1)
    async with db() as session, session.begin():
        await session.execute(update(PasswordToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = await client.post("/api/v1/password/set", json={"token": reset_token, "password": "x" * 30 + "Zz9"})
    assert expired.status_code == 400 and expired.json()["code"] == "invalid_token"


async def test_reset_does_not_reveal_unknown_addresses(client, db):
    response = await client.post("/api/v1/password/reset", json={"email": "nobody@example.org"})
    assert response.status_code == 202
    assert await mails_to(db, "nobody@example.org") == []


async def test_token_shape_and_wrong_password(client, cast):
    response = await client.post("/api/v1/auth/token", json={"email": cast.manager.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and len(body["access_token"]) >= 32 and "T" in body["expires_at"]
    wrong = await client.post("/api/v1/auth/token", json={"email": cast.manager.email, "password": "wrong" * 3})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    unknown = await client.post("/api/v1/auth/token", json={"email": "ghost@example.org", "password": "x" * 12})
    assert unknown.status_code == 401 and unknown.json()["detail"] == wrong.json()["detail"]


async def test_sign_in_is_throttled_per_account(client, cast):
    for _ in range(5):
        r = await client.post("/api/v1/auth/token", json={"email": cast.manager.email, "password": "bad-password-1"})
        assert r.status_code == 401
    throttled = await client.post("/api/v1/auth/token", json={"email": cast.manager.email, "password": PASSWORD})
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert int(throttled.headers["retry-after"]) > 0  # and a sign-in link is mailed: tests/test_signin_link.py
    # Another account from the same address is not locked by it.
    assert (await client.post("/api/v1/auth/token", json={"email": cast.contributor.email,
                                                          "password": PASSWORD})).status_code == 200


async def test_sign_in_is_throttled_per_address(client, cast):
    for number in range(20):
        r = await client.post("/api/v1/auth/token", json={"email": f"guess{number}@example.org", "password": "x" * 12})
        assert r.status_code == 401
    blocked = await client.post("/api/v1/auth/token", json={"email": cast.manager.email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


async def test_terms_gate_on_the_api(client, db, cast):
    approved, token = await file_and_approve(client, db, cast)
    await client.post("/api/v1/password/set", json={"token": token, "password": "Les sanglots longs des violons"})
    headers = await token_for(client, REQUEST["email"], "Les sanglots longs des violons")
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {"id": approved["user_id"], "email": REQUEST["email"], "first_name": "Alice",
                         "last_name": "Martin", "role": "manager", "company_id": approved["company_id"],
                         "terms_accepted_version": None}
    blocked = await client.get("/api/v1/account-requests", headers=headers)
    assert blocked.status_code == 403 and blocked.json()["code"] == "terms_not_accepted"
    current = await client.get("/api/v1/terms/current")
    assert current.status_code == 200 and current.json()["version"] == 1 and current.json()["text"]
    wrong = await client.post("/api/v1/me/terms/accept", json={"version": 99}, headers=headers)
    assert wrong.status_code == 409
    accepted = await client.post("/api/v1/me/terms/accept", json={"version": 1}, headers=headers)
    assert accepted.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).json()["terms_accepted_version"] == 1
    assert (await client.get("/api/v1/account-requests", headers=headers)).status_code == 403  # now: no right
    assert (await client.get("/api/v1/account-requests", headers=headers)).json()["code"] == "forbidden"


async def test_a_new_terms_version_closes_the_gate_again(client, cast):
    support = await token_for(client, cast.support.email)
    manager = await token_for(client, cast.manager.email)
    assert (await client.get("/api/v1/account-requests", headers=support)).status_code == 200
    await page_login(client, cast.support.email)
    published = await client.post("/support/terms", data={"text_fr": "CGU v2", "text_en": "Terms v2",
                                                           "_csrf": csrf(client)})
    assert published.status_code == 303
    for headers in (support, manager):
        blocked = await client.get("/api/v1/account-requests", headers=headers)
        assert blocked.json()["code"] == "terms_not_accepted"
    assert (await client.get("/api/v1/terms/current")).json()["version"] == 2


async def test_me_requires_authentication(client):
    response = await client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


async def test_revoked_token_stops_working(client, cast):
    headers = await token_for(client, cast.manager.email)
    assert (await client.delete("/api/v1/auth/token", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_bearer_calls_need_no_csrf_but_cookie_calls_do(client, cast):
    support = await token_for(client, cast.support.email)
    created = (await client.post("/api/v1/account-requests", json=REQUEST)).json()
    await page_login(client, cast.support.email)
    # Cookie session, no CSRF token: refused.
    refused = await client.post(f"/api/v1/account-requests/{created['id']}/reject", json={"reason": "Doublon."})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    with_token = await client.post(f"/api/v1/account-requests/{created['id']}/reject", json={"reason": "Doublon."},
                                   headers={"X-CSRF-Token": csrf(client)})
    assert with_token.status_code == 200
    assert support  # the bearer path is exercised by every other test


async def test_api_sentences_follow_accept_language(client):
    body = {**REQUEST, "siren": "123456789"}
    french = await client.post("/api/v1/account-requests", json=body, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.json()["detail"].startswith("Le SIREN doit comporter 9 chiffres")
    english = await client.post("/api/v1/account-requests", json=body)
    assert english.json()["detail"].startswith("The SIREN must be 9 digits")
