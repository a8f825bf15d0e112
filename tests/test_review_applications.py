"""The referencing applications queue of the ANS review (issue 17, point 5): open applications first, the
longest waiting at the top, filters by status and assignee ("mine"), the median time from filing to decision
(computed by each database), a fixed number of statements, and ANS only."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, literal_column, select

from convergence.core.db import unit_of_work
from convergence.core.models import utcnow
from convergence.products.models import Product
from convergence.referencing.models import AppStatus, referencing_queue_count
from convergence.review import applications
from convergence.review.applications import App
from tests.factories import page_login, token_for
from tests.test_catalogue import file_application
from tests.test_questionnaires import content, make_product  # noqa: F401 - fixture


@pytest.fixture
async def queue(db, cast, content) -> dict[str, int]:  # noqa: F811 - the content fixture
    now = utcnow()
    company, other = cast.company.id, cast.other_company.id
    ids: dict[str, int] = {}

    async def product(name: str, owner: int) -> int:
        return await make_product(db, owner, name)

    ids["old_filed"] = await file_application(db, company, await product("A", company), status="filed",
                                              name="Ancien Dépôt", filed_at=now - timedelta(days=12))
    ids["mine"] = await file_application(db, other, await product("B", other), status="under_review",
                                         name="À Moi", filed_at=now - timedelta(days=5), user_id=cast.reviewer.id)
    ids["info"] = await file_application(db, company, await product("C", company), status="info_requested",
                                         name="Infos Demandées", filed_at=now - timedelta(days=8),
                                         user_id=cast.reviewer.id)
    # Decided in 2, 4 and 10 days: the median is 4 days.
    for key, days, status in (("two", 2, "referenced"), ("four", 4, "refused"), ("ten", 10, "referenced")):
        filed = now - timedelta(days=30)
        ids[key] = await file_application(db, company, await product(key, company), status=status,
                                          name=f"Décidé {days}", filed_at=filed,
                                          decided_at=filed + timedelta(days=days))
    return ids


async def test_queue_orders_filters_and_measures(client, cast, queue) -> None:
    headers = await token_for(client, cast.reviewer.email)
    body = (await client.get("/api/v1/review/applications", headers=headers)).json()
    assert [r["id"] for r in body["items"]] == [queue["old_filed"], queue["info"], queue["mine"]]
    assert body["total"] == 3
    oldest = body["items"][0]
    assert oldest["status"] == "filed" and oldest["assignee_id"] is None and oldest["assignee_name"] is None
    assert 11.9 <= oldest["age_days"] <= 12.1 and oldest["company_name"] == "Santé Connectée SAS"
    assert oldest["step_title"] == "Listing without data exchange" and oldest["product_name"].startswith("A ")
    summary = body["summary"]
    assert summary["median_decision_days"] == 4.0 and summary["decided"] == 3
    assert summary["open"] == 3 and summary["unassigned"] == 1 and summary["mine"] == 2
    assert summary["counts"] == {"filed": 1, "under_review": 1, "info_requested": 1, "referenced": 2, "refused": 1}

    async def ids(**params: str) -> list[int]:
        response = await client.get("/api/v1/review/applications", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await ids(assignee="me") == [queue["info"], queue["mine"]]
    assert await ids(assignee="none") == [queue["old_filed"]]
    assert await ids(assignee=str(cast.reviewer.id), status="under_review") == [queue["mine"]]
    assert await ids(status="referenced") == [queue["two"], queue["ten"]]
    assert len(await ids(status="all")) == 6
    assert await ids(status="all", limit="2", offset="4") == [queue["four"], queue["ten"]]
    decided = (await client.get("/api/v1/review/applications", params={"status": "refused"},
                                headers=headers)).json()["items"][0]
    assert decided["age_days"] == 4.0 and decided["decided_at"] is not None
    for params, sentence in (({"status": "lost"}, "Choose a status"), ({"assignee": "bob"}, "Choose a reviewer"),
                             ({"limit": "0"}, "The limit"), ({"offset": "-3"}, "The offset")):
        response = await client.get("/api/v1/review/applications", params=params, headers=headers)
        assert response.status_code == 422 and response.json()["detail"].startswith(sentence), params


async def test_median_with_an_even_count_and_with_none(client, db, cast, content) -> None:  # noqa: F811
    headers = await token_for(client, cast.support.email)
    summary = (await client.get("/api/v1/review/applications", headers=headers)).json()["summary"]
    assert summary["median_decision_days"] is None and summary["decided"] == 0
    page = await page_login_and_get(client, cast.reviewer.email, "/review")
    assert "Délai médian entre dépôt et décision" in page and "—" in page
    now = utcnow()
    for days in (1, 3):
        filed = now - timedelta(days=20)
        await file_application(db, cast.company.id, await make_product(db, cast.company.id, f"M{days}"),
                               status="referenced", filed_at=filed, decided_at=filed + timedelta(days=days))
    summary = (await client.get("/api/v1/review/applications", headers=headers)).json()["summary"]
    assert summary["median_decision_days"] == 2.0


async def page_login_and_get(client, email: str, url: str) -> str:
    await page_login(client, email)
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def test_queue_page_and_dashboard_panel(client, cast, queue) -> None:
    page = await page_login_and_get(client, cast.reviewer.email, "/review/applications")
    assert page.index("Ancien Dépôt") < page.index("Infos Demandées") < page.index("À Moi")
    assert "Décidé" not in page
    assert f'href="/referencing/applications/{queue["old_filed"]}"' in page
    assert "Personne" in page and "12 j" in page and "4 j" in page  # no assignee; age; median
    mine = await client.get("/review/applications", params={"assignee": "me"})
    assert "Ancien Dépôt" not in mine.text and "À Moi" in mine.text
    partial = await client.get("/review/applications", params={"status": "referenced"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "Décidé 10" in partial.text
    bad = await client.get("/review/applications", params={"status": "lost"})
    assert bad.status_code == 422 and 'href="#f-status"' in bad.text
    dashboard = (await client.get("/review")).text
    assert 'href="/review/applications"' in dashboard and "Demandes de référencement" in dashboard


async def test_only_ans_reads_the_queue(client, cast, queue) -> None:
    for user in (cast.manager, cast.contributor):
        headers = await token_for(client, user.email)
        assert (await client.get("/api/v1/review/applications", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/review/applications")).status_code == 401
    await page_login(client, cast.manager.email)
    assert (await client.get("/review/applications")).status_code == 403


async def test_statement_count_does_not_grow_with_the_queue(client, db, cast, queue) -> None:
    headers = await token_for(client, cast.reviewer.email)
    engine = client.app.state.engine.sync_engine

    async def statements() -> int:
        counted: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            counted.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = await client.get("/api/v1/review/applications", params={"status": "all"}, headers=headers)
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    before = await statements()
    for index in range(15):
        await file_application(db, cast.company.id, await make_product(db, cast.company.id, f"N{index}"),
                               status="filed" if index % 2 else "refused", user_id=cast.reviewer.id)
    assert await statements() == before


async def test_maintained_counts_equal_a_recount(db, cast, content) -> None:  # noqa: F811
    """The queue's figures come from referencing_queue_count, which triggers keep: after a random sequence of
    filings, assignments, status changes, and deletions of applications and of products (a cascade), the table
    says what counting the applications says."""
    rng = random.Random(16)
    reviewers = [None, cast.reviewer.id, cast.support.id]
    products: list[int] = []
    for index in range(6):
        owner = cast.company.id if index % 2 else cast.other_company.id
        products.append(await make_product(db, owner, f"Q{index}"))
        for filing in range(rng.randint(1, 3)):  # one open application per product at most, then decided ones
            statuses = list(AppStatus) if filing == 0 else [AppStatus.REFERENCED, AppStatus.REFUSED]
            await file_application(db, owner, products[-1], status=rng.choice(statuses).value,
                                   user_id=rng.choice(reviewers))

    async def recount() -> tuple[dict, dict]:
        async with unit_of_work(db) as session:
            kept = {(s, k): n for s, k, n in (await session.execute(select(referencing_queue_count))).all() if n}
            key = func.coalesce(App.assignee_id, literal_column("0")).label("key")
            counted = {(s, k): n for s, k, n in (await session.execute(
                select(App.status, key, func.count()).group_by(App.status, key))).all()}
        return kept, counted

    for _ in range(25):
        async with unit_of_work(db) as session:
            ids = list((await session.scalars(select(App.id))).all())
            if not ids:
                break
            target = await session.get(App, rng.choice(ids))
            move = rng.random()
            if move < 0.4:
                target.status = rng.choice(list(AppStatus)).value
            elif move < 0.7:
                target.assignee_id = rng.choice(reviewers)
            elif move < 0.8:  # both at once: one trigger run moves the application between two rows
                target.status, target.assignee_id = rng.choice(list(AppStatus)).value, rng.choice(reviewers)
            elif move < 0.9:
                await session.delete(target)
            else:
                target.commercial_name = "Renommé"  # neither column: the counts stay
        kept, counted = await recount()
        assert kept == counted
    async with unit_of_work(db) as session:  # a product deleted: its applications go by the foreign key's cascade
        await session.execute(delete(Product).where(Product.id == products[0]))
    kept, counted = await recount()
    assert kept == counted


async def test_median_over_the_latest_decisions(client, db, cast, queue, monkeypatch) -> None:
    """Past MEDIAN_WINDOW decisions, the median is the latest ones' (by decision date), and the page says so."""
    monkeypatch.setattr(applications, "MEDIAN_WINDOW", 2)
    headers = await token_for(client, cast.reviewer.email)
    summary = (await client.get("/api/v1/review/applications", headers=headers)).json()["summary"]
    # Decided after 2, 4 and 10 days, all filed on the same day: the latest two decisions took 4 and 10 days.
    assert summary["decided"] == 3 and summary["median_window"] == 2 and summary["median_decision_days"] == 7.0
    page = await page_login_and_get(client, cast.reviewer.email, "/review/applications")
    assert "sur les 2 dernières des 3 demandes tranchées" in page
    monkeypatch.setattr(applications, "MEDIAN_WINDOW", 1000)
    summary = (await client.get("/api/v1/review/applications", headers=headers)).json()["summary"]
    assert summary["median_window"] == 3 and summary["median_decision_days"] == 4.0
