"""Questionnaire versions (issue 18.3): a new version loaded keeps responses on theirs; a manager migrates them
(answers by item code, new and changed questions flagged until answered or confirmed, removed answers kept, the
migration in the history); idempotence and refusals; who may; the simulation's share of migrated responses."""

from __future__ import annotations

import dataclasses
import random
import shutil
from typing import Any

import pytest

from sqlalchemy import select

from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent
from convergence.questionnaires.fixtures import load_questionnaires, load_version_file
from convergence.questionnaires.models import Item, Questionnaire, Response, ResponseMigration
from convergence.questionnaires.versions import NEXT_VERSION_FILE, simulate_versions
from tests.conftest import ROOT
from tests.factories import csrf, page_login, token_for
from tests.test_questionnaires import complete_answers, enrolled_response, make_product

CODE = "socles-maturity"
NEXT = ROOT / "fixtures" / NEXT_VERSION_FILE


@pytest.fixture
async def content(settings: Any, db: Any, cast: Any) -> None:
    """The questionnaires of fixtures/ (version 1 of each)."""
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def publish_v2(settings: Any, db: Any) -> None:
    async with unit_of_work(db) as session:
        assert await load_version_file(session, settings.fixtures_dir / NEXT_VERSION_FILE) == 1


async def items_by_code(db: Any, version: int) -> dict[str, Item]:
    async with db() as session:
        q = await session.scalar(select(Questionnaire).where(Questionnaire.code == CODE,
                                                            Questionnaire.version == version))
        return {i.code: i for i in q.items}


async def answered_v1(client: Any, db: Any, headers: dict[str, str], product: int) -> dict[str, Any]:
    """A response to version 1 with every question answered, the HDS date before 2018 (refused by version 2)."""
    response = await enrolled_response(client, db, headers, product)
    items = await items_by_code(db, 1)
    answers = complete_answers(list(items.values()))
    answers[str(items["hds-cert-date"].id)] = "2015-06-01"
    answers[str(items["sec-backup"].id)] = "full"
    answers[str(items["eth-comments"].id)] = "Charte éthique publiée."
    saved = await client.patch(f"/api/v1/responses/{response['id']}/answers", headers=headers,
                               json={"version": response["version"], "answers": answers})
    assert saved.status_code == 200, saved.text
    return (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()


async def test_fixtures_load_adds_a_new_version_and_keeps_responses_on_theirs(client, settings, db, cast, content,
                                                                               tmp_path):
    headers = await token_for(client, cast.manager.email)
    before = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    # `convergence fixtures load` with the new version dropped into fixtures/questionnaires/versions/.
    folder = tmp_path / "fixtures" / "questionnaires"
    (folder / "versions").mkdir(parents=True)
    shutil.copy(ROOT / "fixtures" / "questionnaires" / "questionnaires.yaml", folder)
    shutil.copy(NEXT, folder / "versions")
    published = dataclasses.replace(settings, root=tmp_path)
    async with unit_of_work(db) as session:
        assert await load_questionnaires(published, session) == 1
    async with unit_of_work(db) as session:
        assert await load_questionnaires(published, session) == 0  # idempotent
        versions = (await session.execute(select(Questionnaire.version, Questionnaire.current).where(
            Questionnaire.code == CODE).order_by(Questionnaire.version))).all()
        assert [tuple(v) for v in versions] == [(1, False), (2, True)]
    after = (await client.get(f"/api/v1/responses/{before['id']}", headers=headers)).json()
    assert after["questionnaire_id"] == before["questionnaire_id"]  # still on version 1
    # A new enrolment gets the latest version.
    fresh = await enrolled_response(client, db, headers, await make_product(db, cast.company.id, "Agenda Pro"))
    async with db() as session:
        assert (await session.get(Questionnaire, fresh["questionnaire_id"])).version == 2


async def test_an_older_version_loaded_late_does_not_replace_the_current_one(settings, db, content):
    await publish_v2(settings, db)
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) == 0
        current = await session.scalar(select(Questionnaire.version).where(Questionnaire.code == CODE,
                                                                           Questionnaire.current.is_(True)))
    assert current == 2


