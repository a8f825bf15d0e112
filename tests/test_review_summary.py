"""review_summary, the review's per-(product, step) figures kept by the database (migration 0014), and
review_theme_count, its theme score counts (migration 0022): after a random sequence of enrolments, saves,
transitions, renames and deletions through the services, both tables equal a recomputation from the responses,
and the dashboard's rows are those the per-request aggregate gave before."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Numeric, and_, case, cast, delete, event, func, insert, select, type_coerce, update
from advanced_alchemy.types import DateTimeUTC

from convergence.accounts.models import User
from convergence.companies.models import Company
from convergence.core.db import unit_of_work
from convergence.core.errors import DomainError
from convergence.identity.context import Context
from convergence.products.models import Product
from convergence.products.services import ProductService
from convergence.questionnaires.models import Enrolment, Item, Questionnaire, Response, Status, Step, Track
from convergence.questionnaires.models import review_summary
from convergence.questionnaires.services import QuestionnaireService
from convergence.questionnaires.workflow import Action
from convergence.review.filters import SORTS, STATUSES, Filters
from convergence.review.queries import ReviewQueries
from convergence.review.theme_counts import review_status_count, review_theme_count
from tests import test_questionnaires
from tests.factories import page_login, token_for
from tests.test_questionnaires import complete_answers, enrolled_response, items_of, make_product, valid_value

content = test_questionnaires.content  # the fixture loading the questionnaires

RANK = {status: index for index, status in enumerate(STATUSES)}
SOURCES = {Action.SUBMIT: {Status.DRAFT}, Action.VALIDATE: {Status.SUBMITTED},
           Action.RETURN: {Status.SUBMITTED}, Action.REOPEN: {Status.VALIDATED}}


# ------------------------------------------------------------------------------------------- the recomputation

def old_per_step() -> Any:
    """The per-request aggregate the review ran before review_summary, unchanged: one row per enrolment, the
    least advanced status, the mean maturity rounded as shown, the last validation when all are validated."""
    rank = case({status: index for index, status in enumerate(STATUSES)}, value=Response.status, else_=0)
    per_step = (
        select(Enrolment.product_id.label("product_id"), Enrolment.step_id.label("step_id"),
               func.coalesce(func.min(rank), 0).label("rank"),
               func.coalesce(func.avg(Response.maturity), 0.0).label("maturity"),
               func.max(Response.validated_at).label("last_validated"))
        .select_from(Enrolment)
        .outerjoin(Response, and_(Response.product_id == Enrolment.product_id,
                                  Response.step_id == Enrolment.step_id))
        .group_by(Enrolment.product_id, Enrolment.step_id)
    ).subquery("per_step")
    maturity = func.round(cast(per_step.c.maturity, Numeric(10, 4)), 1)
    validated = type_coerce(case((per_step.c.rank == len(STATUSES) - 1, per_step.c.last_validated), else_=None),
                            DateTimeUTC(timezone=True))
    return per_step, maturity, validated


async def recomputed(session: Any) -> dict[tuple[int, int], dict[str, Any]]:
    """Every summary row recomputed from the enrolments, responses, items, products and companies."""
    per_step, maturity, validated = old_per_step()
    rows = (await session.execute(
        select(per_step.c.product_id, per_step.c.step_id, per_step.c.rank, maturity, validated,
               Product.company_id, func.lower(Company.name), func.lower(Product.name))
        .select_from(per_step).join(Product, Product.id == per_step.c.product_id)
        .join(Company, Company.id == Product.company_id))).all()
    out = {(p, s): {"status_rank": int(rank), "status": STATUSES[int(rank)], "maturity": float(m),
                    "validated_at": v, "company_id": company, "company_key": company_key,
                    "product_key": product_key, "answered": 0, "required": 0, "changed_at": None}
           for p, s, rank, m, v, company, company_key, product_key in rows}
    # Counts and last change in plain Python, from the responses themselves.
    required = dict((await session.execute(select(Item.questionnaire_id, func.count()).where(
        Item.required.is_(True)).group_by(Item.questionnaire_id))).all())
    by_pair: dict[tuple[int, int], list[Response]] = {}
    for response in (await session.scalars(select(Response).where(Response.product_id.is_not(None)))).all():
        by_pair.setdefault((response.product_id, response.step_id), []).append(response)
    for key, row in out.items():
        responses = by_pair.get(key, [])
        row["answered"] = sum(r.answered_count for r in responses)
        row["required"] = sum(required.get(r.questionnaire_id, 0) for r in responses)
        row["changed_at"] = max((r.updated_at for r in responses), default=None)
        least = min((RANK[r.status] for r in responses), default=0)
        assert row["status_rank"] == least
        mean = sum(r.maturity for r in responses) / len(responses) if responses else 0.0
        assert abs(row["maturity"] - mean) <= 0.05 + 1e-9
        if least == RANK[Status.VALIDATED]:
            assert row["validated_at"] == max((r.validated_at for r in responses if r.validated_at), default=None)
        else:
            assert row["validated_at"] is None
    return out


async def stored(session: Any) -> dict[tuple[int, int], dict[str, Any]]:
    columns = review_summary.c
    return {(row.product_id, row.step_id): {
        "status_rank": row.status_rank, "status": row.status, "maturity": float(row.maturity),
        "validated_at": row.validated_at, "company_id": row.company_id, "company_key": row.company_key,
        "product_key": row.product_key, "answered": row.answered, "required": row.required,
        "changed_at": row.changed_at} for row in (await session.execute(select(columns))).all()}


async def recomputed_theme_counts(session: Any) -> dict[tuple[int, int, str, float], int]:
    """review_theme_count recomputed in plain Python: per (step, rank of the pair, theme, score), the started
    responses of enrolled pairs giving that numeric score."""
    pairs = set((await session.execute(select(Enrolment.product_id, Enrolment.step_id))).all())
    by_pair: dict[tuple[int, int], list[Response]] = {}
    for response in (await session.scalars(select(Response).where(Response.product_id.is_not(None)))).all():
        by_pair.setdefault((response.product_id, response.step_id), []).append(response)
    counts: dict[tuple[int, int, str, float], int] = {}
    for (product, step) in pairs:
        responses = by_pair.get((product, step), [])
        rank = min((RANK[r.status] for r in responses), default=0)
        for response in responses:
            if response.status == Status.NOT_STARTED:
                continue
            for theme, score in (response.theme_scores or {}).items():
                if isinstance(score, (int, float)) and not isinstance(score, bool):
                    key = (step, rank, theme, float(score))
                    counts[key] = counts.get(key, 0) + 1
    return counts


async def stored_theme_counts(session: Any) -> dict[tuple[int, int, str, float], int]:
    rows = (await session.execute(select(review_theme_count))).all()
    assert all(row.n >= 0 for row in rows), [tuple(r) for r in rows if r.n < 0]
    return {(row.step_id, row.status_rank, row.theme, float(row.score)): row.n for row in rows if row.n}


async def stored_status_counts(session: Any) -> dict[tuple[int, int], int]:
    rows = (await session.execute(select(review_status_count))).all()
    assert all(row.n >= 0 for row in rows), [tuple(r) for r in rows if r.n < 0]
    return {(row.step_id, row.status_rank): row.n for row in rows if row.n}


async def assert_exact(db: Any) -> int:
    async with db() as session:
        expected, actual = await recomputed(session), await stored(session)
        expected_counts, actual_counts = await recomputed_theme_counts(session), await stored_theme_counts(session)
        statuses = await stored_status_counts(session)
    assert actual == expected
    assert actual_counts == expected_counts
    # review_status_count: the pairs of the (recomputed) summary per (step, rank).
    pairs: dict[tuple[int, int], int] = {}
    for (_product, step), row in expected.items():
        key = (step, row["status_rank"])
        pairs[key] = pairs.get(key, 0) + 1
    assert statuses == pairs
    return len(actual)


# ------------------------------------------------------------------------------------------- the sequence

async def act(db: Any, settings: Any, user_id: int, change: Callable[[Context], Awaitable[Any]]) -> str:
    """One change in a transaction of its own, as a request makes it; a refusal rolls it back."""
    try:
        async with unit_of_work(db) as session:
            await change(Context(session=session, settings=settings, actor=await session.get(User, user_id)))
    except DomainError as exc:
        return exc.code
    return "ok"


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_summary_equals_a_recomputation_after_random_changes(db, settings, cast, content, seed):
    rng = random.Random(seed)
    async with db() as session:
        steps = list((await session.scalars(select(Step.id).join(Track).where(
            Step.requires_commercial_name.is_(False)).order_by(Track.position, Step.position))).all())[:4]
    managers = {cast.company.id: cast.manager.id, cast.other_company.id: cast.outsider.id}
    products: dict[int, int] = {}  # product id → its company's manager
    for number in range(4):
        company = cast.company.id if number % 2 == 0 else cast.other_company.id
        products[await make_product(db, company, name=f"Logiciel {number}")] = managers[company]
    done: dict[str, int] = {}
    ranks: set[int] = set()  # the status ranks review_theme_count held scores at

    async def responses() -> list[tuple[int, int, int, str]]:
        async with db() as session:
            return list((await session.execute(select(Response.id, Response.product_id, Response.version,
                                                      Response.status).where(
                Response.product_id.in_(products or {0})))).all())

    for _ in range(90):
        kind = rng.choices(["enrol", "save", "submit", "validate", "return", "reopen", "rename", "rename_company",
                            "delete", "create", "straight"],
                           [3, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1])[0]
        pool = await responses()
        if kind in {"save", "submit", "validate", "return", "reopen"} and not pool:
            kind = "enrol"
        if kind == "enrol" and products:
            product = rng.choice(sorted(products))
            wanted = rng.sample(steps, k=rng.randint(0, 3))

            async def change(ctx: Context) -> None:
                await QuestionnaireService(ctx).enrol(product, wanted)
            outcome = await act(db, settings, products[product], change)
        elif kind == "save":
            response_id, product, version, _status = rng.choice(pool)
            async with db() as session:
                items = list((await session.scalars(select(Item).join(
                    Response, Response.questionnaire_id == Item.questionnaire_id).where(
                    Response.id == response_id).order_by(Item.position))).all())
            answers = complete_answers(items) if rng.random() < .7 else {
                str(i.id): valid_value(i) for i in rng.sample(items, k=min(len(items), rng.randint(1, 3)))}

            async def change(ctx: Context) -> None:
                await QuestionnaireService(ctx).save_answers(response_id, version, answers)
            outcome = await act(db, settings, products[product], change)
        elif kind in {"submit", "validate", "return", "reopen"}:
            action = {"submit": Action.SUBMIT, "validate": Action.VALIDATE, "return": Action.RETURN,
                      "reopen": Action.REOPEN}[kind]
            # Mostly a response the action applies to, sometimes any (a refusal must leave the summary as it is).
            ready = [r for r in pool if r[3] in SOURCES[action]]
            response_id, product, _version, _status = rng.choice(ready if ready and rng.random() < .8 else pool)

            async def change(ctx: Context) -> None:
                await QuestionnaireService(ctx).apply(action, response_id, "À reprendre.")
            outcome = await act(db, settings, products[product], change)
        elif kind == "rename" and products:
            product = rng.choice(sorted(products))
            name = rng.choice(["alpha", "Zèbre", "Ébène", "beta", "ZULU"]) + f" {product}"

            async def change(ctx: Context) -> None:
                await ProductService(ctx).update(product, {"name": name})
            outcome = await act(db, settings, products[product], change)
        elif kind == "rename_company":
            # No service renames a company yet; the database keeps the sort key whoever writes the name.
            company = rng.choice(sorted(managers))
            async with unit_of_work(db) as session:
                await session.execute(update(Company).where(Company.id == company).values(
                    name=rng.choice(["Éditeur", "acme", "Zeta"]) + f" {company}"))
            outcome = "ok"
        elif kind == "delete" and len(products) > 2:
            product = rng.choice(sorted(products))

            async def change(ctx: Context) -> None:
                await ProductService(ctx).delete(product)
            outcome = await act(db, settings, products[product], change)
            if outcome == "ok":
                del products[product]
        elif kind == "create":
            company = rng.choice(sorted(managers))
            products[await make_product(db, company, name=f"Nouveau {len(done)} {rng.random():.6f}")] = \
                managers[company]
            outcome = "ok"
        else:
            # A writer outside the services (fixtures, the simulation, a repair script): rows written straight.
            async with unit_of_work(db) as session:
                if pool and rng.random() < .5:
                    response_id = rng.choice(pool)[0]
                    await session.execute(update(Response).where(Response.id == response_id).values(
                        status=rng.choice(STATUSES), maturity=rng.uniform(0, 100), version=Response.version + 1))
                else:
                    product = rng.choice(sorted(products))
                    await session.execute(delete(Enrolment).where(Enrolment.product_id == product))
                    await session.execute(delete(Response).where(Response.product_id == product))
                    await session.execute(insert(Enrolment).values(product_id=product, step_id=steps[-1]))
            outcome = "ok"
        done[f"{kind}:{outcome}"] = done.get(f"{kind}:{outcome}", 0) + 1
        await assert_exact(db)
        async with db() as session:
            ranks |= {rank for _step, rank, _theme, _score in await stored_theme_counts(session)}
    # The sequence did exercise the paths it claims to (not only refusals).
    for kind in ("enrol", "save", "submit", "validate", "rename", "delete", "create"):
        assert done.get(f"{kind}:ok"), str(sorted(done.items()))
    assert await assert_exact(db) > 0
    # Scores were counted at several ranks: the counts followed the pairs' statuses, not only their scores.
    assert len(ranks) > 1, ranks
    await assert_charts_read_the_counts_as_the_scan_did(db, steps)


async def assert_charts_read_the_counts_as_the_scan_did(db: Any, steps: list[int]) -> None:
    """The theme charts read from review_theme_count are those the scan of the responses gives, for every filter
    the table is keyed by; the other filters fall back to the scan."""
    async with db() as session:
        track = await session.scalar(select(Track.code).join(Step).where(Step.id == steps[0]))
        queries = ReviewQueries(session)
        cases = [Filters(), Filters(track=track), *(Filters(step=step) for step in steps),
                 *(Filters(status=status) for status in STATUSES),
                 *(Filters(step=step, status=status) for step in steps[:2] for status in STATUSES)]
        for filters in cases:
            assert queries.counted(filters)
            maintained = sorted((t, float(v), int(n)) for t, v, n in await queries.maintained_theme_counts(filters))
            scanned = sorted((t, float(v), int(n)) for t, v, n in await queries.scanned_theme_counts(filters))
            assert maintained == scanned, filters
        assert (await queries.chart_rows(Filters()))[1]
        assert not queries.counted(Filters(q="x")) and not queries.counted(Filters(min_maturity=10))


async def test_the_dashboard_rows_are_those_of_the_old_aggregate_in_every_order(db, settings, cast, content):
    """The rows read from review_summary, in each sort order, are those the per-request aggregate gave."""
    async with db() as session:
        steps = list((await session.scalars(select(Step.id).join(Track).order_by(Track.position,
                                                                                 Step.position))).all())[:2]
        questionnaires = (await session.execute(select(Questionnaire.id, Questionnaire.step_id).where(
            Questionnaire.step_id.in_(steps), Questionnaire.current.is_(True)))).all()
    names = ["Zèbre", "alpha", "Alpha", "éclair", "Beta", "beta"]
    async with unit_of_work(db) as session:
        for number in range(12):
            company = cast.company if number % 3 else cast.other_company
            product = Product(company_id=company.id, name=names[number % len(names)], os="Linux",
                              device="Website", edition="", version=str(number), kind="base", description="",
                              identity_key=f"ordre-{number}")
            session.add(product)
            await session.flush()
            for step in steps[:1 + number % 2]:
                session.add(Enrolment(product_id=product.id, step_id=step))
            for index, (questionnaire, step) in enumerate(questionnaires):
                if step in steps[:1 + number % 2]:
                    session.add(Response(company_id=company.id, product_id=product.id, questionnaire_id=questionnaire,
                                         step_id=step, status=STATUSES[(number + index) % 4], version=1, revision=1,
                                         answers={}, planned={}, maturity=float((number * 37 + index * 11) % 101) / 3,
                                         theme_scores={}))
    per_step, maturity, validated = old_per_step()
    os_tie = [func.lower(Company.name), func.lower(Product.name), per_step.c.product_id, Track.position,
              Step.position]
    old_keys = {"company": [func.lower(Company.name)], "product": [func.lower(Product.name), Product.os,
                                                                   Product.device],
                "step": [Track.position, Step.position], "status": [per_step.c.rank], "maturity": [maturity],
                "validated_at": [validated]}
    async with db() as session:
        for sort in SORTS:
            for descending in (False, True):
                keys = [k.desc() if descending else k.asc() for k in old_keys[sort]]
                if sort == "validated_at":
                    keys = [k.nulls_last() for k in keys]
                old = [tuple(r) for r in (await session.execute(
                    select(per_step.c.product_id, per_step.c.step_id, per_step.c.rank, maturity, validated)
                    .select_from(per_step).join(Product, Product.id == per_step.c.product_id)
                    .join(Company, Company.id == Product.company_id).join(Step, Step.id == per_step.c.step_id)
                    .join(Track, Track.id == Step.track_id).order_by(*keys, *os_tie))).all()]
                new = [(r.product_id, r.step_id, r.rank, r.maturity, r.validated_at)
                       for r in await ReviewQueries(session).rows(Filters(sort=sort, descending=descending))]
                assert [(p, s, rank, float(m), v) for p, s, rank, m, v in old] == \
                    [(p, s, rank, float(m), v) for p, s, rank, m, v in new], (sort, descending)
                assert len(new) == 12 + 6


# ------------------------------------------------------------------------------------------- cost

@contextmanager
def counting(engine: Any):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def test_an_autosave_sends_no_statement_for_the_summary(client, db, cast, content):
    """The summary is written by the database inside the autosave's UPDATE: the request sends none of its own
    (9 statements before and after review_summary), and the dashboard reads it in a fixed number."""
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    response = await enrolled_response(client, db, manager, product)
    items = await items_of(db, response["id"])
    engine = client.app.state.engine
    version, counts = 0, []
    for item in items[:3]:
        with counting(engine) as statements:
            saved = await client.patch(f"/api/v1/responses/{response['id']}/answers",
                                       json={"version": version, "answers": {str(item.id): valid_value(item)}},
                                       headers=manager)
        assert saved.status_code == 200, saved.text
        version = saved.json()["version"]
        assert not any("review_summary" in s for s in statements)
        counts.append(len(statements))
    assert counts[1] == counts[2] <= 9, counts
    async with db() as session:
        row = (await session.execute(select(review_summary).where(review_summary.c.product_id == product))).one()
    assert row.status == "draft" and row.answered == 3 and row.required > 3 and row.changed_at is not None
    await page_login(client, cast.reviewer.email)
    await client.get("/review")
    with counting(engine) as statements:
        page = await client.get("/review")
    assert page.status_code == 200
    # 10 for the market, 2 for the referencing applications queue's key figures beside it.
    assert len(statements) <= 12, statements
