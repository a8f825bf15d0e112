"""Every page a role can reach, in French and in English (issue 13, point 8): axe-core finds no WCAG 2.1 A/AA
violation, and the page fits a 375 px phone without sideways scrolling.

A crawl per role and language starts from the home page (the navigation is on every page) and follows the
same-site links, each route pattern (numeric ids collapsed: `/responses/{id}`) visited once (a few times for
`VISITS_OF`); downloads, the API, the OpenAPI viewers and POST-only addresses are left out. One browser for the
module, one context per role and language; the crawl runs once and the checks read its record (axe, the phone
width, and that every link shown leads to a page rather than an error). The questionnaire workspace is also
checked in the states no link shows: after a refused submit or return, and before a copy that would replace
answers. About two minutes on two CPUs.
`A11Y_REPORT=/path/report.json` writes every finding (for a person to read; no test reads it back).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.test_browser import CHROMIUM, live_server  # noqa: F401 - shared fixture
from tests.test_browser_flows import bearer, sign_in

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "Convergence-Demo-2026"
# Role → (e-mail, password) of the live server's accounts (tests/test_browser.py creates support, `demo load`
# the others); None is the anonymous visitor.
ROLES: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "contributor": ("contributor@editeur-demo.example", DEMO_PASSWORD),
    "manager": ("manager@editeur-demo.example", DEMO_PASSWORD),
    "reviewer": ("reviewer@ans.example", DEMO_PASSWORD),
    "support": ("support@ans.example", "Guichet-Navigateur-2026"),
}
LANGUAGES = ("fr", "en")
CASES = [f"{role}-{lang}" for role in ROLES for lang in LANGUAGES]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_WIDTH = 375
DESKTOP = {"width": 1280, "height": 900}
VISITS_PER_PATTERN = 1
# A response is a different page in each state (draft with its workspace, submitted, validated): a few of them.
VISITS_OF = {"/responses/{id}": 3, "/review/products/{id}": 2}
MAX_PAGES = 40  # per role and language: a bound, far above the routes a role reaches
# Where each crawl starts: the home page, and the pages no link leads to (the answer to a form, a mailed link).
START: dict[str, tuple[str, ...]] = {
    "anonymous": ("/", "/login", "/account-request", "/password/forgot", "/account-request/sent",
                  "/password/set?token=expired", "/login/link?token=expired", "/verify"),
    "support": ("/", "/support/faq-feedback"),
}
# Panels a page loads in place (hx-trigger="load") are links without script: the crawl visits those pages too.
IN_PLACE = {"/responses/{id}": ("/comments", "/market", "/attestations")}
SKIPPED_PREFIXES = ("/static/", "/api/", "/schema", "/logout", "/lang", "/health", "/session/")
SKIPPED_SUFFIXES = (".csv", ".xlsx", ".pdf", ".json", ".yml", ".yaml", "/document", "/public-key")

# In the page: wait until HTMX has nothing in flight (help panels load with hx-trigger="load").
SETTLE_JS = """() => new Promise(resolve => {
  const started = Date.now();
  const busy = () => document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added');
  const poll = () => (!busy() || Date.now() - started > 3000) ? resolve() : setTimeout(poll, 25);
  requestAnimationFrame(() => requestAnimationFrame(poll));
})"""
# Same-site links of the page, absolute, without the ones that download a file.
LINKS_JS = """() => [...document.querySelectorAll('a[href]')]
  .filter(a => !a.hasAttribute('download') && a.origin === location.origin).map(a => a.href)"""
# The page's width, and the innermost elements that stick out past the viewport (for the failure message).
WIDTH_JS = """(limit) => {
  const root = document.documentElement;
  const path = el => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) { parts.unshift(part + '#' + e.id); break; }
      const classes = [...e.classList].slice(0, 2);
      if (classes.length) part += '.' + classes.join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  // An element inside a scrolling box (a wide table in .table-scroll) does not widen the page.
  const clipped = el => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement)
      if (getComputedStyle(e).overflowX !== 'visible' && e.getBoundingClientRect().right <= limit + 1) return true;
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > limit + 1 && getComputedStyle(el).position !== 'fixed' && !clipped(el);
  });
  const innermost = wide.filter(el => !wide.some(other => other !== el && el.contains(other)));
  return {width: root.scrollWidth, culprits: innermost.slice(0, 5).map(el =>
    path(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ' px)')};
}"""


@dataclass
class Visit:
    url: str
    pattern: str
    status: int
    violations: list[dict[str, Any]]
    width: int
    culprits: list[str]
    linked: bool = True  # False for the crawl's starting points (a page may answer an error by design)
    undecided: list[str] = field(default_factory=list)  # axe's "incomplete": rules a person must check


@dataclass
class Crawl:
    role: str
    lang: str
    visits: list[Visit] = field(default_factory=list)
    seconds: float = 0.0


def pattern_of(path: str) -> str:
    """/responses/12/comments → /responses/{id}/comments: one route, visited once or twice."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "library":  # questionnaires are named by code: one of each page is enough
        parts[2] = "{code}"
    return "/".join("{id}" if part.isdigit() else part for part in parts)


