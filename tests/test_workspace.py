"""The questionnaire workspace over HTTP: per-item conflicts, the save protocol of static/js/workspace.js,
follow-up questions, workflow feedback, changes since the validated revision, copying answers, and transitions
that cannot overwrite each other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from convergence.accounts.models import User
from convergence.companies.team_models import MemberRight
from convergence.identity.context import Context
from convergence.core.db import unit_of_work
from convergence.core.errors import DomainError
from convergence.questionnaires.models import Item, Response
from convergence.questionnaires.services import QuestionnaireService
from tests.factories import PASSWORD, csrf, page_login, token_for
from tests.test_questionnaires import complete_answers, content, enrolled_response, items_of, make_product  # noqa: F401

JSON = {"Accept": "application/json"}


def plain_booleans(items: list[Item]) -> list[Item]:
    """Boolean questions no other question depends on, always shown."""
    sources = {i.enable_when["item"] for i in items if i.enable_when}
    return [i for i in items if i.type == "boolean" and not i.enable_when and i.code not in sources]


async def setup(client: Any, db: Any, cast: Any, level: str = "edit") -> tuple[dict, int, int, list[Item]]:
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    response = await enrolled_response(client, db, manager, product)
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level=level))
    return manager, product, response["id"], await items_of(db, response["id"])


async def test_saves_of_different_items_merge_and_report_each_other(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    contributor = await token_for(client, cast.contributor.email)
    first, second = plain_booleans(items)[:2]
    url = f"/api/v1/responses/{rid}/answers"
    mine = await client.patch(url, json={"version": 0, "answers": {str(first.id): True}}, headers=manager)
    assert mine.status_code == 200 and mine.json()["version"] == 1
    # The contributor opened the response at version 0 and answers another question: no conflict.
    theirs = await client.patch(url, json={"version": 0, "answers": {str(second.id): False}}, headers=contributor)
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["version"] == 2
    assert [c["item_id"] for c in theirs.json()["changes"]] == [first.id]
    assert theirs.json()["changes"][0]["value"] is True and theirs.json()["changes"][0]["saved_by"]
    body = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()
    assert body["answers"] == {str(first.id): True, str(second.id): False}


async def test_same_item_conflicts_with_both_values_and_keep_mine_works(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    contributor = await token_for(client, cast.contributor.email)
    item = plain_booleans(items)[0]
    url = f"/api/v1/responses/{rid}/answers"
    assert (await client.patch(url, json={"version": 0, "answers": {str(item.id): True}},
                               headers=manager)).status_code == 200
    # The same value again from an old version is no conflict: nothing to choose.
    same = await client.patch(url, json={"version": 0, "answers": {str(item.id): True}}, headers=contributor)
    assert same.status_code == 200 and same.json()["version"] == 1
    stale = await client.patch(url, json={"version": 0, "answers": {str(item.id): False}}, headers=contributor)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    conflict = stale.json()["items"][0]
    assert conflict["item_id"] == item.id and conflict["value"] is True and conflict["text"] == "Yes"
    assert conflict["saved_by"] == cast.manager.full_name and conflict["version"] == 1
    assert (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["answers"][str(item.id)] is True
    # Having seen theirs, the contributor keeps their own value.
    kept = await client.patch(url, json={"version": conflict["version"], "answers": {str(item.id): False}},
                              headers=contributor)
    assert kept.status_code == 200
    assert (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["answers"][str(item.id)] is False


async def test_a_version_from_the_future_or_negative_is_refused(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    url = f"/api/v1/responses/{rid}/answers"
    item = plain_booleans(items)[0]
    future = await client.patch(url, json={"version": 7, "answers": {str(item.id): True}}, headers=manager)
    assert future.status_code == 409 and future.json()["code"] == "stale_version"
    negative = await client.patch(url, json={"version": -1, "answers": {str(item.id): True}}, headers=manager)
    assert negative.status_code == 422


async def test_page_save_answers_json_for_the_workspace_script(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    await page_login(client, cast.contributor.email)
    page = await client.get(f"/responses/{rid}")
    assert page.status_code == 200 and 'id="workspace"' in page.text and "/static/js/workspace.js" in page.text
    item = plain_booleans(items)[0]
    headers = {**JSON, "X-CSRF-Token": csrf(client)}
    saved = await client.post(f"/responses/{rid}/answer", headers=headers,
                              data={"item_id": str(item.id), "value": "true", "version": "0", "since": "0"})
    assert saved.status_code == 200, saved.text
    data = saved.json()
    assert data["version"] == 1 and data["status"] == "draft" and data["saved_label"].startswith("Enregistré à ")
    assert item.id in data["enabled"] and data["sections"] and data["missing_count"] > 0
    assert data["maturity"].endswith("%")
    # Someone else answers the same question: the page's next save of it shows both values.
    cookies = dict(client.cookies)
    client.cookies.clear()  # the other person calls the API with a token, not this browser's session
    assert (await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 1,
                               "answers": {str(item.id): False}}, headers=manager)).status_code == 200
    client.cookies.update(cookies)
    stale = await client.post(f"/responses/{rid}/answer", headers=headers,
                              data={"item_id": str(item.id), "value": "true", "version": "1", "since": "1"})
    assert stale.status_code == 409 and stale.json()["items"][0]["text"] == "Non"
    assert stale.json()["items"][0]["label"].startswith("Modifié par ")
    bad = await client.post(f"/responses/{rid}/answer", headers=headers,
                            data={"item_id": str(item.id), "value": "peut-être", "version": "2"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_answer" and bad.json()["detail"]
    odd = await client.post(f"/responses/{rid}/answer", headers=headers,
                            data={"item_id": str(item.id), "value": "true", "version": "²"})
    assert odd.status_code == 422


async def test_signed_out_save_answers_401_json_and_keeps_nothing(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    await page_login(client, cast.contributor.email)
    token = csrf(client)
    client.cookies.delete("cv_session")
    item = plain_booleans(items)[0]
    refused = await client.post(f"/responses/{rid}/answer", headers={**JSON, "X-CSRF-Token": token},
                                data={"item_id": str(item.id), "value": "true", "version": "0"})
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
    # The sign-in dialog signs in without leaving the page and receives the new CSRF token.
    signed = await client.post("/login", headers={**JSON, "X-CSRF-Token": token},
                               data={"email": cast.contributor.email, "password": PASSWORD, "_csrf": token})
    assert signed.status_code == 200 and signed.json()["csrf_token"] == csrf(client) != token
    state = (await client.get("/session/csrf")).json()
    assert state == {"csrf_token": csrf(client), "signed_in": True}
    saved = await client.post(f"/responses/{rid}/answer", headers={**JSON, "X-CSRF-Token": csrf(client)},
                              data={"item_id": str(item.id), "value": "true", "version": "0"})
    assert saved.status_code == 200


async def test_follow_up_questions_are_in_the_page_and_appear_on_save(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    source = next(i for i in items if i.type == "boolean" and any(
        d.enable_when and d.enable_when["item"] == i.code and d.enable_when.get("equals") is True for d in items))
    dependent = next(d for d in items if d.enable_when and d.enable_when["item"] == source.code)
    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{rid}")).text
    assert f'id="item-{dependent.id}"' in page  # rendered, hidden until its condition holds
    assert f'data-item-id="{dependent.id}" data-type="{dependent.type}" data-label' in page
    saved = await client.post(f"/responses/{rid}/answer", headers={**JSON, "X-CSRF-Token": csrf(client)},
                              data={"item_id": str(source.id), "value": "true", "version": "0"})
    assert dependent.id in saved.json()["enabled"]


async def test_return_needs_a_comment_shown_next_to_the_field(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": complete_answers(items)},
                       headers=manager)
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    await page_login(client, cast.manager.email)
    refused = await client.post(f"/responses/{rid}/return", data={"_csrf": csrf(client), "comment": "  "})
    assert refused.status_code == 422 and 'id="e-comment"' in refused.text and 'aria-invalid="true"' in refused.text
    assert (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["status"] == "submitted"


async def test_transitions_say_what_happened_and_who_was_told(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    contributor = await token_for(client, cast.contributor.email)
    await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": complete_answers(items)},
                       headers=contributor)
    await page_login(client, cast.contributor.email)
    done = await client.post(f"/responses/{rid}/submit", data={"_csrf": csrf(client)})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=submit")
    page = (await client.get(done.headers["location"])).text
    assert "Soumis pour validation." in page and cast.manager.full_name in page and "Prévenu" in page


async def test_incomplete_submission_lists_missing_items_as_links(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    await page_login(client, cast.manager.email)
    refused = await client.post(f"/responses/{rid}/submit", data={"_csrf": csrf(client)})
    assert refused.status_code == 422
    required = next(i for i in items if i.required and not i.enable_when)
    assert f'href="#item-{required.id}"' in refused.text


async def test_validator_sees_changes_since_the_validated_revision(client, db, cast, content):
    manager, _product, rid, items = await setup(client, db, cast)
    answers = complete_answers(items)
    await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": answers}, headers=manager)
    for action in ("submit", "validate", "reopen"):
        assert (await client.post(f"/api/v1/responses/{rid}/{action}", headers=manager)).status_code == 200
    version = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["version"]
    text_item = next((i for i in items if i.type == "text" and not i.enable_when), None)
    changed = plain_booleans(items)[0]
    update = {str(changed.id): not answers[str(changed.id)]}
    if text_item:
        update[str(text_item.id)] = None
    await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": version, "answers": update},
                       headers=manager)
    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{rid}")).text
    assert "Modifications depuis la révision validée 1" in page
    assert 'class="tag changed"' in page and (not text_item or 'class="tag removed"' in page)


async def test_copy_lists_products_and_asks_before_replacing(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    first = await enrolled_response(client, db, manager, await make_product(db, cast.company.id, "Premier"))
    second = await enrolled_response(client, db, manager, await make_product(db, cast.company.id, "Second"))
    items = await items_of(db, first["id"])
    await client.patch(f"/api/v1/responses/{first['id']}/answers",
                       json={"version": 0, "answers": complete_answers(items)}, headers=manager)
    target_items = await items_of(db, second["id"])
    mine = plain_booleans(target_items)[0]
    source_value = complete_answers(items)[str(plain_booleans(items)[0].id)]
    await client.patch(f"/api/v1/responses/{second['id']}/answers",
                       json={"version": 0, "answers": {str(mine.id): not source_value}}, headers=manager)
    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{second['id']}")).text
    assert "Premier Windows Website" in page and "Brouillon" in page
    ask = await client.post(f"/responses/{second['id']}/copy",
                            data={"_csrf": csrf(client), "source_response_id": str(first["id"]), "version": "1"})
    assert ask.status_code == 200 and 'id="copy-confirm"' in ask.text
    async with db() as session:
        assert (await session.get(Response, second["id"])).answers == {str(mine.id): not source_value}
    done = await client.post(f"/responses/{second['id']}/copy", data={
        "_csrf": csrf(client), "source_response_id": str(first["id"]), "version": "1", "confirm": "yes"})
    assert done.status_code == 303
    page = (await client.get(done.headers["location"])).text
    assert "réponses copiées" in page
    async with db() as session:
        row = await session.scalar(select(Response).where(Response.id == second["id"]))
        assert row.answers[str(mine.id)] == source_value and len(row.answers) == len(complete_answers(items))


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between reading a response and writing it, so that concurrent changes really overlap."""
    read = QuestionnaireService._response

    async def slow(self: QuestionnaireService, *args: Any, **kwargs: Any) -> Any:
        found = await read(self, *args, **kwargs)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(QuestionnaireService, "_response", slow)


