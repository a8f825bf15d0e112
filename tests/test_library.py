"""The questionnaire library (issue 18.3): every questionnaire, its versions, items and what changed between two
versions, for anyone signed in, as pages and through the API; the review shows the version each response uses."""

from __future__ import annotations

from typing import Any

import pytest

from convergence.core.db import unit_of_work
from convergence.questionnaires.fixtures import load_questionnaires, load_version_file
from convergence.questionnaires.versions import NEXT_VERSION_FILE
from tests.factories import csrf, page_login, token_for
from tests.test_questionnaires import enrolled_response, make_product

CODE = "socles-maturity"


@pytest.fixture
async def content(settings: Any, db: Any, cast: Any) -> None:
    """The questionnaires of fixtures/ (version 1 of each)."""
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def publish_v2(settings: Any, db: Any) -> None:
    async with unit_of_work(db) as session:
        await load_version_file(session, settings.fixtures_dir / NEXT_VERSION_FILE)


async def test_the_library_api_lists_versions_items_and_changes(client, settings, db, cast, content):
    await publish_v2(settings, db)
    for user in (cast.contributor, cast.reviewer, cast.support):  # anyone signed in
        headers = await token_for(client, user.email)
        listing = await client.get("/api/v1/library", headers=headers)
        assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["total"] == len(body["items"]) >= 7
    entry = next(e for e in body["items"] if e["code"] == CODE)
    assert (entry["latest_version"], entry["step_code"]) == (2, "doctrine-socles")
    assert [(v["version"], v["current"]) for v in entry["versions"]] == [(1, False), (2, True)]
    assert (await client.get("/api/v1/library?limit=1&offset=1", headers=headers)).json()["items"][0]["code"] \
        == body["items"][1]["code"]

    v1 = (await client.get(f"/api/v1/library/{CODE}/versions/1", headers=headers)).json()
    assert v1["versions"] == [1, 2] and v1["current"] is False
    assert "mss-volume" in {i["code"] for i in v1["items"]}
    backup = next(i for i in v1["items"] if i["code"] == "sec-backup")
    assert backup["type"] == "choice" and [o["value"] for o in backup["options"]] == ["none", "planned", "partial",
                                                                                       "full"]

    diff = (await client.get(f"/api/v1/library/{CODE}/diff?from=1&to=2", headers=headers)).json()
    assert (diff["from"], diff["to"], diff["added"], diff["removed"], diff["changed"]) == (1, 2, 2, 2, 3)
    kinds = {c["code"]: (c["kind"], c["fields"]) for c in diff["changes"]}
    assert kinds["sec-backup"] == ("changed", ["options"])
    assert kinds["hds-cert-date"] == ("changed", ["bounds"])
    assert kinds["sec-strong-auth"] == ("changed", ["label"])
    assert kinds["mss-volume"] == ("removed", []) and kinds["ins-datamatrix"] == ("added", [])
    strong = next(c for c in diff["changes"] if c["code"] == "sec-strong-auth")
    assert strong["before"]["label_fr"] != strong["after"]["label_fr"]
    assert (await client.get(f"/api/v1/library/{CODE}/diff", headers=headers)).json()["to"] == 2  # latest by default
    reverse = (await client.get(f"/api/v1/library/{CODE}/diff?from=2&to=1", headers=headers)).json()
    assert (reverse["added"], reverse["removed"]) == (2, 2)

    bad = await client.get(f"/api/v1/library/{CODE}/diff?from=7&to=2", headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_version"
    assert (await client.get(f"/api/v1/library/{CODE}/versions/9", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/library/nope/versions/1", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/library")).status_code == 401


async def test_the_library_pages(client, settings, db, cast, content):
    await publish_v2(settings, db)
    assert (await client.get("/library")).status_code in (302, 303, 401)  # signed in only
    await page_login(client, cast.contributor.email)
    index = await client.get("/library")
    assert index.status_code == 200
    assert "Bibliothèque des questionnaires" in index.text and f'href="/library/{CODE}/diff"' in index.text
    assert 'href="/library" aria-current="page"' in index.text  # the navigation's "Bibliothèque"
    assert "Les migrer toutes" not in index.text  # a contributor does not migrate

    latest = (await client.get(f"/library/{CODE}")).text
    assert "version 2" in latest and "sec-vulnerability-watch" in latest and "Un choix" in latest
    assert f"/library/{CODE}/diff?from=1&amp;to=2" in latest
    older = await client.get(f"/library/{CODE}/versions/1")
    assert older.status_code == 200 and "Version antérieure" in older.text and "mss-volume" in older.text
    assert (await client.get(f"/library/{CODE}/versions/5")).status_code == 404

    diff = await client.get(f"/library/{CODE}/diff?from=1&to=2")
    assert diff.status_code == 200
    assert "2 questions ajoutées" in diff.text and "3 questions modifiées" in diff.text
    assert "2 questions retirées" in diff.text and "Chiffrées, testées et avec une copie hors ligne" in diff.text
    partial = await client.get(f"/library/{CODE}/diff?from=2&to=1", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="diff"' in partial.text
    refused = await client.get(f"/library/{CODE}/diff?from=abc&to=2")
    assert refused.status_code == 422 and "Choisissez des versions de ce questionnaire." in refused.text


async def test_managers_see_and_migrate_their_responses_behind_from_the_library(client, settings, db, cast,
                                                                                content):
    headers = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    await publish_v2(settings, db)
    await page_login(client, cast.manager.email)
    index = (await client.get("/library")).text
    assert "1 réponse de votre société utilise une version antérieure" in index
    moved = await client.post("/library/migrate", data={"_csrf": csrf(client)})
    assert moved.status_code == 303
    assert "1 réponse est passée à la dernière version" in (await client.get(moved.headers["location"])).text
    assert (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()["questionnaire_id"] \
        != response["questionnaire_id"]
    again = await client.post("/library/migrate", data={"_csrf": csrf(client)})
    assert again.status_code == 409 and "utilisent déjà la dernière version" in again.text


async def test_the_review_shows_the_version_each_response_uses(client, settings, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    first = await make_product(db, cast.company.id)
    await enrolled_response(client, db, headers, first)
    await publish_v2(settings, db)
    second = await make_product(db, cast.company.id, "Agenda Pro")
    await enrolled_response(client, db, headers, second)
    await page_login(client, cast.reviewer.email)
    page = (await client.get("/review")).text
    assert "Version du questionnaire" in page
    assert page.count("Version antérieure") == 1 and "version 2" in page
    drill = (await client.get(f"/review/products/{first}")).text
    assert "version 1" in drill