async def test_migration_carries_answers_by_code_flags_new_and_changed_and_keeps_removed(client, settings, db, cast,
                                                                                        content):
    headers = await token_for(client, cast.manager.email)
    v1 = await answered_v1(client, db, headers, await make_product(db, cast.company.id))
    await publish_v2(settings, db)
    old, new = await items_by_code(db, 1), await items_by_code(db, 2)

    migrated = await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=headers)
    assert migrated.status_code == 200, migrated.text
    body = migrated.json()
    assert (body["from_version"], body["to_version"], body["status"]) == (1, 2, "draft")
    assert body["back_to_draft"] is False
    flags = {f["code"]: f["kind"] for f in body["flagged"]}
    assert flags == {"sec-vulnerability-watch": "new", "ins-datamatrix": "new", "sec-strong-auth": "changed",
                     "sec-backup": "changed", "hds-cert-date": "changed"}
    removed = {r["code"]: r["reason"] for r in body["removed"]}
    assert removed == {"mss-volume": "removed", "eth-comments": "removed", "hds-cert-date": "no_longer_accepted"}

    after = (await client.get(f"/api/v1/responses/{v1['id']}", headers=headers)).json()
    assert after["questionnaire_id"] == new["sec-strong-auth"].questionnaire_id
    for code, item in new.items():  # every answer carried over by code, under the new item's id
        if code in old and code != "hds-cert-date":
            assert after["answers"].get(str(item.id)) == v1["answers"].get(str(old[code].id)), code
    assert str(new["hds-cert-date"].id) not in after["answers"]
    assert body["carried"] == len(after["answers"])
    assert "migrated" in [h["action"] for h in after["history"]]
    async with db() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "response.migrated"))
        assert event.actor_id == cast.manager.id and event.data["removed"] == sorted(removed)

    # Idempotent: once on the latest version, a second migration is refused and changes nothing.
    again = await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "already_latest"
    assert "latest version" in again.json()["detail"]
    async with db() as session:
        assert len((await session.scalars(select(ResponseMigration))).all()) == 1

    # The workspace tags the flagged questions (French by default).
    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert "Nouvelle question" in page and "Question modifiée" in page
    assert "Migrée de la version 1 à la version 2" in page

    # Answering a new question clears its flag; confirming a changed one clears it too.
    watch, strong = new["sec-vulnerability-watch"], new["sec-strong-auth"]
    saved = await client.patch(f"/api/v1/responses/{v1['id']}/answers", headers=headers,
                               json={"version": after["version"], "answers": {str(watch.id): True}})
    assert saved.status_code == 200, saved.text
    confirmed = await client.post(f"/api/v1/responses/{v1['id']}/confirm", headers=headers,
                                  json={"item_id": strong.id})
    assert confirmed.status_code == 200, confirmed.text
    left = {f["code"] for f in confirmed.json()["flags"]}
    assert left == {"ins-datamatrix", "sec-backup", "hds-cert-date"}
    twice = await client.post(f"/api/v1/responses/{v1['id']}/confirm", headers=headers, json={"item_id": strong.id})
    assert {f["code"] for f in twice.json()["flags"]} == left
    bad = await client.post(f"/api/v1/responses/{v1['id']}/confirm", headers=headers, json={"item_id": 987654})
    assert bad.status_code == 422
    # The page's confirmation form does the same for a contributor's browser.
    backup = new["sec-backup"]
    confirm = await client.post(f"/responses/{v1['id']}/confirm", data={"_csrf": csrf(client), "item_id": backup.id})
    assert confirm.status_code == 303
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert page.count("Question modifiée") == 2  # hds-cert-date: in the summary and at the question


async def test_a_validated_response_goes_back_to_draft_and_a_submitted_one_waits(client, settings, db, cast,
                                                                                content):
    headers = await token_for(client, cast.manager.email)
    v1 = await answered_v1(client, db, headers, await make_product(db, cast.company.id))
    assert (await client.post(f"/api/v1/responses/{v1['id']}/submit", headers=headers)).status_code == 200
    await publish_v2(settings, db)
    waiting = await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=headers)
    assert waiting.status_code == 409 and waiting.json()["code"] == "awaiting_validation"
    assert (await client.get(f"/api/v1/responses/{v1['id']}", headers=headers)).json()["status"] == "submitted"
    assert (await client.post(f"/api/v1/responses/{v1['id']}/validate", headers=headers)).status_code == 200

    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert "Migrer vers la version 2" in page and "redevenir un brouillon" in page
    moved = await client.post(f"/responses/{v1['id']}/migrate", data={"_csrf": csrf(client)})
    assert moved.status_code == 303
    after = (await client.get(f"/api/v1/responses/{v1['id']}", headers=headers)).json()
    assert (after["status"], after["revision"]) == ("draft", 2)
    revisions = [h for h in after["history"] if h["action"] == "revision"]
    assert revisions and revisions[0]["answers"] == v1["answers"]  # the validated answers kept
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert "repassée en brouillon" in page


