"""`convergence simulate`: a reproducible market of vendors, so that a demo or a reviewer sees a living platform.

Same seed, same market: each company draws from its own generator seeded by (seed, company number), so the
first N companies are the same whatever N, and a company whose SIREN already exists is skipped without shifting the
others — a second run adds nothing, a larger run only adds the companies that are missing.
About 10 products per company (bases, options linked to 1-2 bases, and later versions of earlier products).
Simulated accounts are `manager1@sim<seed>-<n>.example`, `contributor1@…` (n = company number from 1) and share
one password (hashed once: thousands of argon2 hashes would take minutes).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, User
from convergence.companies.models import Company
from convergence.companies.team_models import MemberRight
from convergence.core import audit
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.models import utcnow
from convergence.core.security import hash_password
from convergence.products.models import Kind, Product, identity_key, product_base_link
from convergence.questionnaires import engine
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Questionnaire,
    Response,
    Status,
    Step,
)
from convergence.questionnaires.services import ensure_global_responses
from convergence.settings import Settings

SIMULATION_PASSWORD = "Simulation-Convergence-2026"
PREFIXES = ("Medi", "Santé", "Care", "Doc", "Pharma", "Télé", "Clini", "Bio", "Vita", "Kiné", "Radio", "Dento")
SUFFIXES = ("Logiciel", "Connect", "Soft", "Systèmes", "Numérique", "Data", "Cloud", "Services", "Lab", "Tech")
FORMS = ("SAS", "SARL", "SA", "SASU")
PRODUCT_WORDS = ("Agenda", "Dossier Patient", "Téléconsult", "Pharmacie", "Imagerie", "Facturation", "Suivi",
                 "Messagerie", "Coordination", "Prescription", "Laboratoire", "Portail Patient")
FIRST_NAMES = ("Camille", "Louis", "Emma", "Hugo", "Léa", "Jules", "Chloé", "Lucas", "Manon", "Nathan", "Inès",
               "Paul", "Sarah", "Arthur", "Jeanne", "Tom")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David")
OSES = ("iOS", "Android", "Windows", "Linux")
STATUS_WEIGHTS = ((Status.NOT_STARTED, 2), (Status.DRAFT, 4), (Status.SUBMITTED, 2), (Status.VALIDATED, 3))
PRODUCTS_PER_COMPANY = 10  # on average (uniform 4-16, versions included): 1,000 companies give ~10,000 products
VERSION_RATE = 0.15  # share of products registered as a later version of an earlier one
OPTION_RATE = 0.25


def company_rng(seed: int, number: int) -> random.Random:
    """The generator of one company: independent of which other companies exist or were skipped."""
    return random.Random(f"convergence-simulation:{seed}:{number}")


def simulated_email(seed: int, number: int, role: str, index: int) -> str:
    """`manager1@sim1-12.example`: company `number` counts from 0, the address from 1."""
    return f"{role}{index + 1}@sim{seed}-{number + 1}.example"


def luhn_complete(prefix: str) -> str:
    for digit in "0123456789":
        candidate = prefix + digit
        total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
                    for i, d in enumerate(int(c) for c in reversed(candidate)))
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@dataclass
class Summary:
    companies: int = 0
    users: int = 0
    products: int = 0
    responses: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def random_answer(rng: random.Random, item: Item, quality: float) -> Any:
    """A valid answer; `quality` (0-1) makes a mature vendor answer 'yes' and pick high-scoring options."""
    if item.type == "boolean":
        return rng.random() < quality
    if item.type == "choice":
        options = sorted(item.options, key=lambda o: o.get("score", 0))
        index = min(len(options) - 1, int(rng.random() * quality * len(options) + rng.random()))
        return options[index]["value"]
    if item.type == "multi_choice":
        return [o["value"] for o in item.options if rng.random() < quality] or [item.options[0]["value"]]
    if item.type == "text":
        return rng.choice(("Procédure documentée.", "En cours de déploiement.", "Voir la documentation produit."))
    if item.type == "number":
        return rng.randint(1, 500)
    return (date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))).isoformat()


def fill(rng: random.Random, items: list[Item], status: str, quality: float) -> tuple[dict[str, Any], dict[str, str]]:
    if status == Status.NOT_STARTED:
        return {}, {}
    answers: dict[str, Any] = {}
    by_code = {i.code: i for i in items}
    complete = status in (Status.SUBMITTED, Status.VALIDATED)
    for item in items:
        if not engine.is_enabled(item, answers, by_code):
            continue
        if complete or rng.random() < 0.6:
            answers[str(item.id)] = random_answer(rng, item, quality)
    planned = {str(i.id): (date.today() + timedelta(days=rng.randint(30, 720))).isoformat()
               for i in engine.not_compliant(items, answers) if rng.random() < 0.7}
    return answers, planned


def product_range(average: int) -> tuple[int, int]:
    """Products per company drawn uniformly in this range, whose mean is `average`."""
    low = max(1, round(average * 0.4))
    return low, max(low, 2 * average - low)


async def simulate(settings: Settings, companies: int, seed: int, products_per_company: int | None = None) -> Summary:
    """`products_per_company` (average) defaults to CONVERGENCE_SIMULATION_PRODUCTS, else 10."""
    average = products_per_company or int(os.environ.get("CONVERGENCE_SIMULATION_PRODUCTS", PRODUCTS_PER_COMPANY))
    products = product_range(max(1, average))
    summary = Summary()
    engine_ = create_engine(settings)
    maker = create_sessionmaker(engine_)
    try:
        async with maker() as session:
            # Ordered by code, not id, so that the draws do not depend on the database's row order.
            steps = list((await session.scalars(select(Step).order_by(Step.code))).all())
            questionnaires = list((await session.scalars(select(Questionnaire).where(
                Questionnaire.current.is_(True)).order_by(Questionnaire.code))).all())
        by_step: dict[int | None, list[Questionnaire]] = {}
        for questionnaire in questionnaires:
            by_step.setdefault(questionnaire.step_id, []).append(questionnaire)
        password_hash = hash_password(settings, SIMULATION_PASSWORD)
        for number in range(companies):
            async with unit_of_work(maker) as session:
                await _company(session, company_rng(seed, number), number, seed, steps, by_step, password_hash,
                               products, summary)
    finally:
        await engine_.dispose()
    return summary


async def _company(session: AsyncSession, rng: random.Random, number: int, seed: int, steps: list[Step],
                   by_step: dict[int | None, list[Questionnaire]], password_hash: str, products_range: tuple[int, int],
                   summary: Summary) -> None:
    name = f"{rng.choice(PREFIXES)}{rng.choice(SUFFIXES).lower()} {number + 1} {rng.choice(FORMS)}"
    siren = luhn_complete(f"{(seed * 7919 + number) % 90_000_000 + 10_000_000:08d}")
    # Draws happen before the skip so that the same seed yields the same market whatever already exists.
    quality = rng.betavariate(2, 2)
    plan = {"managers": rng.randint(1, 2), "contributors": rng.randint(0, 4),
            "products": rng.randint(*products_range)}
    if await session.scalar(select(Company.id).where(Company.siren == siren)) is not None:
        return
    company = Company(name=name, siren=siren, active=True)
    session.add(company)
    await session.flush()
    users: list[User] = []
    for index in range(plan["managers"] + plan["contributors"]):
        manager = index < plan["managers"]
        role = Role.MANAGER if manager else Role.CONTRIBUTOR
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append(User(email=simulated_email(seed, number, role, index if manager else index - plan["managers"]),
                          first_name=first, last_name=last,
                          role=role, company_id=company.id, password_hash=password_hash, active=True,
                          terms_accepted_version=1, terms_accepted_at=utcnow()))
    session.add_all(users)
    await session.flush()
    summary.companies += 1
    summary.users += len(users)

    products: list[Product] = []
    bases: list[Product] = []
    links: dict[int, list[int]] = {}  # option id → base ids
    latest: list[Product] = []  # products without a later version yet: the ones a new version can follow
    for index in range(plan["products"]):
        if latest and rng.random() < VERSION_RATE:
            # A later version of an earlier product, as "new version" registers it: same name, edition, OS,
            # device, kind and bases, a higher version number, linked to its predecessor.
            source = rng.choice(latest)
            major, minor = (int(part) for part in source.version.split("."))
            version = f"{major + 1}.0" if rng.random() < 0.3 else f"{major}.{minor + 1}"
            product = Product(company_id=company.id, name=source.name, os=source.os, os_other="",
                              device=source.device, edition=source.edition, version=version, kind=source.kind,
                              description="", commercial_name=source.commercial_name,
                              identity_key=identity_key(source.name, source.edition, version, source.os, "",
                                                        source.device),
                              created_by_id=users[0].id, previous_version_id=source.id)
            session.add(product)
            await session.flush()
            links[product.id] = list(links.get(source.id, []))
            for base_id in links[product.id]:
                await session.execute(product_base_link.insert().values(option_id=product.id, base_id=base_id))
            latest[latest.index(source)] = product
            if source in bases:
                bases[bases.index(source)] = product
            products.append(product)
            continue
        word = rng.choice(PRODUCT_WORDS)
        is_option = bool(bases) and rng.random() < OPTION_RATE
        os_ = rng.choice(OSES)
        device = "Mobile" if os_ in ("iOS", "Android") else rng.choice(("Website", "Mobile"))
        version = f"{rng.randint(1, 6)}.{rng.randint(0, 9)}"
        edition = rng.choice(("", "Pro", "Essentiel", "Hôpital"))
        name = f"{word} {index + 1}"
        product = Product(company_id=company.id, name=name, os=os_, os_other="", device=device,
                          edition=edition, version=version, kind=Kind.OPTION if is_option else Kind.BASE,
                          description="", commercial_name=name if rng.random() < 0.5 else None,
                          identity_key=identity_key(name, edition, version, os_, "", device),
                          created_by_id=users[0].id)
        session.add(product)
        await session.flush()
        if is_option:
            links[product.id] = [base.id for base in rng.sample(bases, k=min(len(bases), rng.randint(1, 2)))]
            for base_id in links[product.id]:
                await session.execute(product_base_link.insert().values(option_id=product.id, base_id=base_id))
        else:
            bases.append(product)
        latest.append(product)
        products.append(product)
    summary.products += len(products)

    for user in users[plan["managers"]:]:
        for product in rng.sample(products, k=min(len(products), rng.randint(1, 4))):
            session.add(MemberRight(company_id=company.id, user_id=user.id, product_id=product.id,
                                    level=rng.choice(("read", "edit", "edit", "validate"))))

    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    for product in products:
        eligible = [s for s in steps if not s.requires_commercial_name or product.commercial_name]
        for step in rng.sample(eligible, k=min(len(eligible), rng.randint(1, 3))):
            session.add(Enrolment(product_id=product.id, step_id=step.id))
            for questionnaire in by_step.get(step.id, []):
                status = rng.choices(statuses, weights)[0]
                session.add(_response(rng, company.id, product.id, step.id, questionnaire, status, quality,
                                      users[0].id))
                summary.responses += 1
                summary.statuses[str(status)] = summary.statuses.get(str(status), 0) + 1
    await session.flush()
    await ensure_global_responses(session, company.id)
    audit.record(session, "simulation.company_generated", actor_id=None, target_type="company",
                 target_id=company.id, company_id=company.id, seed=seed)


def _response(rng: random.Random, company_id: int, product_id: int, step_id: int, questionnaire: Questionnaire,
              status: str, quality: float, author_id: int) -> Response:
    answers, planned = fill(rng, questionnaire.items, status, quality)
    evaluation = engine.evaluate(questionnaire.items, answers)
    now = utcnow()
    return Response(company_id=company_id, product_id=product_id, questionnaire_id=questionnaire.id,
                    step_id=step_id, status=status, version=1 if answers else 0, revision=1, answers=answers,
                    planned=planned, maturity=evaluation.maturity, theme_scores=evaluation.theme_scores,
                    answered_count=evaluation.answered,
                    last_saved_by_id=author_id if answers else None, last_saved_at=now if answers else None,
                    submitted_at=now if status in (Status.SUBMITTED, Status.VALIDATED) else None,
                    submitted_by_id=author_id if status in (Status.SUBMITTED, Status.VALIDATED) else None,
                    validated_at=now if status == Status.VALIDATED else None,
                    validated_by_id=author_id if status == Status.VALIDATED else None)
