"""Browser walks for team rights and questionnaires, against a live server with the demo accounts."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Convergence-Demo-2026"
MANAGER = "manager@editeur-demo.example"


@pytest.fixture(scope="module")
def api(live_server: str) -> Any:  # noqa: F811
    return httpx.Client(base_url=live_server, timeout=30)


def bearer(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    token = api.post("/api/v1/auth/token", json={"email": email, "password": password}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    api.post("/api/v1/me/terms/accept", json={"version": 1}, headers=headers)
    return headers


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("form[action='/login'] button[type=submit]")
    if "/terms" in page.url:
        page.check("input[name=agree]")
        page.click("form.accept button[type=submit]")


def create_product(api: httpx.Client, headers: dict[str, str], company_id: int, name: str) -> int:
    response = api.post(f"/api/v1/companies/{company_id}/products", headers=headers, json={
        "name": name, "os": "Linux", "device": "Website", "edition": "Pro", "version": "1.0", "kind": "base",
        "base_product_ids": []})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_invited_contributor_sees_only_granted_products(page, live_server, api):  # noqa: F811
    from playwright.sync_api import expect

    manager = bearer(api, MANAGER, DEMO_PASSWORD)
    company_id = api.get("/api/v1/me", headers=manager).json()["company_id"]
    granted = create_product(api, manager, company_id, "Agenda Partagé")
    create_product(api, manager, company_id, "Facturation Cabinet")

    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto("/team")
    page.fill("#invite-form #f-email", "invitee@editeur-demo.example")
    page.fill("#invite-form #f-first_name", "Inès")
    page.fill("#invite-form #f-last_name", "Invitée")
    page.select_option(f"#i-right-{granted}", "read")
    page.click("#invite-form button[type=submit]")
    expect(page.locator("table.rights-grid")).to_contain_text("invitee@editeur-demo.example")
    page.click("header form[action='/logout'] button")

    support = bearer(api, "support@ans.example", "Guichet-Navigateur-2026")
    mail = api.get("/api/v1/outbox", params={"recipient": "invitee@editeur-demo.example"}, headers=support).json()
    link = re.search(r"https?://\S+/password/set\?token=[\w-]+", mail["items"][0]["body"]).group(0)
    page.goto(link)
    page.fill("#f-password", "Une invitation bien reçue")
    page.fill("#f-password_confirm", "Une invitation bien reçue")
    page.click("button[type=submit].primary")
    sign_in(page, "invitee@editeur-demo.example", "Une invitation bien reçue")
    page.goto("/products")
    expect(page.locator("main")).to_contain_text("Agenda Partagé")
    expect(page.locator("main")).not_to_contain_text("Facturation Cabinet")


def test_fill_submit_and_validate_a_questionnaire(page, live_server, api):  # noqa: F811
    from playwright.sync_api import expect

    manager = bearer(api, MANAGER, DEMO_PASSWORD)
    company_id = api.get("/api/v1/me", headers=manager).json()["company_id"]
    product = create_product(api, manager, company_id, "Télésoin Connect")
    tracks = api.get("/api/v1/tracks", headers=manager).json()["items"]
    step = next(s for t in tracks for s in t["steps"] if s["code"] == "doctrine-telesoin")
    enrolled = api.put(f"/api/v1/products/{product}/steps", json={"step_ids": [step["id"]]}, headers=manager)
    assert enrolled.status_code == 200, enrolled.text
    response_id = enrolled.json()["responses"][0]["id"]
    detail = api.get(f"/api/v1/responses/{response_id}", headers=manager).json()
    items = next(q for q in step["questionnaires"] if q["id"] == enrolled.json()["responses"][0]["questionnaire_id"])["items"]
    conditions = {i["enable_when"]["item"]: i["enable_when"] for i in items if i.get("enable_when")}
    first_boolean = next(i for i in items if i["type"] == "boolean" and not i.get("enable_when")
                         and i["code"] not in conditions)
    answers: dict[str, Any] = {}
    for item in items:
        if item["id"] == first_boolean["id"]:
            continue
        condition = conditions.get(item["code"])
        if condition:
            answers[str(item["id"])] = condition.get("equals", (condition.get("in") or [None])[0])
        else:
            answers[str(item["id"])] = {"boolean": True, "choice": (item.get("options") or [{}])[-1].get("value"),
                                        "multi_choice": [o["value"] for o in (item.get("options") or [])[:1]],
                                        "text": "Oui", "number": 3, "date": "2026-06-30"}[item["type"]]
    saved = api.patch(f"/api/v1/responses/{response_id}/answers",
                      json={"version": detail["version"], "answers": answers}, headers=manager)
    assert saved.status_code == 200, saved.text

    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/responses/{response_id}")
    page.locator(f"#item-{first_boolean['id']} input[value=true]").check()
    expect(page.locator(f"#status-{first_boolean['id']}")).to_contain_text("Enregistré")
    page.click("form[action$='/submit'] button")
    expect(page.locator("#summary .status")).to_have_text("Soumis")
    page.click("form[action$='/validate'] button")
    expect(page.locator("#summary .status")).to_have_text("Validé")
    expect(page.locator(f"#item-{first_boolean['id']} input[value=true]")).to_be_disabled()
