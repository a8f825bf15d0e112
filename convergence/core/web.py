"""Request plumbing: the per-request database session (unit of work), CSRF + Origin, security headers, language,
static files, and how domain errors become JSON (API) or pages (HTML). Who is signed in, the actor (`Ctx`), the
terms gate and the permission guards are identity's: `convergence/identity/web.py`.

The request pipeline is small pieces, each with one job, composed in `app.create_app` (outermost first):
`LanguageMiddleware`, `UnitOfWorkMiddleware`, `AuthenticationMiddleware` (asks identity's `authenticate`),
`CsrfTokenMiddleware`; then the guards (`csrf_guard`, identity's `terms_gate`...), the handler, the
`commit_on_success` after-request hook, and the before-send hooks `send_queued_cookies` and `security_headers`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from contextvars import ContextVar
from functools import lru_cache
from http.cookies import SimpleCookie
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import MediaType, Request, Response, Router, get, head
from litestar.config.compression import CompressionConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.file_system import BaseLocalFileSystem
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware, DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.response import Redirect, Template
from litestar.response.file import ASGIFileResponse
from litestar.static_files import StaticFiles
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.core import reference
from convergence.core.db import writing
from convergence.core.errors import DomainError, Forbidden, NotAuthenticated, TermsNotAccepted, Throttled
from convergence.core.i18n import LANGUAGES, N_, gettext, set_language
from convergence.core.params import FromPath, FromQuery
from convergence.core.security import new_token, session_csrf_token
from convergence.settings import Settings

log = logging.getLogger(__name__)

# (scope, settings, session cookie, write request) → (the user or None, "session" | "bearer" | "expired" | None)
Authenticate = Callable[[Scope, Settings, str | None, bool], Awaitable[tuple[Any, str | None]]]

# Base names: over https they carry the `__Host-` prefix (`Settings.cookie_name`); read and write them through
# `cookie_name`, `set_cookie` and `cookie_header`, never by these names alone.
SESSION_COOKIE = "cv_session"
CSRF_COOKIE = "cv_csrf"
LANG_COOKIE = "cv_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DB_KEY = "_convergence_db"
_DEFERRED_KEY = "_convergence_deferred"
_GATE_KEY = "_convergence_write_gate"
_COOKIES_KEY = "_convergence_cookies"
_QUEUED_COOKIES_KEY = "_convergence_queued_cookies"
_current_scope: ContextVar[Scope] = ContextVar("current_scope")
# The opt of static files' routes: they need no language, session or CSRF token, and the request pipeline's
# middlewares step aside.
STATIC_OPT = "static_file"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS = b"max-age=31536000; includeSubDomains"
NO_STORE = b"no-store"
# Vendored files live under a versioned directory (static/vendor/htmx-2.0.11/): a new version is a new address.
VERSIONED_STATIC = "vendor/"
LONG_CACHE = "public, max-age=31536000, immutable"
# A plain address (`/static/css/app.css`) may serve new content after a deploy: browsers check again soon.
SHORT_CACHE = "public, max-age=300"
FINGERPRINT_LENGTH = 16


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def answers_json(request: Request[Any, Any, Any]) -> bool:
    """API paths, and page routes called by the pages' own scripts (fetch with Accept: application/json)."""
    return is_api(request.url.path) or request.headers.get("accept", "").startswith("application/json")


def settings_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    return connection.app.state.settings


def db_session(scope: Scope) -> AsyncSession:
    """One session per request, created on first use; committed by `commit_on_success`, closed by
    `UnitOfWorkMiddleware`."""
    state = scope.setdefault("state", {})
    session = state.get(_DB_KEY)
    if session is None:
        maker: async_sessionmaker[AsyncSession] = scope["litestar_app"].state.sessionmaker
        session = state[_DB_KEY] = maker()
    return session


async def commit_on_success(response: Response[Any]) -> Response[Any]:
    """after_request hook: a handler that returned a non-error answer gets its unit of work committed.

    Done here rather than in a before-send hook so that a failing commit still becomes an error answer
    (a before-send hook can only log it, after the client was told it worked).
    """
    scope = _current_scope.get(None)
    session = scope.get("state", {}).get(_DB_KEY) if scope is not None else None
    if session is not None:
        if (response.status_code or 200) < 400:
            await session.commit()
        else:
            # The error page is rendered after this hook, from objects already loaded: detach them first
            # so that the rollback does not expire them under the template.
            session.expunge_all()
            await session.rollback()
    if scope is not None:
        release_write_gate(scope)  # the unit of work is over: the next writer need not wait for the send
    return response


