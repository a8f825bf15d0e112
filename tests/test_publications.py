"""Semester publications (issue 18, point 6): the figures equal a hand computation on a small market, a cell
fewer than 5 companies stand behind is suppressed, a publication is frozen, one per semester (409 unless
withdrawn), only ANS support publishes, vendors compare their own products only, and the pages."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from convergence.core.db import unit_of_work
from convergence.core.formatting import local_today
from convergence.core.models import AuditEvent, utcnow
from convergence.publications import simulate
from convergence.publications.models import Publication
from convergence.publications.services import label_of, previous, semester_of
from convergence.questionnaires.models import Enrolment, Questionnaire, Response, Status, Step
from tests.factories import csrf, make_company, page_login, token_for
from tests.test_questionnaires import content, make_product

__all__ = ["content"]  # the fixture, used by name

STEP = "doctrine-socles"
# company → [(security, interoperability or None)] per validated product. Security: 7 products of 6 companies;
# interoperability: 4 companies only, so suppressed.
MARKET = {
    "own": [(40, 60)],
    "A": [(10, 20), (30, 40)],
    "B": [(50, 80)],
    "C": [(70, 10)],
    "D": [(90, None)],
    "E": [(100, None)],
}


def current() -> str:
    return label_of(*semester_of(local_today()))


async def validated(db: Any, company_id: int, name: str, security: float, interop: float | None,
                    status: str = Status.VALIDATED) -> int:
    """A product enrolled in STEP with one response of the step's questionnaire written straight, at `status`."""
    product_id = await make_product(db, company_id, name=name)
    async with unit_of_work(db) as session:
        step = await session.scalar(select(Step).where(Step.code == STEP))
        questionnaire = await session.scalar(select(Questionnaire).where(
            Questionnaire.step_id == step.id, Questionnaire.current.is_(True)).order_by(Questionnaire.id).limit(1))
        session.add(Enrolment(product_id=product_id, step_id=step.id))
        scores = {"security": security, **({"interoperability": interop} if interop is not None else {})}
        session.add(Response(company_id=company_id, product_id=product_id, questionnaire_id=questionnaire.id,
                             step_id=step.id, status=status, maturity=security, theme_scores=scores,
                             validated_at=utcnow() if status == Status.VALIDATED else None))
    return product_id


async def small_market(db: Any, cast: Any) -> dict[str, int]:
    """MARKET, plus a draft product (left out of every figure); the product ids by name."""
    ids = {}
    async with unit_of_work(db) as session:
        companies = {"own": cast.company.id, **{k: (await make_company(session, f"Éditeur {k}")).id
                                                 for k in MARKET if k != "own"}}
        draft_company = (await make_company(session, "Éditeur brouillon")).id
    for key, products in MARKET.items():
        for index, (security, interop) in enumerate(products):
            name = f"Logiciel {key}{index}"
            ids[name] = await validated(db, companies[key], name, security, interop)
    ids["draft"] = await validated(db, draft_company, "Brouillon", 0, 0, status=Status.DRAFT)
    return ids


async def publish(client: Any, headers: dict, **body: Any) -> Any:
    return await client.post("/api/v1/publications", json=body, headers=headers)


def cell(publication: dict, theme: str | None) -> dict:
    step = next(s for s in publication["steps"] if s["step"] == STEP)
    return step["maturity"] if theme is None else next(t for t in step["themes"] if t["theme"] == theme)


async def test_the_figures_are_a_hand_computation_and_small_cells_are_suppressed(client, db, cast, content):
    await small_market(db, cast)
    support = await token_for(client, cast.support.email)
    answer = await publish(client, support)
    assert answer.status_code == 201, answer.text
    published = answer.json()
    assert published["label"] == current() and published["status"] == "published"
    assert published["basis"] == "validated" and published["min_companies"] == 5
    assert (published["products"], published["companies"]) == (7, 6)  # the draft is left out
    # Security over 7 products: 10 30 40 50 70 90 100. Quartiles interpolated at (n - 1) q: 1.5 → 35, 3 → 50,
    # 4.5 → 80; mean 390 / 7 = 55.7; bands of 20: 10 | 30 | 40 50 | 70 | 90 100.
    security = cell(published, "security")
    assert security == {"theme": "security", "title": security["title"], "suppressed": False, "products": 7,
                        "companies": 6, "mean": 55.7, "minimum": 10.0, "q1": 35.0, "median": 50.0, "q3": 80.0,
                        "maximum": 100.0, "histogram": [1, 1, 2, 1, 2]}
    assert security["title"].startswith("Security")  # in the request's language
    assert cell(published, None)["median"] == 50.0  # the step's maturity (here equal to security)
    # Interoperability: 4 companies only. Nothing but the flag: not even how many stand behind it.
    interoperability = cell(published, "interoperability")
    assert interoperability == {"theme": "interoperability", "title": interoperability["title"],
                                                   "suppressed": True, "products": None, "companies": None,
                                                   "mean": None, "minimum": None, "q1": None, "median": None,
                                                   "q3": None, "maximum": None, "histogram": None}
    # Nothing names a company or a product.
    text = answer.text
    assert "Éditeur" not in text and "Logiciel" not in text and cast.company.name not in text
    async with db() as session:
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "publication.published"))).all()
    assert [(e.target_type, e.target_id, e.data["label"]) for e in audit] == [("publication", published["id"],
                                                                                 current())]


