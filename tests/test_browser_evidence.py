"""A real browser: on the demo's response returned for changes, the manager attaches a PDF and a link beside an
answer with the keyboard while a typed answer waits beside them (the forms swap only the evidence), submits, and
sees the evidence read-only as its validator; an ANS reviewer sees it beside the answers on the review's product
page. Axe finds nothing on either page, and a phone 375 px wide does not scroll sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from convergence.questionnaires.evidence.simulate import tiny_pdf
from tests.test_accessibility import PHONE_WIDTH, SETTLE_JS, WIDTH_JS, run_axe
from tests import test_browser
from tests.test_browser_flows import bearer, sign_in

pytestmark = pytest.mark.browser
# The shared fixtures, by name (assigned rather than imported, so that no import looks unused).
live_server, page = test_browser.live_server, test_browser.page
MANAGER = "manager@editeur-demo.example"
REVIEWER = "reviewer@ans.example"
DEMO_PASSWORD = "Convergence-Demo-2026"
LINK = "https://docs.editeur-demo.example/securite/sauvegardes"


@pytest.fixture(scope="module")
def returned(live_server: str) -> dict[str, Any]:
    """The demo's response returned for changes (a complete draft), its product and the manager's token."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        headers = bearer(api, MANAGER, DEMO_PASSWORD)
        company = api.get("/api/v1/me", headers=headers).json()["company_id"]
        for product in api.get(f"/api/v1/companies/{company}/products", headers=headers).json()["items"]:
            for row in api.get(f"/api/v1/products/{product['id']}/responses", headers=headers).json()["items"]:
                if row["status"] == "draft":
                    detail = api.get(f"/api/v1/responses/{row['id']}", headers=headers).json()
                    if detail.get("return_comment"):
                        return {"id": row["id"], "product": product["id"], "headers": headers}
    pytest.fail("the demo has no response returned for changes")


def no_overflow_on_a_phone(page: Any) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    measured = page.evaluate(WIDTH_JS, PHONE_WIDTH)
    page.set_viewport_size(size)
    assert measured["width"] <= PHONE_WIDTH, measured["culprits"]


def test_attach_a_document_and_a_link_then_validator_and_reviewer_see_them(page, live_server, returned,
                                                                           tmp_path: Path):
    from playwright.sync_api import expect

    document = tmp_path / "audit-sauvegardes.pdf"
    document.write_bytes(tiny_pdf("Audit", "Sauvegardes chiffrées, restauration testée en 2026."))
    rid = returned["id"]

    # 1. The manager opens the free-text question's section and types an answer, not yet saved.
    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/responses/{rid}")
    question = page.locator("form.item[data-type=text]").first
    item_id = question.get_attribute("data-item-id")
    section = question.locator("xpath=ancestor::section[contains(@class,'questionnaire-section')]")
    page.locator(f".task-list a[href='#{section.get_attribute('id')}']").click()
    answer = question.locator("textarea, input[type=text]").first
    answer.fill("Charte éthique publiée sur notre site, revue chaque année.")
    block = page.locator(f"#evidence-{item_id}")

    # 2. With the keyboard: open "Ajouter un justificatif", choose the file, comment, attach.
    block.locator("summary").focus()
    page.keyboard.press("Enter")
    file_input = block.get_by_label("Document", exact=True)
    expect(file_input).to_be_visible()
    file_input.focus()
    file_input.set_input_files(str(document))
    page.keyboard.press("Tab")
    page.keyboard.type("Rapport d'audit des sauvegardes")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    block = page.locator(f"#evidence-{item_id}")
    expect(block.locator(".evidence-list")).to_contain_text("audit-sauvegardes.pdf")
    expect(block.locator(".evidence-list")).to_contain_text("Rapport d'audit des sauvegardes")
    # The answer beside it was not replaced: the text typed is still there.
    expect(answer).to_have_value("Charte éthique publiée sur notre site, revue chaque année.")

    # 3. A link, with the keyboard too.
    block.locator("summary").focus()
    page.keyboard.press("Enter")
    block.get_by_label("Lien", exact=True).focus()
    page.keyboard.type(LINK)
    page.keyboard.press("Tab")
    page.keyboard.type("Procédure publiée")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(f"#evidence-{item_id} .evidence-list a[href='{LINK}']")).to_be_visible()
    expect(answer).to_have_value("Charte éthique publiée sur notre site, revue chaque année.")
    # A wrong link is refused in place with the sentence, the field marked.
    block = page.locator(f"#evidence-{item_id}")
    block.locator("summary").focus()
    page.keyboard.press("Enter")
    block.get_by_label("Lien", exact=True).fill("ftp://docs.example/x")
    block.get_by_role("button", name="Ajouter le lien").click()
    expect(page.locator(f"#ev-url-{item_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#evidence-{item_id}")).to_contain_text(
        "Indiquez un lien qui commence par http:// ou https://.")

    page.evaluate(SETTLE_JS)
    violations, _undecided = run_axe(page)
    assert violations == [], violations
    no_overflow_on_a_phone(page)

    # 4. Submitted, the validator's page shows the evidence beside the answer, with nothing to change it.
    with httpx.Client(base_url=live_server, timeout=30) as api:
        api.patch(f"/api/v1/responses/{rid}/answers", headers=returned["headers"], json={
            "version": api.get(f"/api/v1/responses/{rid}", headers=returned["headers"]).json()["version"],
            "answers": {item_id: "Charte éthique publiée sur notre site, revue chaque année."}})
        submitted = api.post(f"/api/v1/responses/{rid}/submit", headers=returned["headers"])
        assert submitted.status_code == 200, submitted.text
    page.goto(f"/responses/{rid}")
    block = page.locator(f"#evidence-{item_id}")
    expect(block).to_contain_text("audit-sauvegardes.pdf")
    expect(block.locator(f"a[href='{LINK}']")).to_have_count(1)
    expect(block.locator("summary")).to_have_count(0)
    expect(block.get_by_role("button", name="Retirer")).to_have_count(0)

    # 5. An ANS reviewer: the review's product page loads the evidence beside each answer.
    context = page.context.browser.new_context(base_url=live_server, locale="fr-FR")
    reviewer = context.new_page()
    try:
        sign_in(reviewer, REVIEWER, DEMO_PASSWORD)
        reviewer.goto(f"/review/products/{returned['product']}?response={rid}")
        section = reviewer.locator(f"#evidence-response-{rid}")
        expect(section.get_by_role("heading", name="Justificatifs")).to_be_visible()
        expect(section).to_contain_text("audit-sauvegardes.pdf")
        expect(section).to_contain_text("Procédure publiée")
        expect(section.locator(f"a[href='{LINK}']")).to_have_count(1)
        with reviewer.expect_download() as download:
            section.get_by_role("link", name="audit-sauvegardes.pdf").click()
        assert download.value.suggested_filename == "audit-sauvegardes.pdf"
        reviewer.evaluate(SETTLE_JS)
        violations, _undecided = run_axe(reviewer)
        assert violations == [], violations
        no_overflow_on_a_phone(reviewer)
    finally:
        context.close()