async def act(db: Any, settings: Any, user_id: int, change: Any) -> str:
    """One person's change in a transaction of its own, as a request would make it."""
    try:
        async with unit_of_work(db) as session:
            service = QuestionnaireService(Context(session=session, settings=settings,
                                                   actor=await session.get(User, user_id)))
            await change(service)
    except DomainError as exc:
        return exc.code
    return "ok"


async def test_validate_and_return_at_the_same_moment_never_both_succeed(client, db, cast, content, settings,
                                                                         slow_reads):
    manager, _product, rid, items = await setup(client, db, cast, level="validate")
    url = f"/api/v1/responses/{rid}"
    await client.patch(f"{url}/answers", json={"version": 0, "answers": complete_answers(items)}, headers=manager)
    for _round in range(3):
        assert (await client.post(f"{url}/submit", headers=manager)).status_code == 200
        before = (await client.get(url, headers=manager)).json()["version"]
        outcomes = await asyncio.gather(
            act(db, settings, cast.manager.id, lambda s: s.validate(rid)),
            act(db, settings, cast.contributor.id, lambda s: s.return_for_changes(rid, "Précisez l'hébergement.")))
        assert sorted(outcomes) in (["invalid_transition", "ok"], ["ok", "stale_version"]), outcomes
        after = (await client.get(url, headers=manager)).json()
        assert after["version"] == before + 1  # exactly one of them was applied
        assert after["status"] == ("validated" if outcomes[0] == "ok" else "draft")
        if after["status"] == "validated":
            assert (await client.post(f"{url}/reopen", headers=manager)).status_code == 200


async def test_a_save_and_a_submit_at_the_same_moment_never_leave_a_gap(client, db, cast, content, settings,
                                                                       slow_reads):
    manager, _product, rid, items = await setup(client, db, cast)
    url = f"/api/v1/responses/{rid}"
    answers = complete_answers(items)
    required = str(next(i for i in items if i.required and not i.enable_when).id)
    await client.patch(f"{url}/answers", json={"version": 0, "answers": answers}, headers=manager)
    for _round in range(3):
        version = (await client.get(url, headers=manager)).json()["version"]
        outcomes = await asyncio.gather(
            act(db, settings, cast.manager.id, lambda s: s.save_answers(rid, version, {required: None})),
            act(db, settings, cast.contributor.id, lambda s: s.submit(rid)))
        assert outcomes != ["ok", "ok"], outcomes
        state = (await client.get(url, headers=manager)).json()
        if state["status"] == "submitted":
            assert required in state["answers"]
            await client.post(f"{url}/return", json={"comment": "Encore."}, headers=manager)
        version = (await client.get(url, headers=manager)).json()["version"]
        await client.patch(f"{url}/answers", json={"version": version, "answers": {required: answers[required]}},
                           headers=manager)
