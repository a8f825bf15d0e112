"""A real browser: the demo manager publishes a maturity attestation from a validated response's page and opens
its public page; a visitor, signed out, checks its code at /verify and is told it is valid; the manager revokes
it with a reason, and the visitor's next check says it is revoked, with the reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.test_browser import live_server, page  # noqa: F401
from tests.test_browser_flows import bearer, sign_in

pytestmark = pytest.mark.browser
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"


@pytest.fixture(scope="module")
def validated(live_server: str) -> dict[str, Any]:  # noqa: F811
    """A validated response of the demo vendor (demo load validates some) and its product's name."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        headers = bearer(api, MANAGER, DEMO_PASSWORD)
        company = api.get("/api/v1/me", headers=headers).json()["company_id"]
        for product in api.get(f"/api/v1/companies/{company}/products", headers=headers).json()["items"]:
            for row in api.get(f"/api/v1/products/{product['id']}/responses", headers=headers).json()["items"]:
                if row["status"] == "validated":
                    return {"id": row["id"], "product": product["display_name"]}
    pytest.fail("the demo has no validated response")


def test_publish_verify_and_revoke_an_attestation(page, live_server, validated):  # noqa: F811
    from playwright.sync_api import expect

    # 1. The manager publishes from the response's page (the attestations panel loads in place).
    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/responses/{validated['id']}")
    panel = page.locator("section#attestations")
    expect(panel.get_by_role("heading", name="Attestations de maturité")).to_be_visible()
    panel.get_by_role("button", name="Publier une attestation").click()
    page.wait_for_load_state()
    entry = page.locator("#attestation-list li").first
    expect(entry).to_have_attribute("data-state", "valid")
    expect(entry.locator(".tag")).to_have_text("Valide")
    code = entry.get_attribute("data-code")
    assert code and len(code) == 12
    expect(page.locator("section#attestations form[action$='/attestations'] button")).to_have_count(0)

    # 2. Its public page: the product, the state, the code.
    entry.get_by_role("link", name="Page publique").click()
    expect(page.locator("h1")).to_have_text("Attestation de maturité")
    expect(page.locator("#attestation-state")).to_have_attribute("data-state", "valid")
    expect(page.locator("main")).to_contain_text(validated["product"])
    expect(page.locator("main")).to_contain_text(f"{code[:4]}-{code[4:8]}-{code[8:]}")
    public_address = page.url

    # A second context of the same browser: no cookie of the manager's.
    context = page.context.browser.new_context(base_url=live_server, locale="fr-FR")
    visitor = context.new_page()
    try:
        # 3. A visitor, signed out, types the code as printed (lower case, spaces) at /verify.
        visitor.goto("/verify")
        visitor.get_by_label("Code de vérification").fill(f"{code[:4].lower()} {code[4:8]} {code[8:]}")
        visitor.get_by_role("button", name="Vérifier").click()
        result = visitor.locator("#verify-result")
        expect(result.locator("#attestation-state")).to_have_attribute("data-state", "valid")
        expect(result).to_contain_text("Valide")
        expect(result).to_contain_text(validated["product"])
        visitor.goto(public_address)
        expect(visitor.locator("#attestation-state")).to_have_attribute("data-state", "valid")

        # 4. The manager revokes it with a reason.
        page.goto(f"/responses/{validated['id']}/attestations")
        page.get_by_label("Motif de la révocation (montré à quiconque vérifie le code)").fill(
            "Nouvelle version du produit en préparation.")
        page.get_by_role("button", name=f"Révoquer l’attestation {code[:4]}-{code[4:8]}-{code[8:]}").click()
        page.wait_for_load_state()
        expect(page.locator(f"#attestation-list li[data-code='{code}']")).to_have_attribute("data-state",
                                                                                           "revoked")

        # 5. The visitor checks again: revoked, with the reason.
        visitor.goto(f"/verify?code={code}")
        expect(visitor.locator("#attestation-state")).to_have_attribute("data-state", "revoked")
        expect(visitor.locator("#attestation-state")).to_contain_text("Révoquée")
        expect(visitor.locator("#attestation-state")).to_contain_text("Nouvelle version du produit en préparation.")
        visitor.goto(public_address)
        expect(visitor.locator("#attestation-state")).to_have_attribute("data-state", "revoked")
    finally:
        context.close()