def wanted(url: str, origin: str) -> str | None:
    """The address to visit (path and query, no fragment), or None for what the crawl leaves out."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    path = parts.path or "/"
    if path.startswith(SKIPPED_PREFIXES) or path.endswith(SKIPPED_SUFFIXES) or "format=" in parts.query:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def run_axe(page: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The violations (rule, impact, targets), and the rules axe could not decide (for a person to look at)."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options).response
    assert results["passes"] or results["violations"], f"axe checked nothing on {page.url}"
    violations = [{"id": v["id"], "impact": v.get("impact"), "help": v.get("help", ""),
                   "targets": [" ".join(map(str, node["target"])) for node in v["nodes"]]}
                  for v in results["violations"]]
    return violations, [v["id"] for v in results["incomplete"]]


def open_page(browser: Any, base: str, role: str, lang: str) -> Any:
    """A page in a new context, in `lang`, signed in as `role` (its terms accepted on the way)."""
    context = browser.new_context(base_url=base, locale="fr-FR" if lang == "fr" else "en-GB", viewport=DESKTOP)
    context.add_cookies([{"name": "cv_lang", "value": lang, "url": base}])
    page = context.new_page()
    account = ROLES[role]
    if account:
        sign_in(page, *account)
        assert page.locator("header form[action='/logout']").count(), f"{role} could not sign in"
    return page


def inspect(page: Any, address: str, status: int, *, linked: bool = True) -> Visit:
    """Axe on the page as it is (HTMX settled), then its width on a phone."""
    page.evaluate(SETTLE_JS)
    violations, undecided = run_axe(page)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    measured = page.evaluate(WIDTH_JS, PHONE_WIDTH)
    page.set_viewport_size(DESKTOP)
    return Visit(address, pattern_of(address.split("?")[0]), status, violations, measured["width"],
                 measured["culprits"], linked, undecided)


def crawl(browser: Any, base: str, role: str, lang: str) -> Crawl:
    started = time.monotonic()
    record = Crawl(role, lang)
    page = open_page(browser, base, role, lang)
    try:
        starts = START.get(role, ("/",))
        queue: deque[str] = deque(starts)
        seen: set[str] = set(queue)
        per_pattern: Counter[str] = Counter()
        while queue and len(record.visits) < MAX_PAGES:
            address = queue.popleft()
            pattern = pattern_of(address.split("?")[0])
            if per_pattern[pattern] >= VISITS_OF.get(pattern, VISITS_PER_PATTERN):
                continue
            per_pattern[pattern] += 1
            response = page.goto(address)
            if ROLES[role] and not page.locator("header form[action='/logout']").count():
                raise AssertionError(f"{role} was signed out on {address} (now at {page.url})")
            visit = inspect(page, address, response.status if response else 0, linked=address not in starts)
            links = page.evaluate(LINKS_JS) + [base + address.split("?")[0] + s for s in IN_PLACE.get(pattern, ())]
            for link in links:
                target = wanted(link, base)
                if target and target not in seen:
                    seen.add(target)
                    queue.append(target)
            record.visits.append(visit)
    finally:
        page.context.close()
    record.seconds = time.monotonic() - started
    return record


@pytest.fixture(scope="module")
def seeded(live_server: str) -> str:  # noqa: F811
    """An account request waiting for support, so that its detail page is in support's crawl."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        filed = api.post("/api/v1/account-requests", json={
            "company_name": "Accessible Santé SAS", "siren": "443061841", "first_name": "Alix",
            "last_name": "Lecteur", "email": "alix.lecteur@accessible.example", "job_title": "Présidente",
            "is_corporate_officer": True})
        assert filed.status_code == 201, filed.text
    return live_server


