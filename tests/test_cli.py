"""The `convergence` command: db upgrade, fixtures load (idempotent), users create, demo load, simulate and review
export with their progress bars."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from convergence import cli
from convergence.accounts.models import TermsVersion, User
from convergence.cli import main
from convergence.core.i18n import set_language
from convergence.identity.context import Context
from convergence.questionnaires.models import review_summary
from convergence.review.exports import EXPORT_COLUMNS, csv_export
from convergence.review.filters import parse_filters
from convergence.review.services import ReviewService
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
    for command in ("serve", "db", "fixtures", "users", "demo", "simulate", "review"):
        assert command in result.output


def _invoke(*args: str):
    """CliRunner in a thread: the commands call asyncio.run themselves, outside the test's event loop."""
    return asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def test_long_commands_draw_a_progress_bar_on_a_terminal_only(env, db, monkeypatch):
    quiet = await _invoke("fixtures", "load")
    assert quiet.exit_code == 0 and "questionnaires:" in quiet.stdout
    assert quiet.stderr == ""  # not a terminal: nothing but the result
    simulated = await _invoke("simulate", "--companies", "2", "--seed", "3")
    assert simulated.exit_code == 0 and "Simulated 2 companies" in simulated.stdout and simulated.stderr == ""

    monkeypatch.setattr(cli, "terminal", lambda: True)
    loud = await _invoke("simulate", "--companies", "4", "--seed", "3")
    assert loud.exit_code == 0 and "Simulated 2 companies" in loud.stdout
    assert "Simulating the market" in loud.stderr and "Simulating" not in loud.stdout
    fixtures = await _invoke("fixtures", "load")
    assert "Loading the reference data" in fixtures.stderr and "terms: 0 new" in fixtures.stdout


async def test_review_export_writes_the_dashboards_export_for_a_reviewer_only(env, settings, db, cast, tmp_path,
                                                                             monkeypatch):
    assert (await _invoke("fixtures", "load")).exit_code == 0
    assert (await _invoke("simulate", "--companies", "3", "--seed", "4")).exit_code == 0
    async with db() as session:
        ctx = Context(session=session, settings=settings, actor=await session.get(User, cast.reviewer.id))
        rows, total = await ReviewService(ctx).rows(parse_filters({"status": "validated"}), 100_000, 0)
    assert total > 0

    monkeypatch.setattr(cli, "terminal", lambda: True)
    target = tmp_path / "review.csv"
    result = await _invoke("review", "export", "--as", cast.reviewer.email, "-o", str(target),
                           "--status", "validated")
    assert result.exit_code == 0, result.output
    assert f"{total} rows written" in result.stdout and f"Exporting {total} rows" in result.stderr
    set_language("fr")
    assert target.read_bytes() == csv_export(rows, "fr").encode("utf-8")  # byte for byte the dashboard's

    workbook = tmp_path / "review.xlsx"
    result = await _invoke("review", "export", "--as", cast.support.email, "--output", str(workbook),
                           "--lang", "en", "--sort", "-maturity")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(workbook, read_only=True).active
    lines = list(sheet.iter_rows(values_only=True))
    async with db() as session:
        assert len(lines) - 1 == await session.scalar(select(func.count()).select_from(review_summary))
    maturities = [line[EXPORT_COLUMNS.index("maturity")] for line in lines[1:]]
    assert maturities == sorted(maturities, reverse=True)

    # Refused: a vendor's manager, an unknown account, a bad filter; nothing is written, not even half a file.
    for args, sentence in (
            (("--as", cast.manager.email), "right"),
            (("--as", "nobody@ans.example"), "No active account"),
            (("--as", cast.reviewer.email, "--status", "finished"), "The status must be"),
            (("--as", cast.reviewer.email, "--format", "pdf"), "")):
        refused = await _invoke("review", "export", "-o", str(tmp_path / "refused.csv"), *args)
        assert refused.exit_code != 0 and sentence in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.csv", "review.xlsx"]
