"""A real browser through Mon Espace Santé referencing (issue 17, point 6): the demo manager files an application
for a product whose questionnaires are validated; an ANS reviewer finds it in the queue, assigns it, gives a
verdict per chapter (one "à compléter") and requests information; the manager reopens the questionnaire
concerned, edits the answer, submits, validates and resubmits; the reviewer marks every chapter compliant and
references the service, which a visitor then finds in the public catalogue, with its page. The catalogue and
the queue pass axe and fit a 375 px phone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from convergence.core.i18n import gettext, load_catalogues, set_language
from convergence.referencing.workflow import STATUS_LABELS, VERDICT_LABELS
from tests.conftest import ROOT
from tests.test_accessibility import PHONE_WIDTH, WIDTH_JS, run_axe
from tests.test_browser import live_server, page  # noqa: F401 - shared fixtures
from tests.test_browser_review import _live_database

pytestmark = pytest.mark.browser
MANAGER = "manager@editeur-demo.example"
DEMO_PASSWORD = "Convergence-Demo-2026"
REVIEWER = "instructrice.referencement@ans.example"
REVIEWER_PASSWORD = "Instruction-Navigateur-2026"
STEP = "mes-without-exchange"
COMMERCIAL_NAME = "Carnet Santé Élan"
ANSWER = "Hébergement certifié HDS chez un hébergeur français, précisé pour l'ANS."


def fr(message: str) -> str:
    """A message as the French pages show it (the labels are the referencing domain's to word)."""
    load_catalogues(ROOT / "locale")
    set_language("fr")
    return gettext(message)


def _value(item: dict[str, Any]) -> Any:
    options = item.get("options") or []
    return {"boolean": True, "choice": options[-1]["value"] if options else None,
            "multi_choice": [o["value"] for o in options[:1]], "text": "Réponse", "number": 12,
            "date": "2026-01-31"}[item["type"]]


def _complete(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Every item answered, with the values that open every follow-up question (as tests/test_questionnaires)."""
    wanted = {i["enable_when"]["item"]: i["enable_when"] for i in items if i.get("enable_when")}
    answers: dict[str, Any] = {}
    for item in items:
        condition = wanted.get(item["code"])
        if condition and "equals" in condition:
            answers[str(item["id"])] = condition["equals"]
        elif condition and "in" in condition:
            answers[str(item["id"])] = condition["in"][0]
        else:
            answers[str(item["id"])] = _value(item)
    return answers


@pytest.fixture(scope="module")
def ready(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # noqa: F811
    """An ANS reviewer, and a demo product enrolled in the Mon Espace Santé step "sans échange de données" whose
    questionnaires are answered, submitted and validated through the API (the questionnaires' own browser walks
    are tests/test_browser_flows.py)."""
    env = {**os.environ, "CONVERGENCE_ROOT": str(ROOT),
           "CONVERGENCE_DATABASE_URL": f"sqlite+aiosqlite:///{_live_database(tmp_path_factory)}",
           "CONVERGENCE_SECRET_KEY": "browser-test-secret", "CONVERGENCE_BASE_URL": live_server,
           "CONVERGENCE_ARGON2_MEMORY_KIB": "1024", "CONVERGENCE_ARGON2_TIME_COST": "1"}
    subprocess.run([sys.executable, "-m", "convergence.cli", "users", "create", "--role", "reviewer", "--email",
                    REVIEWER, "--password", REVIEWER_PASSWORD, "--first-name", "Inès"],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    with httpx.Client(base_url=live_server, timeout=30) as api:
        token = api.post("/api/v1/auth/token", json={"email": MANAGER, "password": DEMO_PASSWORD}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        api.post("/api/v1/me/terms/accept", json={"version": 1})
        company_id = api.get("/api/v1/me").json()["company_id"]
        tracks = api.get("/api/v1/tracks").json()["items"]
        step = next(s for t in tracks for s in t["steps"] if s["code"] == STEP)
        created = api.post(f"/api/v1/companies/{company_id}/products", json={
            "name": "Carnet Elan", "os": "Android", "device": "Mobile", "edition": "", "version": "2",
            "kind": "base", "base_product_ids": [], "commercial_name": COMMERCIAL_NAME})
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
        enrolled = api.put(f"/api/v1/products/{product_id}/steps", json={"step_ids": [step["id"]]})
        assert enrolled.status_code == 200, enrolled.text
        questionnaires = {q["id"]: q for q in step["questionnaires"]}
        responses = api.get(f"/api/v1/products/{product_id}/responses").json()["items"]
        for row in responses:
            detail = api.get(f"/api/v1/responses/{row['id']}").json()
            saved = api.patch(f"/api/v1/responses/{row['id']}/answers", json={
                "version": detail["version"], "answers": _complete(questionnaires[row["questionnaire_id"]]["items"])})
            assert saved.status_code == 200, saved.text
            assert api.post(f"/api/v1/responses/{row['id']}/submit").status_code == 200
            assert api.post(f"/api/v1/responses/{row['id']}/validate").status_code == 200
    return {"product_id": product_id, "questionnaires": questionnaires, "responses": responses}


def _sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    if "/terms" in page.url:
        page.check("input[name=agree]")
        page.click("form.accept button[type=submit]")
        page.wait_for_load_state()


def _sign_out(page: Any) -> None:
    page.click("header form[action='/logout'] button")
    page.wait_for_load_state()


def _verdict(page: Any, chapter: Any, value: str, comment: str = "") -> None:
    from playwright.sync_api import expect

    section_id = chapter.get_attribute("id")
    chapter.locator(f"input[name=verdict][value={value}]").check()
    if comment:
        chapter.locator("textarea[name=comment]").fill(comment)
    chapter.locator("button[type=submit]").click()
    label = fr(VERDICT_LABELS[value])
    expect(page.locator(f"#{section_id} h3 .tag")).to_have_text(label)


def _check_page(page: Any, what: str) -> None:
    """axe (WCAG 2.1 AA) and, at 375 px, no sideways scroll."""
    violations, _undecided = run_axe(page)
    assert not violations, f"{what}: {[(v['id'], v['help']) for v in violations]}"
    size = page.viewport_size
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    layout = page.evaluate(WIDTH_JS, PHONE_WIDTH)
    assert layout["width"] <= PHONE_WIDTH, f"{what} at {PHONE_WIDTH} px: {layout}"
    page.set_viewport_size(size)


def test_file_verify_request_information_answer_reference_and_list(page, live_server, ready):  # noqa: F811
    from playwright.sync_api import expect

    product_id = ready["product_id"]

    # 1. The manager files the application from the product's referencing page.
    _sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(f"/products/{product_id}/referencing")
    form = page.locator("form.referencing-form").first
    form.locator("#f-commercial_name").fill(COMMERCIAL_NAME)
    form.locator("#f-description").fill("Votre carnet de prévention : rappels de vaccins, dépistages et conseils.")
    form.locator("#f-category").select_option("prevention")
    form.locator("#f-contact_name").fill("Claire Martin")
    form.locator("#f-contact_email").fill("claire.martin@editeur-demo.example")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text(COMMERCIAL_NAME)
    expect(page.locator("main")).to_contain_text(fr(STATUS_LABELS["filed"]))
    application_url = urlpath(page.url)
    application_id = int(application_url.rsplit("/", 1)[1])
    _sign_out(page)

    # 2. The reviewer finds it in the queue, waiting and assigned to no one, and opens it.
    _sign_in(page, REVIEWER, REVIEWER_PASSWORD)
    page.click("header nav a[href='/review']")
    expect(page.locator("#queue-panel-title")).to_have_text("Demandes de référencement")
    page.click("a[href='/review/applications']")
    expect(page.locator("h1")).to_have_text("Demandes de référencement")
    row = page.locator("#queue-results tr", has_text=COMMERCIAL_NAME)
    expect(row).to_contain_text(fr(STATUS_LABELS["filed"]))
    expect(row).to_contain_text("Personne")
    _check_page(page, "the applications queue")
    page.select_option("#f-assignee", "none")
    expect(page).to_have_url(re.compile(r"assignee=none"))
    row.get_by_role("link", name=COMMERCIAL_NAME).click()
    expect(page.locator("h1")).to_contain_text(COMMERCIAL_NAME)

    # 3. She assigns it to herself, marks the chapters (one "à compléter") and requests information.
    page.click(f"form[action='/referencing/applications/{application_id}/assign'] button[type=submit]")
    expect(page.locator("main")).to_contain_text(fr(STATUS_LABELS["under_review"]))
    chapters = page.locator("section.chapter")
    count = chapters.count()
    assert count >= 2, count
    to_complete = chapters.nth(0)
    _verdict(page, to_complete, "a_completer", "Précisez l'hébergeur et sa certification HDS.")
    for index in range(1, count):
        _verdict(page, chapters.nth(index), "conforme")
    page.reload()  # the verdicts were swapped in place; the request form counts them anew
    page.fill("#f-message", "Merci de compléter le chapitre sur l'hébergement.")
    page.click(f"form[action='/referencing/applications/{application_id}/request-info'] button[type=submit]")
    expect(page.locator("main")).to_contain_text(fr(STATUS_LABELS["info_requested"]))
    # The queue shows her application as hers.
    page.goto("/review/applications?assignee=me")
    expect(page.locator("#queue-results tr", has_text=COMMERCIAL_NAME)).to_contain_text(fr(STATUS_LABELS["info_requested"]))
    _sign_out(page)

    # 4. The manager reopens the questionnaire concerned, edits the answer, submits and validates it, resubmits.
    _sign_in(page, MANAGER, DEMO_PASSWORD)
    page.goto(application_url)
    expect(page.locator("#info-title")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Merci de compléter le chapitre sur l'hébergement.")
    page.click(f"form[action='/referencing/applications/{application_id}/reopen'] button[type=submit]")
    link = page.locator(f"form[action='/referencing/applications/{application_id}/resubmit'] a[href^='/responses/']")
    expect(link.first).to_be_visible()
    response_path = link.first.get_attribute("href")
    page.goto(response_path)
    response_id = int(response_path.rsplit("/", 1)[1])
    row = next(r for r in ready["responses"] if r["id"] == response_id)
    text_item = next(i for i in ready["questionnaires"][row["questionnaire_id"]]["items"]
                     if i["type"] == "text" and not i.get("enable_when"))
    field = page.locator(f"#v-{text_item['id']}")
    if not field.is_visible():  # one section at a time: open the item's section first
        page.goto(f"{response_path}#item-{text_item['id']}")
    field.fill(ANSWER)
    field.blur()
    expect(page.locator(f"#status-{text_item['id']}")).to_contain_text("Enregistré")
    page.click("form[action$='/submit'] button")
    expect(page.locator("#summary .status")).to_have_text("Soumis")
    page.click("form[action$='/validate'] button")
    expect(page.locator("#summary .status")).to_have_text("Validé")
    page.goto(application_url)
    page.click(f"form[action='/referencing/applications/{application_id}/resubmit'] button[type=submit]")
    expect(page.locator("main")).to_contain_text(fr(STATUS_LABELS["under_review"]))
    _sign_out(page)

    # 5. The reviewer sees the new answer, marks every chapter compliant and references the service.
    _sign_in(page, REVIEWER, REVIEWER_PASSWORD)
    page.goto(application_url)
    expect(page.locator("main")).to_contain_text(ANSWER)
    chapters = page.locator("section.chapter")
    for index in range(chapters.count()):
        _verdict(page, chapters.nth(index), "conforme")
    page.reload()
    expect(page.locator("main")).to_contain_text(fr("Every chapter has a verdict."))
    page.check("#decision-referenced")
    page.click(f"form[action='/referencing/applications/{application_id}/decision'] button[type=submit]")
    expect(page.locator("main")).to_contain_text(fr(STATUS_LABELS["referenced"]))
    page.goto("/review/applications?status=referenced")
    expect(page.locator("#queue-results")).to_contain_text(COMMERCIAL_NAME)
    expect(page.locator("#queue-results .key-figure").nth(1)).not_to_contain_text("—")
    _sign_out(page)

    # 6. A visitor finds the service in the public catalogue, searching without accents, and opens its page.
    page.goto("/")
    page.click("header nav a[href='/catalogue']")
    expect(page.locator("h1")).to_have_text("Catalogue de services Mon Espace Santé")
    page.fill("#f-q", "carnet sante elan")
    expect(page).to_have_url(re.compile(r"q=carnet"))
    results = page.locator("#catalogue-results")
    expect(results.locator("li.catalogue-entry")).to_have_count(1)
    expect(results).to_contain_text(COMMERCIAL_NAME)
    expect(results).to_contain_text("Éditeur Démo Santé SAS")
    page.select_option("#f-category", "chronic")
    expect(results).to_contain_text("Aucun service ne correspond")
    page.select_option("#f-category", "prevention")
    expect(results).to_contain_text(COMMERCIAL_NAME)
    _check_page(page, "the catalogue")
    results.get_by_role("link", name=COMMERCIAL_NAME).click()
    expect(page.locator("h1")).to_have_text(COMMERCIAL_NAME)
    main = page.locator("main")
    for text in ("Éditeur Démo Santé SAS", "Référencement sans échange de données", "Référencé depuis",
                 "Votre carnet de prévention"):
        expect(main).to_contain_text(text)
    expect(main).not_to_contain_text("claire.martin@editeur-demo.example")
    expect(main).not_to_contain_text("réexamen")
    _check_page(page, "a catalogue entry")
    with httpx.Client(base_url=live_server, timeout=30) as api:
        listed = api.get("/api/v1/catalogue", params={"q": "élan"}).json()
    assert [e["id"] for e in listed["items"]] == [application_id]


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0].split("#")[0]
