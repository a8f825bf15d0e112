"""`convergence simulate`: a reproducible, idempotent market with every status, bases, options and versions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from convergence.accounts.models import User
from convergence.attestations.models import Attestation
from convergence.notifications.models import Notification
from convergence.referencing.models import ReferencingApplication
from convergence.companies.models import Company
from convergence.core.db import unit_of_work
from convergence.fixtures import load_terms
from convergence.products.models import Kind, Product, product_base_link
from convergence.questionnaires import engine
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.questionnaires.models import Enrolment, Item, Questionnaire, Response, Status, review_summary
from convergence import simulation
from convergence.simulation import SIMULATION_PASSWORD, simulate
from tests.conftest import _empty
from tests.test_review_summary import assert_exact


async def _load_content(settings: Any, db: Any) -> None:
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


@pytest.fixture
async def content(settings, db) -> None:
    await _load_content(settings, db)


async def snapshot(db: Any) -> dict[str, Any]:
    """The market by natural keys (SIREN, e-mail, product identity, questionnaire and item codes), not ids."""
    async with db() as session:
        sirens = dict((await session.execute(select(Company.id, Company.siren))).all())
        companies = sorted((c.siren, c.name) for c in (await session.scalars(select(Company))).all())
        users = sorted((u.email, u.role, u.first_name, u.last_name, sirens.get(u.company_id))
                       for u in (await session.scalars(select(User).where(User.company_id.is_not(None)))).all())
        products = {p.id: p for p in (await session.scalars(select(Product))).all()}

        def key(product_id: int | None) -> tuple[str, ...]:
            if product_id is None:
                return ()
            p = products[product_id]
            return (sirens[p.company_id], p.identity_key)

        links = sorted((key(o), key(b)) for o, b in (await session.execute(
            select(product_base_link.c.option_id, product_base_link.c.base_id))).all())
        codes = {i.id: i.code for i in (await session.scalars(select(Item))).all()}
        questionnaires = dict((await session.execute(select(Questionnaire.id, Questionnaire.code))).all())
        responses = sorted(
            (sirens[r.company_id], key(r.product_id), questionnaires[r.questionnaire_id], r.status, r.version,
             r.maturity, tuple(sorted((codes[int(k)], repr(v)) for k, v in r.answers.items())))
            for r in (await session.scalars(select(Response))).all())
        return {
            "companies": companies, "users": users, "links": links, "responses": responses,
            "products": sorted((*key(p.id), p.name, p.kind, p.commercial_name, key(p.previous_version_id))
                               for p in products.values()),
        }


async def test_same_seed_same_market_and_a_second_run_adds_nothing(settings, db, content):
    first = await simulate(settings, companies=5, seed=7)
    assert first.companies == 5 and first.products > 0 and first.responses > 0
    market = await snapshot(db)
    assert len(market["companies"]) == 5

    again = await simulate(settings, companies=5, seed=7)
    assert (again.companies, again.users, again.products, again.responses) == (0, 0, 0, 0)
    assert await snapshot(db) == market

    # From an empty database, in two runs (3 then 5 companies): the same market, company by company.
    async with unit_of_work(db) as session:
        await _empty(session)
        await load_terms(settings, session)
    await _load_content(settings, db)
    partial = await simulate(settings, companies=3, seed=7)
    rest = await simulate(settings, companies=5, seed=7)
    assert (partial.companies, rest.companies) == (3, 2)
    assert partial.products + rest.products == first.products
    assert await snapshot(db) == market


async def test_another_seed_gives_another_market(settings, db, content):
    await simulate(settings, companies=3, seed=7)
    before = await snapshot(db)
    summary = await simulate(settings, companies=3, seed=8)
    assert summary.companies == 3
    after = await snapshot(db)
    assert len(after["companies"]) == 6
    assert set(before["companies"]) < set(after["companies"])


async def test_market_has_every_status_bases_options_and_versions(settings, db, content):
    summary = await simulate(settings, companies=5, seed=7)
    assert set(summary.statuses) == {str(s) for s in Status}
    async with db() as session:
        statuses = set((await session.scalars(select(Response.status).where(
            Response.product_id.is_not(None)).distinct())).all())
        assert statuses == {str(s) for s in Status}
        products = {p.id: p for p in (await session.scalars(select(Product))).all()}
        assert len(products) == summary.products
        kinds = {p.kind for p in products.values()}
        assert kinds == {Kind.BASE, Kind.OPTION}

        links = (await session.execute(select(product_base_link.c.option_id, product_base_link.c.base_id))).all()
        linked = {option_id for option_id, _ in links}
        options = {p.id for p in products.values() if p.kind == Kind.OPTION}
        assert options and linked == options  # every option extends at least one base, only options do
        for option_id, base_id in links:
            assert products[base_id].kind == Kind.BASE
            assert products[base_id].company_id == products[option_id].company_id

        versions = [p for p in products.values() if p.previous_version_id is not None]
        assert versions
        for product in versions:
            previous = products[product.previous_version_id]
            assert (previous.company_id, previous.name, previous.os, previous.device, previous.edition,
                    previous.kind) == (product.company_id, product.name, product.os, product.device,
                                       product.edition, product.kind)
            assert previous.version != product.version
        assert len(set(products)) == len({(p.company_id, p.identity_key) for p in products.values()})

        # Every company has its global-strategy responses and a manager.
        companies = (await session.scalars(select(Company.id))).all()
        globals_ = await session.scalar(select(func.count()).select_from(Response).where(
            Response.product_id.is_(None)))
        current_globals = await session.scalar(select(func.count()).select_from(Questionnaire).where(
            Questionnaire.step_id.is_(None), Questionnaire.current.is_(True)))
        assert globals_ == len(companies) * current_globals


async def test_simulated_answers_agree_with_their_status(settings, db, content):
    await simulate(settings, companies=5, seed=7)
    async with db() as session:
        responses = (await session.scalars(select(Response).where(Response.product_id.is_not(None)))).all()
        for response in responses:
            items = response.questionnaire.items
            evaluation = engine.evaluate(items, response.answers)
            assert response.maturity == evaluation.maturity
            if response.status == Status.NOT_STARTED:
                assert response.answers == {} and response.version == 0
            elif response.status in (Status.SUBMITTED, Status.VALIDATED):
                assert not evaluation.missing, response.id
                assert response.submitted_at is not None
            for key, value in response.answers.items():
                item = next(i for i in items if str(i.id) == key)
                assert engine.coerce(item, value) == value


async def test_simulated_manager_signs_in_and_sees_the_company_catalogue(client, settings, db, content):
    summary = await simulate(settings, companies=2, seed=7)
    response = await client.post("/api/v1/auth/token",
                                 json={"email": "manager1@sim7-1.example", "password": SIMULATION_PASSWORD})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = (await client.get("/api/v1/me", headers=headers)).json()
    products = await client.get(f"/api/v1/companies/{me['company_id']}/products", headers=headers)
    assert products.status_code == 200
    async with db() as session:
        count = await session.scalar(select(func.count()).select_from(Product).where(
            Product.company_id == me["company_id"]))
    assert 0 < count < summary.products
    assert products.json()["total"] == count


# ------------------------------------------------------------------------------------------- the bulk load

async def test_bulk_load_leaves_review_summary_equal_to_a_recomputation(settings, db, content, monkeypatch):
    """Chunks of 3 companies (the load's unit of transaction), one company already there in the middle: every
    summary row is rebuilt exactly, the triggers are back on afterwards, and progress counts every company."""
    monkeypatch.setattr(simulation, "CHUNK", 3)
    await simulate(settings, companies=1, seed=5)
    async with unit_of_work(db) as session:  # company 5 exists already (another run made it)
        session.add(Company(name="Déjà là SAS", siren=simulation.company_siren(5, 4), active=True))
    done: list[int] = []
    summary = await simulate(settings, companies=8, seed=5, on_progress=done.append)
    assert summary.companies == 6 and done == [3, 3, 2]
    assert await assert_exact(db) > 0

    # The triggers work again after the load: a deleted enrolment and a changed response are reflected at once.
    async with unit_of_work(db) as session:
        pair = (await session.execute(select(Enrolment.product_id, Enrolment.step_id).order_by(
            Enrolment.id).limit(1))).one()
        await session.execute(delete(Enrolment).where(Enrolment.product_id == pair[0],
                                                      Enrolment.step_id == pair[1]))
        await session.execute(update(Response).where(Response.product_id.is_not(None), Response.id == select(
            func.max(Response.id)).where(Response.product_id.is_not(None)).scalar_subquery()).values(
            status=Status.DRAFT, maturity=12.5))
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(review_summary).where(
            review_summary.c.product_id == pair[0], review_summary.c.step_id == pair[1])) == 0
    await assert_exact(db)


async def test_bulk_load_is_one_transaction_per_chunk(settings, db, content, monkeypatch):
    """A failure in a chunk leaves the chunks before it, and nothing of its own: no company without its products,
    no summary row missing; the triggers are on again (the chunk's transaction was rolled back)."""
    monkeypatch.setattr(simulation, "CHUNK", 2)
    write = simulation._write
    calls = []

    async def failing(session, plans, *args):
        calls.append(len(plans))
        if len(calls) == 2:
            await write(session, plans, *args)
            raise RuntimeError("the database went away")
        await write(session, plans, *args)

    monkeypatch.setattr(simulation, "_write", failing)
    with pytest.raises(RuntimeError):
        await simulate(settings, companies=5, seed=9)
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Company)) == 2
    await assert_exact(db)
    monkeypatch.setattr(simulation, "_write", write)
    assert (await simulate(settings, companies=5, seed=9)).companies == 3
    await assert_exact(db)


