"""The review at market scale: the company filter is a name searched (with suggestions), not a list of every
company; the PostgreSQL CSV export (lines written by the database) gives the bytes of the streamed one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from convergence.core.db import unit_of_work
from convergence.companies.models import Company
from tests.factories import make_company, page_login, token_for
from tests.test_review import content, market  # noqa: F401 - `content` is a fixture

__all__ = ["content"]


# ------------------------------------------------------------------------------------------- the company filter

async def test_the_company_filter_is_a_text_field_with_suggestions(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    await page_login(client, cast.reviewer.email)
    page = await client.get("/review")
    assert page.status_code == 200
    assert 'name="company_name"' in page.text and 'list="f-company-options"' in page.text
    assert '<select id="f-company"' not in page.text and "Autre Éditeur SARL" not in page.text.split("<form")[1]
    suggestions = await client.get("/review/companies?company_name=sant", headers={"HX-Request": "true"})
    assert suggestions.status_code == 200
    assert suggestions.text.count("<option") == 2
    assert '<option value="Santé Connectée SAS">' in suggestions.text and "Troisième Santé" in suggestions.text
    assert (await client.get("/review/companies?company_name=")).text.strip() == ""
    # A name with LIKE's wildcards is text, not a pattern.
    assert "<option" not in (await client.get("/review/companies?company_name=%25")).text
    # Without JavaScript: the typed name filters as the company's id would.
    filtered = await client.get("/review?company_name=troisième santé")
    assert filtered.status_code == 200
    assert "Portail Soins" in filtered.text and "Agenda Pro" not in filtered.text
    assert f"/api/v1/review/export.csv?company={world['third']}" in filtered.text
    assert 'value="Troisième Santé"' in filtered.text
    # The only company whose name contains the text.
    only = await client.get("/review?company_name=AUTRE")
    assert "Agenda Pro" in only.text and "Portail Soins" not in only.text
    # A link carrying the id shows the company's name in the field.
    by_id = await client.get(f"/review?company={world['third']}")
    assert 'value="Troisième Santé"' in by_id.text


async def test_an_ambiguous_or_unknown_company_name_offers_the_candidates(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    await page_login(client, cast.reviewer.email)
    client.cookies.set("cv_lang", "en")
    several = await client.get("/review?company_name=santé&status=validated")
    assert several.status_code == 422
    assert "Several companies match this name: choose one." in several.text
    assert f'href="/review?status=validated&amp;company={world["third"]}"' in several.text
    assert f'href="/review?status=validated&amp;company={cast.company.id}"' in several.text
    # The other filters still apply meanwhile.
    assert "Agenda Pro" not in several.text
    unknown = await client.get("/review?company_name=nobody", headers={"HX-Request": "true"})
    assert unknown.status_code == 422 and "No company&#39;s name contains this text." in unknown.text
    client.cookies.set("cv_lang", "fr")
    french = await client.get("/review?company_name=nobody")
    assert "Aucune entreprise n’a ce texte dans son nom." in french.text


async def test_the_suggestions_are_bounded_and_for_reviewers_only(client, db, settings, cast, content):
    async with unit_of_work(db) as session:
        for number in range(25):
            await make_company(session, f"Éditeur {number:02d}")
    await page_login(client, cast.reviewer.email)
    suggestions = await client.get("/review/companies?company_name=diteur", headers={"HX-Request": "true"})
    assert suggestions.text.count("<option") == 20
    assert "Éditeur 00" in suggestions.text and "Éditeur 24" not in suggestions.text
    # More candidates than the page offers: the page says so and lists the first ones.
    page = await client.get("/review?company_name=diteur")
    assert page.status_code == 422 and page.text.count('href="/review?company=') == 20
    await page_login(client, cast.manager.email)
    assert (await client.get("/review/companies?company_name=a")).status_code == 403
    async with db() as session:
        assert await session.scalar(select(Company.id).where(Company.name == "Éditeur 00"))


async def test_the_review_api_keeps_filtering_by_company_id(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    reviewer: dict[str, Any] = await token_for(client, cast.reviewer.email)
    data = (await client.get(f"/api/v1/review/products?company={world['third']}", headers=reviewer)).json()
    assert {r["company_id"] for r in data["items"]} == {world["third"]}


# ------------------------------------------------------------------------------------------- the CSV export

HOSTILE_NAMES = ['=HYPERLINK("x")', "  Deux   espaces\u00a0et\ttab  ", "Ligne\nsuite", 'Guillemets "doubles"',
                 "Anti\\slash \\n", "@somme", "-moins", "+plus", "\rretour", "Point;virgule", "Ünïcödé ✓"]


async def hostile_market(db: Any, settings: Any, cast: Any) -> None:
    """Rows whose every text can trip a CSV writer: formulas, quotes, separators, line breaks, backslashes,
    odd whitespace; maturities whole and not; validations with and without microseconds."""
    from datetime import datetime, timezone

    from sqlalchemy import update

    from convergence.products.models import Product
    from convergence.questionnaires.models import Response
    from tests.test_review import doctrine_steps, enrol

    first, second = (await doctrine_steps(db))[:2]
    async with unit_of_work(db) as session:
        companies = [(await make_company(session, name)).id for name in ('=cmd|"/c calc"!A1', "Tab\tCo", "Zèbre")]
    for number, name in enumerate(HOSTILE_NAMES):
        async with unit_of_work(db) as session:
            other = number % 3 == 0
            row = Product(company_id=companies[number % 3], name=name, os="Other" if other else "Linux",
                          os_other=" \u2003Haiku\t " if other else "", device="Mobile" if number % 2 else "Website",
                          edition="", version=str(number), kind="base", description="",
                          identity_key=f"hostile-{number}", commercial_name=name)
            session.add(row)
            await session.flush()
            product_id = row.id
        status = ("validated", "draft", "submitted", "not_started")[number % 4]
        await enrol(db, product_id, first, status=status, maturity=[80, 87.5, 33.3, 0, 100, 12.25][number % 6],
                    validated_days_ago=number if status == "validated" else None)
        if number % 2:
            await enrol(db, product_id, second, status="validated", maturity=66.6, validated_days_ago=2)
        if number == 4:
            async with unit_of_work(db) as session:
                await session.execute(update(Response).where(Response.product_id == product_id).values(
                    validated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)))


async def test_the_postgresql_export_writes_the_bytes_of_the_streamed_one(db, settings, cast, content, monkeypatch):
    """On PostgreSQL the database writes the lines; on SQLite the streamed export: the same document either way, which
    the export of rows built in Python (exports.csv_export) is the reference of."""
    from convergence.accounts.models import User
    from convergence.core.i18n import set_language
    from convergence.identity.context import Context
    from convergence.review.exports import csv_chunks, csv_export
    from convergence.review.filters import Filters
    from convergence.review.services import ReviewService

    from convergence.review import services

    copies: list[int] = []

    def counted_copy(*args: Any) -> Any:
        copies.append(1)
        return csv_lines(*args)

    csv_lines = services.csv_lines
    monkeypatch.setattr(services, "csv_lines", counted_copy)
    await hostile_market(db, settings, cast)
    cases = [Filters(), Filters(sort="maturity", descending=True), Filters(status="validated"),
             Filters(q="deux"), Filters(sort="validated_at")]
    for language in ("fr", "en"):
        set_language(language)
        for filters in cases:
            async with db() as session:
                service = ReviewService(Context(session=session, settings=settings,
                                                actor=await session.get(User, cast.reviewer.id)))
                exported = b"".join([chunk async for chunk in service.export_csv(filters)])
            async with db() as session:
                service = ReviewService(Context(session=session, settings=settings,
                                                actor=await session.get(User, cast.reviewer.id)))
                streamed = b"".join([chunk async for chunk in csv_chunks(service.queries.stream_rows(filters, 50), language)])
                rows, _total = await service.rows(filters, 1000, 0)
            assert exported == streamed, (language, filters)
            assert exported == csv_export(rows, language).encode("utf-8"), (language, filters)
            if filters == Filters():
                assert exported.count(b"\r\n") >= len(HOSTILE_NAMES) + 1
                assert b"'=HYPERLINK" in exported and b'"\'-moins' in exported
    set_language("fr")
    assert len(copies) == (2 * len(cases) if settings.database_url.startswith("postgresql") else 0)


async def test_the_export_answers_through_the_api(client, db, settings, cast, content):
    await hostile_market(db, settings, cast)
    reviewer = await token_for(client, cast.reviewer.email)
    answer = await client.get("/api/v1/review/export.csv?sort=-maturity", headers=reviewer)
    assert answer.status_code == 200 and answer.content.startswith("\ufeff".encode())
    assert answer.content.count(b"\r\n") == 1 + len(HOSTILE_NAMES) + len(HOSTILE_NAMES) // 2


def test_the_whitespace_the_database_collapses_is_pythons():
    from convergence.review.csv_sql import PY_WHITESPACE

    assert PY_WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


# ------------------------------------------------------------------------------------------- concurrent writers

async def test_writers_crossing_theme_scores_queue_instead_of_deadlocking(db, settings, cast, content):
    """Two transactions that move theme scores across each other's (the first takes 50 → 60 then 80 → 70, the
    second 70 → 80 then 60 → 50) would each hold a count row the other needs on PostgreSQL: the triggers' lock
    makes the second wait for the first's commit. Both commit and the counts stay exact."""
    import asyncio

    from sqlalchemy import update

    from convergence.questionnaires.models import Response
    from tests.test_review import doctrine_steps, enrol, product
    from tests.test_review_summary import assert_exact

    step = (await doctrine_steps(db))[0]
    products = {}
    for score in (50, 70, 80, 60):
        products[score] = await product(db, cast.company.id, f"Croisé {score}")
        await enrol(db, products[score], step, status="draft", maturity=score, theme_scores={"ins": score})

    def move(source: int, target: int) -> Any:
        return update(Response).where(Response.product_id == products[source]).values(
            theme_scores={"ins": target})

    second_started, first_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with unit_of_work(db) as session:
            await session.execute(move(50, 60))
            await second_started.wait()
            await asyncio.sleep(0.2)  # the second transaction is inside its first statement by now
            await session.execute(move(80, 70))
        first_done.set()

    async def second() -> bool:
        second_started.set()  # before the unit of work: on SQLite it may wait for the first's write lock
        async with unit_of_work(db) as session:
            await session.execute(move(70, 80))
            await session.execute(move(60, 50))
        return first_done.is_set()

    async def started_second() -> bool:
        await asyncio.sleep(0.1)  # after the first transaction's first statement
        return await second()

    _, waited = await asyncio.wait_for(asyncio.gather(first(), started_second()), 30)
    if settings.database_url.startswith("postgresql"):
        assert waited  # the second queued behind the first's commit
    await assert_exact(db)
