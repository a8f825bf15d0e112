"""A real browser: a contributor submits a questionnaire; the manager, who validates it, sees the unread count in
the header, opens the notification centre, follows the notification to the questionnaire, and marks it read."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures
from tests.test_browser_flows import bearer, create_product, sign_in

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Convergence-Demo-2026"
CONTRIBUTOR = "contributor@editeur-demo.example"
MANAGER = "manager@editeur-demo.example"


def complete_answers(items: list[dict[str, Any]]) -> dict[str, Any]:
    conditions = {i["enable_when"]["item"]: i["enable_when"] for i in items if i.get("enable_when")}
    answers: dict[str, Any] = {}
    for item in items:
        condition = conditions.get(item["code"])
        if condition:
            answers[str(item["id"])] = condition.get("equals", (condition.get("in") or [None])[0])
        else:
            answers[str(item["id"])] = {"boolean": True, "choice": (item.get("options") or [{}])[-1].get("value"),
                                        "multi_choice": [o["value"] for o in (item.get("options") or [])[:1]],
                                        "text": "Oui", "number": 3, "date": "2026-06-30"}[item["type"]]
    return answers


def ready_to_submit(base: str) -> int:
    """A product the contributor created (she may edit it), enrolled, every answer given: a draft to submit."""
    with httpx.Client(base_url=base, timeout=30) as api:
        contributor = bearer(api, CONTRIBUTOR, DEMO_PASSWORD)
        company_id = api.get("/api/v1/me", headers=contributor).json()["company_id"]
        product = create_product(api, contributor, company_id, "Rappel Vaccins")
        tracks = api.get("/api/v1/tracks", headers=contributor).json()["items"]
        step = next(s for t in tracks for s in t["steps"] if s["code"] == "doctrine-telesoin")
        enrolled = api.put(f"/api/v1/products/{product}/steps", json={"step_ids": [step["id"]]}, headers=contributor)
        assert enrolled.status_code == 200, enrolled.text
        response = enrolled.json()["responses"][0]
        items = next(q for q in step["questionnaires"] if q["id"] == response["questionnaire_id"])["items"]
        saved = api.patch(f"/api/v1/responses/{response['id']}/answers",
                          json={"version": response["version"], "answers": complete_answers(items)},
                          headers=contributor)
        assert saved.status_code == 200, saved.text
        return response["id"]


def unread_of(base: str, email: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as api:
        return api.get("/api/v1/notifications", headers=bearer(api, email, DEMO_PASSWORD)).json()["unread"]


def test_submitted_questionnaire_reaches_the_validator(page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    response_id = ready_to_submit(live_server)
    before = unread_of(live_server, MANAGER)

    sign_in(page, CONTRIBUTOR, DEMO_PASSWORD)
    page.goto(f"/responses/{response_id}")
    page.click("form[action$='/submit'] button")
    expect(page.locator("#summary .status")).to_have_text("Soumis")
    page.click("form[action='/logout'] button")

    sign_in(page, MANAGER, DEMO_PASSWORD)
    link = page.locator("#nav-notifications")
    expect(link).to_have_accessible_name(f"Notifications, {before + 1} non lues" if before else
                                         "Notifications, 1 non lue")
    link.click()
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(link).to_have_attribute("aria-current", "page")
    item = page.locator("li.notification").first  # newest first
    expect(item).to_contain_text("a soumis")
    expect(item).to_contain_text("Rappel Vaccins")
    expect(item).to_contain_text("Non lue")

    item.locator(f"a[href='/responses/{response_id}']").click()
    expect(page).to_have_url(re.compile(rf"/responses/{response_id}$"))
    expect(page.locator("#summary .status")).to_have_text("Soumis")

    page.goto("/notifications")
    item = page.locator("li.notification").first
    item.locator("button", has_text="Marquer comme lue").click()  # HTMX: the item and the header change in place
    expect(page.locator("li.notification").first).to_contain_text("Déjà lue")
    expect(page.locator("li.notification").first.locator("button")).to_have_count(0)
    expect(page.locator("#nav-notifications")).to_have_accessible_name(
        "Notifications" if before == 0 else
        (f"Notifications, {before} non lues" if before > 1 else "Notifications, 1 non lue"))
    assert unread_of(live_server, MANAGER) == before

    page.click("a[href='/notifications/preferences']")
    page.check("input[name=email_frequency][value=digest]")
    page.click("#preferences-form button[type=submit]")
    expect(page.locator("#preferences-form [role=status]")).to_contain_text("préférence est enregistrée")
    page.reload()
    expect(page.locator("input[name=email_frequency][value=digest]")).to_be_checked()