async def acquire_write_gate(scope: Scope) -> None:
    gate = scope["litestar_app"].state.get("write_gate")
    if gate is not None:
        await gate.acquire()
        scope.setdefault("state", {})[_GATE_KEY] = gate


def release_write_gate(scope: Scope) -> None:
    gate = scope.get("state", {}).pop(_GATE_KEY, None)
    if gate is not None:
        gate.release()


@lru_cache(maxsize=16)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for entry in trusted_proxies:
        try:
            networks.append(ip_network(entry.strip(), strict=False))
        except ValueError:
            log.warning("CONVERGENCE_TRUSTED_PROXIES: %r is neither an address nor a network; ignored", entry)
    return tuple(networks)


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_ip(scope: Scope, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address: the direct peer, unless the peer is one of our reverse proxies
    (`settings.trusted_proxies`, addresses or networks). Then `X-Forwarded-For` is read from the right (each proxy
    appends the address it saw): the right-most address that is not itself a trusted proxy is the client. What lies
    left of it was written by the client and proves nothing."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    networks = _networks(trusted_proxies) if trusted_proxies else ()
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = ",".join(value.decode("latin-1") for name, value in scope.get("headers", [])
                         if name == b"x-forwarded-for")
    address = peer
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            address = str(ip_address(hop))
        except ValueError:
            break  # not an address: keep the last hop a trusted proxy vouched for
        if not _trusted(address, networks):
            break
    return address


def request_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed once: language, authentication, CSRF and the headers hook all read them."""
    state = scope.setdefault("state", {})
    jar: dict[str, str] | None = state.get(_COOKIES_KEY)
    if jar is not None:
        return jar
    jar = state[_COOKIES_KEY] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is treated as no cookies
                continue
            jar.update({key: morsel.value for key, morsel in parsed.items()})
    return jar


def queue_cookie(scope: Scope, name: str, header: bytes) -> None:
    """A cookie the pipeline sets on the answer (`send_queued_cookies`), by wire name, unless the handler sets
    one of that name itself."""
    scope.setdefault("state", {}).setdefault(_QUEUED_COOKIES_KEY, {})[name] = header


def request_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _api_language(scope: Scope) -> str | None:
    """API clients choose the language of error sentences with Accept-Language; pages default to French."""
    if not is_api(scope["path"]):
        return None
    accepted = (request_header(scope, b"accept-language") or "").strip().lower()
    return accepted[:2] if accepted[:2] in LANGUAGES else None


def cookie_name(settings: Settings, name: str) -> str:
    """The name a cookie has on the wire for these settings (`__Host-cv_session` under https)."""
    return settings.cookie_name(name)


def cookie_header(settings: Settings, name: str, value: str, *, max_age: int | None = None,
                  http_only: bool = True) -> bytes:
    parts = [f"{cookie_name(settings, name)}={value}", "Path=/", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if settings.secure_cookies:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts).encode()


def set_cookie(response: Response[Any], settings: Settings, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(cookie_name(settings, name), value, max_age=max_age, path="/",
                        secure=settings.secure_cookies, httponly=True, samesite="lax")


def _set_cookie_name(value: bytes) -> str:
    return value.split(b"=", 1)[0].strip().decode("latin-1")


def _signed_in_request(scope: Scope) -> bool:
    """A request that carries credentials: a resolved user, or (for answers the router gives before the
    middlewares run, such as 404 and 405) a session cookie or an Authorization header."""
    if scope.get("user") is not None:
        return True
    settings: Settings = scope["litestar_app"].state.settings
    if request_header(scope, b"authorization"):
        return True
    return cookie_name(settings, SESSION_COOKIE) in request_cookies(scope)


def _cache_control(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    path: str = scope.get("path", "")
    if path.startswith("/static/"):
        return None  # static files say how long they keep (`StaticAssets`)
    if is_api(path) or any(name == b"set-cookie" for name, _ in headers) or _signed_in_request(scope):
        return NO_STORE
    return None


async def send_queued_cookies(message: Message, scope: Scope) -> None:
    """before_send hook: the cookies the pipeline queued (a new CSRF token, the removal of an expired session).

    A cookie the handler sets itself wins: a sign-in that arrives with an expired session cookie sets the new
    session, which the removal must not follow and cancel. Listed before `security_headers`, which marks an
    answer that sets a cookie `no-store`.
    """
    if message["type"] != "http.response.start":
        return
    queued: dict[str, bytes] | None = scope.get("state", {}).get(_QUEUED_COOKIES_KEY)
    if not queued:
        return
    headers = list(message.get("headers", []))
    handled = {_set_cookie_name(value) for name, value in headers if name.lower() == b"set-cookie"}
    headers.extend((b"set-cookie", value) for name, value in queued.items() if name not in handled)
    message["headers"] = headers


async def security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: the security headers on every answer, and `Cache-Control: no-store` on every answer to a
    signed-in request, every API answer and every answer that sets a cookie.

    A hook and not a middleware: Litestar runs middleware per route, so the answers its router gives before any
    route is chosen (404 for an unknown path, 405 for a wrong method) never pass through a middleware; every
    message passes through the app's before_send hooks.
    """
    if message["type"] != "http.response.start":
        return
    settings: Settings = scope["litestar_app"].state.settings
    headers = [(name.lower(), value) for name, value in message.get("headers", [])]
    present = {name for name, _ in headers}
    headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
    if settings.secure_cookies and b"strict-transport-security" not in present:
        headers.append((b"strict-transport-security", HSTS))
    cache = _cache_control(scope, headers)
    if cache is not None:
        headers = [header for header in headers if header[0] != b"cache-control"]
        headers.append((b"cache-control", cache))
    message["headers"] = headers


async def bookkeeping(scope: Scope, write: bool, statement: Any) -> None:
    """Session bookkeeping (idle-timeout touch, removal of an expired session).

    A write request already holds SQLite's write lock: the statement joins its transaction. A read request
    must not upgrade its read transaction, and must not take a second pooled connection while it holds one
    (32 readers waiting for a second connection exhaust the pool and all time out together): the statement
    runs once the request's own session is closed.
    """
    if write:
        await db_session(scope).execute(statement)
        return
    scope.setdefault("state", {}).setdefault(_DEFERRED_KEY, []).append(statement)


class _PipelineMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]
    exclude_opt_key = STATIC_OPT  # headers of static answers: the `security_headers` hook