async def test_a_publication_is_frozen(client, db, cast, content):
    ids = await small_market(db, cast)
    support = await token_for(client, cast.support.email)
    published = (await publish(client, support)).json()
    async with unit_of_work(db) as session:
        response = await session.scalar(select(Response).where(Response.product_id == ids["Logiciel own0"]))
        response.theme_scores = {"security": 0, "interoperability": 0}
        response.maturity = 0
    again = (await client.get(f"/api/v1/publications/{published['id']}")).json()
    assert again == published


async def test_one_publication_per_semester_unless_withdrawn(client, db, cast, content):
    await small_market(db, cast)
    support = await token_for(client, cast.support.email)
    first = (await publish(client, support, label=current())).json()
    second = await publish(client, support)
    assert second.status_code == 409 and second.json()["code"] == "already_published"
    # The semester just ended is another semester.
    ended = label_of(*previous(*semester_of(local_today())))
    assert (await publish(client, support, label=ended.replace(" ", "-").lower())).status_code == 201
    withdrawn = await client.post(f"/api/v1/publications/{first['id']}/withdraw", json={"reason": "Erreur"},
                                  headers=support)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdraw_reason"] == "Erreur"
    again = await client.post(f"/api/v1/publications/{first['id']}/withdraw", json={}, headers=support)
    assert again.status_code == 409 and again.json()["code"] == "already_withdrawn"
    assert (await publish(client, support)).status_code == 201
    # The public sees the standing ones only; support sees the withdrawn one too.
    public = (await client.get("/api/v1/publications")).json()
    assert public["total"] == 2 and first["id"] not in [p["id"] for p in public["items"]]
    assert all(p["steps"] == [] for p in public["items"])
    assert (await client.get(f"/api/v1/publications/{first['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/publications/{first['id']}", headers=support)).status_code == 200
    assert (await client.get("/api/v1/publications", headers=support)).json()["total"] == 3
    async with db() as session:
        actions = (await session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("publication.%")).order_by(AuditEvent.id))).all()
    assert actions == ["publication.published", "publication.published", "publication.withdrawn",
                       "publication.published"]


async def test_bad_input_is_refused_and_changes_nothing(client, db, cast, content):
    support = await token_for(client, cast.support.email)
    empty = await publish(client, support)
    assert empty.status_code == 409 and empty.json()["code"] == "empty_market"
    await small_market(db, cast)
    for label, code in (("2026 S3", "invalid_label"), ("S2", "invalid_label"), (12, "invalid_label"),
                        ("2001 S1", "invalid_semester"), (f"{local_today().year + 1} S1", "invalid_semester")):
        answer = await publish(client, support, label=label)
        assert answer.status_code == 422 and answer.json()["code"] == code, (label, answer.text)
        assert answer.json()["detail"].endswith(".")
    published = (await publish(client, support)).json()
    too_long = await client.post(f"/api/v1/publications/{published['id']}/withdraw", json={"reason": "x" * 501},
                                 headers=support)
    assert too_long.status_code == 422
    assert (await client.get(f"/api/v1/publications/{published['id']}")).json()["status"] == "published"
    assert (await client.post("/api/v1/publications/999999/withdraw", json={}, headers=support)).status_code == 404
    async with db() as session:
        assert len((await session.scalars(select(Publication))).all()) == 1


async def test_only_support_publishes_and_withdraws(client, db, cast, content):
    await small_market(db, cast)
    assert (await publish(client, {})).status_code == 401
    for person in (cast.reviewer, cast.manager, cast.contributor):
        headers = await token_for(client, person.email)
        assert (await publish(client, headers)).status_code == 403, person.email
    support = await token_for(client, cast.support.email)
    published = (await publish(client, support)).json()
    reviewer = await token_for(client, cast.reviewer.email)
    refused = await client.post(f"/api/v1/publications/{published['id']}/withdraw", json={}, headers=reviewer)
    assert refused.status_code == 403
    async with db() as session:
        assert (await session.get(Publication, published["id"])).withdrawn_at is None


