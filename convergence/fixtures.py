"""Loading reference data from fixtures/ (idempotent) and the demo accounts of `make run`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, TermsVersion, User
from convergence.accounts.validation import normalise_email, valid_email
from convergence.companies.models import Company
from convergence.core import audit
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.errors import Conflict, Invalid
from convergence.core.security import hash_password, password_problems
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
    found: dict[str, Loader] = {"terms": load_terms}
    try:
        from convergence.faq.fixtures import load_faq
    except ImportError:
        pass
    else:
        found["faq"] = load_faq
    try:
        from convergence.questionnaires.fixtures import load_questionnaires
    except ImportError:
        pass
    else:
        found["questionnaires"] = load_questionnaires
    return found


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
            from convergence.questionnaires.services import ensure_global_responses

            await ensure_global_responses(session, company.id)
            for role, email, first, last, in_company in DEMO_USERS:
                if await session.scalar(select(User.id).where(User.email == email)) is None:
                    await _create_user(settings, session, role=role, email=email, password=DEMO_PASSWORD,
                                       first_name=first, last_name=last,
                                       company_id=company.id if in_company else None)
        return [(str(role), email) for role, email, *_ in DEMO_USERS]
    finally:
        await engine.dispose()
