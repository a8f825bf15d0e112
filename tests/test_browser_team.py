"""A real browser on the team page and a member's rights panel (issue 13, point 2): with 100 products, on a
375 px phone without sideways scrolling, and by keyboard alone."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures
from tests.test_browser_flows import bearer, create_product, sign_in

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Convergence-Demo-2026"
MANAGER = "manager@editeur-demo.example"
CONTRIBUTOR = "contributor@editeur-demo.example"
SHOTS = "/tmp"  # screenshots, for a human to look at; nothing reads them back


@pytest.fixture(scope="module")
def team(live_server: str) -> dict[str, Any]:  # noqa: F811
    """The demo company brought to 100 products (or more), and its demo contributor's id."""
    api = httpx.Client(base_url=live_server, timeout=30)
    manager = bearer(api, MANAGER, DEMO_PASSWORD)
    company_id = api.get("/api/v1/me", headers=manager).json()["company_id"]
    base = f"/api/v1/companies/{company_id}"
    existing = api.get(f"{base}/products", params={"limit": 200}, headers=manager).json()["total"]
    for number in range(max(0, 100 - existing)):
        create_product(api, manager, company_id, f"Module {number:03d}")
    members = api.get(f"{base}/members", params={"limit": 200}, headers=manager).json()["items"]
    contributor = next(m["user_id"] for m in members if m["email"] == CONTRIBUTOR)
    products = api.get(f"{base}/products", params={"limit": 200}, headers=manager).json()["items"]
    return {"contributor": contributor, "products": {p["name"]: p["id"] for p in products},
            "total": len(products)}


def named(team: dict[str, Any], digits: str) -> list[int]:
    """The ids of the seeded products the filter « module <digits> » finds (every word, anywhere in the name)."""
    return [pid for name, pid in team["products"].items() if name.startswith("Module ") and digits in name]


def page_width(page: Any) -> int:  # noqa: F811
    return page.evaluate("document.documentElement.scrollWidth")


def test_team_page_and_rights_panel_fit_a_phone(page, team):  # noqa: F811
    from playwright.sync_api import expect

    assert team["total"] >= 100
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto("/team")
    expect(page.locator("h1")).to_contain_text("Équipe")
    assert page_width(page) <= 375, f"/team is {page_width(page)} px wide at 375 px"
    page.screenshot(path=f"{SHOTS}/team-375.png", full_page=True)

    # "Gérer les droits" opens the member's panel in place (HTMX), its heading focused.
    page.locator(f"#member-{team['contributor']} a", has_text="Gérer les droits").click()
    expect(page.locator("#rights-panel h2")).to_be_focused()
    expect(page.locator("#rights-panel .rights-row")).to_have_count(team["total"])
    assert page_width(page) <= 375, f"/team with the panel is {page_width(page)} px wide at 375 px"
    page.screenshot(path=f"{SHOTS}/team-panel-in-place-375.png", full_page=False)

    # Its own page, filtered as one types (HTMX), stays within the phone's width too.
    page.goto(f"/team/members/{team['contributor']}/rights")
    expect(page.locator(".rights-row")).to_have_count(team["total"])
    assert page_width(page) <= 375, f"the panel is {page_width(page)} px wide at 375 px"
    page.screenshot(path=f"{SHOTS}/team-rights-375.png", full_page=False)
    page.fill("#rights-q", "module 04")
    expect(page.locator(".rights-row")).to_have_count(len(named(team, "04")))
    expect(page.locator("#rights-count")).to_contain_text(f"{len(named(team, '04'))} produits affichés sur {team['total']}")
    assert page_width(page) <= 375


def test_keyboard_sets_a_level_and_hears_the_saved_notice(page, team):  # noqa: F811
    from playwright.sync_api import expect

    target = team["products"]["Module 042"]
    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/team/members/{team['contributor']}/rights")
    page.focus("#rights-q")
    page.keyboard.type("Module 042")
    expect(page.locator(".rights-row")).to_have_count(1)

    def tab_to(selector: str) -> None:
        for _ in range(15):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to(f"#r-{target}")
    before = page.locator(f"#r-{target}").input_value()
    page.keyboard.press("End")  # the last level: validate
    expect(page.locator(f"#r-{target}")).to_have_value("validate")
    assert before != "validate"
    tab_to("#rights-form button.primary")
    page.keyboard.press("Enter")
    notice = page.locator("#rights-notice")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_contain_text("enregistrés")
    expect(notice).to_be_focused()
    page.screenshot(path=f"{SHOTS}/team-rights-saved.png")

    # Stored: a fresh page shows it, and the filter was kept through the save.
    expect(page.locator("#rights-q")).to_have_value("Module 042")
    page.goto(f"/team/members/{team['contributor']}/rights?q=module+042")
    expect(page.locator(f"#r-{target}")).to_have_value("validate")


def test_apply_to_all_shown_without_javascript(live_server, team):  # noqa: F811
    """The same panel with JavaScript off: the filter is a GET form, "apply to all shown" a POST."""
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        tab = browser.new_context(base_url=live_server, locale="fr-FR", java_script_enabled=False).new_page()
        try:
            sign_in(tab, MANAGER, DEMO_PASSWORD)
            tab.goto(f"/team/members/{team['contributor']}/rights")
            tab.fill("#rights-q", "module 01")
            tab.click(".rights-filter button[type=submit]")
            expect(tab).to_have_url(re.compile(r"q=module\+01"))
            shown = named(team, "01")
            expect(tab.locator(".rights-row")).to_have_count(len(shown))
            tab.select_option("#apply-level", "read")
            tab.click("button[name=action][value=apply]")
            expect(tab.locator("#rights-notice")).to_contain_text(f"aux {len(shown)} produits affichés")
            for product in shown:
                expect(tab.locator(f"#r-{product}")).to_have_value("read")
        finally:
            browser.close()
