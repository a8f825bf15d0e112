"""Password hashing (argon2id through libpass), opaque tokens and the password policy."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from pathlib import Path

import anyio
from passlib.context import CryptContext

from convergence.core.i18n import N_
from convergence.settings import Settings

PASSWORD_MIN = 12
PASSWORD_MAX = 256


@functools.lru_cache(maxsize=4)
def _context(memory_kib: int, time_cost: int) -> CryptContext:
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=memory_kib,
        argon2__rounds=time_cost,
    )


def hash_password(settings: Settings, password: str) -> str:
    return _context(settings.argon2_memory_kib, settings.argon2_time_cost).hash(password)


def verify_password(settings: Settings, password: str, hashed: str | None) -> bool:
    ctx = _context(settings.argon2_memory_kib, settings.argon2_time_cost)
    if not hashed:
        # Spend the same time as a real check so that unknown accounts cannot be told apart by timing.
        ctx.dummy_verify()
        return False
    return ctx.verify(password, hashed)


# argon2id is built to cost ~0.2 s of CPU: run in a worker thread, it does not stall every other request of the
# event loop (the C library releases the GIL while it hashes).
async def hash_password_async(settings: Settings, password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, settings, password)


async def verify_password_async(settings: Settings, password: str, hashed: str | None) -> bool:
    return await anyio.to_thread.run_sync(verify_password, settings, password, hashed)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(settings: Settings, token: str) -> str:
    """Tokens are stored as keyed digests: a database dump does not hand out sessions or links."""
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def session_csrf_token(settings: Settings, session_key: str) -> str:
    """The CSRF token of a signed-in browser: a keyed digest of its session id (labelled, so it is never the
    digest stored for the session). Whoever can plant a cookie cannot choose it, and it changes with the session."""
    return hmac.new(settings.secret_key.encode(), b"csrf-token:" + session_key.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=2)
def _common_passwords(path: Path) -> frozenset[str]:
    if not path.exists():
        return frozenset()
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def password_problems(settings: Settings, password: str, email: str) -> list[str]:
    """The reasons a password breaks the policy (ANSSI-style: length over complexity, no known passwords)."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(N_("The password must be at least 12 characters long."))
    if len(password) > PASSWORD_MAX:
        problems.append(N_("The password must be at most 256 characters long."))
    lowered = password.lower()
    if lowered in _common_passwords(settings.fixtures_dir / "common-passwords.txt"):
        problems.append(N_("This password is in a list of common passwords."))
    local = email.split("@", 1)[0].lower()
    if email and (email.lower() in lowered or (len(local) >= 4 and local in lowered)):
        problems.append(N_("The password must not contain your e-mail address."))
    return problems
