"""The `convergence` command: db upgrade, fixtures load (idempotent), users create, demo load."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from convergence.accounts.models import TermsVersion, User
from convergence.cli import main
from tests.conftest import ROOT


@pytest.fixture
def env(settings, db, monkeypatch):
    monkeypatch.setenv("CONVERGENCE_ROOT", str(ROOT))
    monkeypatch.setenv("CONVERGENCE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CONVERGENCE_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CONVERGENCE_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONVERGENCE_ARGON2_TIME_COST", "1")


def _run(*args: str):
    # The commands call asyncio.run themselves: run them outside the test's event loop.
    return subprocess.run([sys.executable, "-m", "convergence.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), cwd=ROOT, timeout=120)


async def test_fixtures_load_is_idempotent(env, db):
    first = _run("fixtures", "load")
    assert first.returncode == 0, first.stderr
    second = _run("fixtures", "load")
    assert second.returncode == 0 and "terms: 0 new" in second.stdout
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(TermsVersion)) == 1


async def test_users_create_makes_staff_accounts_and_refuses_bad_input(env, db):
    ok = _run("users", "create", "--role", "reviewer", "--email", "Relecteur@ANS.example",
              "--password", "Une phrase de passe solide")
    assert ok.returncode == 0, ok.stderr
    async with db() as session:
        user = await session.scalar(select(User).where(User.email == "relecteur@ans.example"))
    assert user is not None and user.role == "reviewer" and user.password_hash.startswith("$argon2id$")
    assert _run("users", "create", "--role", "reviewer", "--email", "relecteur@ans.example",
                "--password", "Une phrase de passe solide").returncode == 1
    weak = _run("users", "create", "--role", "support", "--email", "s@ans.example", "--password", "short")
    assert weak.returncode == 1 and "12" in weak.stderr
    assert _run("users", "create", "--role", "manager", "--email", "m@x.example",
                "--password", "Une phrase de passe solide").returncode == 2


async def test_demo_load_prints_logins_and_can_run_twice(env, db):
    for _ in range(2):
        result = _run("demo", "load")
        assert result.returncode == 0, result.stderr
        assert "manager@editeur-demo.example" in result.stdout and "Convergence-Demo-2026" in result.stdout


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("serve", "db", "fixtures", "users", "demo"):
        assert command in result.output