async def test_a_vendor_compares_its_product_with_the_latest_publication(client, db, cast, content):
    ids = await small_market(db, cast)
    manager = await token_for(client, cast.manager.email)
    own = ids["Logiciel own0"]
    before = (await client.get(f"/api/v1/products/{own}/comparison", headers=manager)).json()
    assert before["publication"] is None and before["steps"][0]["themes"][0]["published"] is False
    support = await token_for(client, cast.support.email)
    published = (await publish(client, support)).json()
    compared = (await client.get(f"/api/v1/products/{own}/comparison", headers=manager)).json()
    assert compared["publication"]["id"] == published["id"] and compared["publication"]["steps"] == []
    step = compared["steps"][0]
    assert step["step"] == STEP and step["validated"] is True
    themes = {t["theme"]: t for t in step["themes"]}
    assert themes["security"] == {"theme": "security", "title": themes["security"]["title"], "own": 40.0, "published": True,
                                  "suppressed": False, "q1": 35.0, "median": 50.0, "q3": 80.0, "position": "within"}
    assert themes["interoperability"]["suppressed"] is True and themes["interoperability"]["median"] is None
    # Another company's product: 404, whatever the role; ANS staff are not vendors.
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.get(f"/api/v1/products/{own}/comparison", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/products/{ids['Logiciel A0']}/comparison",
                             headers=manager)).status_code == 404
    assert (await client.get(f"/api/v1/products/{own}/comparison", headers=support)).status_code == 403
    # A contributor without a right on the product does not learn it exists.
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.get(f"/api/v1/products/{own}/comparison", headers=contributor)).status_code == 404


async def test_pages(client, db, cast, content):
    ids = await small_market(db, cast)
    await page_login(client, cast.support.email)
    page = await client.get("/publications")
    assert page.status_code == 200 and "Publier" in page.text
    invalid = await client.post("/publications", data={"label": "2026 S9", "_csrf": csrf(client)})
    assert invalid.status_code == 422 and 'aria-invalid="true"' in invalid.text
    done = await client.post("/publications", data={"label": "", "_csrf": csrf(client)})
    assert done.status_code == 303
    detail = await client.get(done.headers["location"])
    assert detail.status_code == 200 and current() in detail.text
    assert "moins de 5 entreprises" in detail.text and 'data-suppressed="true"' in detail.text
    assert "0–20 : 1" in detail.text and "80–100 : 2" in detail.text  # security's distribution
    twice = await client.post("/publications", data={"label": "", "_csrf": csrf(client)})
    assert twice.status_code == 409
    trend = await client.get("/publications/trend")
    assert trend.status_code == 200 and "<svg" in trend.text and current() in trend.text
    assert (await client.get("/publications/trend?step=nope")).status_code == 404
    await client.post("/logout", data={"_csrf": csrf(client)})
    # Public, as the catalogue: anyone reads them, nobody signed out gets a publish form.
    public = await client.get("/publications")
    assert public.status_code == 200 and current() in public.text and 'action="/publications"' not in public.text
    await page_login(client, cast.manager.email)
    product = await client.get(f"/products/{ids['Logiciel own0']}")
    assert f'hx-get="/products/{ids["Logiciel own0"]}/comparison"' in product.text
    compared = await client.get(f"/products/{ids['Logiciel own0']}/comparison", headers={"HX-Request": "true"})
    assert compared.status_code == 200 and 'id="market-comparison"' in compared.text
    assert "Entre les quartiles" in compared.text and "<html" not in compared.text
    assert (await client.get(f"/products/{ids['Logiciel A0']}/comparison")).status_code == 404


async def test_the_simulation_publishes_past_semesters_marked_simulated(client, db, cast, content, settings):
    await small_market(db, cast)
    async with unit_of_work(db) as session:
        assert await simulate.simulate_publications(session, random.Random(7), settings) == 3
    async with unit_of_work(db) as session:
        assert await simulate.simulate_publications(session, random.Random(7), settings) == 0
    items = (await client.get("/api/v1/publications")).json()["items"]
    assert [p["basis"] for p in items] == ["validated", "simulated", "simulated"]
    assert items[0]["label"] == current()
    trend = await client.get("/publications/trend")
    assert trend.status_code == 200 and "Simulé" in trend.text
