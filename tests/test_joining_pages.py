"""The joining flow as HTML pages: forms, CSRF and Origin, sessions, CGU gate, language, headers."""

from __future__ import annotations

import re
from typing import Any
from datetime import timedelta

from sqlalchemy import select, update

from convergence.accounts.models import AccountRequest, AccountRequestDocument, UserSession
from convergence.core.models import AuditEvent, utcnow
from tests.factories import PASSWORD, csrf, page_login
from tests.test_joining_api import REQUEST, count, mails_to

FORM = {**REQUEST, "is_corporate_officer": "yes"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def test_pages_speak_french_by_default_and_english_on_request(client):
    page = await client.get("/account-request")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text and "Demander un compte" in page.text
    switched = await client.post("/lang", data={"lang": "en", "next": "/account-request", "_csrf": csrf(client)})
    assert switched.status_code == 303 and switched.headers["location"] == "/account-request"
    english = await client.get("/account-request")
    assert '<html lang="en">' in english.text and "Request an account for your company" in english.text


async def test_account_request_form_files_a_request(client, db):
    await client.get("/account-request")
    response = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)})
    assert response.status_code == 303 and response.headers["location"] == "/account-request/sent"
    assert await count(db, AccountRequest) == 1


async def test_form_errors_rerender_the_form_with_422_in_french(client, db):
    await client.get("/account-request")
    response = await client.post("/account-request", data={**FORM, "siren": "123456789", "_csrf": csrf(client)})
    assert response.status_code == 422
    assert "Le SIREN doit comporter 9 chiffres" in response.text
    assert 'value="MédiLogiciel SAS"' in response.text  # what was typed is kept
    assert await count(db, AccountRequest) == 0


async def test_htmx_post_gets_the_partial_only(client):
    await client.get("/account-request")
    response = await client.post("/account-request", data={**FORM, "siren": "1", "_csrf": csrf(client)},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "<html" not in response.text and 'id="account-request-form"' in response.text
    assert "HX-Request" in response.headers["vary"]
    check = await client.post("/account-request/check-siren", data={"siren": "443061841"},
                              headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})
    assert check.status_code == 200 and "SIREN valide" in check.text


async def test_form_post_without_csrf_token_is_refused(client, db):
    await client.get("/account-request")
    response = await client.post("/account-request", data=FORM)
    assert response.status_code == 403
    assert await count(db, AccountRequest) == 0


async def test_cross_origin_post_is_refused_even_with_token(client, db):
    await client.get("/account-request")
    response = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)},
                                 headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    same = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)},
                             headers={"Origin": "http://testserver.local"})
    assert same.status_code == 303
    assert await count(db, AccountRequest) == 1


async def test_signed_pdf_is_kept_and_checked_by_content(client, db, cast):
    await client.get("/account-request")
    fake = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)},
                             files={"document": ("form.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert fake.status_code == 422 and "PDF" in fake.text
    big = PDF[:-7] + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
    too_big = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)},
                                files={"document": ("form.pdf", big, "application/pdf")})
    assert too_big.status_code == 422 and "5" in too_big.text
    assert await count(db, AccountRequest) == 0
    ok = await client.post("/account-request", data={**FORM, "_csrf": csrf(client)},
                           files={"document": ("formulaire signé.pdf", PDF, "application/octet-stream")})
    assert ok.status_code == 303
    assert await count(db, AccountRequestDocument) == 1
    async with db() as session:
        request_id = await session.scalar(select(AccountRequest.id))
    await page_login(client, cast.support.email)
    download = await client.get(f"/support/requests/{request_id}/document")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")


async def test_support_approves_from_the_queue_page_with_htmx(client, db, cast):
    await client.get("/account-request")
    await client.post("/account-request", data={**FORM, "_csrf": csrf(client)})
    await page_login(client, cast.support.email)
    queue = await client.get("/support/requests")
    assert queue.status_code == 200 and "MédiLogiciel SAS" in queue.text
    async with db() as session:
        request_id = await session.scalar(select(AccountRequest.id))
    detail = await client.get(f"/support/requests/{request_id}")
    assert "Approuver" in detail.text
    approved = await client.post(f"/support/requests/{request_id}/approve",
                                 headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})
    assert approved.status_code == 200 and 'id="decision"' in approved.text and "<html" not in approved.text
    assert [m.kind for m in await mails_to(db, REQUEST["email"])][-1] == "account_created"
    outbox = await client.get("/support/outbox")
    assert "alice.martin@medilogiciel.example" in outbox.text


async def test_vendors_cannot_open_support_pages(client, cast):
    await page_login(client, cast.manager.email)
    assert (await client.get("/support/requests")).status_code == 403
    assert (await client.get("/support/outbox")).status_code == 403