class LanguageMiddleware(_PipelineMiddleware):
    """The language of the answer: the language cookie, else (API) Accept-Language, else the default.

    Outermost, so that every error sentence, those of the other pieces included, is in that language."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        settings: Settings = scope["litestar_app"].state.settings
        lang = (request_cookies(scope).get(cookie_name(settings, LANG_COOKIE)) or _api_language(scope)
                or settings.default_language)
        set_language(lang if lang in LANGUAGES else settings.default_language)
        await next_app(scope, receive, send)


class UnitOfWorkMiddleware(_PipelineMiddleware):
    """The request's database session and, for a write, SQLite's write gate, around everything that reads.

    The session is opened on first use (`db_session`) and committed or rolled back by `commit_on_success`; here
    it is closed, the gate released, and then the deferred session bookkeeping runs (`bookkeeping`), once the
    request's own connection is back in the pool."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        _current_scope.set(scope)
        reference.forget()  # the stamp of reference data is read again by this request (core/reference.py)
        state = scope.setdefault("state", {})
        write = scope["method"] not in SAFE_METHODS
        if write:
            # Before the first statement: authentication already reads. (Measured: taking the gate after
            # authentication instead, in a read transaction of its own, lets 32 savers at once each hold a
            # connection and a reader thread, and makes fewer saves per second, not more: bench/autosave.py.)
            await acquire_write_gate(scope)
        with writing(write):
            try:
                await next_app(scope, receive, send)
            finally:
                session = state.pop(_DB_KEY, None)
                if session is not None:
                    await session.close()
                release_write_gate(scope)
                for statement in state.pop(_DEFERRED_KEY, ()):
                    await self._side_write(scope, statement)

    @staticmethod
    async def _side_write(scope: Scope, statement: Any) -> None:
        """A short BEGIN IMMEDIATE transaction of its own; best effort, the answer has already been sent."""
        maker: async_sessionmaker[AsyncSession] = scope["litestar_app"].state.sessionmaker
        await acquire_write_gate(scope)
        try:
            with writing():
                async with maker() as side:
                    await side.execute(statement)
                    await side.commit()
        except OperationalError as exc:
            log.warning("session bookkeeping skipped: %s", type(exc).__name__)
        finally:
            release_write_gate(scope)


class AuthenticationMiddleware(_PipelineMiddleware):
    """Who the request is from: `scope["user"]` and `scope["auth"]` ("session" or "bearer"), asked of
    `authenticate`; an expired or unknown session cookie is removed from the browser."""

    def __init__(self, authenticate: Authenticate) -> None:
        # Users, sessions and tokens are identity's business: `identity.web.authenticate`.
        self.authenticate = authenticate

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        settings: Settings = scope["litestar_app"].state.settings
        session_cookie = cookie_name(settings, SESSION_COOKIE)
        session_key = request_cookies(scope).get(session_cookie)
        scope.setdefault("state", {})["session_key"] = session_key
        user, kind = await self.authenticate(scope, settings, session_key, scope["method"] not in SAFE_METHODS)
        if kind == "expired":
            queue_cookie(scope, session_cookie, cookie_header(settings, SESSION_COOKIE, "", max_age=0))
        scope["user"] = user
        scope["auth"] = kind if user else None
        await next_app(scope, receive, send)


