"""Loading reference data from fixtures/ (idempotent) and the demo accounts of `make run`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, TermsVersion, User
from convergence.accounts.validation import normalise_email, valid_email
from convergence.companies.models import Company
from convergence.companies.services import TeamService
from convergence.identity.context import Context
from convergence.core import audit
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.errors import Conflict, Invalid
from convergence.core.security import hash_password, password_problems
from convergence.faq.fixtures import load_faq
from convergence.products.models import Product
from convergence.products.services import ProductService, product_input
from convergence.questionnaires import engine as rules
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.questionnaires.models import Response, Step
from convergence.questionnaires.services import QuestionnaireService, ensure_global_responses
from convergence.settings import Settings

DEMO_PASSWORD = "Convergence-Demo-2026"
DEMO_COMPANY = ("Éditeur Démo Santé SAS", "732829320")


async def load_terms(settings: Settings, session: AsyncSession) -> int:
    folder = settings.fixtures_dir / "terms"
    entries = yaml.safe_load((folder / "versions.yaml").read_text(encoding="utf-8"))
    known = set((await session.scalars(select(TermsVersion.version))).all())
    added = 0
    for entry in entries:
        if entry["version"] in known:
            continue
        published = datetime.fromisoformat(str(entry["published_at"])).replace(tzinfo=timezone.utc)
        session.add(TermsVersion(
            version=entry["version"], published_at=published,
            text_fr=(folder / entry["files"]["fr"]).read_text(encoding="utf-8"),
            text_en=(folder / entry["files"]["en"]).read_text(encoding="utf-8")))
        added += 1
    return added


Loader = Callable[[Settings, AsyncSession], Awaitable[int]]


def loaders() -> dict[str, Loader]:
    """Each domain's fixture loader, in dependency order."""
    return {"terms": load_terms, "faq": load_faq, "questionnaires": load_questionnaires}


async def load_all(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings)
    try:
        summary: dict[str, int] = {}
        async with unit_of_work(create_sessionmaker(engine)) as session:
            for name, loader in loaders().items():
                summary[name] = await loader(settings, session)
        return summary
    finally:
        await engine.dispose()


async def _create_user(settings: Settings, session: AsyncSession, *, role: str, email: str, password: str,
                       first_name: str, last_name: str, company_id: int | None = None,
                       accept_terms: bool = False) -> User:
    email = normalise_email(email)
    if not valid_email(email):
        raise Invalid("The e-mail address is not valid.", code="invalid_email")
    if await session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict("An account already exists for this e-mail address.", code="email_already_registered")
    problems = password_problems(settings, password, email)
    if problems:
        raise Invalid(" ".join(problems), code="weak_password")
    user = User(email=email, first_name=first_name, last_name=last_name, role=role, company_id=company_id,
                password_hash=hash_password(settings, password), active=True)
    session.add(user)
    await session.flush()
    audit.record(session, "user.created", actor_id=None, target_type="user", target_id=user.id,
                 company_id=company_id, role=role, via="cli")
    return user


async def create_staff_user(settings: Settings, *, role: str, email: str, password: str, first_name: str,
                            last_name: str) -> User:
    if role not in (Role.SUPPORT, Role.REVIEWER):
        raise Invalid("Only support and reviewer accounts are created from the command line.", code="invalid_role")
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await _create_user(settings, session, role=role, email=email, password=password,
                                      first_name=first_name, last_name=last_name)
    finally:
        await engine.dispose()


DEMO_USERS = (
    (Role.SUPPORT, "support@ans.example", "Sophie", "Support", False),
    (Role.REVIEWER, "reviewer@ans.example", "Romain", "Relecteur", False),
    (Role.MANAGER, "manager@editeur-demo.example", "Marie", "Gérante", True),
    (Role.CONTRIBUTOR, "contributor@editeur-demo.example", "Camille", "Contributrice", True),
)


async def load_demo(settings: Settings) -> list[tuple[str, str]]:
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            company = await session.scalar(select(Company).where(Company.siren == DEMO_COMPANY[1]))
            if company is None:
                company = Company(name=DEMO_COMPANY[0], siren=DEMO_COMPANY[1], active=True)
                session.add(company)
                await session.flush()
            await ensure_global_responses(session, company.id)
            for role, email, first, last, in_company in DEMO_USERS:
                if await session.scalar(select(User.id).where(User.email == email)) is None:
                    await _create_user(settings, session, role=role, email=email, password=DEMO_PASSWORD,
                                       first_name=first, last_name=last,
                                       company_id=company.id if in_company else None)
            await load_demo_work(settings, session, company)
        return [(str(role), email) for role, email, *_ in DEMO_USERS]
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------- demo work
#
# The demo vendor's products and questionnaires, so that both demo logins land on real work: every status
# (not started, draft partly answered, submitted, validated, returned for changes with a comment, validated
# then reopened), a base with an option, a product with a later version. Written through the services, as a
# person would through the pages: the audit trail, the outbox and the stored maturity are the real ones.
# Names avoid the ones browser tests create ("Agenda…", "Facturation Cabinet", "DocConnect", "…Relecture").

