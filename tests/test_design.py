"""The design system over HTTP (issue 13, points 1 and 5): a failed form opens with an error summary linked to
its fields, invalid fields say so to assistive technologies, the navigation marks one current page, every
questionnaire page has its own title, the accessibility statement is public, and no template carries a style
attribute (the CSP forbids inline styles)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.conftest import ROOT
from tests.factories import csrf, luhn_siren, page_login, token_for
from tests.test_questionnaires import content, make_product, step_id  # noqa: F401 - fixture


class Page(HTMLParser):
    """The parts of a page these tests read: ids, the error summary's links, fields' ARIA, current links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.summary_links: list[str] = []
        self.invalid: list[dict[str, str | None]] = []
        self.nav_current: list[str] = []
        self.title = ""
        self._summary_depth = 0
        self._nav_depth = 0
        self._in_title = False
        self.summaries = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if "data-error-summary" in a and "error-summary" in (a.get("class") or ""):
            self.summaries += 1
            assert a.get("role") == "alert" and a.get("tabindex") == "-1"
            self._summary_depth = 1
        elif self._summary_depth and tag == "div":
            self._summary_depth += 1
        if self._summary_depth and tag == "a":
            self.summary_links.append(a.get("href") or "")
        if tag == "nav" and a.get("aria-label") in ("Navigation principale", "Main navigation"):
            self._nav_depth = 1
        elif self._nav_depth and tag == "nav":
            self._nav_depth += 1
        if self._nav_depth and a.get("aria-current"):
            self.nav_current.append(a.get("href") or "")
        if a.get("aria-invalid") == "true":
            self.invalid.append(a)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if self._summary_depth and tag == "div":
            self._summary_depth -= 1
        if self._nav_depth and tag == "nav":
            self._nav_depth -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def check_failed_form(html: str, expected_fields: set[str]) -> Page:
    """An error summary links to each expected field; each invalid control is described by existing ids."""
    page = Page(html)
    assert page.summaries == 1, "a failed form shows one error summary"
    targets = {href.removeprefix("#f-") for href in page.summary_links if href.startswith("#f-")}
    assert expected_fields <= targets, (expected_fields, page.summary_links)
    for href in page.summary_links:
        assert href.startswith("#") and href[1:] in page.ids, f"the summary links to a missing field: {href}"
    assert page.invalid, "invalid fields carry aria-invalid"
    for control in page.invalid:
        described = (control.get("aria-describedby") or "").split()
        described_group = control.get("type") in ("radio", "checkbox")  # the fieldset carries the description
        assert described or described_group, control
        for ref in described:
            assert ref in page.ids, f"aria-describedby names a missing id: {ref}"
        if control.get("name") in expected_fields and not described_group:
            assert f"e-{control['name']}" in described, control
    return page


async def test_sign_in_with_blanks_shows_the_error_summary(client, cast):
    await client.get("/login")
    failed = await client.post("/login", data={"email": "", "password": "", "_csrf": csrf(client)})
    assert failed.status_code in (400, 401, 422), failed.status_code
    page = Page(failed.text)
    assert page.summaries == 1 and page.summary_links == ["#f-email"]
    assert "f-email" in page.ids and page.title.startswith("Erreur")


async def test_account_request_with_blanks_links_every_field(client):
    await client.get("/account-request")
    failed = await client.post("/account-request", data={"_csrf": csrf(client), "is_corporate_officer": "no"},
                               files={"document": ("", b"", "application/pdf")})
    assert failed.status_code == 422
    check_failed_form(failed.text, {"company_name", "siren", "first_name", "last_name", "email", "job_title",
                                    "officer_name"})
    # Through HTMX the form alone comes back, with its summary (static/js/a11y.js focuses it).
    partial = await client.post("/account-request", data={"_csrf": csrf(client)}, headers={"HX-Request": "true"},
                                files={"document": ("", b"", "application/pdf")})
    assert partial.status_code == 422 and "<html" not in partial.text
    check_failed_form(partial.text, {"company_name", "siren"})


async def test_product_form_with_blanks_links_every_field(client, cast):
    await page_login(client, cast.manager.email)
    failed = await client.post("/products/new", data={"_csrf": csrf(client), "name": "", "os": "", "kind": "option"})
    assert failed.status_code == 422
    page = check_failed_form(failed.text, {"name"})
    # The hand-written fields of old (OS, device, description, base products) follow the same rule.
    assert 'id="f-os"' in failed.text and 'id="f-device"' in failed.text and 'id="f-description"' in failed.text
    assert re.search(r'<fieldset class="field[^"]*" id="group-device"', failed.text)
    assert re.search(r'<legend>(Support|Device)', failed.text), "the device radios are named by a legend"
    assert "h-name" in page.ids and re.search(r'id="f-name"[^>]*aria-describedby="h-name e-name"', failed.text)
    assert "astérisque (*)" in failed.text  # RGAA 11.10: the meaning of * is stated


