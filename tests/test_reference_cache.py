"""Reference data cached per process (core/reference.py, questionnaires/reference.py): a change made through the
database — by another server, fixtures loaded — is seen at the next request of every process, and an autosave
runs the few statements its guarantees need."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from convergence.app import create_app
from convergence.core.db import unit_of_work
from convergence.questionnaires.models import Item
from tests.conftest import BASE_URL
from tests.factories import page_login, token_for
from tests.test_questionnaires import content, enrolled_response, items_of, make_product  # noqa: F401


async def test_a_change_made_through_another_server_is_seen_at_once(client, db, settings, cast, content):
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    rid = (await enrolled_response(client, db, manager, product))["id"]
    first = (await items_of(db, rid))[0]
    # A second server on the same database (its own app; the cache is the process's, the stamp the database's).
    async with AsyncTestClient(app=create_app(settings), base_url=BASE_URL) as other:
        other.follow_redirects = False
        await page_login(client, cast.manager.email)
        await page_login(other, cast.manager.email)
        for server in (client, other):
            page = await server.get(f"/responses/{rid}")
            assert page.status_code == 200 and first.label_fr in page.text
        # Fixtures loaded elsewhere change the question (as a bounds update does): no server is told.
        async with unit_of_work(db) as session:
            item = await session.get(Item, first.id)
            item.label_fr = "Libellé publié par un autre serveur"
        for server in (client, other):
            page = await server.get(f"/responses/{rid}")
            assert "Libellé publié par un autre serveur" in page.text
            assert first.label_fr not in page.text
        # A row added (a new questionnaire version's item) moves the stamp as well.
        async with unit_of_work(db) as session:
            session.add(Item(questionnaire_id=first.questionnaire_id, code="added-later", position=999,
                             theme=first.theme, type="boolean", label_fr="Question ajoutée", label_en="Added",
                             required=False))
        page = await other.get(f"/responses/{rid}")
        assert "Question ajoutée" in page.text


async def test_an_autosave_runs_five_statements_or_fewer(client, db, cast, content):
    """Authentication (token, user, terms version, reference stamp), the response with its product's creator,
    the compare-and-set, the audit event; on SQLite the BEGIN IMMEDIATE that takes the write lock."""
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    rid = (await enrolled_response(client, db, manager, product))["id"]
    text_item = next(i for i in await items_of(db, rid) if i.type == "text" and not i.enable_when)
    url = f"/api/v1/responses/{rid}/answers"
    version = (await client.patch(url, json={"version": 0, "answers": {str(text_item.id): "warm"}},
                                  headers=manager)).json()["version"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:60])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        saved = await client.patch(url, json={"version": version, "answers": {str(text_item.id): "réponse"}},
                                   headers=manager)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert saved.status_code == 200, saved.text
    assert len(seen) <= 5, seen
    assert sum(s.startswith("UPDATE response") for s in seen) == 1
    assert sum(s.startswith("INSERT INTO audit_event") for s in seen) == 1
    # The questionnaire's items come from the cache, the product's creator with the response.
    assert not [s for s in seen if s.startswith(("SELECT item", "SELECT questionnaire", "SELECT product"))], seen
