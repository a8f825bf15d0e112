"""Headers and cookies (issue 15): security headers on every answer, errors included; HSTS and `__Host-` cookies
under https only; `Cache-Control: no-store` where credentials or API data are; `Allow` on 405; a CSRF token bound
to the session; a sign-in that replaces an expired session cookie leaves the user signed in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event, update

from convergence.accounts.models import TermsVersion, UserSession
from convergence.app import create_app
from convergence.core.models import utcnow
from convergence.core.security import session_csrf_token
from convergence.core.web import HSTS, SECURITY_HEADERS
from convergence.settings import Settings
from tests.factories import PASSWORD, csrf, page_login, token_for
from tests.test_joining_api import mails_to

HTTPS_URL = "https://testserver.local"
FORGED = "attacker-chosen-token-0123456789abcdefghijklmnop"
HTMX = "/static/vendor/htmx-2.0.11/htmx.min.js"


@pytest.fixture
async def https_client(settings: Settings, db: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings.with_(base_url=HTTPS_URL))
    async with AsyncTestClient(app=app, base_url=HTTPS_URL) as client:
        client.follow_redirects = False
        client.headers["Accept-Language"] = "en"
        yield client


def assert_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name.decode()) == value.decode(), (response.request.url, name)


def set_cookies(response: Any) -> dict[str, str]:
    """Every Set-Cookie of one answer, by name (a name set twice fails: the browser would keep only the last)."""
    found: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        assert name not in found, f"{name} set twice in one answer: {response.headers.get_list('set-cookie')}"
        found[name] = header
    return found


def plant(client: AsyncTestClient[Any], name: str, value: str) -> None:
    """Replace a cookie the way a browser (or an attacker on a sibling host) would: one cookie of that name."""
    host = client.base_url.host
    for cookie in [c for c in client.cookies.jar if c.name == name]:
        client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
    client.cookies.set(name, value, domain=host)


async def https_login(client: AsyncTestClient[Any], email: str) -> Any:
    await client.get("/login")
    response = await client.post("/login", data={"email": email, "password": PASSWORD,
                                                 "_csrf": client.cookies.get("__Host-cv_csrf") or ""})
    assert response.status_code == 303, response.text
    return response


# ------------------------------------------------------------------------------------ security headers

async def test_every_answer_carries_the_security_headers_errors_included(client, cast):
    answers = [
        await client.get("/nowhere"),                               # 404 from the router, as a page
        await client.get("/api/v1/nowhere"),                        # 404 from the router, as JSON
        await client.put("/login"),                                 # 405 from the router
        await client.delete("/api/v1/me"),                          # 405, JSON
        await client.post("/api/v1/account-requests", json={}),     # 422, JSON
        await client.post("/login", data={"email": "x@example.org", "password": "p"}),  # 403 CSRF, page
        await client.get("/api/v1/me"),                             # 401, JSON
        await client.get("/static/css/app.css"),                    # a static file
        await client.get("/static/nowhere.css"),                    # a missing static file
        await client.get("/login"),
    ]
    assert [a.status_code for a in answers] == [404, 404, 405, 405, 422, 403, 401, 200, 404, 200]
    for answer in answers:
        assert_security_headers(answer)
        assert "strict-transport-security" not in answer.headers  # http: no HSTS
    await page_login(client, cast.manager.email)
    for answer in (await client.get("/"), await client.get("/nowhere"), await client.put("/login")):
        assert_security_headers(answer)


async def test_a_405_names_the_allowed_methods(client):
    page = await client.put("/login")
    assert page.status_code == 405 and page.headers["allow"] == "GET, OPTIONS, POST"
    api = await client.delete("/api/v1/me")
    assert api.status_code == 405 and api.json()["code"] == "method_not_allowed"
    assert api.headers["allow"] == "GET, OPTIONS"


async def test_hsts_only_under_https(client, https_client):
    for path in ("/login", "/nowhere", "/api/v1/nowhere", "/static/css/app.css"):
        secure = await https_client.get(path)
        assert secure.headers["strict-transport-security"] == HSTS.decode() == "max-age=31536000; includeSubDomains"
        assert_security_headers(secure)
        assert "strict-transport-security" not in (await client.get(path)).headers
    assert "strict-transport-security" in (await https_client.put("/login")).headers


# -------------------------------------------------------------------------------------------- caching

async def test_no_store_on_signed_in_answers_and_api_json(client, cast):
    # API answers, with or without credentials, errors included.
    assert (await client.get("/api/v1/nowhere")).headers["cache-control"] == "no-store"
    assert (await client.get("/api/v1/me")).headers["cache-control"] == "no-store"
    bearer = await token_for(client, cast.manager.email)
    me = await client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
    # Anonymous pages that set no cookie may be cached; static files are never no-store.
    await client.get("/login")
    assert "cache-control" not in (await client.get("/login")).headers
    assert "no-store" not in (await client.get("/static/css/app.css")).headers.get("cache-control", "")
    # Signed in: every page, errors and the router's own answers included; static files excepted.
    await page_login(client, cast.manager.email)
    for path in ("/", "/products", "/nowhere", "/session/csrf"):
        assert (await client.get(path)).headers["cache-control"] == "no-store", path
    assert (await client.put("/login")).headers["cache-control"] == "no-store"
    # Versioned vendor files are cached for a year; the others, under their plain address, a short while
    # (fingerprinted addresses: tests/test_static.py).
    htmx = await client.get(HTMX)
    assert htmx.status_code == 200 and htmx.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get("/static/css/app.css")).headers["cache-control"] == "public, max-age=300"


async def test_an_answer_that_sets_a_cookie_is_not_stored(client, cast):
    first = await client.get("/login")  # sets the CSRF cookie
    assert "cv_csrf" in set_cookies(first) and first.headers["cache-control"] == "no-store"
    signed_in = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                                  "_csrf": csrf(client)})
    assert signed_in.status_code == 303 and signed_in.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------------------------------- cookie names

async def test_cookies_carry_the_host_prefix_under_https(https_client, cast):
    first = await https_client.get("/login")
    cookie = set_cookies(first)["__Host-cv_csrf"]
    assert "Secure" in cookie and "Path=/" in cookie and "domain" not in cookie.lower()
    response = await https_login(https_client, cast.manager.email)
    cookies = set_cookies(response)
    assert set(cookies) == {"__Host-cv_session", "__Host-cv_csrf"}
    for header in cookies.values():
        assert "Secure" in header and "HttpOnly" in header and "Path=/" in header
        assert "domain" not in header.lower()
    home = await https_client.get("/")
    assert home.status_code == 200 and "Bienvenue" in home.text
    # The plain names mean nothing under https: a planted `cv_session` does not sign anyone in.
    key = https_client.cookies.get("__Host-cv_session")
    https_client.cookies.clear()
    plant(https_client, "cv_session", key)
    assert "Bienvenue" not in (await https_client.get("/")).text

    # The language cookie too.
    https_client.cookies.clear()
    await https_client.get("/login")
    switched = await https_client.post("/lang", data={"lang": "en", "next": "/login",
                                                      "_csrf": https_client.cookies.get("__Host-cv_csrf")})
    assert switched.status_code == 303 and "__Host-cv_lang" in set_cookies(switched)
    assert '<html lang="en">' in (await https_client.get("/login")).text


async def test_cookies_keep_their_plain_names_over_http(client, cast):
    await client.get("/login")
    response = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                                 "_csrf": csrf(client)})
    assert set(set_cookies(response)) == {"cv_session", "cv_csrf"}
    assert all("Secure" not in header for header in set_cookies(response).values())


# ---------------------------------------------------------------------------- CSRF bound to the session

async def test_a_forged_cookie_and_field_pair_is_refused_for_a_signed_in_user(client, cast):
    await page_login(client, cast.manager.email)
    key = client.cookies.get("cv_session")
    plant(client, "cv_csrf", FORGED)
    forged = await client.post("/logout", data={"_csrf": FORGED})
    assert forged.status_code == 403 and "Bienvenue" in (await client.get("/")).text
    forged_header = await client.post("/logout", headers={"X-CSRF-Token": FORGED, "Accept": "application/json"})
    assert forged_header.status_code == 403 and forged_header.json()["code"] == "csrf_failed"
    # The page's token is the session's, and the cookie follows it back.
    page = await client.get("/")
    token = session_csrf_token(client.app.state.settings, key)
    assert f'"X-CSRF-Token": "{token}"' in page.text and csrf(client) == token
    assert (await client.get("/session/csrf")).json() == {"csrf_token": token, "signed_in": True}
    out = await client.post("/logout", data={"_csrf": token})
    assert out.status_code == 303 and "Bienvenue" not in (await client.get("/")).text


async def test_another_sessions_token_is_refused(client, cast, settings, db):
    await page_login(client, cast.contributor.email)
    other_token = csrf(client)
    client.cookies.clear()
    await page_login(client, cast.manager.email)
    plant(client, "cv_csrf", other_token)
    refused = await client.post("/logout", data={"_csrf": other_token})
    assert refused.status_code == 403


async def test_anonymous_forms_keep_the_double_submit_cookie(client, cast):
    await client.get("/login")
    # A pair the client chose works for an anonymous form (the Origin check guards it)...
    plant(client, "cv_csrf", FORGED)
    ok = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD, "_csrf": FORGED})
    assert ok.status_code == 303
    # ...but not from another site, nor with a short or missing token.
    client.cookies.clear()
    plant(client, "cv_csrf", FORGED)
    other_site = await client.post("/login", headers={"Origin": "https://evil.example"},
                                   data={"email": cast.manager.email, "password": PASSWORD, "_csrf": FORGED})
    assert other_site.status_code == 403
    plant(client, "cv_csrf", "short")
    short = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD, "_csrf": "short"})
    assert short.status_code == 403


async def test_the_token_rotates_at_sign_in_and_the_json_sign_in_hands_it_over(client, cast):
    await client.get("/login")
    anonymous = csrf(client)
    signed = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                               "_csrf": anonymous}, headers={"Accept": "application/json"})
    key = client.cookies.get("cv_session")
    token = session_csrf_token(client.app.state.settings, key)
    assert signed.status_code == 200 and signed.json()["csrf_token"] == token == csrf(client) != anonymous
    assert signed.headers["cache-control"] == "no-store"
    # The old anonymous token no longer works once signed in.
    stale = await client.post("/logout", data={"_csrf": anonymous})
    assert stale.status_code == 403


# ------------------------------------------------------------------------------ expired session cookies

@pytest.mark.parametrize("how", ["expired", "idle", "unknown"])
async def test_sign_in_with_an_expired_session_cookie_leaves_the_user_signed_in(client, db, cast, how):
    await page_login(client, cast.manager.email)
    if how == "unknown":
        plant(client, "cv_session", "a-session-id-the-server-never-issued-0123456789")
    else:
        values = ({"expires_at": utcnow() - timedelta(seconds=1)} if how == "expired"
                  else {"last_seen_at": utcnow() - timedelta(minutes=31)})
        async with db() as session, session.begin():
            await session.execute(update(UserSession).values(**values))
    response = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD,
                                                 "_csrf": csrf(client)})
    assert response.status_code == 303
    cookies = set_cookies(response)  # one Set-Cookie per name: the new session is not deleted behind it
    assert cookies["cv_session"].split(";")[0] != "cv_session=" and "Max-Age=0" not in cookies["cv_session"]
    assert "Bienvenue" in (await client.get("/")).text


async def test_a_read_with_an_expired_session_cookie_removes_it(client, db, cast):
    await page_login(client, cast.manager.email)
    async with db() as session, session.begin():
        await session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await client.get("/login")
    removal = set_cookies(page)["cv_session"]
    assert removal.startswith("cv_session=;") and "Max-Age=0" in removal
    assert client.cookies.get("cv_session") is None


async def test_json_sign_in_with_an_expired_session_cookie(client, db, cast):
    await page_login(client, cast.manager.email)
    token = csrf(client)
    async with db() as session, session.begin():
        await session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    signed = await client.post("/login", data={"email": cast.manager.email, "password": PASSWORD},
                               headers={"Accept": "application/json", "X-CSRF-Token": token})
    assert signed.status_code == 200, signed.text
    cookies = set_cookies(signed)
    assert "Max-Age=0" not in cookies["cv_session"] and signed.json()["csrf_token"] == csrf(client)
    assert (await client.get("/session/csrf")).json() == {"csrf_token": csrf(client), "signed_in": True}


async def test_password_set_with_an_expired_session_cookie_signs_in(client, db, cast):
    await client.get("/password/forgot")
    await client.post("/password/forgot", data={"email": cast.manager.email, "_csrf": csrf(client)})
    token = re.search(r"token=([\w-]+)", (await mails_to(db, cast.manager.email))[-1].body).group(1)
    plant(client, "cv_session", "a-session-id-the-server-never-issued-0123456789")
    done = await client.post("/password/set", data={"token": token, "password": "Le vent se lève il faut vivre",
                                                     "password_confirm": "Le vent se lève il faut vivre",
                                                     "_csrf": csrf(client)})
    assert done.status_code == 303
    assert "Max-Age=0" not in set_cookies(done)["cv_session"]
    assert "Bienvenue" in (await client.get("/")).text


async def test_the_token_endpoint_is_never_stored(client, cast):
    await client.get("/login")
    anonymous = await client.get("/session/csrf")  # no cookie set by this answer
    assert anonymous.headers["cache-control"] == "no-store"
    assert anonymous.json() == {"csrf_token": csrf(client), "signed_in": False}


# ------------------------------------------------------------------------------ one statement for who acts

@contextmanager
def statements(client: AsyncTestClient[Any]) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs (transaction control left out)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(statement)

    engine = client.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_who_is_signed_in_and_the_current_terms_are_one_statement(client, cast):
    await page_login(client, cast.manager.email)
    with statements(client) as seen:
        assert (await client.get("/session/csrf")).json()["signed_in"] is True
    assert len(seen) == 1 and all(table in seen[0] for table in ("user_session", "user_account", "terms_version"))
    with statements(client) as seen:
        assert (await client.get("/")).status_code == 200  # a page behind the terms gate
    assert [s for s in seen if "user_session" in s or "terms_version" in s] == seen[:1]
    assert "user_account" in seen[0] and "terms_version" in seen[0]
    # A bearer token likewise: the token, its user and the terms version in one statement.
    client.cookies.clear()
    bearer = await token_for(client, cast.manager.email)
    with statements(client) as seen:
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
    assert [s for s in seen if "api_token" in s or "terms_version" in s] == seen[:1]
    assert "user_account" in seen[0] and "terms_version" in seen[0]


async def test_terms_published_elsewhere_are_enforced_at_the_next_request(client, db, cast):
    """Another server process (here: the database directly) publishes new terms: no cache stands in the way."""
    await page_login(client, cast.manager.email)
    assert (await client.get("/")).status_code == 200
    async with db() as session, session.begin():
        session.add(TermsVersion(version=2, text_fr="CGU v2", text_en="Terms v2", published_at=utcnow()))
    gated = await client.get("/")
    assert gated.status_code == 303 and gated.headers["location"].startswith("/terms")
