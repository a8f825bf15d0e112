"""A real browser: a demo vendor user finds the questionnaires by clicking only — from the home work list, and
from the product list through a product and its step's questionnaires."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures
from tests.test_browser_flows import sign_in

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Convergence-Demo-2026"
CONTRIBUTOR = "contributor@editeur-demo.example"
MANAGER = "manager@editeur-demo.example"


def test_from_the_work_list_to_a_questionnaire(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    sign_in(page, CONTRIBUTOR, DEMO_PASSWORD)
    expect(page.locator("h1")).to_have_text("Bienvenue, Camille")
    # What came back to her, with the validator's comment, is the first thing on the page.
    returned = page.locator("section[aria-labelledby=returned-title]")
    expect(returned).to_contain_text("Merci de préciser la procédure de sauvegarde")
    title = returned.locator("a[href^='/responses/']").first.inner_text()
    returned.locator("a[href^='/responses/']").first.click()
    expect(page).to_have_url(re.compile(r"/responses/\d+$"))
    expect(page.locator("h1")).to_have_text(title)

    # Back home by the navigation, then a questionnaire awaiting her validation.
    page.click("header nav a[href='/']")
    expect(page.locator("header nav a[href='/']")).to_have_attribute("aria-current", "page")
    awaiting = page.locator("section[aria-labelledby=validation-title] a[href^='/responses/']").first
    title = awaiting.inner_text()
    awaiting.click()
    expect(page.locator("h1")).to_have_text(title)


def test_from_the_products_to_a_step_questionnaire(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.click("header nav a[href='/products']")
    expect(page.locator("header nav a[href='/products']")).to_have_attribute("aria-current", "page")
    page.click("#catalogue a:has-text('Suivi Diabète Android Mobile')")
    expect(page.locator("h1")).to_have_text("Suivi Diabète Android Mobile")
    expect(page.locator("nav.breadcrumbs [aria-current=page]")).to_have_text("Suivi Diabète Android Mobile")
    # The product page lists its steps with their progress; a step leads to its questionnaires.
    step = page.locator("table.step-progress-table a", has_text="Télésoin")
    expect(page.locator("table.step-progress-table tr", has_text="Télésoin")).to_contain_text("réponses obligatoires")
    step.click()
    expect(page).to_have_url(re.compile(r"/products/\d+/questionnaires#step-doctrine-telesoin$"))
    expect(page.locator("nav.breadcrumbs [aria-current=page]")).to_have_text("Questionnaires")
    section = page.locator("#step-doctrine-telesoin")
    expect(section).to_contain_text("Soumis")
    section.locator("a[href^='/responses/']").first.click()
    expect(page.locator("h1")).to_have_text("Télésoin")

    # The global strategy is one click away in the navigation.
    page.click("header nav a[href='/strategy']")
    expect(page.locator("h1")).to_have_text("Stratégie globale")
    expect(page.locator("header nav a[href='/strategy']")).to_have_attribute("aria-current", "page")
