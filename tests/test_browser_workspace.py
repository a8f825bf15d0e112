"""A real browser in the questionnaire workspace: answers survive an ended session, a closed page and another
person's saves; follow-up questions appear in place with the focus kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.test_browser import CHROMIUM, live_server, page  # noqa: F401 - shared fixtures
from tests.test_browser_flows import DEMO_PASSWORD, MANAGER, bearer, create_product, sign_in

pytestmark = pytest.mark.browser
_counter = iter(range(1, 1000))


@pytest.fixture
def workspace(live_server: str) -> dict[str, Any]:  # noqa: F811
    """A fresh product of the demo vendor enrolled in the first doctrine step: one response to work on."""
    api = httpx.Client(base_url=live_server, timeout=30)
    headers = bearer(api, MANAGER, DEMO_PASSWORD)
    company_id = api.get("/api/v1/me", headers=headers).json()["company_id"]
    product = create_product(api, headers, company_id, f"Espace Travail {next(_counter)}")
    tracks = api.get("/api/v1/tracks", headers=headers).json()["items"]
    step = next(s for t in tracks for s in t["steps"] if s["code"] == "doctrine-socles")
    assert api.put(f"/api/v1/products/{product}/steps", json={"step_ids": [step["id"]]},
                   headers=headers).status_code == 200
    questionnaires = {q["id"]: q for q in step["questionnaires"]}
    for row in api.get(f"/api/v1/products/{product}/responses", headers=headers).json()["items"]:
        items = questionnaires[row["questionnaire_id"]]["items"]
        sources = {i["enable_when"]["item"] for i in items if i.get("enable_when")}
        follow = [i for i in items if i.get("enable_when", {}).get("equals") is True]
        texts = [i for i in items if i["type"] == "text" and not i.get("enable_when")]
        plain = [i for i in items if i["type"] == "boolean" and not i.get("enable_when") and i["code"] not in sources]
        if follow and texts and len(plain) >= 3:
            source = next(i for i in items if i["code"] == follow[0]["enable_when"]["item"])
            return {"api": api, "headers": headers, "rid": row["id"], "plain": plain, "text": texts[0],
                    "source": source, "follow": follow[0], "live": live_server}
    pytest.fail("no questionnaire of the first doctrine step has follow-ups, a text and three plain questions")


def answers(ws: dict[str, Any]) -> dict[str, Any]:
    return ws["api"].get(f"/api/v1/responses/{ws['rid']}", headers=ws["headers"]).json()["answers"]


def choose(page: Any, item: dict[str, Any], value: str) -> None:
    """Answer a yes/no question with the keyboard, as a person would without a mouse."""
    radio = page.locator(f"#item-{item['id']} input[name=value][value={value}]")
    radio.focus()
    page.keyboard.press("Space")


def open_item(page: Any, rid: int, item: dict[str, Any]) -> None:
    page.goto(f"/responses/{rid}#item-{item['id']}")
    page.locator(f"#item-{item['id']}").wait_for(state="visible")


def test_a_save_after_the_session_ended_survives_signing_in_again(page, workspace):
    from playwright.sync_api import expect

    item = workspace["plain"][0]
    sign_in(page, MANAGER, DEMO_PASSWORD)
    open_item(page, workspace["rid"], item)
    page.context.clear_cookies(name="cv_session")
    choose(page, item, "true")
    dialog = page.locator("#signin-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator(f"#status-{item['id']}")).to_contain_text("session")
    assert page.locator(f"#item-{item['id']} input[value=true]").is_checked()  # still on the page
    page.fill("#signin-password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#status-{item['id']}")).to_contain_text("Enregistré à")
    assert answers(workspace)[str(item["id"])] is True


def test_two_people_answer_different_items_then_the_same_one(page, workspace):
    from playwright.sync_api import expect

    first, second, third = workspace["plain"][:3]
    rid = workspace["rid"]
    sign_in(page, MANAGER, DEMO_PASSWORD)
    other_context = page.context.browser.new_context(base_url=workspace["live"], locale="fr-FR")
    other = other_context.new_page()
    sign_in(other, MANAGER, DEMO_PASSWORD)  # the same person in another window counts as someone else
    open_item(page, rid, first)
    open_item(other, rid, second)

    choose(page, first, "true")
    expect(page.locator(f"#status-{first['id']}")).to_contain_text("Enregistré à")
    choose(other, second, "false")
    expect(other.locator(f"#status-{second['id']}")).to_contain_text("Enregistré à")
    assert answers(workspace) == {str(first["id"]): True, str(second["id"]): False}
    # The other window now shows the first answer it did not type.
    assert other.locator(f"#item-{first['id']} input[value=true]").is_checked()

    # Both answer the third question differently: the second one is asked to choose, nothing is lost.
    page.goto(f"/responses/{rid}#item-{third['id']}")
    other.goto(f"/responses/{rid}#item-{third['id']}")
    choose(page, third, "true")
    expect(page.locator(f"#status-{third['id']}")).to_contain_text("Enregistré à")
    choose(other, third, "false")
    panel = other.locator(f"#status-{third['id']} .conflict")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Oui")
    expect(panel).to_contain_text("Non")
    expect(panel).to_contain_text("Modifié par")
    panel.get_by_role("button", name="Garder ma réponse").click()
    expect(other.locator(f"#status-{third['id']}")).to_contain_text("Enregistré à")
    assert answers(workspace)[str(third["id"])] is False
    other_context.close()


def test_typed_text_survives_closing_the_page(page, workspace):
    from playwright.sync_api import expect

    item = workspace["text"]
    rid = workspace["rid"]
    sign_in(page, MANAGER, DEMO_PASSWORD)
    open_item(page, rid, item)
    page.context.set_offline(True)
    page.click(f"#v-{item['id']}")
    page.keyboard.type("Nos serveurs sont hébergés chez un hébergeur certifié HDS.")
    expect(page.locator(f"#status-{item['id']}")).to_contain_text("Pas encore enregistré")
    context = page.context
    again = context.new_page()
    # Leaving with an unsaved answer warns; the person leaves anyway.
    with page.expect_event("dialog") as warning:
        page.close(run_before_unload=True)
    assert warning.value.type == "beforeunload"
    warning.value.accept()
    for _ in range(50):  # the page closes once the warning is accepted
        if page.is_closed():
            break
        again.wait_for_timeout(100)
    assert page.is_closed()
    context.set_offline(False)
    open_item(again, rid, item)
    expect(again.locator(f"#v-{item['id']}")).to_have_value("Nos serveurs sont hébergés chez un hébergeur certifié HDS.")
    expect(again.locator(f"#status-{item['id']}")).to_contain_text("Enregistré à")
    assert answers(workspace)[str(item["id"])] == "Nos serveurs sont hébergés chez un hébergeur certifié HDS."


def test_a_follow_up_appears_in_place_and_the_focus_stays(page, workspace):
    from playwright.sync_api import expect

    source, follow = workspace["source"], workspace["follow"]
    sign_in(page, MANAGER, DEMO_PASSWORD)
    open_item(page, workspace["rid"], source)
    expect(page.locator(f"#item-{follow['id']}")).to_be_hidden()
    page.evaluate("window.__sameDocument = true")
    choose(page, source, "true")
    expect(page.locator(f"#item-{follow['id']}")).to_be_visible()
    expect(page.locator(f"#status-{source['id']}")).to_contain_text("Enregistré à")
    assert page.evaluate("window.__sameDocument === true")  # no reload
    focused = page.evaluate("document.activeElement.closest('form') && document.activeElement.closest('form').id")
    assert focused == f"item-{source['id']}"
    expect(page.locator("#workspace-announcer")).to_contain_text("1")


def test_from_the_work_list_to_a_submitted_questionnaire_by_clicking_only(page, workspace):
    from playwright.sync_api import expect

    sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto("/")
    page.locator(f"main a[href='/responses/{workspace['rid']}']").first.click()
    expect(page.locator("h1")).to_be_visible()
    next_missing = page.locator("#next-missing a")
    for _ in range(60):
        if not next_missing.is_visible():
            break
        next_missing.click()
        form = page.locator("form.item:focus-within")
        expect(form).to_have_count(1)
        kind = form.get_attribute("data-type")
        if kind in ("boolean", "choice"):
            page.keyboard.press("Space")  # the focus is on the first option
        elif kind == "multi_choice":
            form.locator("input[type=checkbox]").first.check()
        elif kind == "text":
            page.keyboard.type("Réponse saisie au clavier.")
            page.keyboard.press("Tab")
        elif kind == "number":
            page.keyboard.type("1")
            page.keyboard.press("Tab")
        else:
            control = form.locator("input[type=date]")
            control.fill(control.get_attribute("max") or control.get_attribute("min") or "2025-01-15")
        expect(form.locator(".save-status")).to_contain_text("Enregistré à")
    expect(page.locator("#all-answered")).to_be_visible()
    page.get_by_role("button", name="Soumettre pour validation").click()
    expect(page.locator("#feedback")).to_contain_text("Soumis pour validation.")
    expect(page.locator("#summary-status")).to_contain_text("Soumis")
