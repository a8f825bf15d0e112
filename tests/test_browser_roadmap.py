"""A real browser through a product's roadmap (issue 18, point 1): the demo manager opens it from the product's
page, sees the lines by quarter with the overdue-free planned dates and the projection per theme, sets a target
on a theme with the keyboard only and sees the gap, hands a line to someone, downloads the CSV and the iCalendar
file and reads them back, then opens the company roadmap and filters it. Both pages pass axe and fit 375 px."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.test_accessibility import PHONE_WIDTH, WIDTH_JS, run_axe
from tests import test_browser
from tests.test_browser_flows import bearer, sign_in

pytestmark = pytest.mark.browser
# The shared fixtures (a live server on the demo data, a Chromium page), used by name.
live_server, page = test_browser.live_server, test_browser.page
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"
STEP = "doctrine-socles"
PLANNED = date.today() + timedelta(days=120)


@pytest.fixture(scope="module")
def product(live_server: str) -> dict[str, Any]:
    """A demo product enrolled in the doctrine's first step, three security questions answered "no" or
    "partial", two of them with a planned date of compliance."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        api.headers.update(bearer(api, MANAGER, DEMO_PASSWORD))
        company = api.get("/api/v1/me").json()["company_id"]
        created = api.post(f"/api/v1/companies/{company}/products", json={
            "name": "Agenda Feuille", "os": "Linux", "device": "Website", "edition": "", "version": "3",
            "kind": "base", "base_product_ids": []})
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
        step = next(s for t in api.get("/api/v1/tracks").json()["items"] for s in t["steps"] if s["code"] == STEP)
        assert api.put(f"/api/v1/products/{product_id}/steps", json={"step_ids": [step["id"]]}).status_code == 200
        items = {i["code"]: i["id"] for q in step["questionnaires"] for i in q["items"]}
        row = next(r for r in api.get(f"/api/v1/products/{product_id}/responses").json()["items"]
                   if any(i["id"] == items["sec-strong-auth"] for q in step["questionnaires"]
                          if q["id"] == r["questionnaire_id"] for i in q["items"]))
        saved = api.patch(f"/api/v1/responses/{row['id']}/answers", json={
            "version": 0,
            "answers": {str(items["sec-strong-auth"]): False, str(items["sec-traceability"]): True,
                        str(items["sec-backup"]): "partial", str(items["sec-incident-process"]): False},
            "planned": {str(items["sec-strong-auth"]): PLANNED.isoformat(),
                        str(items["sec-backup"]): (PLANNED + timedelta(days=100)).isoformat()}})
        assert saved.status_code == 200, saved.text
    return {"id": product_id}


def _check_page(page: Any, what: str) -> None:
    """axe (WCAG 2.1 AA) and, at 375 px, no sideways scroll."""
    violations, _undecided = run_axe(page)
    assert not violations, f"{what}: {[(v['id'], v['help'], v['nodes'][:1]) for v in violations]}"
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    layout = page.evaluate(WIDTH_JS, PHONE_WIDTH)
    assert layout["width"] <= PHONE_WIDTH, f"{what} at {PHONE_WIDTH} px: {layout}"
    page.set_viewport_size(size)


def test_roadmap_targets_owner_exports_and_company_page(page, live_server, product, tmp_path):
    from playwright.sync_api import expect

    sign_in(page, MANAGER, DEMO_PASSWORD)
    # 1. From the product's page to its roadmap.
    page.goto(f"/products/{product['id']}")
    page.locator("#main").get_by_role("link", name="Feuille de route du produit").click()
    expect(page.locator("h1")).to_contain_text("Feuille de route")
    expect(page.locator("#lines tr[data-item]")).to_have_count(3)
    expect(page.locator("#lines tr[data-overdue]")).to_have_count(0)
    expect(page.locator("#projection svg[role=img]").first).to_be_visible()
    security = page.locator("#targets tr[data-theme=security]")
    expect(security.locator("td.gap").first).to_have_text("—")
    _check_page(page, "product roadmap")

    # 2. Keyboard only: focus the security target, type it, submit with Enter; the gap shows.
    page.locator("#f-target-security").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("80")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#roadmap .alert.ok")).to_contain_text("Les cibles sont enregistrées.")
    security = page.locator("#targets tr[data-theme=security]")
    expect(security.locator("input")).to_have_value("80")
    # Today (0 + 100 + 60 + 0) / 4 = 40 %, once both plans are met (100 + 100 + 100 + 0) / 4 = 75 %.
    expect(security.locator("td.gap").first).to_contain_text("40")
    expect(security.locator("td.gap").last).to_contain_text("5")

    # 3. A bad target is refused with the error summary, nothing saved.
    page.locator("#f-target-security").fill("150")
    page.get_by_role("button", name="Enregistrer les cibles").click()
    expect(page.locator(".error-summary")).to_contain_text("Une maturité cible est un nombre de 0 à 100.")
    expect(page.locator("#f-target-security")).to_have_attribute("aria-invalid", "true")

    # 4. Hand a line to its owner explicitly (the keyboard again: choose, Tab to the button, Enter).
    page.goto(f"/products/{product['id']}/roadmap")
    select = page.locator("#owner-sec-backup")
    select.focus()
    options = select.locator("option")
    chosen = options.nth(1).get_attribute("value")
    select.select_option(chosen)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#roadmap .alert.ok")).to_contain_text("Le responsable est enregistré.")
    expect(page.locator("#owner-sec-backup")).to_have_value(chosen)

    # 5. Downloads, read back.
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger en CSV").click()
    path = Path(tmp_path / "roadmap.csv")
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Produit" and len(rows) == 4
    assert {r[5] for r in rows[1:]} == {"sec-strong-auth", "sec-backup", "sec-incident-process"}
    with page.expect_download() as info:
        page.get_by_role("link", name="Télécharger le calendrier (iCalendar)").click()
    path = Path(tmp_path / "roadmap.ics")
    info.value.save_as(path)
    events = list(Calendar.from_ical(path.read_bytes()).walk("VEVENT"))
    assert sorted(e.decoded("dtstart") for e in events) == [PLANNED, PLANNED + timedelta(days=100)]

    # 6. The company roadmap from the main navigation, filtered to the security theme.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Feuille de route").click()
    expect(page.locator("h1")).to_have_text("Feuille de route de l'entreprise")
    page.locator("#filter-theme").select_option("security")
    expect(page.locator("#roadmap-results")).to_be_visible()
    page.wait_for_url("**theme=security**")
    expect(page.locator(f"#roadmap-results a[href='/products/{product['id']}/roadmap']").first).to_be_visible()
    expect(page.locator("#gaps")).to_contain_text("Agenda Feuille")
    _check_page(page, "company roadmap")
