"""A real browser: an ANS reviewer filters the market-review dashboard, opens a product read-only and leaves a
comment. The vendor's side is seeded through the API as the demo manager."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.test_browser import live_server, page  # noqa: F401

pytestmark = pytest.mark.browser
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"
REVIEWER = "relecteur.navigateur@ans.example"
REVIEWER_PASSWORD = "Relecture-Navigateur-2026"


def _live_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database of this module's live server: the newest one the shared fixture created."""
    found = sorted(tmp_path_factory.getbasetemp().glob("live*/live.db"), key=lambda p: p.stat().st_mtime)
    assert found, "the live server's database was not found"
    return found[-1]


@pytest.fixture(scope="module")
def seeded(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # noqa: F811
    env = {**os.environ, "CONVERGENCE_ROOT": str(ROOT),
           "CONVERGENCE_DATABASE_URL": f"sqlite+aiosqlite:///{_live_database(tmp_path_factory)}",
           "CONVERGENCE_SECRET_KEY": "browser-test-secret", "CONVERGENCE_BASE_URL": live_server,
           "CONVERGENCE_ARGON2_MEMORY_KIB": "1024", "CONVERGENCE_ARGON2_TIME_COST": "1"}
    subprocess.run([sys.executable, "-m", "convergence.cli", "users", "create", "--role", "reviewer", "--email",
                    REVIEWER, "--password", REVIEWER_PASSWORD, "--first-name", "Régis"],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    with httpx.Client(base_url=live_server, timeout=10) as api:
        token = api.post("/api/v1/auth/token", json={"email": MANAGER, "password": DEMO_PASSWORD}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert api.post("/api/v1/me/terms/accept", json={"version": 1}).status_code == 204
        company_id = api.get("/api/v1/me").json()["company_id"]
        tracks = api.get("/api/v1/tracks").json()["items"]
        step = next(t for t in tracks if t["code"] == "doctrine")["steps"][0]

        def create(name: str) -> int:
            created = api.post(f"/api/v1/companies/{company_id}/products", json={
                "name": name, "os": "Windows", "device": "Website", "edition": "", "version": "3",
                "kind": "base", "base_product_ids": []})
            assert created.status_code == 201, created.text
            product_id = created.json()["id"]
            assert api.put(f"/api/v1/products/{product_id}/steps",
                           json={"step_ids": [step["id"]]}).status_code == 200
            return product_id

        started, untouched = create("Dossier Relecture"), create("Agenda Relecture")
        response = api.get(f"/api/v1/products/{started}/responses").json()["items"][0]
        questionnaire = next(q for q in step["questionnaires"] if q["id"] == response["questionnaire_id"])
        booleans = [i for i in questionnaire["items"] if i["type"] == "boolean" and "enable_when" not in i]
        saved = api.patch(f"/api/v1/responses/{response['id']}/answers", json={
            "version": response["version"], "answers": {str(i["id"]): True for i in booleans[:3]}})
        assert saved.status_code == 200, saved.text
    return {"started": started, "untouched": untouched, "response_id": response["id"], "step": step}


def test_reviewer_filters_the_dashboard_and_opens_a_product(page, live_server, seeded):  # noqa: F811
    from playwright.sync_api import expect

    page.goto("/login")
    page.fill("#f-email", REVIEWER)
    page.fill("#f-password", REVIEWER_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/terms"))
    page.check("input[name=agree]")
    page.click("form.accept button[type=submit]")

    page.click("header nav a[href='/review']")
    expect(page.locator("h1")).to_have_text("Revue du marché")
    results = page.locator("#review-results")
    expect(results).to_contain_text("Dossier Relecture Windows Website")
    expect(results).to_contain_text("Agenda Relecture Windows Website")
    expect(page.locator("#review-results svg").first).to_be_visible()

    # Filtering swaps the results with HTMX and keeps the filters in the address bar and the export links.
    page.select_option("#f-status", "draft")
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(results).not_to_contain_text("Agenda Relecture")
    expect(results).to_contain_text("Dossier Relecture Windows Website")
    expect(page.locator("#review-results a[href*='export.csv']")).to_have_attribute(
        "href", re.compile(r"status=draft"))
    page.fill("#f-q", "agenda")
    expect(results).to_contain_text("Aucun produit ne correspond")
    page.fill("#f-q", "relecture")
    expect(results).to_contain_text("Dossier Relecture")

    # The drill-down: read-only answers, the projection chart, and a comment the company will read.
    page.click("#review-results a:has-text('Dossier Relecture Windows Website')")
    expect(page.locator("h1")).to_have_text("Dossier Relecture Windows Website")
    expect(page.locator("form[action$='/answer']")).to_have_count(0)
    expect(page.locator("figure.chart svg polyline").first).to_be_attached()
    page.fill(f"#f-body-{seeded['response_id']}", "Merci de préciser l'hébergeur HDS.")
    page.click(f"#comments-{seeded['response_id']} button[type=submit]")
    expect(page.locator(".alert.ok")).to_be_visible()
    expect(page.locator(f"#comments-{seeded['response_id']}")).to_contain_text("Merci de préciser l'hébergeur HDS.")
