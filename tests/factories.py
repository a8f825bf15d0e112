"""Factories and the fixed cast of users every test can rely on."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.accounts.models import Role, User
from convergence.companies.models import Company
from convergence.core.db import unit_of_work
from convergence.core.security import hash_password
from convergence.settings import Settings

PASSWORD = "Correct-Horse-Battery-2026"
VALID_SIRENS = ("732829320", "542107651", "552100554", "443061841", "383474814", "412277755")
_sequence = itertools.count(1)


def luhn_siren(prefix: str) -> str:
    """Complete an 8-digit prefix with the Luhn check digit."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


async def make_company(session: AsyncSession, name: str | None = None, siren: str | None = None) -> Company:
    number = next(_sequence)
    company = Company(name=name or f"Éditeur {number}", siren=siren or luhn_siren(f"{80000000 + number:08d}"))
    session.add(company)
    await session.flush()
    return company


async def make_user(session: AsyncSession, settings: Settings, *, role: str, company: Company | None = None,
                    email: str | None = None, password: str = PASSWORD, accept_terms: bool = True,
                    active: bool = True) -> User:
    number = next(_sequence)
    user = User(email=email or f"{role}{number}@example.org", first_name=role.capitalize(), last_name=f"N{number}",
                role=role, company_id=company.id if company else None,
                password_hash=hash_password(settings, password), active=active,
                terms_accepted_version=1 if accept_terms else None)
    session.add(user)
    await session.flush()
    return user


@dataclass
class Cast:
    support: User
    reviewer: User
    manager: User
    contributor: User
    outsider: User
    company: Company
    other_company: Company


async def make_cast(settings: Settings, db: async_sessionmaker[AsyncSession]) -> Cast:
    async with unit_of_work(db) as session:
        company = await make_company(session, "Santé Connectée SAS")
        other = await make_company(session, "Autre Éditeur SARL")
        return Cast(
            support=await make_user(session, settings, role=Role.SUPPORT, email="support@ans.example"),
            reviewer=await make_user(session, settings, role=Role.REVIEWER, email="reviewer@ans.example"),
            manager=await make_user(session, settings, role=Role.MANAGER, company=company,
                                    email="manager@sante-connectee.example"),
            contributor=await make_user(session, settings, role=Role.CONTRIBUTOR, company=company,
                                        email="contributor@sante-connectee.example"),
            outsider=await make_user(session, settings, role=Role.MANAGER, company=other,
                                     email="manager@autre-editeur.example"),
            company=company, other_company=other,
        )


async def token_for(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf(client: AsyncTestClient[Any]) -> str:
    return client.cookies.get("cv_csrf") or ""


async def page_login(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"email": email, "password": password, "_csrf": csrf(client)})
    assert response.status_code == 303, response.text


async def make_product(session: AsyncSession, company: Company, creator: User | None = None, *,
                       name: str = "DocConnect", os: str = "iOS", os_other: str = "", device: str = "Mobile",
                       edition: str = "Pro", version: str = "1.0", kind: str = "base", bases: list[Any] | None = None,
                       commercial_name: str | None = None, previous: Any = None) -> Any:
    """A product written straight to the database (products domain)."""
    from convergence.products.models import Product, identity_key

    product = Product(company_id=company.id, name=name, os=os, os_other=os_other, device=device, edition=edition,
                      version=version, kind=kind, description="", commercial_name=commercial_name,
                      identity_key=identity_key(name, edition, version, os, os_other, device),
                      created_by_id=creator.id if creator else None,
                      previous_version_id=previous.id if previous else None)
    product.bases = list(bases or [])
    session.add(product)
    await session.flush()
    return product
