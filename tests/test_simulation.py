"""`convergence simulate`: a reproducible, idempotent market with every status, bases, options and versions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from convergence.accounts.models import User
from convergence.companies.models import Company
from convergence.core.db import unit_of_work
from convergence.fixtures import load_terms
from convergence.products.models import Kind, Product, product_base_link
from convergence.questionnaires import engine
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.questionnaires.models import Item, Questionnaire, Response, Status
from convergence.simulation import SIMULATION_PASSWORD, simulate
from tests.conftest import _empty


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