@pytest.fixture(scope="module")
def records() -> Iterator[dict[str, Crawl]]:
    """Every page checked in this module, by case; written to $A11Y_REPORT at the end when it is set."""
    done: dict[str, Crawl] = {}
    yield done
    if os.environ.get("A11Y_REPORT"):
        write_report(os.environ["A11Y_REPORT"], done)


@pytest.fixture(scope="module")
def browser(seeded: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-background-networking",
                                                    "--disable-gpu", "--no-first-run"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def crawls(browser: Any, seeded: str, records: dict[str, Crawl]) -> dict[str, Crawl]:
    """(role-lang) → its crawl, made on first demand."""

    class Lazy(dict):
        def __missing__(self, case: str) -> Crawl:
            role, lang = case.split("-")
            records[case] = self[case] = crawl(browser, seeded, role, lang)
            return records[case]

    return Lazy()


def write_report(path: str, done: dict[str, Crawl]) -> None:
    by_rule: dict[str, dict[str, Any]] = {}
    for case, record in done.items():
        for visit in record.visits:
            for v in visit.violations:
                rule = by_rule.setdefault(v["id"], {"impact": v["impact"], "help": v["help"], "pages": {}})
                rule["pages"].setdefault(visit.pattern, set()).add(case)
    report = {
        "seconds": {case: round(r.seconds, 1) for case, r in done.items()},
        "pages": {case: [{"url": v.url, "status": v.status, "violations": v.violations, "width": v.width,
                          "culprits": v.culprits, "undecided": v.undecided} for v in r.visits]
                  for case, r in done.items()},
        "by_rule": {rule: {**info, "pages": {p: sorted(c) for p, c in sorted(info["pages"].items())}}
                    for rule, info in sorted(by_rule.items())},
        "too_wide": sorted({(v.pattern, v.width) for r in done.values() for v in r.visits if v.width > PHONE_WIDTH}),
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(report, out, ensure_ascii=False, indent=1)


def fail_on_violations(case: str, visits: list[Visit]) -> None:
    failing = [v for v in visits if v.violations]
    lines = []
    for visit in failing:
        lines.append(f"{visit.url}  ({visit.pattern}, HTTP {visit.status})")
        for v in visit.violations:
            shown = ", ".join(v["targets"][:4]) + (f" … (+{len(v['targets']) - 4})" if len(v["targets"]) > 4 else "")
            lines.append(f"    {v['id']} [{v['impact']}] {v['help']}: {shown}")
    if failing:
        count = sum(len(v.violations) for v in failing)
        pytest.fail(f"{case}: {count} axe rule violations on {len(failing)} of {len(visits)} pages"
                    f" ({', '.join(AXE_TAGS)}):\n" + "\n".join(lines), pytrace=False)


def fail_on_width(case: str, visits: list[Visit]) -> None:
    wide = [v for v in visits if v.width > PHONE_WIDTH]
    lines = [f"{v.url}  ({v.pattern}): {v.width} px; sticking out: {'; '.join(v.culprits) or '?'}" for v in wide]
    if wide:
        pytest.fail(f"{case}: {len(wide)} of {len(visits)} pages scroll sideways at {PHONE_WIDTH} px:\n"
                    + "\n".join(lines), pytrace=False)


@pytest.mark.parametrize("case", CASES)
def test_every_page_has_no_axe_violation(crawls, case):
    record = crawls[case]
    assert record.visits, f"{case}: the crawl visited nothing"
    fail_on_violations(case, record.visits)


@pytest.mark.parametrize("case", CASES)
def test_every_page_fits_a_phone(crawls, case):
    record = crawls[case]
    assert record.visits, f"{case}: the crawl visited nothing"
    fail_on_width(case, record.visits)


@pytest.mark.parametrize("case", CASES)
def test_every_link_shown_leads_to_a_page(crawls, case):
    """A link a role is shown answers 200: not an error page (whose accessibility would be checked instead)."""
    record = crawls[case]
    broken = [f"{v.url}  ({v.pattern}): HTTP {v.status}" for v in record.visits if v.linked and v.status != 200]
    if broken:
        pytest.fail(f"{case}: {len(broken)} linked pages answer an error:\n" + "\n".join(broken), pytrace=False)


def test_the_crawl_reaches_each_role_s_pages(crawls):
    """The crawl is not vacuous: each role reaches the pages its work is done on."""
    expected = {
        "anonymous": {"/", "/login", "/account-request", "/faq", "/catalogue"},
        "contributor": {"/", "/products", "/products/{id}", "/responses/{id}", "/team", "/faq"},
        "manager": {"/", "/products", "/products/{id}", "/products/{id}/questionnaires", "/responses/{id}",
                    "/team", "/team/members/{id}/rights", "/strategy", "/library", "/library/{code}"},
        "reviewer": {"/", "/review", "/review/products/{id}", "/review/applications", "/catalogue"},
        "support": {"/", "/support/requests", "/support/requests/{id}", "/support/outbox", "/support/terms"},
    }
    # The notification centre (header link) and its e-mail preferences, for every vendor user (notifications/).
    for role in ("contributor", "manager"):
        expected[role] |= {"/notifications", "/notifications/preferences"}
    for role, patterns in expected.items():
        reached = {v.pattern for v in crawls[f"{role}-fr"].visits}
        assert patterns <= reached, f"{role} did not reach {sorted(patterns - reached)}; reached {sorted(reached)}"


@pytest.fixture(scope="module")
def demo_responses(seeded: str) -> dict[str, int]:
    """The demo vendor's questionnaire responses in the states a link does not always lead to (demo load)."""
    with httpx.Client(base_url=seeded, timeout=30) as api:
        headers = bearer(api, ROLES["manager"][0], DEMO_PASSWORD)
        company = api.get("/api/v1/me", headers=headers).json()["company_id"]
        products = api.get(f"/api/v1/companies/{company}/products", headers=headers).json()["items"]
        found: dict[tuple[str, str], int] = {}
        for product in products:
            for row in api.get(f"/api/v1/products/{product['id']}/responses", headers=headers).json()["items"]:
                found.setdefault((f"{product['name']} {product['version']}", row["status"]), row["id"])
        states = {"partly answered": found[("Cabinet Connect 3.2", "draft")],
                  "submitted": found[("Cabinet Connect 3.2", "submitted")],
                  "validated": found[("Cabinet Connect 3.2", "validated")],
                  "not started": found[("Cabinet Connect 4.0", "not_started")],
                  "reopened": found[("Module Téléexpertise 1.0", "draft")],
                  "returned": found[("Suivi Diabète 1.4", "draft")]}
        # The returned response answers one yes/no question unlike the validated one of the same questionnaire,
        # so that copying the validated one's answers asks first.
        returned = api.get(f"/api/v1/responses/{states['returned']}", headers=headers).json()
        key = next(k for k, v in returned["answers"].items() if isinstance(v, bool))
        flipped = api.patch(f"/api/v1/responses/{states['returned']}/answers", headers=headers,
                            json={"version": returned["version"], "answers": {key: not returned["answers"][key]}})
        assert flipped.status_code == 200, flipped.text
    return states


def post(page: Any, button: str) -> int:
    """Clicks a form's button; the status of the page the post answered."""
    with page.expect_response(lambda answer: answer.request.method == "POST") as answered:
        page.locator(button).click()
    page.wait_for_load_state()
    return answered.value.status


@pytest.mark.parametrize("lang", LANGUAGES)
def test_questionnaire_states_have_no_axe_violation(browser, seeded, records, demo_responses, lang):
    """The workspace in each state, and after what a form shows on a failed or risky post (none of which
    changes the response): the required questions left, a return without its comment, the copy confirmation."""
    from playwright.sync_api import expect

    started = time.monotonic()
    record = records[f"questionnaire-states-{lang}"] = Crawl("manager", lang)
    page = open_page(browser, seeded, "manager", lang)
    try:
        for state in ("not started", "validated", "reopened"):
            address = f"/responses/{demo_responses[state]}"
            record.visits.append(inspect(page, address, page.goto(address).status))

        address = f"/responses/{demo_responses['partly answered']}"
        page.goto(address)
        status = post(page, "form[action$='/submit'] button")
        expect(page.locator("#missing-summary")).to_be_visible()
        record.visits.append(inspect(page, f"{address} (submitted with required questions left)", status))

        address = f"/responses/{demo_responses['submitted']}"
        page.goto(address)
        status = post(page, "form[action$='/return'] button")
        expect(page.locator("#f-comment")).to_have_attribute("aria-invalid", "true")
        record.visits.append(inspect(page, f"{address} (returned without a comment)", status))

        address = f"/responses/{demo_responses['returned']}"
        page.goto(address)
        page.select_option("#f-source", str(demo_responses["validated"]))
        status = post(page, "form.copy-form button")
        expect(page.locator("#copy-confirm")).to_be_visible()
        record.visits.append(inspect(page, f"{address} (copy to confirm)", status))
    finally:
        page.context.close()
        record.seconds = time.monotonic() - started
    fail_on_violations(f"questionnaire states, {lang}", record.visits)
    fail_on_width(f"questionnaire states, {lang}", record.visits)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_attestation_pages_have_no_axe_violation(browser, seeded, records, demo_responses, lang):
    """A maturity attestation of the demo's validated response: its public page and /verify with each answer
    (valid, unknown, malformed), for a visitor; the response's attestations for the manager."""
    started = time.monotonic()
    response_id = demo_responses["validated"]
    with httpx.Client(base_url=seeded, timeout=30) as api:
        headers = bearer(api, ROLES["manager"][0], DEMO_PASSWORD)
        published = api.post(f"/api/v1/responses/{response_id}/attestations", headers=headers)
        assert published.status_code in (201, 409), published.text  # 409: published by the other language's run
        listed = api.get(f"/api/v1/responses/{response_id}/attestations", headers=headers).json()["items"]
        attestation = next(a for a in listed if a["status"] == "valid")
    record = records[f"attestations-{lang}"] = Crawl("anonymous", lang)
    page = open_page(browser, seeded, "anonymous", lang)
    try:
        public = urlsplit(attestation["url"]).path
        for address in (public, f"/verify?code={attestation['code']}", "/verify?code=2222-2222-2222",
                        "/verify?code=abc"):
            record.visits.append(inspect(page, address, page.goto(address).status, linked=False))
    finally:
        page.context.close()
    page = open_page(browser, seeded, "manager", lang)
    try:
        address = f"/responses/{response_id}/attestations"
        record.visits.append(inspect(page, address, page.goto(address).status))
    finally:
        page.context.close()
        record.seconds = time.monotonic() - started
    fail_on_violations(f"attestation pages, {lang}", record.visits)
    fail_on_width(f"attestation pages, {lang}", record.visits)


def _mes_value(item: dict[str, Any], wanted: dict[str, Any]) -> Any:
    """An answer of the item's type that also meets the conditions other items set on it."""
    if item["code"] in wanted:
        return wanted[item["code"]]
    options = [o["value"] for o in item.get("options") or []]
    return {"boolean": True, "choice": options[-1] if options else None, "multi_choice": options[:1],
            "text": "Réponse", "number": 1, "date": "2026-01-31"}[item["type"]]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_referencing_pages_have_no_axe_violation(browser, seeded, records, lang):
    """Mon Espace Santé referencing (referencing/): the vendor's page of a product with its filing form (and
    after a refused filing), the application as the vendor sees it, and as a reviewer with the verdict,
    request-for-information and decision forms (and after a decision refused for its missing verdicts)."""
    started = time.monotonic()
    with httpx.Client(base_url=seeded, timeout=30) as api:
        headers = bearer(api, ROLES["manager"][0], DEMO_PASSWORD)
        company = api.get("/api/v1/me", headers=headers).json()["company_id"]
        created = api.post(f"/api/v1/companies/{company}/products", headers=headers, json={
            "name": f"Carnet Accessible {lang}", "os": "Android", "device": "Mobile", "edition": "", "version": "1",
            "kind": "base", "base_product_ids": [], "commercial_name": f"Carnet Accessible {lang}"})
        assert created.status_code == 201, created.text
        product = created.json()["id"]
        tracks = api.get("/api/v1/tracks", headers=headers).json()["items"]
        step = next(s for t in tracks for s in t["steps"] if s["code"] == "mes-without-exchange")
        assert api.put(f"/api/v1/products/{product}/steps", headers=headers,
                       json={"step_ids": [step["id"]]}).status_code == 200
        items = {q["id"]: q["items"] for q in step["questionnaires"]}
        for row in api.get(f"/api/v1/products/{product}/responses", headers=headers).json()["items"]:
            questions = items[row["questionnaire_id"]]
            by_code = {i["code"]: i for i in questions}
            wanted = {i["enable_when"]["item"]: i["enable_when"].get("equals", True) for i in questions
                      if i.get("enable_when") and i["enable_when"]["item"] in by_code}
            answers = {str(i["id"]): _mes_value(i, wanted) for i in questions}
            assert api.patch(f"/api/v1/responses/{row['id']}/answers", headers=headers,
                             json={"version": row["version"], "answers": answers}).status_code == 200
            assert api.post(f"/api/v1/responses/{row['id']}/submit", headers=headers).status_code == 200
            assert api.post(f"/api/v1/responses/{row['id']}/validate", headers=headers).status_code == 200
    record = records[f"referencing-{lang}"] = Crawl("manager", lang)
    page = open_page(browser, seeded, "manager", lang)
    try:
        address = f"/products/{product}/referencing"
        record.visits.append(inspect(page, address, page.goto(address).status))
        page.fill("#f-commercial_name", "")
        status = post(page, "form.referencing-form button[type=submit]")
        record.visits.append(inspect(page, f"{address} (filed without a name nor a category)", status))
        page.fill("#f-commercial_name", f"Carnet Accessible {lang}")
        page.fill("#f-description", "Un carnet de santé pour les patients.")
        page.select_option("#f-category", "chronic")
        post(page, "form.referencing-form button[type=submit]")
        application = page.url.split("?")[0]
        record.visits.append(inspect(page, urlsplit(application).path, 200))
    finally:
        page.context.close()
    page = open_page(browser, seeded, "reviewer", lang)
    try:
        address = urlsplit(application).path
        record.visits.append(inspect(page, address, page.goto(address).status))
        post(page, "form[action$='/assign'] button")  # under review: the decision form is offered
        page.check("#decision-refused")
        status = post(page, "form[action$='/decision'] button")
        record.visits.append(inspect(page, f"{address} (decision before every verdict)", status))
    finally:
        page.context.close()
        record.seconds = time.monotonic() - started
    fail_on_violations(f"referencing pages, {lang}", record.visits)
    fail_on_width(f"referencing pages, {lang}", record.visits)