class CsrfTokenMiddleware(_PipelineMiddleware):
    """The CSRF token the page's forms and HTMX send back (`state.csrf_token`) and the one `csrf_guard` expects
    (`state.csrf_expected`). Runs after authentication, on which the token depends."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        settings: Settings = scope["litestar_app"].state.settings
        state = scope.setdefault("state", {})
        csrf_cookie = cookie_name(settings, CSRF_COOKIE)
        cookie = request_cookies(scope).get(csrf_cookie, "")
        session_key = state.get("session_key")
        if scope.get("auth") == "session" and session_key:
            # Signed in: the token is bound to the session, whatever the CSRF cookie says. The cookie is kept
            # equal to it, so that the page's token still passes the anonymous check once the session has ended
            # (the save then answers 401 and the page can sign in again).
            token = expected = session_csrf_token(settings, session_key)
        else:
            # Anonymous forms (sign-in, account request): the double-submit token, checked against its cookie.
            expected = cookie if len(cookie) >= 32 else ""
            token = expected or new_token()
        state["csrf_token"], state["csrf_expected"] = token, expected
        if cookie != token:
            queue_cookie(scope, csrf_cookie, cookie_header(settings, CSRF_COOKIE, token))
        await next_app(scope, receive, send)


# ------------------------------------------------------------------------------------------ static files

class StaticAssets:
    """The files under `static/`. Pages link them through `url(name)`, `/static/<name>?v=<digest of the content>`,
    which browsers keep for a year: a changed file gets a new address. A digest that is not the file's answers
    404 (a page from before a deploy must not pin new content under its old address for a year). The plain
    address still answers, kept a short while, except versioned vendor files, whose address names their version.

    Digests are read once per process: the files do not change under a running server.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).resolve()
        self._files = StaticFiles(is_html_mode=False, directories=[self.directory],
                                  file_system=BaseLocalFileSystem())
        self._digests: dict[Path, str] = {}
        self._urls: dict[str, str] = {}

    def digest(self, name: str) -> str | None:
        """The fingerprint of the file `name` (relative to the directory), None if there is no such file."""
        path = (self.directory / name.lstrip("/")).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            return None
        # Keyed by the resolved path, not the name asked for: `a/./b.css` and `a//b.css` make one entry.
        digest = self._digests.get(path)
        if digest is None:
            digest = self._digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()[:FINGERPRINT_LENGTH]
        return digest

    def url(self, name: str) -> str:
        """The Jinja global `static_url`: `static_url("css/app.css")` → `/static/css/app.css?v=3f2a…`."""
        url = self._urls.get(name)
        if url is None:
            digest = self.digest(name)
            if digest is None:
                raise LookupError(f"no static file {name!r} under {self.directory}")
            url = self._urls[name] = f"/static/{name}?v={digest}"
        return url

    async def answer(self, name: str, version: str | None, *, is_head: bool) -> ASGIFileResponse:
        if version is not None and version != self.digest(name):
            raise NotFoundException()
        response = await self._files.handle(path=name, is_head_response=is_head)
        fingerprinted = version is not None or name.lstrip("/").startswith(VERSIONED_STATIC)
        response.headers["cache-control"] = LONG_CACHE if fingerprinted else SHORT_CACHE
        return response

    def router(self, opt: dict[str, Any] | None = None) -> Router:
        """GET and HEAD on `/static/...`."""

        @get("/{file_path:path}", name="static")
        async def serve(file_path: FromPath[PurePath], v: FromQuery[str | None] = None) -> ASGIFileResponse:
            return await self.answer(file_path.as_posix(), v, is_head=False)

        @head("/{file_path:path}", name="static/head")
        async def serve_head(file_path: FromPath[PurePath], v: FromQuery[str | None] = None) -> ASGIFileResponse:
            return await self.answer(file_path.as_posix(), v, is_head=True)

        # Compressed here and not app-wide: a page holds the CSRF token and echoes what users typed, and its
        # compressed size would let another site guess the token byte by byte (BREACH).
        gzip = DefineMiddleware(CompressionMiddleware, config=CompressionConfig(backend="gzip"))
        return Router(path="/static", route_handlers=[serve, serve_head], include_in_schema=False,
                      middleware=[gzip], opt={**(opt or {}), STATIC_OPT: True})


