"""Settings read from the environment (CONVERGENCE_*), with defaults fit for `make run`."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CONVERGENCE_{name}", default)


def _root() -> Path:
    return Path(_env("ROOT", str(Path.cwd()))).resolve()


def _secret_key(root: Path) -> str:
    """An explicit key wins; otherwise a key generated once and kept under var/ so sessions survive restarts."""
    key = os.environ.get("CONVERGENCE_SECRET_KEY")
    if key:
        return key
    path = root / "var" / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several servers may start at once on a fresh var/: the key is written whole to a private file and linked
    # into place, which fails if another process got there first; then every process reads the winner's key.
    key = secrets.token_urlsafe(48)
    draft = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
    draft.touch(mode=0o600)
    try:
        draft.write_text(key)
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink(missing_ok=True)
    return key


@dataclass(frozen=True)
class Settings:
    root: Path
    database_url: str
    secret_key: str
    base_url: str = "http://127.0.0.1:8000"
    mail_backend: str = "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    mail_from: str = "Convergence <no-reply@convergence.test>"
    support_address: str = "ans-support-convergence@esante.gouv.fr"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    api_token_hours: int = 24
    password_link_hours: int = 48
    invitation_link_hours: int = 24 * 7
    # Sign-in throttling: failures counted over the window, per account and per client address.
    throttle_window_minutes: int = 15
    throttle_per_account: int = 5
    throttle_per_address: int = 20
    # argon2id cost; tests lower it (CONVERGENCE_ARGON2_MEMORY_KIB) so that hundreds of sign-ins stay quick.
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    # Rate limits on mails a stranger can trigger, over a sliding window: per client address and per target
    # e-mail (password resets, account requests, invitations, "already represented" answers).
    rate_window_minutes: int = 60
    rate_per_address: int = 10
    rate_per_target: int = 3
    # Client addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or networks).
    trusted_proxies: tuple[str, ...] = ()
    # `convergence serve` sets it (CONVERGENCE_FREEZE_GC=1) for its worker processes: see app.py's startup.
    freeze_gc: bool = False
    # The mail sender: a background task relays queued messages, retrying with growing delays.
    mail_poll_seconds: float = 2.0
    mail_max_attempts: int = 6
    upload_max_bytes: int = 5 * 1024 * 1024
    default_language: str = "fr"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def static_dir(self) -> Path:
        return self.root / "static"

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    @property
    def fixtures_dir(self) -> Path:
        return self.root / "fixtures"

    @property
    def locale_dir(self) -> Path:
        return self.root / "locale"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    def cookie_name(self, name: str) -> str:
        """Under https every cookie carries the `__Host-` prefix: the browser then only accepts it with `Secure`,
        `Path=/` and no `Domain`, so a sibling subdomain or a plain-http page cannot plant or shadow it."""
        if self.secure_cookies and not name.startswith("__Host-"):
            return f"__Host-{name}"
        return name

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        root = _root()
        return cls(
            root=root,
            database_url=_env("DATABASE_URL", "sqlite+aiosqlite:///var/convergence.db"),
            secret_key=_secret_key(root),
            base_url=_env("BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            mail_backend=_env("MAIL_BACKEND", "outbox"),
            smtp_host=_env("SMTP_HOST", "localhost"),
            smtp_port=int(_env("SMTP_PORT", "1025")),
            mail_from=_env("MAIL_FROM", "Convergence <no-reply@convergence.test>"),
            argon2_memory_kib=int(_env("ARGON2_MEMORY_KIB", "65536")),
            argon2_time_cost=int(_env("ARGON2_TIME_COST", "3")),
            trusted_proxies=tuple(part.strip() for part in _env("TRUSTED_PROXIES", "").split(",") if part.strip()),
            freeze_gc=_env("FREEZE_GC", "0") == "1",
        )