DEMO_PRODUCTS = (
    # key, fields, steps
    ("cabinet", {"name": "Cabinet Connect", "os": "Windows", "device": "Website", "edition": "Pro",
                 "version": "3.2", "kind": "base", "commercial_name": "Cabinet Connect",
                 "description": "Logiciel de cabinet médical : dossier patient, ordonnances, téléconsultation."},
     ("doctrine-socles", "doctrine-teleconsultation", "mes-without-exchange")),
    ("diabete", {"name": "Suivi Diabète", "os": "Android", "device": "Mobile", "edition": "", "version": "1.4",
                 "kind": "base", "commercial_name": "Suivi Diabète",
                 "description": "Application de télésurveillance des patients diabétiques."},
     ("doctrine-socles", "doctrine-telesoin")),
    ("ordonnance", {"name": "Ordonnance Express", "os": "Linux", "device": "Website", "edition": "",
                    "version": "2.1", "kind": "base", "description": "Prescription électronique en officine."},
     ("doctrine-socles",)),
    ("teleexpertise", {"name": "Module Téléexpertise", "os": "Windows", "device": "Website", "edition": "",
                       "version": "1.0", "kind": "option",
                       "description": "Option de téléexpertise entre professionnels de Cabinet Connect."},
     ("doctrine-teleexpertise",)),
)
DEMO_NEW_VERSION = ("cabinet", "4.0", ("doctrine-socles",))
DEMO_RETURN_COMMENT = ("Merci de préciser la procédure de sauvegarde : les sauvegardes sont-elles chiffrées et "
                       "testées au moins une fois par an ?")


def demo_value(item: Any, index: int) -> Any:
    """A valid answer for the demo: mostly good practice, with a few gaps so that maturity is not 100 %."""
    bounds = getattr(item, "bounds", None) or {}
    options = [o["value"] for o in item.options or []]
    if item.type == "boolean":
        return index % 4 != 3
    if item.type == "choice":
        return options[-1] if index % 3 else options[max(0, len(options) - 2)]
    if item.type == "multi_choice":
        return options[:1]
    if item.type == "text":
        return "Procédure documentée et revue chaque année par le responsable qualité."
    if item.type == "number":
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None:
            value = (low + high) / 2
        else:
            value = low + 1 if low is not None else (min(high, 4) if high is not None else 4)
        return int(value) if bounds.get("integer", True) else value
    if item.type == "date":
        if bounds.get("min") == "today":
            return (date.today() + timedelta(days=90)).isoformat()
        return (date.today() - timedelta(days=60)).isoformat()
    return None


def demo_answers(items: list[Any], share: float = 1.0) -> dict[str, Any]:
    """Answers to the enabled items in order (follow-ups included); `share` < 1 leaves the end unanswered."""
    answers: dict[str, Any] = {}
    by_code = {i.code: i for i in items}
    limit = max(1, int(len(items) * share))
    for _pass in range(2):  # a second pass answers follow-ups revealed by a later answer
        for index, item in enumerate(items[:limit]):
            if str(item.id) not in answers and rules.is_enabled(item, answers, by_code):
                value = demo_value(item, index)
                if value is not None:
                    answers[str(item.id)] = value
    return answers


def demo_planned(items: list[Any], answers: dict[str, Any]) -> dict[str, str]:
    """Planned compliance dates for most answered, not yet compliant questions, spread over the next two years,
    so that the demo's roadmap has lines in several quarters (and a few still without a date)."""
    today = date.today()
    due = [item for item in rules.not_compliant(items, answers) if str(item.id) in answers]
    return {str(item.id): (today + timedelta(days=45 + 61 * (n % 11))).isoformat()
            for n, item in enumerate(due) if n % 4 != 3}


