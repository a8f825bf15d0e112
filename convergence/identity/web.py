"""How a request is authenticated and who acts: the session cookie or bearer token resolved to a user, the
acting context handlers receive (`ctx: Ctx`), the terms gate and the guards that ask for a permission.

Core's `SessionMiddleware` does the plumbing (cookies, CSRF token, language, unit of work) and asks
`authenticate` here who the request is from.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import ApiToken, TermsVersion, User, UserSession
from convergence.core.errors import Forbidden, NotAuthenticated, TermsNotAccepted
from convergence.core.models import utcnow
from convergence.core.security import token_digest
from convergence.core.web import bookkeeping, client_ip, db_session, request_header, settings_of
from convergence.identity.context import Context
from convergence.identity.permissions import Permission, has_permission
from convergence.settings import Settings

# Handlers declare `ctx: Ctx`: the acting user, the request's database session, settings and client address.
Ctx = NamedDependency[Context]

TOUCH_EVERY = timedelta(seconds=60)


async def provide_ctx(request: Request[Any, Any, Any]) -> Context:
    user = request.scope.get("user")
    settings = settings_of(request)
    return Context(session=db_session(request.scope), settings=settings, actor=user,
                   ip=client_ip(request.scope, settings.trusted_proxies))


async def authenticate(scope: Scope, settings: Settings, key: str | None,
                       write: bool) -> tuple[User | None, str | None]:
    authorization = request_header(scope, b"authorization") or ""
    if authorization[:7].lower() == "bearer ":
        return await _bearer(scope, settings, authorization[7:].strip()), "bearer"
    if not key:
        return None, None
    session = db_session(scope)
    row = await session.scalar(select(UserSession).where(UserSession.digest == token_digest(settings, key)))
    now = utcnow()
    if row is None:
        return None, "expired"
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        await bookkeeping(scope, write, delete(UserSession).where(UserSession.id == row.id))
        return None, "expired"
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None, "expired"
    if now - row.last_seen_at > TOUCH_EVERY:
        await bookkeeping(scope, write, update(UserSession).where(UserSession.id == row.id).values(
            last_seen_at=now))
    return user, "session"


async def _bearer(scope: Scope, settings: Settings, token: str) -> User | None:
    session = db_session(scope)
    row = await session.scalar(select(ApiToken).where(ApiToken.digest == token_digest(settings, token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = await session.get(User, row.user_id)
    return user if user is not None and user.active else None


async def current_terms_version(session: AsyncSession) -> int | None:
    return await session.scalar(select(TermsVersion.version).order_by(TermsVersion.version.desc()).limit(1))


async def terms_gate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    user: User | None = connection.scope.get("user")
    if user is None or handler.opt.get("terms_exempt"):
        return
    current = await current_terms_version(db_session(connection.scope))
    if current is not None and user.terms_accepted_version != current:
        raise TermsNotAccepted("Accept the current General Terms of Use to continue.")


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthenticated("Please sign in.")


def requires(permission: Permission):  # noqa: ANN201
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user: User | None = connection.scope.get("user")
        if user is None:
            raise NotAuthenticated("Please sign in.")
        if not has_permission(user.role, permission):
            raise Forbidden("You do not have the right to do this.")

    guard.__name__ = f"requires_{permission.value.replace(':', '_')}"
    return guard