async def test_anonymous_user_is_sent_to_sign_in(client):
    response = await client.get("/support/requests")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/support/requests"


async def test_session_id_changes_at_sign_in_and_old_one_dies(client, db, cast):
    await page_login(client, cast.manager.email)
    first = client.cookies.get("cv_session")
    await page_login(client, cast.manager.email)
    second = client.cookies.get("cv_session")
    assert first and second and first != second
    async with db() as session:
        assert len((await session.scalars(select(UserSession))).all()) == 1
    client.cookies.set("cv_session", first)
    response = await client.get("/")
    assert "Bienvenue" not in response.text


async def test_csrf_token_changes_at_sign_in(client, cast):
    await client.get("/login")
    before = csrf(client)
    await page_login(client, cast.manager.email)
    assert csrf(client) != before


async def test_wrong_password_on_the_page(client, cast):
    await client.get("/login")
    response = await client.post("/login", data={"email": cast.manager.email, "password": "wrong-password!",
                                                 "_csrf": csrf(client)})
    assert response.status_code == 401 and "Adresse e-mail ou mot de passe incorrect" in response.text
    assert client.cookies.get("cv_session") is None


async def test_idle_and_absolute_timeouts_end_the_session(client, db, cast):
    await page_login(client, cast.manager.email)
    assert "Bienvenue" in (await client.get("/")).text
    async with db() as session, session.begin():
        await session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    assert "Bienvenue" not in (await client.get("/")).text

    await page_login(client, cast.manager.email)
    async with db() as session, session.begin():
        await session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get("/support/requests")).status_code == 303


async def test_sign_out_ends_the_session(client, cast):
    await page_login(client, cast.manager.email)
    key = client.cookies.get("cv_session")
    out = await client.post("/logout", data={"_csrf": csrf(client)})
    assert out.status_code == 303
    client.cookies.set("cv_session", key)
    assert "Bienvenue" not in (await client.get("/")).text


async def test_terms_gate_on_pages(client, db, cast):
    async with db() as session, session.begin():
        from convergence.accounts.models import User
        await session.execute(update(User).where(User.id == cast.manager.id).values(terms_accepted_version=None))
    await page_login(client, cast.manager.email)
    home = await client.get("/")
    assert home.status_code == 303 and home.headers["location"].startswith("/terms")
    terms = await client.get("/terms?next=/")
    assert "J'ai lu et j'accepte" in terms.text
    unticked = await client.post("/terms/accept", data={"version": "1", "next": "/", "_csrf": csrf(client)})
    assert unticked.status_code == 422
    accepted = await client.post("/terms/accept", data={"version": "1", "agree": "yes", "next": "/",
                                                        "_csrf": csrf(client)})
    assert accepted.status_code == 303
    assert (await client.get("/")).status_code == 200


async def test_password_page_sets_the_password(client, db, cast):
    from tests.test_joining_api import file_and_approve

    _, token = await file_and_approve(client, db, cast)
    page = await client.get(f"/password/set?token={token}")
    assert page.status_code == 200 and REQUEST["email"] in page.text
    mismatch = await client.post("/password/set", data={"token": token, "password": "Le vent se lève il faut vivre",
                                                         "password_confirm": "autre chose", "_csrf": csrf(client)})
    assert mismatch.status_code == 422
    weak = await client.post("/password/set", data={"token": token, "password": "azertyuiop", "password_confirm":
                                                     "azertyuiop", "_csrf": csrf(client)})
    assert weak.status_code == 422 and "12 caractères" in weak.text
    before = csrf(client)
    done = await client.post("/password/set", data={"token": token, "password": "Le vent se lève il faut vivre",
                                                     "password_confirm": "Le vent se lève il faut vivre",
                                                     "_csrf": csrf(client)})
    # Signed in at once (new session, new CSRF token, as at sign-in), then on to the CGU not yet accepted.
    assert done.status_code == 303 and done.headers["location"] == "/terms?next=/"
    assert client.cookies.get("cv_session") and csrf(client) != before
    assert await count(db, AuditEvent, AuditEvent.action == "user.signed_in",
                       AuditEvent.actor_id != cast.support.id) == 1
    terms = await client.get("/terms?next=/")
    assert terms.status_code == 200 and REQUEST["first_name"] in terms.text
    accepted = await client.post("/terms/accept", data={"version": "1", "agree": "yes", "next": "/",
                                                        "_csrf": csrf(client)})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/"
    assert f"Bienvenue, {REQUEST['first_name']}" in (await client.get("/")).text
    assert (await client.get(f"/password/set?token={token}")).status_code == 400
    await page_login(client, REQUEST["email"], "Le vent se lève il faut vivre")


