"""Tracks and questionnaires: enrolment, autosave with optimistic concurrency, workflow, maturity, projection."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import OutboxMessage
from convergence.products.models import Product
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.questionnaires.models import Item, Response, Step
from tests.factories import csrf, page_login, token_for


@pytest.fixture
async def content(settings, db, cast) -> None:
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def make_product(db: Any, company_id: int, name: str = "Dossier Patient", commercial_name: str | None = None,
                       created_by_id: int | None = None) -> int:
    async with unit_of_work(db) as session:
        product = Product(company_id=company_id, name=name, os="Windows", device="Website", edition="", version="2",
                          kind="base", description="", identity_key=f"{name.lower()}|windows|website||2",
                          commercial_name=commercial_name, created_by_id=created_by_id)
        session.add(product)
        await session.flush()
        return product.id


async def step_id(db: Any, code: str) -> int:
    async with db() as session:
        return await session.scalar(select(Step.id).where(Step.code == code))


async def enrolled_response(client: Any, db: Any, headers: dict, product_id: int,
                            step: str = "doctrine-socles") -> dict[str, Any]:
    response = await client.put(f"/api/v1/products/{product_id}/steps",
                                json={"step_ids": [await step_id(db, step)]}, headers=headers)
    assert response.status_code == 200, response.text
    rows = (await client.get(f"/api/v1/products/{product_id}/responses", headers=headers)).json()["items"]
    return (await client.get(f"/api/v1/responses/{rows[0]['id']}", headers=headers)).json()


async def items_of(db: Any, response_id: int) -> list[Item]:
    async with db() as session:
        response = await session.get(Response, response_id)
        return list((await session.scalars(select(Item).where(
            Item.questionnaire_id == response.questionnaire_id).order_by(Item.position))).all())


def valid_value(item: Item) -> Any:
    return {"boolean": True, "choice": item.options[-1]["value"] if item.options else None,
            "multi_choice": [o["value"] for o in item.options[:1]] if item.options else [],
            "text": "Réponse", "number": 12, "date": "2026-01-31"}[item.type]


def complete_answers(items: list[Item]) -> dict[str, Any]:
    """Answers every item with a value that also satisfies every enable_when condition it can."""
    answers: dict[str, Any] = {}
    wanted = {i.enable_when["item"]: i.enable_when for i in items if i.enable_when}
    for item in items:
        condition = wanted.get(item.code)
        if condition and "equals" in condition:
            answers[str(item.id)] = condition["equals"]
        elif condition and "in" in condition:
            answers[str(item.id)] = condition["in"][0]
        else:
            answers[str(item.id)] = valid_value(item)
    return answers


async def test_tracks_list_steps_questionnaires_and_items(client, cast, content):
    headers = await token_for(client, cast.manager.email)
    data = (await client.get("/api/v1/tracks", headers=headers)).json()
    codes = {t["code"]: [s["code"] for s in t["steps"]] for t in data["items"]}
    assert codes["doctrine"] == ["doctrine-socles", "doctrine-teleconsultation", "doctrine-teleexpertise",
                                 "doctrine-telesoin"]
    assert codes["mes"] == ["mes-without-exchange", "mes-with-exchange"]
    items = [i for t in data["items"] for s in t["steps"] for q in s["questionnaires"] for i in q["items"]]
    items += [i for q in data["global_strategy"] for i in q["items"]]
    assert len(items) >= 60
    assert {i["type"] for i in items} == {"boolean", "choice", "multi_choice", "text", "number", "date"}
    assert any("enable_when" in i for i in items)
    assert (await client.get("/api/v1/tracks")).status_code == 401


async def test_fixtures_load_is_idempotent(settings, db, content):
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) == 0


async def test_enrolment_creates_responses_and_mes_needs_commercial_name(client, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    mes = await step_id(db, "mes-without-exchange")
    refused = await client.put(f"/api/v1/products/{product}/steps", json={"step_ids": [mes]}, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "commercial_name_required"
    assert (await client.put(f"/api/v1/products/{product}/steps", json={"step_ids": [424242]},
                             headers=headers)).json()["code"] == "invalid_steps"
    assert (await client.put(f"/api/v1/products/{product}/steps", json={"step_ids": "all"},
                             headers=headers)).status_code == 422
    named = await make_product(db, cast.company.id, "Appli Patient", commercial_name="MonAppli Santé")
    ok = await client.put(f"/api/v1/products/{named}/steps", json={"step_ids": [mes]}, headers=headers)
    assert ok.status_code == 200 and ok.json()["responses"][0]["status"] == "not_started"
    rows = (await client.get(f"/api/v1/products/{named}/responses", headers=headers)).json()
    assert rows["total"] >= 1 and {r["step_id"] for r in rows["items"]} == {mes}
    assert set(rows["items"][0]) >= {"id", "questionnaire_id", "step_id", "status", "version", "maturity"}
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.put(f"/api/v1/products/{named}/steps", json={"step_ids": []},
                             headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/products/{named}/responses", headers=outsider)).status_code == 404


async def test_autosave_validates_types_and_saves_nothing_on_error(client, db, cast, content):
    headers = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    items = await items_of(db, response["id"])
    by_type = {}
    for item in items:
        by_type.setdefault(item.type, item)
    url = f"/api/v1/responses/{response['id']}/answers"
    bad_values = {"boolean": "yes", "choice": "not-an-option", "multi_choice": ["nope"], "number": "12",
                  "date": "31/01/2026", "text": 42}
    for kind, bad in bad_values.items():
        if kind not in by_type:
            continue
        good = next(i for i in items if i.type == "boolean")
        r = await client.patch(url, json={"version": 0, "answers": {str(good.id): True, str(by_type[kind].id): bad}},
                               headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid_answer", (kind, r.text)
    unknown = await client.patch(url, json={"version": 0, "answers": {"999999": True}}, headers=headers)
    assert unknown.status_code == 422
    after = (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()
    assert after["answers"] == {} and after["version"] == 0 and after["status"] == "not_started"
    saved = await client.patch(url, json={"version": 0, "answers": {str(by_type["boolean"].id): True}},
                               headers=headers)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()["status"] == "draft"


async def test_stale_version_is_409_and_says_who_saved(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, manager, await make_product(db, cast.company.id))
    item = next(i for i in await items_of(db, response["id"]) if i.type == "boolean")
    url = f"/api/v1/responses/{response['id']}/answers"
    assert (await client.patch(url, json={"version": 0, "answers": {str(item.id): True}},
                               headers=manager)).status_code == 200
    stale = await client.patch(url, json={"version": 0, "answers": {str(item.id): False}}, headers=manager)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert stale.json()["current_version"] == 1 and stale.json()["saved_by"]
    body = (await client.get(f"/api/v1/responses/{response['id']}", headers=manager)).json()
    assert body["answers"][str(item.id)] is True


async def test_concurrent_saves_never_lose_a_write(client, db, cast, content, settings):
    """Many writers, each saving a different answer with reload-and-retry on 409: every answer lands."""
    manager = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, manager, await make_product(db, cast.company.id))
    items = [i for i in await items_of(db, response["id"]) if i.type == "boolean"][:8]
    url = f"/api/v1/responses/{response['id']}/answers"
    conflicts = 0

    async def writer(item: Item) -> None:
        nonlocal conflicts
        for _ in range(50):
            version = (await client.get(f"/api/v1/responses/{response['id']}", headers=manager)).json()["version"]
            r = await client.patch(url, json={"version": version, "answers": {str(item.id): True}}, headers=manager)
            if r.status_code == 200:
                return
            assert r.status_code == 409, r.text
            conflicts += 1
        raise AssertionError("a writer never got through")

    await asyncio.gather(*(writer(i) for i in items))
    final = (await client.get(f"/api/v1/responses/{response['id']}", headers=manager)).json()
    assert all(final["answers"].get(str(i.id)) is True for i in items)
    assert final["version"] == len(items)


async def test_workflow_submit_validate_return_reopen(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    response = await enrolled_response(client, db, manager, product)
    rid = response["id"]
    items = await items_of(db, rid)
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="edit"))
    contributor = await token_for(client, cast.contributor.email)

    incomplete = await client.post(f"/api/v1/responses/{rid}/submit", headers=contributor)
    assert incomplete.status_code == 422 and incomplete.json()["code"] == "incomplete"
    assert incomplete.json()["missing"] and {"item_id", "label"} <= set(incomplete.json()["missing"][0])

    answers = complete_answers(items)
    saved = await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": answers},
                               headers=contributor)
    assert saved.status_code == 200, saved.text
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=contributor)).status_code == 200
    async with db() as session:
        mails = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "response_submitted"))).all()
    assert cast.manager.email in {m.recipient for m in mails}

    # Submitted: read-only for everyone; contributors cannot validate.
    locked = await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 2, "answers": {}},
                                headers=contributor)
    assert locked.status_code == 409 and locked.json()["code"] == "not_editable"
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=contributor)).status_code == 403
    no_comment = await client.post(f"/api/v1/responses/{rid}/return", json={"comment": ""}, headers=manager)
    assert no_comment.status_code == 422
    returned = await client.post(f"/api/v1/responses/{rid}/return", json={"comment": "Préciser l'hébergeur."},
                                 headers=manager)
    assert returned.status_code == 200 and returned.json()["status"] == "draft"
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=contributor)).status_code == 200
    validated = await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)
    assert validated.status_code == 200 and validated.json()["status"] == "validated"
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 409
    async with db() as session:
        kinds = {m.kind for m in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == cast.contributor.email))).all()}
    assert {"response_returned", "response_validated"} <= kinds
    assert (await client.post(f"/api/v1/responses/{rid}/reopen", headers=contributor)).status_code == 403
    reopened = await client.post(f"/api/v1/responses/{rid}/reopen", headers=manager)
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft" and reopened.json()["revision"] == 2
    detail = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()
    actions = [h["action"] for h in detail["history"]]
    assert actions[:5] == ["submitted", "returned", "submitted", "validated", "reopened"]
    revision = next(h for h in detail["history"] if h["action"] == "revision")
    assert revision["revision"] == 1 and revision["answers"] == detail["answers"]


async def test_validate_right_lets_a_contributor_validate(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    response = await enrolled_response(client, db, manager, product)
    rid = response["id"]
    await client.patch(f"/api/v1/responses/{rid}/answers",
                       json={"version": 0, "answers": complete_answers(await items_of(db, rid))}, headers=manager)
    await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="validate"))
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=contributor)).status_code == 200


async def test_maturity_themes_and_projection(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, manager, await make_product(db, cast.company.id))
    rid = response["id"]
    items = await items_of(db, rid)
    booleans = [i for i in items if i.type == "boolean" and i.scored and not i.enable_when]
    half = len(booleans) // 2
    answers = {str(i.id): index < half for index, i in enumerate(booleans)}
    planned_day = (date.today() + timedelta(days=90)).isoformat()
    planned = {str(booleans[-1].id): planned_day}
    saved = await client.patch(f"/api/v1/responses/{rid}/answers",
                               json={"version": 0, "answers": answers, "planned": planned}, headers=manager)
    assert saved.status_code == 200
    maturity = saved.json()["maturity"]
    assert 0 < maturity < 100
    detail = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()
    assert detail["maturity"] == maturity and detail["theme_scores"]
    assert all(0 <= v <= 100 for v in detail["theme_scores"].values())
    points = (await client.get(f"/api/v1/responses/{rid}/projection", headers=manager)).json()["points"]
    assert points[0]["maturity"] == maturity and points[-1]["date"] == planned_day
    assert points[-1]["maturity"] > maturity
    bad = await client.patch(f"/api/v1/responses/{rid}/answers",
                             json={"version": 1, "answers": {}, "planned": {str(booleans[0].id): "demain"}},
                             headers=manager)
    assert bad.status_code == 422
    page_client = client
    await page_login(page_client, cast.manager.email)
    page = await page_client.get(f"/responses/{rid}")
    assert page.status_code == 200 and "<svg" in page.text and "<polyline" in page.text


async def test_copy_answers_from_another_product(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    first = await enrolled_response(client, db, manager, await make_product(db, cast.company.id, "Premier"))
    second = await enrolled_response(client, db, manager, await make_product(db, cast.company.id, "Second"))
    answers = complete_answers(await items_of(db, first["id"]))
    await client.patch(f"/api/v1/responses/{first['id']}/answers", json={"version": 0, "answers": answers},
                       headers=manager)
    copied = await client.post(f"/api/v1/responses/{second['id']}/copy-from",
                               json={"source_response_id": first["id"], "version": 0}, headers=manager)
    assert copied.status_code == 200
    detail = (await client.get(f"/api/v1/responses/{second['id']}", headers=manager)).json()
    assert len(detail["answers"]) == len(answers)
    assert (await client.post(f"/api/v1/responses/{second['id']}/copy-from",
                              json={"source_response_id": 999999, "version": 1}, headers=manager)).status_code == 404


async def test_global_strategy_responses_and_rights(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    rows = (await client.get(f"/api/v1/companies/{cast.company.id}/responses", headers=manager)).json()
    assert rows["total"] >= 1 and rows["items"][0]["step_id"] is None
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.get(f"/api/v1/companies/{cast.company.id}/responses",
                             headers=contributor)).status_code == 403
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=None,
                                level="read"))
    assert (await client.get(f"/api/v1/companies/{cast.company.id}/responses",
                             headers=contributor)).status_code == 200
    rid = rows["items"][0]["id"]
    item = next(i for i in await items_of(db, rid) if i.type == "boolean")
    read_only = await client.patch(f"/api/v1/responses/{rid}/answers",
                                   json={"version": 0, "answers": {str(item.id): True}}, headers=contributor)
    assert read_only.status_code == 403
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.get(f"/api/v1/responses/{rid}", headers=outsider)).status_code == 404
