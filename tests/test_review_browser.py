"""A real browser: the review dashboard's company filter is a text field whose suggestions htmx fetches as the
reviewer types (a datalist), and the name typed filters the rows and the export links."""

from __future__ import annotations

import re

import pytest

from tests import test_browser, test_browser_review
from tests.test_browser_review import _sign_in

pytestmark = pytest.mark.browser
# The live server, the browser page and the seeded market of tests/test_browser_review.py.
live_server, page, seeded = test_browser.live_server, test_browser.page, test_browser_review.seeded


def test_the_company_filter_suggests_names_and_filters_by_the_one_typed(page, live_server, seeded):
    from playwright.sync_api import expect

    _sign_in(page)
    page.goto("/review")
    results = page.locator("#review-results")
    row = page.locator("#review-results tbody tr", has_text="Dossier Relecture Windows Website").first
    name = row.locator("td").first.inner_text().strip()
    field = page.locator("#f-company")
    expect(field).to_have_attribute("list", "f-company-options")
    # Typing part of the name: htmx fills the datalist with the companies whose name contains it.
    field.press_sequentially(name[1:6].lower(), delay=30)
    expect(page.locator(f"#f-company-options option[value='{name}']")).to_have_count(1)
    # The URL of the page did not change for the suggestions.
    assert "/review/companies" not in page.url
    field.fill(name)
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"company_name="))
    expect(results).to_contain_text("Dossier Relecture Windows Website")
    for cell in page.locator("#review-results tbody tr td:first-child").all_inner_texts():
        assert cell.strip() == name
    expect(page.locator("#review-results a[href*='export.csv']")).to_have_attribute(
        "href", re.compile(r"company=\d+"))
    # An unknown name: a message, no suggestion list.
    field.fill("aucune entreprise de ce nom")
    field.press("Enter")
    expect(results).to_contain_text("Aucune entreprise n’a ce texte dans son nom.")