async def test_who_may_migrate(client, settings, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    v1 = await answered_v1(client, db, manager, product)
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="validate"))
    await publish_v2(settings, db)
    contributor = await token_for(client, cast.contributor.email)
    refused = await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=contributor)
    assert refused.status_code == 403
    assert (await client.post(f"/api/v1/products/{product}/migrate", headers=contributor)).status_code == 403
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/products/{product}/migrate", headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/companies/{cast.company.id}/migrate", headers=outsider)).status_code == 404
    reviewer = await token_for(client, cast.reviewer.email)
    assert (await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=reviewer)).status_code == 403
    async with db() as session:
        assert (await session.get(Response, v1["id"])).questionnaire_id == v1["questionnaire_id"]  # nothing moved
    # The contributor's page offers no migration, the manager's does.
    await page_login(client, cast.contributor.email)
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert "Un responsable de votre société peut la migrer" in page and "Migrer vers la version 2" not in page


async def test_bulk_migration_of_a_product_and_of_the_company(client, settings, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    first, second = await make_product(db, cast.company.id), await make_product(db, cast.company.id, "Agenda Pro")
    a = await answered_v1(client, db, headers, first)
    b = await answered_v1(client, db, headers, second)
    assert (await client.post(f"/api/v1/responses/{b['id']}/submit", headers=headers)).status_code == 200
    await publish_v2(settings, db)

    await page_login(client, cast.manager.email)
    listing = (await client.get(f"/products/{first}/questionnaires")).text
    assert "Version antérieure" in listing
    moved = await client.post(f"/products/{first}/questionnaires/migrate", data={"_csrf": csrf(client)})
    assert moved.status_code == 303
    assert "réponse est passée à la dernière version" in (await client.get(moved.headers["location"])).text

    # The company: the submitted response waits; nothing else is behind.
    waiting = await client.post(f"/api/v1/companies/{cast.company.id}/migrate", headers=headers)
    assert waiting.status_code == 409 and waiting.json()["code"] == "awaiting_validation"
    assert (await client.post(f"/api/v1/responses/{b['id']}/return", headers=headers,
                              json={"comment": "Précisez la sauvegarde."})).status_code == 200
    done = await client.post(f"/api/v1/companies/{cast.company.id}/migrate", headers=headers)
    assert done.status_code == 200, done.text
    assert [m["response_id"] for m in done.json()["migrated"]] == [b["id"]]
    assert (await client.post(f"/api/v1/companies/{cast.company.id}/migrate", headers=headers)).status_code == 409
    again = await client.post(f"/api/v1/products/{first}/migrate", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "already_latest"
    assert a["id"] != b["id"]


async def test_simulation_migrates_some_responses_and_leaves_others(client, settings, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    ids = []
    for index in range(8):
        ids.append((await enrolled_response(client, db, headers,
                                            await make_product(db, cast.company.id, f"Produit {index}")))["id"])
    async with unit_of_work(db) as session:
        migrated = await simulate_versions(session, random.Random(3), settings)
    assert 0 < migrated < len(ids)
    async with db() as session:
        versions = [(await session.get(Response, i)).questionnaire.version for i in ids]
        assert versions.count(2) == migrated and versions.count(1) == len(ids) - migrated
        assert len((await session.scalars(select(ResponseMigration))).all()) == migrated


async def test_a_response_without_answers_is_migrated_without_flags(client, settings, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    await publish_v2(settings, db)
    body = (await client.post(f"/api/v1/responses/{response['id']}/migrate", headers=headers)).json()
    assert body["flagged"] == [] and body["removed"] == [] and body["status"] == "not_started"
