"""Several servers serve one market (issue 16, point 6): two real `convergence serve` processes on free ports,
one database, and no state that one holds and the other does not. A session opened on one is valid on the other
(and ended by the other), sign-in failures on both count towards one throttle, and terms of use published
through one are enforced by the other on the very next request.

Real processes, not two app instances in this process: what is checked is precisely that nothing lives in a
process. The two servers are started once per database (SQLite: two processes on one file of one host, the
only multi-server set-up SQLite allows; PostgreSQL: the production one) and the database is emptied between
tests as usual, which they must survive too."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.factories import PASSWORD

CONVERGENCE = str(Path(sys.executable).with_name("convergence"))
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, database_url: str, secret_key: str, base_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Every server gets the same settings, as behind a reverse proxy: one database, one key, one public URL.
        self.env = {**os.environ, "CONVERGENCE_ROOT": str(ROOT), "CONVERGENCE_DATABASE_URL": database_url,
                    "CONVERGENCE_SECRET_KEY": secret_key, "CONVERGENCE_BASE_URL": base_url,
                    "CONVERGENCE_ARGON2_MEMORY_KIB": "1024", "CONVERGENCE_ARGON2_TIME_COST": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen([CONVERGENCE, "serve", "--port", str(self.port)], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)

    def wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`convergence serve` stopped at start:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"`convergence serve` did not answer /health in {START_SECONDS} s:\n"
                    f"{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def tracebacks(self) -> str:
        text = self.log_path.read_text(errors="replace")
        return text if "Traceback (most recent call last)" in text else ""


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    from tests.conftest import base_settings

    settings = base_settings(database_url)
    logs = tmp_path_factory.mktemp("multiserver")
    pair = (Server(database_url, settings.secret_key, settings.base_url, logs / "a.log"),
            Server(database_url, settings.secret_key, settings.base_url, logs / "b.log"))
    try:
        for server in pair:
            server.start()
        deadline = time.monotonic() + START_SECONDS
        for server in pair:
            server.wait_ready(deadline)
        yield pair
    finally:
        for server in pair:
            server.stop()
    for server in pair:
        assert not server.tracebacks(), server.tracebacks()[-3000:]


@pytest.fixture
def http(servers: tuple[Server, Server]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """One client per server, for one browser or API caller: cookies are carried over by hand where a test
    moves a session from one server to the other (as a reverse proxy would, without stickiness)."""
    a, b = (httpx.Client(base_url=s.url, timeout=30, follow_redirects=False, headers={"Accept-Language": "en"})
            for s in servers)
    with a, b:
        yield a, b


def page_login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "_csrf": client.cookies["cv_csrf"]})


def token(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_session_opened_on_one_server_is_valid_and_ended_on_the_other(http, cast):
    a, b = http
    assert page_login(a, cast.manager.email).status_code == 303
    b.cookies.update(a.cookies)
    # The page and its CSRF token (a keyed digest of the session) are the same on both servers.
    page = b.get("/products")
    assert page.status_code == 200, page.text[:500]
    csrf = b.get("/session/csrf").json()["csrf_token"]
    assert csrf == a.get("/session/csrf").json()["csrf_token"]
    # A form posted to the other server passes its CSRF check, and signing out there ends the session here.
    assert b.post("/logout", data={"_csrf": csrf}).status_code == 303
    assert a.get("/products").status_code in (302, 303, 401)

    api = bearer(token(a, cast.contributor.email))
    assert b.get("/api/v1/me", headers=api).json()["email"] == cast.contributor.email
    assert b.delete("/api/v1/auth/token", headers=api).status_code == 204
    assert a.get("/api/v1/me", headers=api).status_code == 401


def test_sign_in_failures_on_both_servers_count_towards_one_throttle(http, cast, settings):
    a, b = http
    allowed = settings.throttle_per_account
    for attempt in range(allowed):
        answer = token(a if attempt % 2 else b, cast.manager.email, "not the password")
        assert answer.status_code == 401, answer.text
    # Neither server saw more than half of the failures; together they reach the limit.
    for server in (a, b):
        refused = token(server, cast.manager.email)  # even the right password now
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "throttled"
    # Another account is not affected.
    assert token(b, cast.contributor.email).status_code == 200


def test_terms_published_through_one_server_are_enforced_by_the_other_at_once(http, cast):
    a, b = http
    manager = bearer(token(b, cast.manager.email))
    assert b.get(f"/api/v1/companies/{cast.company.id}/products", headers=manager).status_code == 200
    assert b.get("/api/v1/terms/current").json()["version"] == 1

    assert page_login(a, cast.support.email).status_code == 303
    published = a.post("/support/terms", data={"text_fr": "# CGU v2\n\nTexte.", "text_en": "# Terms v2\n\nText.",
                                               "_csrf": a.get("/session/csrf").json()["csrf_token"]})
    assert published.status_code == 303, published.text[:500]

    # The very next request on the other server sees version 2 and holds the manager at the gate.
    refused = b.get(f"/api/v1/companies/{cast.company.id}/products", headers=manager)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "terms_not_accepted"
    assert b.get("/api/v1/terms/current").json()["version"] == 2
    # Accepted on the other server, the terms let the manager through on both.
    assert b.post("/api/v1/me/terms/accept", json={"version": 2}, headers=manager).status_code == 204
    for server in (a, b):
        assert server.get(f"/api/v1/companies/{cast.company.id}/products", headers=manager).status_code == 200


def test_serve_refuses_a_shared_database_without_an_explicit_secret_key(tmp_path):
    """A key file generated under var/ belongs to one host; on a database several hosts can share, the key must
    come from the environment, the same for all."""
    env = {k: v for k, v in os.environ.items() if k != "CONVERGENCE_SECRET_KEY"}
    env |= {"CONVERGENCE_ROOT": str(tmp_path), "CONVERGENCE_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/x"}
    done = subprocess.run([CONVERGENCE, "serve", "--port", str(free_port())], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "CONVERGENCE_SECRET_KEY" in done.stderr


def test_servers_started_together_on_a_fresh_root_share_one_generated_key(tmp_path):
    script = "from convergence.settings import Settings; print(Settings.from_env().secret_key)"
    env = {k: v for k, v in os.environ.items() if k != "CONVERGENCE_SECRET_KEY"} | {"CONVERGENCE_ROOT": str(tmp_path)}
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(6)]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and len(next(iter(keys))) >= 43
    assert (tmp_path / "var" / "secret.key").read_text().strip() in keys
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret.key"]  # no draft left behind
