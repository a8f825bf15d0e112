"""The design system in a real browser: the focus ring shows on a navy button, and after an HTMX form error the
focus is in what was swapped in (static/js/a11y.js), never lost on <body>.

`DESIGN_SCREENSHOTS=docs/screenshots` also saves the home, sign-in and failed product form at 1280 and 375 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_browser import live_server, page  # noqa: F401
from tests.test_browser_flows import sign_in

pytestmark = pytest.mark.browser
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"


def test_the_focus_ring_shows_on_a_primary_button(page, live_server):  # noqa: F811
    page.goto("/login")
    page.focus("#f-password")
    page.keyboard.press("Tab")  # a keyboard focus, so :focus-visible applies
    button = page.locator("form[action='/login'] button.primary")
    assert button.evaluate("el => el === document.activeElement")
    style = button.evaluate("el => { const s = getComputedStyle(el); "
                            "return {width: parseFloat(s.outlineWidth), style: s.outlineStyle, colour: s.outlineColor}; }")
    assert style["width"] >= 2 and style["style"] == "solid", style
    assert style["colour"] == "rgb(10, 118, 246)", style  # --color-focus: >= 3:1 on white


def test_focus_moves_into_the_swapped_form_after_an_htmx_error(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto("/team")
    # An address the browser takes but the server refuses: the form comes back through HTMX with its error.
    page.fill("#invite-form #f-email", "nobody@invalid")
    page.fill("#invite-form #f-first_name", "Nina")
    page.fill("#invite-form #f-last_name", "Durand")
    page.click("#invite-form button[type=submit].primary")
    expect(page.locator("#invite-form .error").first).to_be_visible()
    # Focus moves once htmx has settled the swap (a few milliseconds after the new form shows).
    page.wait_for_function("""() => {
        const active = document.activeElement;
        const form = document.getElementById('invite-form');
        const summary = document.querySelector('[data-error-summary]');
        return active !== document.body && ((form && form.contains(active)) || (summary && summary.contains(active)));
    }""", timeout=3000)
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"


def test_focus_goes_to_the_error_summary_of_a_failed_account_request(page, live_server):  # noqa: F811
    page.goto("/account-request")
    page.click("#account-request-form button[type=submit].primary")
    page.wait_for_selector("#account-request-form .error-summary")
    assert page.evaluate("() => document.activeElement.matches('.error-summary')")
    # The summary's first link leads to its field.
    page.click(".error-summary a >> nth=0")
    assert page.evaluate("() => location.hash") == "#f-company_name"


def test_screenshots(page, live_server, tmp_path):  # noqa: F811
    """The main pages fit at 1280 and 375 px; `DESIGN_SCREENSHOTS=docs/screenshots` keeps the pictures."""
    target = ROOT / Path(os.environ["DESIGN_SCREENSHOTS"]) if os.environ.get("DESIGN_SCREENSHOTS") else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/")
        page.screenshot(path=str(target / f"home-{width}.png"), full_page=True)
        page.goto("/login")
        page.screenshot(path=str(target / f"signin-{width}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    sign_in(page, MANAGER, DEMO_PASSWORD)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/products/new")
        page.click("#product-form button[type=submit].primary")
        page.wait_for_selector(".error-summary")
        page.screenshot(path=str(target / f"product-form-errors-{width}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_help_folds_on_a_narrow_screen_and_opens_an_answer_in_place(page, live_server):  # noqa: F811
    sign_in(page, MANAGER, DEMO_PASSWORD)
    for width, folded in ((1280, False), (375, True)):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/products")
        page.wait_for_selector(".help-panel details.help-fold")
        fold = page.locator(".help-panel details.help-fold")
        assert fold.evaluate("d => !d.open") is folded, width
    # Open the panel, then one answer: it shows in place, the page stays where it is.
    page.click(".help-panel details.help-fold > summary")
    first = page.locator(".help-panel details.help-entry").first
    first.locator("summary").click()
    assert first.evaluate("d => d.open") and first.locator(".markdown").is_visible()
    assert page.evaluate("() => location.pathname") == "/products"
