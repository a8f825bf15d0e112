"""A real browser registers a base product and an option of it, with the live display name, and finds the
option under its base in the catalogue."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import live_server, page  # noqa: F401

pytestmark = pytest.mark.browser
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"


def test_register_a_base_and_an_option(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    # The demo manager signs in and accepts the CGU.
    page.goto("/login")
    page.fill("#f-email", MANAGER)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/terms"))
    page.check("input[name=agree]")
    page.click("form.accept button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Marie")

    # A base product: the composed name is shown live, and a name breaking the rule is flagged.
    page.goto("/products/new")
    page.fill("#f-name", "DocConnect Android")
    page.select_option("#f-os", "iOS")
    page.check("input[name=device][value=Mobile]")
    expect(page.locator("#name-preview")).to_contain_text("DocConnect Android iOS Mobile")
    expect(page.locator("#name-preview .naming-warnings")).to_be_visible()
    page.fill("#f-name", "DocConnect")
    expect(page.locator("#name-preview")).to_contain_text("DocConnect iOS Mobile")
    expect(page.locator("#name-preview .naming-warnings")).to_have_count(0)
    page.fill("#f-edition", "Pro")
    page.fill("#f-version", "1.0")
    page.check("input[name=kind][value=base]")
    page.click("#product-form button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("DocConnect iOS Mobile")

    # An option of it.
    page.goto("/products/new")
    page.fill("#f-name", "Agenda")
    page.select_option("#f-os", "iOS")
    page.check("input[name=device][value=Mobile]")
    page.check("input[name=kind][value=option]")
    page.locator("#base-products label", has_text="DocConnect iOS Mobile").locator("input").check()
    page.click("#product-form button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Agenda iOS Mobile")
    expect(page.locator("ul.bases")).to_contain_text("DocConnect iOS Mobile")

    # The catalogue shows the option under its base.
    page.goto("/products")
    group = page.locator("tbody.group", has=page.locator("tr.base", has_text="DocConnect iOS Mobile"))
    expect(group.locator("tr.option")).to_contain_text("Agenda iOS Mobile")
    # Filtering on options keeps the base as the heading of its option.
    page.select_option("#f-kind", "option")
    # (The demo vendor has an option of its own: the rows are told apart by name.)
    expect(page.locator("#catalogue tr.option", has_text="Agenda iOS Mobile")).to_have_count(1)
    expect(page.locator("#catalogue tr.base", has_text="DocConnect iOS Mobile")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"kind=option"))