async def load_demo_work(settings: Settings, session: AsyncSession, company: Company) -> None:
    """Idempotent: done once, when the demo vendor has none of its demo products yet."""
    names = {fields["name"] for _key, fields, _steps in DEMO_PRODUCTS}
    if await session.scalar(select(Product.id).where(Product.company_id == company.id,
                                                     Product.name.in_(names)).limit(1)) is not None:
        return
    manager = await session.scalar(select(User).where(User.email == DEMO_USERS[2][1]))
    contributor = await session.scalar(select(User).where(User.email == DEMO_USERS[3][1]))
    if manager is None or contributor is None or manager.company_id != company.id:
        return
    # The questionnaires are reference data (`fixtures load`); the demo needs them, loading is idempotent.
    await load_questionnaires(settings, session)
    steps = {s.code: s.id for s in (await session.scalars(select(Step))).all()}
    as_manager = Context(session=session, settings=settings, actor=manager)
    as_contributor = Context(session=session, settings=settings, actor=contributor)

    products: dict[str, Product] = {}
    for key, fields, _steps in DEMO_PRODUCTS:
        data = dict(fields)
        if data["kind"] == "option":
            data["base_product_ids"] = [products["cabinet"].id]
        products[key] = await ProductService(as_manager).create(company.id, product_input(data), via="demo")
    source, version, _ = DEMO_NEW_VERSION
    products["cabinet4"] = await ProductService(as_manager).new_version(products[source].id, {"version": version})
    plan = {key: step_codes for key, _fields, step_codes in DEMO_PRODUCTS} | {"cabinet4": DEMO_NEW_VERSION[2]}
    manager_side = QuestionnaireService(as_manager)
    for key, step_codes in plan.items():
        await manager_side.enrol(products[key].id, [steps[c] for c in step_codes if c in steps])

    # The contributor edits Cabinet Connect (both versions), validates Suivi Diabète, reads Ordonnance Express
    # and edits the global strategy: both demo logins have work, each their own.
    await TeamService(as_manager).set_rights(company.id, contributor.id, [
        {"product_id": products["cabinet"].id, "level": "edit"},
        {"product_id": products["cabinet4"].id, "level": "edit"},
        {"product_id": products["diabete"].id, "level": "validate"},
        {"product_id": products["ordonnance"].id, "level": "read"},
        {"product_id": None, "level": "edit"}])

    responses = {(r.product_id, r.questionnaire.code): r for r in (await session.scalars(select(Response).where(
        Response.company_id == company.id))).unique().all()}

    async def fill(ctx: Context, key: str | None, questionnaire: str, share: float = 1.0) -> int | None:
        product_id = products[key].id if key else None
        response = responses.get((product_id, questionnaire))
        if response is None:  # that questionnaire is not in the fixtures (any more)
            return None
        items = response.questionnaire.items
        answers = demo_answers(items, share)
        planned = demo_planned(items, answers) if key else {}
        await _save_demo_answers(QuestionnaireService(ctx), response, answers, planned)
        return response.id

    contributor_side = QuestionnaireService(as_contributor)
    # Cabinet Connect 3.2: foundations validated, teleconsultation awaiting the manager, MES partly answered.
    if (rid := await fill(as_contributor, "cabinet", "socles-maturity")) is not None:
        await contributor_side.submit(rid)
        await manager_side.validate(rid)
    if (rid := await fill(as_contributor, "cabinet", "teleconsultation")) is not None:
        await contributor_side.submit(rid)
    await fill(as_contributor, "cabinet", "mes-without-exchange", share=0.4)
    # Suivi Diabète: foundations returned to the contributor with a comment; telesoin awaits her validation.
    if (rid := await fill(as_contributor, "diabete", "socles-maturity")) is not None:
        await contributor_side.submit(rid)
        await manager_side.return_for_changes(rid, DEMO_RETURN_COMMENT)
    if (rid := await fill(as_manager, "diabete", "telesoin")) is not None:
        await manager_side.submit(rid)
    # The option: validated, then reopened by the manager (revision 2 in progress, revision 1 kept).
    if (rid := await fill(as_manager, "teleexpertise", "teleexpertise")) is not None:
        await manager_side.submit(rid)
        await manager_side.validate(rid)
        await manager_side.reopen(rid)
    # Cabinet Connect 4.0 and Ordonnance Express stay not started; the global strategy is a draft.
    for (product_id, code), response in responses.items():
        if product_id is None:
            await fill(as_manager, None, code, share=0.5)
            break


async def _save_demo_answers(service: Any, response: Any, answers: dict[str, Any],
                             planned: dict[str, str] | None = None) -> None:
    """Saves through the service (the engine checks each value); an answer the current fixtures refuse (bounds
    changed since this demo was written) is left out rather than failing the whole demo."""
    for _attempt in range(len(answers) + 1):
        try:
            await service.save_answers(response.id, response.version, answers, planned or None)
            return
        except Invalid as exc:
            refused = str(exc.extra.get("item_id", ""))
            if refused not in answers:
                raise
            answers.pop(refused)
            (planned or {}).pop(refused, None)
