"""How a request is authenticated and who acts: the session cookie or bearer token resolved to a user, the
acting context handlers receive (`ctx: Ctx`), the terms gate and the guards that ask for a permission.

Core's request pipeline does the plumbing (language, unit of work, CSRF token, cookies); its
`AuthenticationMiddleware` asks `authenticate` here who the request is from.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import ApiToken, TermsVersion, User, UserSession
from convergence.core import reference
from convergence.core.errors import NotAuthenticated, TermsNotAccepted
from convergence.core.models import utcnow
from convergence.core.security import token_digest
from convergence.core.web import bookkeeping, client_ip, db_session, request_header, settings_of
from convergence.identity.context import Context
from convergence.identity import policy
from convergence.identity.policy import Permission
from convergence.settings import Settings

# Handlers declare `ctx: Ctx`: the acting user, the request's database session, settings and client address.
Ctx = NamedDependency[Context]

TOUCH_EVERY = timedelta(seconds=60)
# Where `authenticate` leaves the current terms version it read, for `terms_gate`.
_TERMS_KEY = "terms_version"


def _current_terms():  # noqa: ANN202
    """The newest terms version, read in the same statement as who is signed in: a version support publishes
    binds every server process at the next request, with neither a cache nor a second statement."""
    return select(func.max(TermsVersion.version)).scalar_subquery()


_statements: dict[str, Any] = {}


def _statement(kind: str) -> Any:
    """The authentication statement, built once (per set of reference stamp columns): SQLAlchemy keys a statement
    for its compiled-SQL cache on every execution, and a statement object kept between requests is keyed once."""
    stamp = reference.stamp_columns()
    held = _statements.get(kind)
    if held is not None and held[0] is stamp:
        return held[1]
    if kind == "session":
        statement = (select(UserSession.id, UserSession.expires_at, UserSession.last_seen_at, User, _current_terms(),
                            *stamp)
                     .join(User, User.id == UserSession.user_id).where(UserSession.digest == bindparam("digest")))
    else:
        statement = (select(ApiToken.revoked_at, ApiToken.expires_at, User, _current_terms(), *stamp)
                     .join(User, User.id == ApiToken.user_id).where(ApiToken.digest == bindparam("digest")))
    _statements[kind] = (stamp, statement)
    return statement


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
    # One statement: the session, its user (with the user's company), the current terms version and the stamp
    # of the reference data the process caches (core/reference.py).
    row = (await db_session(scope).execute(_statement("session"),
                                           {"digest": token_digest(settings, key)})).one_or_none()
    now = utcnow()
    if row is None:
        return None, "expired"
    session_id, expires_at, last_seen_at, user, terms_version, *stamp = row
    reference.remember(*stamp)
    if expires_at <= now or last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        await bookkeeping(scope, write, delete(UserSession).where(UserSession.id == session_id))
        return None, "expired"
    if not user.active:
        return None, "expired"
    if now - last_seen_at > TOUCH_EVERY:
        await bookkeeping(scope, write, update(UserSession).where(UserSession.id == session_id).values(
            last_seen_at=now))
    scope["state"][_TERMS_KEY] = terms_version
    return user, "session"


async def _bearer(scope: Scope, settings: Settings, token: str) -> User | None:
    # One statement: the token, its user, the current terms version and the reference data's stamp.
    row = (await db_session(scope).execute(_statement("bearer"),
                                           {"digest": token_digest(settings, token)})).one_or_none()
    if row is None:
        return None
    revoked_at, expires_at, user, terms_version, *stamp = row
    reference.remember(*stamp)
    if revoked_at is not None or expires_at <= utcnow() or not user.active:
        return None
    scope["state"][_TERMS_KEY] = terms_version
    return user


async def current_terms_version(session: AsyncSession) -> int | None:
    return await session.scalar(select(TermsVersion.version).order_by(TermsVersion.version.desc()).limit(1))


async def terms_gate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    user: User | None = connection.scope.get("user")
    if user is None or handler.opt.get("terms_exempt"):
        return
    state = connection.scope.get("state", {})
    # Read by `authenticate` with the user; a user put in the scope by other means is checked all the same.
    current = (state[_TERMS_KEY] if _TERMS_KEY in state
               else await current_terms_version(db_session(connection.scope)))
    if current is not None and user.terms_accepted_version != current:
        raise TermsNotAccepted("Accept the current General Terms of Use to continue.")


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthenticated("Please sign in.")


def requires(permission: Permission):  # noqa: ANN201
    """A route's declared requirement, judged by the one policy before the body is read (the service the
    handler calls requires it again, with the target)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        policy.require(connection.scope.get("user"), permission)

    guard.__name__ = f"requires_{permission.value.replace(':', '_')}"
    return guard
