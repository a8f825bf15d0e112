"""A real browser walks the joining flow: account request → approval → password (signed in) → CGU → home page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, ROOT

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_live(tmp_path_factory: pytest.TempPathFactory, setup: list[list[str]],
               env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `convergence serve` on a fresh SQLite database, after the CLI commands of `setup`: its address."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required under CI=true")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI=true requires it")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CONVERGENCE_ROOT": str(ROOT),
           "CONVERGENCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}",
           "CONVERGENCE_SECRET_KEY": "browser-test-secret", "CONVERGENCE_BASE_URL": base,
           "CONVERGENCE_ARGON2_MEMORY_KIB": "1024", "CONVERGENCE_ARGON2_TIME_COST": "1", **(env or {})}
    cli = [sys.executable, "-m", "convergence.cli"]
    for args in [["db", "upgrade"], ["fixtures", "load"], *setup]:
        subprocess.run(cli + args, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    server = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the live server did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_live(tmp_path_factory, [
        ["users", "create", "--role", "support", "--email", "support@ans.example",
         "--password", "Guichet-Navigateur-2026", "--first-name", "Sophie"],
        ["demo", "load"],  # the demo manager of tests/test_browser_products.py
    ])


@pytest.fixture
def page(live_server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-background-networking",
                                                   "--disable-gpu", "--no-first-run"])
        context = browser.new_context(base_url=live_server, locale="fr-FR")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield page
        assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()


def test_joining_walkthrough(page, live_server):
    from playwright.sync_api import expect

    # 1. A vendor files an account request.
    page.goto("/account-request")
    page.fill("#f-company_name", "Télésanté Horizon SAS")
    page.fill("#f-siren", "552100554")
    page.fill("#f-first_name", "Lucie")
    page.fill("#f-last_name", "Bernard")
    page.fill("#f-email", "lucie.bernard@horizon.example")
    page.fill("#f-job_title", "Directrice générale")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Votre demande a été envoyée")

    # 2. ANS support signs in, accepts the CGU, approves the request (HTMX), reads the e-mail in the outbox.
    page.goto("/login")
    page.fill("#f-email", "support@ans.example")
    page.fill("#f-password", "Guichet-Navigateur-2026")
    page.click("form[action='/login'] button[type=submit]")
    page.check("input[name=agree]")
    page.click("form.accept button[type=submit]")
    page.goto("/support/requests")
    page.click("text=Télésanté Horizon SAS")
    page.click("#decision button.primary")
    expect(page.locator("#decision .alert.ok")).to_be_visible()
    page.goto("/support/outbox")
    page.locator("tr", has_text="lucie.bernard@horizon.example").locator("a").first.click()
    link = re.search(r"https?://\S+/password/set\?token=[\w-]+", page.locator("pre.mail").inner_text()).group(0)
    page.click("header form[action='/logout'] button")

    # 3. The new manager sets a password, which signs her in; she accepts the CGU and reaches the home page.
    page.goto(link)
    page.fill("#f-password", "Horizon dégagé sur la mer 2026")
    page.fill("#f-password_confirm", "Horizon dégagé sur la mer 2026")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/terms\?next=/$"))
    expect(page.locator("header")).to_contain_text("Lucie Bernard")
    page.check("input[name=agree]")
    page.click("form.accept button[type=submit]")
    expect(page.locator("h1")).to_have_text("Bienvenue, Lucie")
    expect(page.locator("header")).to_contain_text("Télésanté Horizon SAS")