async def test_password_and_version_forms_show_the_summary(client, cast, db):
    await page_login(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    failed = await client.post(f"/products/{product}/versions/new", data={"_csrf": csrf(client), "version": ""})
    assert failed.status_code == 422
    check_failed_form(failed.text, {"version"})


async def test_rejecting_without_a_reason_links_to_the_reason(client, cast):
    await client.get("/account-request")
    await client.post("/account-request", data={
        "_csrf": csrf(client), "company_name": "Nouvelle Santé", "siren": luhn_siren("73282932"), "first_name": "Ada",
        "last_name": "Martin", "email": "ada@nouvelle-sante.example", "job_title": "CTO",
        "is_corporate_officer": "yes"}, files={"document": ("", b"", "application/pdf")})
    await page_login(client, cast.support.email)
    listing = await client.get("/support/requests")
    request_id = re.search(r'href="/support/requests/(\d+)"', listing.text).group(1)
    failed = await client.post(f"/support/requests/{request_id}/reject", data={"_csrf": csrf(client), "reason": ""},
                               headers={"HX-Request": "true"})
    assert failed.status_code == 422, failed.text
    check_failed_form(failed.text, {"reason"})


async def test_the_navigation_marks_exactly_one_current_page(client, cast, db):
    await page_login(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    for path in ("/", "/products", f"/products/{product}", "/team", "/faq"):
        page = Page((await client.get(path)).text)
        assert len(page.nav_current) == 1, (path, page.nav_current)
    assert Page((await client.get("/products/new")).text).nav_current == ["/products"]


async def test_two_questionnaire_pages_have_different_titles(client, cast, db, content):
    """The same questionnaire for two products: each page names its questionnaire and its product."""
    headers = await token_for(client, cast.manager.email)
    pages = []
    for name in ("Dossier Patient", "Agenda Pro"):
        product = await make_product(db, cast.company.id, name)
        enrolled = await client.put(f"/api/v1/products/{product}/steps",
                                    json={"step_ids": [await step_id(db, "doctrine-socles")]}, headers=headers)
        assert enrolled.status_code == 200
        rows = (await client.get(f"/api/v1/products/{product}/responses", headers=headers)).json()["items"]
        pages.append(f"/responses/{rows[0]['id']}")
    await page_login(client, cast.manager.email)
    titles = [Page((await client.get(path)).text).title for path in pages]
    assert titles[0] != titles[1] and "Dossier Patient" in titles[0] and "Agenda Pro" in titles[1], titles


async def test_the_accessibility_statement_is_public_in_both_languages(client, settings):
    french = await client.get("/accessibilite")
    assert french.status_code == 200 and "Déclaration d’accessibilité" in Page(french.text).title
    assert "partiellement conforme" in french.text and settings.support_address in french.text
    assert 'href="/accessibilite"' in french.text  # the footer link, on every page
    client.cookies.set("cv_lang", "en")
    english = await client.get("/accessibilite")
    assert english.status_code == 200 and "Accessibility statement" in Page(english.text).title
    assert "partially conformant" in english.text


async def test_every_page_links_the_design_system_before_app_css(client):
    html = (await client.get("/")).text
    sheets = re.findall(r'<link rel="stylesheet" href="/static/css/([a-z]+)\.css', html)
    assert sheets == ["tokens", "base", "components", "app"]
    assert re.search(r'<script src="/static/js/a11y\.js\?v=\w+" defer></script>', html)


def test_no_template_has_a_style_attribute_or_an_inline_script():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{path.relative_to(ROOT)}: style=")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
    assert offenders == []


def test_focus_ring_and_tag_colours_meet_the_contrast_rules():
    """The tokens keep AA: the focus ring >= 3:1 on white and on the page background, tag texts >= 4.5:1."""
    tokens = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", (ROOT / "static/css/tokens.css").read_text()))

    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def ratio(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    assert ratio(tokens["color-focus"], "#ffffff") >= 3 and ratio(tokens["color-focus"], tokens["color-bg"]) >= 3
    for tone in ("success", "error", "warning", "info"):
        assert ratio(tokens[f"color-{tone}"], tokens[f"color-{tone}-bg"]) >= 4.5, tone
    assert ratio(tokens["color-text-muted"], tokens["color-bg"]) >= 4.5
    css = (ROOT / "static/css/components.css").read_text()
    assert "opacity" not in re.search(r"tr\.inactive \{[^}]*\}", css).group(0)
