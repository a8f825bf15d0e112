"""A real browser: an ANS reviewer filters the market-review dashboard, opens a product read-only and leaves a
comment; on a 375 px phone neither page scrolls sideways, the charts' texts stay legible and the drill-down stays
short. The vendor's side is seeded through the API as the demo manager."""

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


def _sign_in(page: Any) -> None:
    """The reviewer signs in, accepting the terms the first time."""
    page.goto("/login")
    page.fill("#f-email", REVIEWER)
    page.fill("#f-password", REVIEWER_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    if "/terms" in page.url:
        page.check("input[name=agree]")
        page.click("form.accept button[type=submit]")
        page.wait_for_load_state()


# The page's width against the window's, and its height; every text of the main content drawn under 12 px
# (an SVG text at its rendered size: its font size times the scale of its SVG).
LAYOUT = """() => {
  const small = [];
  for (const t of document.querySelectorAll('main svg text')) {
    if (!t.getClientRects().length) continue;
    const size = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
    if (size < 12) small.push(t.textContent + ': ' + size);
  }
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('svg') || el.offsetParent === null) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 12) small.push(el.textContent.trim().slice(0, 40) + ': ' + size);
  }
  const root = document.documentElement;
  return {width: root.scrollWidth, window: root.clientWidth, height: root.scrollHeight, small: small};
}"""


def test_reviewer_filters_the_dashboard_and_opens_a_product(page, live_server, seeded):  # noqa: F811
    from playwright.sync_api import expect

    _sign_in(page)

    page.click("header nav a[href='/review']")
    expect(page.locator("h1")).to_have_text("Revue du marché")
    results = page.locator("#review-results")
    expect(results).to_contain_text("Dossier Relecture Windows Website")
    expect(results).to_contain_text("Agenda Relecture Windows Website")
    # Key figures and charts come first, the filter bar and the table after them.
    expect(page.locator("#review-overview .key-figure")).to_have_count(5)
    expect(page.locator("#review-overview svg").first).to_be_visible()
    assert page.evaluate("""() => {
      const at = s => document.querySelector(s).getBoundingClientRect().top;
      return at('.key-figures') < at('#status-chart-title') && at('#status-chart-title') < at('#review-filters')
        && at('#review-filters') < at('table.review-rows');
    }""")

    # Filtering swaps the results with HTMX and keeps the filters in the address bar and the export links.
    page.select_option("#f-status", "draft")
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(results).not_to_contain_text("Agenda Relecture")
    expect(results).to_contain_text("Dossier Relecture Windows Website")
    expect(page.locator("#review-results a[href*='export.csv']")).to_have_attribute(
        "href", re.compile(r"status=draft"))
    # The key figures were swapped too (out of band): their row count is the table's.
    count = page.locator("#review-results .results-count").inner_text().split()[0]
    expect(page.locator("#review-overview .kf-value").first).to_have_text(count)
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


def test_review_pages_fit_a_phone(page, live_server, seeded):  # noqa: F811
    """375 px wide: no sideways scroll, no text under 12 px, and the drill-down of a demo product (several
    questionnaires) shows one response at a time in well under the 7,000 px of the former single page."""
    from playwright.sync_api import expect

    _sign_in(page)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/review")
    layout = page.evaluate(LAYOUT)
    assert layout["width"] <= layout["window"], layout
    assert not layout["small"], layout["small"]
    # The table becomes a list of cards: every value keeps its column's name.
    cell = page.locator("table.review-rows td[data-label]").first
    expect(cell).to_be_visible()

    page.click("#review-results a:has-text('Cabinet Connect Windows Website')")
    expect(page.locator("h1")).to_have_text("Cabinet Connect Windows Website")
    layout = page.evaluate(LAYOUT)
    assert layout["width"] <= layout["window"], layout
    assert not layout["small"], layout["small"]
    assert layout["height"] < 3000, layout
    expect(page.locator("section.review-response")).to_have_count(1)
    links = page.locator("nav.review-sidemenu a")
    assert links.count() >= 2
    expect(page.locator("nav.review-sidemenu a[aria-current=page]")).to_have_count(1)
    # Another questionnaire of the product, chosen in the side menu: the address says which, the page stays short.
    other = page.locator("nav.review-sidemenu a:not([aria-current])").first
    title = other.inner_text()
    other.click()
    expect(page).to_have_url(re.compile(r"\?response=\d+"))
    expect(page.locator("section.review-response h2")).to_have_text(title)
    expect(page.locator("nav.review-sidemenu a[aria-current=page]")).to_have_text(title)
    layout = page.evaluate(LAYOUT)
    assert layout["width"] <= layout["window"] and layout["height"] < 3000, layout
