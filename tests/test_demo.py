"""`convergence demo load`: a living demo vendor whose two logins land on real work, loaded once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from convergence.accounts.models import User
from convergence.companies.models import Company
from convergence.companies.team_models import MemberRight
from convergence.core.models import AuditEvent, OutboxMessage
from convergence.fixtures import DEMO_COMPANY, DEMO_PASSWORD, load_demo
from convergence.products.models import Product
from convergence.questionnaires import engine
from convergence.questionnaires.models import Response, ResponseRevision, Status
from tests.factories import csrf, page_login

MANAGER = "manager@editeur-demo.example"
CONTRIBUTOR = "contributor@editeur-demo.example"


async def snapshot(db: Any) -> dict[str, int]:
    async with db() as session:
        return {model.__name__: await session.scalar(select(func.count()).select_from(model))
                for model in (Company, User, Product, Response, ResponseRevision, MemberRight, AuditEvent,
                              OutboxMessage)}


async def test_demo_vendor_has_products_and_responses_in_every_status(settings, db):
    await load_demo(settings)
    async with db() as session:
        company = await session.scalar(select(Company).where(Company.siren == DEMO_COMPANY[1]))
        products = (await session.scalars(select(Product).where(Product.company_id == company.id))).all()
        responses = (await session.scalars(select(Response).where(Response.company_id == company.id))).unique().all()
        revisions = (await session.scalars(select(ResponseRevision))).all()
        contributor = await session.scalar(select(User).where(User.email == CONTRIBUTOR))
        rights = {r.product_id: r.level for r in (await session.scalars(select(MemberRight).where(
            MemberRight.user_id == contributor.id))).all()}
        actions = set((await session.scalars(select(AuditEvent.action).where(
            AuditEvent.company_id == company.id))).all())

    assert sum(p.kind == "base" for p in products) >= 2
    option = next(p for p in products if p.kind == "option")
    assert option.bases and all(b.company_id == company.id for b in option.bases)
    assert any(p.previous_version_id for p in products)
    for name in ("agenda", "facturation", "relecture", "docconnect"):  # names the browser tests create or search
        assert not any(name in p.name.casefold() for p in products)

    statuses = {r.status for r in responses}
    assert set(Status) <= statuses
    returned = [r for r in responses if r.status == Status.DRAFT and r.return_comment]
    assert returned
    partial = [r for r in responses if r.status == Status.DRAFT and not r.return_comment and r.answers
               and engine.evaluate(r.questionnaire.items, r.answers).missing]
    assert partial, "a draft partly answered"
    reopened = [r for r in responses if r.revision == 2 and r.status == Status.DRAFT]
    assert reopened and {v.response_id for v in revisions} == {r.id for r in reopened}
    # Stored values are those the engine computes from the answers, as after a save through the service.
    for response in responses:
        evaluation = engine.evaluate(response.questionnaire.items, response.answers)
        assert response.maturity == evaluation.maturity
        assert response.answered_count == evaluation.answered
        if response.status in (Status.SUBMITTED, Status.VALIDATED):
            assert not evaluation.missing
    # Written through the services: the trail holds every transition.
    assert {"product.created", "product.version_created", "product.steps_changed", "response.saved",
            "response.submitted", "response.validated", "response.returned", "response.reopened",
            "team.rights_changed"} <= actions
    assert "validate" in rights.values() and "edit" in rights.values() and None in rights


async def test_demo_load_twice_adds_nothing(settings, db):
    await load_demo(settings)
    first = await snapshot(db)
    await load_demo(settings)
    assert await snapshot(db) == first


async def test_both_demo_logins_open_on_real_work(settings, client, db):
    await load_demo(settings)
    pages = {}
    for email in (MANAGER, CONTRIBUTOR):
        client.cookies.clear()
        await page_login(client, email, DEMO_PASSWORD)
        accepted = await client.post("/terms/accept", data={"version": "1", "agree": "yes", "next": "/",
                                                            "_csrf": csrf(client)})
        assert accepted.status_code == 303
        pages[email] = (await client.get("/")).text
    for email, text in pages.items():
        assert 'id="returned-title"' in text, email
        assert 'id="validation-title"' in text, email
        assert "Merci de préciser la procédure de sauvegarde" in text
        assert text.count('href="/responses/') >= 4
    # The contributor sees her products only: not the option she holds no right on.
    assert "Module Téléexpertise" in pages[MANAGER] and "Module Téléexpertise" not in pages[CONTRIBUTOR]