async def test_life_on_the_market_gives_every_new_kind_of_object_and_a_second_run_adds_nothing(settings, db, content):
    """`convergence simulate` (life on): applications in several states, attestations, responses on a
    questionnaire's next version and behind it, notifications; run again, it changes nothing."""
    summary = await simulate(settings, companies=12, seed=1, life=True)
    assert summary.companies == 12
    assert summary.applications > 0 and summary.attestations > 0 and summary.notifications > 0
    async with db() as session:
        states = set((await session.scalars(select(ReferencingApplication.status))).all())
        versions = set((await session.scalars(
            select(Questionnaire.version).join(Response, Response.questionnaire_id == Questionnaire.id))).all())
        counts = [await session.scalar(select(func.count()).select_from(model))
                  for model in (ReferencingApplication, Attestation, Notification)]
    assert len(states) >= 3
    assert summary.migrated == 0 or len(versions) >= 2
    market = await snapshot(db)

    again = await simulate(settings, companies=12, seed=1, life=True)
    assert (again.companies, again.applications, again.attestations, again.migrated, again.notifications) == (
        0, 0, 0, 0, 0)
    assert await snapshot(db) == market
    async with db() as session:
        assert counts == [await session.scalar(select(func.count()).select_from(model))
                          for model in (ReferencingApplication, Attestation, Notification)]
