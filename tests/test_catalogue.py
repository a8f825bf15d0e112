"""The public Mon Espace Santé catalogue (issue 17, point 4): which applications are listed, search that ignores
accents and case on both databases, filters, stable paging, one page per entry, and nothing private shown."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from convergence.core.db import unit_of_work
from convergence.core.i18n import gettext, set_language
from convergence.referencing.categories import CATEGORIES
from convergence.referencing.models import ReferencingApplication
from tests.factories import make_company, page_login
from tests.test_questionnaires import content, make_product  # noqa: F401 - fixture

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
PUBLIC_FIELDS = {"id", "commercial_name", "company_name", "category", "category_label", "step_code", "step_title",
                 "description", "referenced_since", "flagged"}
SECRET = "contact-prive@editeur.example"


async def file_application(db: Any, company_id: int, product_id: int, *, status: str = "referenced",
                           name: str = "Mon Suivi", description: str = "Un service pour suivre sa santé.",
                           category: str = "prevention", step: str = "mes-without-exchange",
                           filed_at: datetime = NOW, decided_at: datetime | None = None,
                           flagged: bool = False, user_id: int | None = None) -> int:
    """An application written straight to the database, in the state asked (referencing domain)."""
    decided = status in ("referenced", "refused")
    async with unit_of_work(db) as session:
        application = ReferencingApplication(
            company_id=company_id, product_id=product_id, step_code=step, status=status,
            open_key=None if decided else f"{product_id}:{step}", commercial_name=name, description=description,
            category=category, contact_name="Camille Secret", contact_email=SECRET, contact_phone="+33 1 23 45 67 89",
            snapshot={"chapter-secret": {"answers": {"q": "réponse gelée confidentielle"}}}, filed_by_id=user_id,
            filed_at=filed_at, assignee_id=user_id, decided_by_id=user_id if decided else None,
            decided_at=(decided_at or filed_at + timedelta(days=3)) if decided else None,
            decision_reasons="motif interne" if decided else None,
            flagged_at=filed_at + timedelta(days=10) if flagged else None,
            flag_reason="nouvelle version" if flagged else None)
        session.add(application)
        await session.flush()
        return application.id


@pytest.fixture
async def listed(db, cast, content) -> dict[str, int]:  # noqa: F811 - the content fixture
    """A small catalogue: three referenced entries (one flagged), and applications that must not show."""
    company = cast.company.id
    ids = {}
    elan = await make_product(db, company, "Elan")
    ids["elan"] = await file_application(db, company, elan, name="Élan Santé", category="prevention",
                                         description="Conseils de prévention au quotidien.")
    coach = await make_product(db, company, "Coach")
    ids["coach"] = await file_application(db, company, coach, name="Mon Coach Diabète", category="chronic",
                                          description="Le suivi du diabète et de l'œdème, jour après jour.",
                                          step="mes-with-exchange", flagged=True)
    other = cast.other_company.id
    rdv = await make_product(db, other, "Rdv")
    ids["rdv"] = await file_application(db, other, rdv, name="RDV Facile", category="appointments")
    pending = await make_product(db, company, "Pending")
    ids["pending"] = await file_application(db, company, pending, status="under_review", name="Pas Encore")
    refused = await make_product(db, other, "Refused")
    ids["refused"] = await file_application(db, other, refused, status="refused", name="Refusé Ici")
    return ids


def french(message: str) -> str:
    set_language("fr")
    try:
        return gettext(message)
    finally:
        set_language("en")


async def names(client: Any, **params: Any) -> list[str]:
    response = await client.get("/api/v1/catalogue", params=params)
    assert response.status_code == 200, response.text
    return [e["commercial_name"] for e in response.json()["items"]]


async def test_lists_only_referenced_applications_by_name(client, listed) -> None:
    body = (await client.get("/api/v1/catalogue")).json()
    assert [e["commercial_name"] for e in body["items"]] == ["Élan Santé", "Mon Coach Diabète", "RDV Facile"]
    assert body["total"] == 3
    coach = next(e for e in body["items"] if e["id"] == listed["coach"])
    assert coach["flagged"] is True and coach["company_name"] == "Santé Connectée SAS"
    assert coach["step_code"] == "mes-with-exchange" and coach["category"] == "chronic"
    assert coach["category_label"] == "Chronic disease follow-up"
    assert coach["step_title"] == "Listing with data exchange"
    assert coach["referenced_since"].startswith("2026-11-05")


@pytest.mark.parametrize("words, expected", [
    ("elan", ["Élan Santé"]), ("ÉLAN", ["Élan Santé"]), ("élan sante", ["Élan Santé"]),
    ("diabete", ["Mon Coach Diabète"]), ("DIABÈTE", ["Mon Coach Diabète"]),
    ("oedeme", ["Mon Coach Diabète"]), ("l'œdème", ["Mon Coach Diabète"]),  # the description, ligature folded
    ("sante connectee", ["Élan Santé", "Mon Coach Diabète"]),  # the vendor's name
    ("autre editeur", ["RDV Facile"]), ("prévention", ["Élan Santé"]),
    ("coach rdv", []),  # every word must match
    ("pas encore", []), ("refuse", []),  # not referenced
    ("100%_", []), ("_", []),  # LIKE's characters are plain text
    ("%", ["Élan Santé", "Mon Coach Diabète", "RDV Facile"]),  # no word: no filter
])
async def test_search_ignores_accents_and_case(client, listed, words, expected) -> None:
    assert await names(client, q=words) == expected


async def test_filters_by_category_and_step(client, listed) -> None:
    assert await names(client, category="chronic") == ["Mon Coach Diabète"]
    assert await names(client, step="mes-without-exchange") == ["Élan Santé", "RDV Facile"]
    assert await names(client, step="mes-without-exchange", category="appointments", q="facile") == ["RDV Facile"]
    for params, field in (({"category": "astrology"}, "category"), ({"step": "doctrine-socles"}, "step"),
                          ({"q": "x" * 201}, "q")):
        response = await client.get("/api/v1/catalogue", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_filter" and response.json()["detail"].startswith(
            {"category": "Choose a category", "step": "Choose a Mon Espace", "q": "Search at most"}[field])
    page = await client.get("/catalogue", params={"category": "astrology"})
    assert page.status_code == 422 and 'href="#f-category"' in page.text


async def test_a_referenced_entry_stays_through_later_applications(client, db, cast, listed) -> None:
    company = cast.company.id
    product = await make_product(db, company, "Renewed")
    first = await file_application(db, company, product, name="Premier Nom", filed_at=NOW - timedelta(days=60),
                                   decided_at=NOW - timedelta(days=50))
    await file_application(db, company, product, status="refused", name="Nom Refusé", filed_at=NOW - timedelta(days=40))
    await file_application(db, company, product, status="info_requested", name="Nom En Cours",
                           filed_at=NOW - timedelta(days=30))
    assert "Premier Nom" in await names(client)
    assert not {"Nom Refusé", "Nom En Cours"} & set(await names(client))
    # A newer referenced application replaces it, and its first referencing date is kept.
    second = await file_application(db, company, product, name="Second Nom", filed_at=NOW - timedelta(days=20),
                                    decided_at=NOW - timedelta(days=10))
    listing = await names(client)
    assert "Second Nom" in listing and "Premier Nom" not in listing and len(listing) == 4
    entry = (await client.get(f"/api/v1/catalogue/{first}")).json()
    assert entry["id"] == second and entry["referenced_since"].startswith((NOW - timedelta(days=50)).date().isoformat())
    page = await client.get(f"/catalogue/{first}")
    assert page.status_code == 301 and page.headers["location"] == f"/catalogue/{second}"


async def test_unknown_and_unreferenced_ids_answer_404(client, listed) -> None:
    for entry_id in (listed["pending"], listed["refused"], 999_999):
        api = await client.get(f"/api/v1/catalogue/{entry_id}")
        assert api.status_code == 404 and api.json()["code"] == "not_found", entry_id
        assert (await client.get(f"/catalogue/{entry_id}")).status_code == 404
    assert (await client.get("/api/v1/catalogue/99999999999999999999")).status_code in (404, 422)


async def test_paging_is_stable_and_complete(client, db, cast, content) -> None:  # noqa: F811
    company = cast.company.id
    created = []
    for index in range(23):
        product = await make_product(db, company, f"P{index}")
        # Same names in different cases and accents: the order must still be total (id breaks ties).
        name = ("écho" if index % 3 == 0 else "Echo" if index % 3 == 1 else "zèbre") + f" {index % 5}"
        created.append(await file_application(db, company, product, name=name,
                                              category="other" if index % 2 else "telehealth"))
    seen = []
    for offset in range(0, 30, 7):
        body = (await client.get("/api/v1/catalogue", params={"limit": 7, "offset": offset})).json()
        assert body["total"] == 23 and body["limit"] == 7 and body["offset"] == offset
        seen += body["items"]
    assert sorted(e["id"] for e in seen) == sorted(created)
    keys = [(e["commercial_name"].lower().replace("é", "e").replace("è", "e"), e["id"]) for e in seen]
    assert keys == sorted(keys)
    assert (await client.get("/api/v1/catalogue", params={"limit": 0})).status_code in (400, 422)
    assert (await client.get("/api/v1/catalogue", params={"offset": -1})).status_code in (400, 422)
    # The pages: 20 a page, the pager keeps the filters.
    page = await client.get("/catalogue", params={"category": "other", "page": 1})
    assert page.status_code == 200 and "11 services" in page.text.replace("\u202f", " ")
    two = await client.get("/catalogue", params={"page": 2})
    assert two.status_code == 200 and two.text.count('class="card catalogue-entry"') == 3
    assert (await client.get("/catalogue", params={"page": "x"})).status_code == 200


async def test_nothing_private_leaks(client, listed) -> None:
    body = (await client.get("/api/v1/catalogue")).json()
    for entry in body["items"]:
        assert set(entry) == PUBLIC_FIELDS
    one = await client.get(f"/api/v1/catalogue/{listed['elan']}")
    assert set(one.json()) == PUBLIC_FIELDS
    for url in ("/catalogue", f"/catalogue/{listed['elan']}", "/api/v1/catalogue", f"/api/v1/catalogue/{listed['coach']}"):
        text = (await client.get(url)).text
        for secret in (SECRET, "Camille Secret", "23 45 67", "confidentielle", "motif interne", "nouvelle version"):
            assert secret not in text, (url, secret)


async def test_pages_for_visitors_and_signed_in_users(client, cast, listed) -> None:
    anonymous = await client.get("/catalogue")
    assert anonymous.status_code == 200
    assert "Élan Santé" in anonymous.text and "Pas Encore" not in anonymous.text
    assert 'href="/catalogue"' in anonymous.text  # in the navigation
    entry = await client.get(f"/catalogue/{listed['coach']}")
    assert entry.status_code == 200
    for text in ("Mon Coach Diabète", "Santé Connectée SAS", french(CATEGORIES["chronic"]),
                 "Référencement avec échange de données", "Référencé depuis", "5 nov. 2026",
                 "Référencement en cours de réexamen"):
        assert text in entry.text, text
    assert "réexamen" not in (await client.get(f"/catalogue/{listed['elan']}")).text
    partial = await client.get("/catalogue", params={"q": "rdv"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "RDV Facile" in partial.text
    assert "Élan Santé" not in partial.text
    await page_login(client, cast.manager.email)
    signed_in = await client.get("/catalogue", params={"q": "élan"})
    assert signed_in.status_code == 200 and "Élan Santé" in signed_in.text
    assert (await client.get(f"/api/v1/catalogue/{listed['rdv']}")).status_code == 200


async def test_french_labels_in_the_api(client, listed) -> None:
    body = (await client.get(f"/api/v1/catalogue/{listed['elan']}", headers={"Accept-Language": "fr"})).json()
    assert body["category_label"] == french("Prevention and well-being") != "Prevention and well-being"
    assert body["step_title"] == "Référencement sans échange de données"


async def test_a_company_without_entries_is_not_listed(client, db, listed) -> None:
    async with unit_of_work(db) as session:
        await make_company(session, "Éditeur Sans Référencement")
    assert "Éditeur Sans Référencement" not in (await client.get("/catalogue")).text