async def test_password_reset_of_a_user_who_accepted_the_terms_leads_home(client, db, cast):
    await client.get("/password/forgot")
    await client.post("/password/forgot", data={"email": cast.manager.email, "_csrf": csrf(client)})
    mail = (await mails_to(db, cast.manager.email))[-1]
    token = re.search(r"token=([\w-]+)", mail.body).group(1)
    done = await client.post("/password/set", data={"token": token, "password": "Le vent se lève il faut vivre",
                                                     "password_confirm": "Le vent se lève il faut vivre",
                                                     "_csrf": csrf(client)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert "Bienvenue" in (await client.get("/")).text


async def test_sign_in_from_a_script_answers_json(client, db, cast):
    await client.get("/login")
    before = csrf(client)
    ok = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD, "_csrf": before},
                           headers={"Accept": "application/json"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
    body = ok.json()
    assert body["user"] == {"id": cast.manager.id, "full_name": cast.manager.full_name}
    # The token in the body is the new CSRF cookie: the page sends its pending saves with it.
    assert body["csrf_token"] == csrf(client) != before and client.cookies.get("cv_session")
    assert "Bienvenue" in (await client.get("/")).text

    # A JSON body works as well, with the token in the header as the pages' scripts send it.
    again = await client.post("/login", json={"email": cast.manager.email, "password": PASSWORD},
                              headers={"Accept": "application/json", "X-CSRF-Token": csrf(client)})
    assert again.status_code == 200 and again.json()["csrf_token"] == csrf(client)

    wrong = await client.post("/login", data={"email": cast.manager.email, "password": "wrong-password!",
                                              "_csrf": csrf(client)}, headers={"Accept": "application/json"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == "Adresse e-mail ou mot de passe incorrect."

    forged = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                               "_csrf": "not-the-token"}, headers={"Accept": "application/json"})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"

    for _ in range(5):
        await client.post("/login", data={"email": cast.contributor.email, "password": "wrong-password!",
                                          "_csrf": csrf(client)}, headers={"Accept": "application/json"})
    throttled = await client.post("/login", data={"email": cast.contributor.email, "password": PASSWORD,
                                                  "_csrf": csrf(client)}, headers={"Accept": "application/json"})
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert "15 minutes" in throttled.json()["detail"] and int(throttled.headers["retry-after"]) > 0
    # Not a lockout: the account's owner is mailed a one-time sign-in link.
    assert [m.kind for m in await mails_to(db, cast.contributor.email)] == ["sign_in_link"]


async def test_security_headers_and_cookie_flags(client, cast):
    await client.get("/login")
    response = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                                 "_csrf": csrf(client)})
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("cv_session="))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    page = await client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert '"allowEval":false' in page.text and '"includeIndicatorStyles":false' in page.text
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.\d+/htmx\.min\.js"', page.text)
    assert "<script>" not in page.text
    assert (await client.get("/static/vendor/htmx-2.0.11/htmx.min.js")).status_code == 200


async def test_unknown_page_and_bad_ids_are_clear_errors(client, cast):
    assert (await client.get("/nowhere")).status_code == 404
    assert (await client.get("/api/v1/nowhere")).json()["code"] == "not_found"
    await page_login(client, cast.support.email)
    assert (await client.get("/support/requests/424242")).status_code == 404
    assert (await client.get("/support/requests?page=-3")).status_code == 200


async def test_idle_touch_of_a_read_never_needs_a_second_connection(settings, db, cast, monkeypatch):
    """A page read holds one pooled connection; the idle-timeout touch runs after it is released. With a pool
    of one connection, taking a second one would wait for the pool timeout and fail."""
    import convergence.app
    from litestar.testing import AsyncTestClient

    from convergence.core import db as core_db
    from tests.conftest import BASE_URL

    def one_connection_engine(settings_: Any, **kwargs: Any) -> Any:
        return core_db.create_engine(settings_, pool_size=1, max_overflow=0, pool_timeout=2, **kwargs)

    monkeypatch.setattr(convergence.app, "create_engine", one_connection_engine)
    async with AsyncTestClient(app=convergence.app.create_app(settings), base_url=BASE_URL) as client:
        client.follow_redirects = False
        await page_login(client, cast.manager.email)
        stale = utcnow() - timedelta(minutes=5)
        async with db() as session, session.begin():
            await session.execute(update(UserSession).values(last_seen_at=stale))
        response = await client.get("/products")
        assert response.status_code == 200
    async with db() as session:
        seen = await session.scalar(select(UserSession.last_seen_at))
    assert seen is not None and seen > stale + timedelta(minutes=4)
