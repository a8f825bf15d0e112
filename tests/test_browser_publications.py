"""A real browser: ANS support publishes the semester's snapshot with the keyboard; the demo manager finds their
product beside the market's median and quartiles on the product's page; a reviewer follows the link from the
review to the trend across semesters (SVG charts with their tables). Every page passes axe and fits 375 px."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.test_accessibility import PHONE_WIDTH, WIDTH_JS, run_axe
from tests import test_browser
from tests.test_browser import serve_live
from tests.test_browser_flows import bearer, sign_in

pytestmark = pytest.mark.browser
page = test_browser.page  # the fixture, used by name
SUPPORT, SUPPORT_PASSWORD = "support@ans.example", "Guichet-Navigateur-2026"
REVIEWER, REVIEWER_PASSWORD = "relecture@ans.example", "Tendance-Semestre-2026"
MANAGER, DEMO_PASSWORD = "manager@editeur-demo.example", "Convergence-Demo-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/test_browser.py's server, with a reviewer and a small simulated market (without its life: no
    publication yet) so that the snapshot has cells enough companies stand behind."""
    yield from serve_live(tmp_path_factory, [
        ["users", "create", "--role", "support", "--email", SUPPORT, "--password", SUPPORT_PASSWORD,
         "--first-name", "Sophie"],
        ["users", "create", "--role", "reviewer", "--email", REVIEWER, "--password", REVIEWER_PASSWORD,
         "--first-name", "Rémi"],
        ["demo", "load"], ["simulate", "--companies", "12", "--no-life"],
    ], {"CONVERGENCE_SIMULATION_PRODUCTS": "3"})


@pytest.fixture(scope="module")
def product(live_server: str) -> int:
    """A product of the demo vendor with a started questionnaire."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        headers = bearer(api, MANAGER, DEMO_PASSWORD)
        company = api.get("/api/v1/me", headers=headers).json()["company_id"]
        for item in api.get(f"/api/v1/companies/{company}/products", headers=headers).json()["items"]:
            rows = api.get(f"/api/v1/products/{item['id']}/responses", headers=headers).json()["items"]
            if any(r["status"] != "not_started" and r.get("step_id") for r in rows):
                return item["id"]
    pytest.fail("the demo has no started product response")


def _check_page(page: Any, what: str) -> None:
    """axe (WCAG 2.1 AA) and, at 375 px, no sideways scroll."""
    violations, _undecided = run_axe(page)
    assert not violations, f"{what}: {[(v['id'], v['help'], v['nodes'][:2]) for v in violations]}"
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    layout = page.evaluate(WIDTH_JS, PHONE_WIDTH)
    assert layout["width"] <= PHONE_WIDTH, f"{what} at {PHONE_WIDTH} px: {layout}"
    page.set_viewport_size(size)


def test_publish_compare_and_follow_the_trend(page, live_server, product):
    from playwright.sync_api import expect

    # 1. Support publishes with the keyboard alone: the semester field is filled with the current one.
    sign_in(page, SUPPORT, SUPPORT_PASSWORD)
    page.goto("/publications")
    expect(page.locator("h1")).to_have_text("Publications semestrielles")
    _check_page(page, "the publications (support)")
    label = page.locator("#f-label").input_value()
    assert label and " S" in label
    page.locator("#f-label").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Publier", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(f"Maturité du marché, {label}")
    expect(page.locator("main")).to_contain_text("moins de 5 entreprises")
    assert page.locator("table tbody tr").count() > 0
    _check_page(page, "a publication")
    # A second publication of the same semester is refused, and said so on the form.
    page.goto("/publications")
    page.get_by_role("button", name="Publier", exact=True).click()
    expect(page.locator("main")).to_contain_text("Ce semestre est déjà publié")

    # 2. The vendor's manager finds the comparison on the product's page (loaded in place).
    page.context.clear_cookies()
    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/products/{product}")
    section = page.locator("section#market-comparison")
    expect(section.get_by_role("heading", name=f"Comparaison avec le marché ({label})")).to_be_visible()
    expect(section.locator("table").first).to_be_visible()
    page.goto(f"/products/{product}/comparison")
    _check_page(page, "a product's comparison")

    # 3. A reviewer goes from the review to the trend.
    page.context.clear_cookies()
    sign_in(page, REVIEWER, REVIEWER_PASSWORD)
    page.goto("/review")
    page.get_by_role("link", name="Évolution d’un semestre à l’autre").click()
    expect(page.locator("h1")).to_have_text("Évolution d’un semestre à l’autre")
    expect(page.locator("#trend section").first).to_be_visible()
    expect(page.locator("#trend table").first).to_contain_text(label)
    assert page.locator("#trend svg[role=img]").count() > 0
    _check_page(page, "the trend")