# ----------------------------------------------------------------------------------------------- guards

def _origin_ok(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        referer = connection.headers.get("referer")
        if referer is None:
            return True  # non-browser clients; the CSRF token still has to match
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin == "null":
        return False
    host = connection.headers.get("host", "")
    own = {settings.origin, f"{connection.url.scheme}://{host}"}
    return origin in own


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Unsafe cookie requests need the CSRF token (header for HTMX/fetch, form field for plain forms)
    and a same-origin Origin. Bearer calls carry no ambient authority and need neither.

    The expected token (set by `CsrfTokenMiddleware`): for a signed-in browser, a keyed digest of its session id,
    so a cookie planted by someone else does not help; for anonymous forms, the CSRF cookie (double submit)."""
    if connection.scope["method"] in SAFE_METHODS or connection.scope.get("auth") == "bearer":
        return
    settings = settings_of(connection)
    if not _origin_ok(connection, settings):
        raise Forbidden("This request comes from another site and was refused.", code="csrf_failed")
    state = connection.scope.get("state", {})
    # The JSON API without a session cookie is a script, not a browser carrying someone's session.
    if is_api(connection.scope["path"]) and not state.get("session_key"):
        return
    expected = state.get("csrf_expected", "")
    supplied = connection.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = connection.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await Request(connection.scope, connection.receive).form()
            supplied = form.get(CSRF_FIELD)
    if not expected or not isinstance(supplied, str) or not hmac.compare_digest(expected, supplied):
        raise Forbidden("Your session has expired or the form is out of date. Reload the page and try again.",
                        code="csrf_failed")


# -------------------------------------------------------------------------------------- error answers

def _error_page(request: Request[Any, Any, Any], status: int, detail: str,
                headers: dict[str, str] | None = None) -> Response[Any]:
    return Template(template_name="error.html", context={"status": status, "detail": detail},  # type: ignore[return-value]
                    status_code=status, media_type=MediaType.HTML, headers=headers)


def retry_after(response: Response[Any], exc: DomainError) -> Response[Any]:
    """A refused request says when to come back (`Retry-After`, seconds); pages that show a throttled form's
    error in place pass their answer through this too."""
    if isinstance(exc, Throttled):
        response.headers["Retry-After"] = str(exc.extra.get("retry_after") or 60)
    return response


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    detail = gettext(exc.message)
    if answers_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return retry_after(Response(exc.payload(detail), status_code=exc.status_code, headers=headers), exc)
    if isinstance(exc, NotAuthenticated) and request.method in SAFE_METHODS:
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)  # type: ignore[return-value]
    if isinstance(exc, TermsNotAccepted):
        return Redirect(f"/terms?next={quote(request.url.path)}", status_code=303)  # type: ignore[return-value]
    return retry_after(_error_page(request, exc.status_code, detail), exc)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        status = 422 if is_api(request.url.path) else 400
        detail = gettext("Some fields are missing or have the wrong type.")
        code = "invalid_input"
        extra = {"errors": exc.extra} if exc.extra else {}
    elif isinstance(exc, NotAuthorizedException):
        detail, code, extra = gettext("Please sign in."), "not_authenticated", {}
    else:
        texts = {404: N_("This page does not exist."), 405: N_("This method is not allowed here."),
                 413: N_("The upload is too large."), 400: N_("The request could not be read.")}
        detail = gettext(texts.get(status) or N_("The request could not be handled."))
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "bad_request")
        extra = {}
    # The exception's own headers: `Allow` on a 405 (the router lists the route's methods), `WWW-Authenticate`...
    headers = dict(exc.headers) if exc.headers else None
    if headers and "allow" in headers:
        headers["allow"] = ", ".join(sorted(method.strip() for method in headers["allow"].split(",")))
    if answers_json(request):
        return Response({"detail": detail, "code": code, **extra}, status_code=status, headers=headers)
    return _error_page(request, status, detail, headers)


def integrity_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    """A unique constraint caught at commit (two identical writes racing): a conflict, not a crash."""
    detail = gettext("This conflicts with data saved at the same time. Reload and try again.")
    if answers_json(request):
        return Response({"detail": detail, "code": "conflict"}, status_code=409)
    return _error_page(request, 409, detail)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, OperationalError):
        log.error("database error on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    detail = gettext("Something went wrong on our side. The team has been told; please try again.")
    if answers_json(request):
        return Response({"detail": detail, "code": "server_error"}, status_code=500)
    return _error_page(request, 500, detail)
