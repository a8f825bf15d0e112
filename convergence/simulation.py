"""`convergence simulate`: a reproducible market of vendors, so that a demo or a reviewer sees a living platform.

Same seed, same market: each company draws from its own generator seeded by (seed, company number), so the
first N companies are the same whatever N, and a company whose SIREN already exists is skipped without shifting the
others — a second run adds nothing, a larger run only adds the companies that are missing.
About 10 products per company (bases, options linked to 1-2 bases, and later versions of earlier products).
Simulated accounts are `manager1@sim<seed>-<n>.example`, `contributor1@…` (n = company number from 1) and share
one password (hashed once: thousands of argon2 hashes would take minutes).

Written in bulk for a market of 10,000 companies (about 100,000 products) in minutes: companies are drawn in
chunks of CHUNK (in a worker thread, the next chunk while the current one is written), ids are handed out before
the rows exist, and each table's rows of a chunk go in one statement (PostgreSQL: COPY; SQLite: executemany), one
transaction per chunk. The review_summary triggers (migration 0014) are off inside that transaction and the
chunk's summary rows are rebuilt at its end by the statements the triggers run (questionnaires.summary_sql).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Sequence, Table, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.accounts.models import Role, User
from convergence.attestations.simulate import simulate_attestations
from convergence.companies.models import Company
from convergence.companies.team_models import MemberRight
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.models import AuditEvent, utcnow
from convergence.core.security import hash_password
from convergence.products.models import Kind, Product, identity_key, product_base_link
from convergence.notifications.simulate import simulate_notifications
from convergence.publications.simulate import simulate_publications
from convergence.questionnaires import engine, summary_sql
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Questionnaire,
    Response,
    Status,
    Step,
)
from convergence.questionnaires.versions import simulate_versions
from convergence.questionnaires.evidence.simulate import simulate_evidence
from convergence.referencing.simulate import simulate_applications
from convergence.roadmap.simulate import simulate_roadmaps
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
    applications: int = 0
    attestations: int = 0
    migrated: int = 0
    notifications: int = 0
    evidence: int = 0
    publications: int = 0
    roadmaps: int = 0  # products given targets (and some lines an owner)


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



# Companies generated and written per transaction: each transaction is a few thousand rows per table, short
# enough that the write locks it holds (SQLite's database lock, PostgreSQL's lock on the two tables whose triggers
# it switches off) are released every second or so, and a failure loses one chunk, which a second run redoes.
CHUNK = 200
ANALYZED = ("company", "user_account", "product", "product_base_link", "member_right", "enrolment", "response",
            "review_summary", "audit_event")
LIFE_TABLES = ("referencing_application", "referencing_queue_count", "review_theme_count", "review_status_count")
REBUILD_TABLES = ("company", "product", "enrolment", "review_summary")  # what summary_sql's statements join


@dataclass
class _Plan:
    """One company as drawn, before ids: products, users and links refer to each other by position."""

    number: int
    name: str
    siren: str
    users: list[dict[str, Any]]
    products: list[dict[str, Any]]
    previous: list[int | None]  # per product: position of the product it is a later version of
    links: list[tuple[int, int]]  # (option position, base position)
    rights: list[tuple[int, int, str]]  # (user position, product position, level)
    enrolments: list[tuple[int, int]]  # (product position, step id)
    responses: list[tuple[int, int, Questionnaire, str, dict[str, Any], dict[str, str]]]


async def simulate(settings: Settings, companies: int, seed: int, products_per_company: int | None = None,
                   on_progress: Callable[[int], None] | None = None, life: bool = False) -> Summary:
    """`products_per_company` (average) defaults to CONVERGENCE_SIMULATION_PRODUCTS, else 10; `on_progress` is
    called with the number of companies done (generated or found already there) after each committed chunk.
    `life` adds what happens on the market afterwards (see `_life`), when this run registered companies: a second
    run still adds nothing."""
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
            by_step.setdefault(questionnaire.step_id, []).append(_detached(questionnaire))
        plain_steps = [SimpleNamespace(id=step.id, requires_commercial_name=step.requires_commercial_name)
                       for step in steps]
        password_hash = hash_password(settings, SIMULATION_PASSWORD)

        async def drawn(numbers: range) -> list[_Plan]:
            """The plans of the companies of `numbers` not in the database yet, drawn in a worker thread."""
            sirens = {number: company_siren(seed, number) for number in numbers}
            async with maker() as session:
                existing = await _existing(session, list(sirens.values()))
            return await asyncio.to_thread(lambda: [
                _plan(company_rng(seed, number), number, sirens[number], seed, plain_steps, by_step, products)
                for number in numbers if sirens[number] not in existing])

        chunks = [range(first, min(companies, first + CHUNK)) for first in range(0, companies, CHUNK)]
        if not chunks:
            return summary
        # The next chunk is drawn (Python, in a thread) while this one is written (mostly the database's work).
        upcoming = asyncio.ensure_future(drawn(chunks[0]))
        try:
            for index, numbers in enumerate(chunks):
                plans = await upcoming
                if index + 1 < len(chunks):
                    upcoming = asyncio.ensure_future(drawn(chunks[index + 1]))
                async with unit_of_work(maker) as session:
                    # Checked again under the write lock: another run may have written some meanwhile.
                    existing = await _existing(session, [plan.siren for plan in plans])
                    plans = [plan for plan in plans if plan.siren not in existing]
                    if plans:
                        async with _summary_triggers_off(session) as off:
                            await _write(session, plans, seed, by_step.get(None, []), password_hash, summary, off)
                if summary.companies and index + 1 == len(chunks):
                    await _vacuum(maker, ANALYZED)
                elif plans and index & (index + 1) == 0:
                    await _analyze(maker, REBUILD_TABLES, sample=10)
                if on_progress is not None:
                    on_progress(len(numbers))
        finally:
            if not upcoming.done():
                upcoming.cancel()
                await asyncio.gather(upcoming, return_exceptions=True)
        if life and summary.companies:
            await _life(maker, settings, seed, summary)
    finally:
        await engine_.dispose()
    return summary


async def _life(maker: async_sessionmaker[AsyncSession], settings: Settings, seed: int, summary: Summary) -> None:
    """What happens on a market once it is registered: referencing applications in every state, attestations
    (valid, revoked, outdated), a questionnaire's next version adopted by some responses and not by others, and
    notifications. Each step skips what an earlier run did; the order matters (an application needs validated
    answers; a migration then outdates some attestations, as it would on the platform)."""
    rng = random.Random(f"{seed}:life")
    async with unit_of_work(maker) as session:
        summary.applications = await simulate_applications(session, rng)
    async with unit_of_work(maker) as session:
        summary.attestations = await simulate_attestations(session, rng, settings)
    async with unit_of_work(maker) as session:
        summary.migrated = await simulate_versions(session, rng, settings)
    async with unit_of_work(maker) as session:
        summary.notifications = await simulate_notifications(session, rng)
    async with unit_of_work(maker) as session:
        summary.publications = await simulate_publications(session, rng, settings)
    async with unit_of_work(maker) as session:  # its own draws: the steps above keep theirs
        summary.evidence = await simulate_evidence(session, random.Random(f"{seed}:evidence"))
    async with unit_of_work(maker) as session:  # its own draws too
        summary.roadmaps = await simulate_roadmaps(session, random.Random(f"{seed}:roadmaps"), settings)
    # Each application filed and decided above moved its count row (referencing_queue_count) a few times, and the
    # versions' migration moved figures rows: their dead versions would slow the first dashboards down.
    await _vacuum(maker, LIFE_TABLES)


def _detached(questionnaire: Questionnaire) -> Any:
    """The questionnaire and its items as plain objects with the same attributes: the engine reads item attributes
    millions of times in a large market, and an ORM instance's instrumented attributes cost a third of that."""
    items = [SimpleNamespace(**{column.key: getattr(item, column.key) for column in Item.__table__.columns})
             for item in questionnaire.items]
    return SimpleNamespace(id=questionnaire.id, step_id=questionnaire.step_id, items=items)


async def _analyze(maker: async_sessionmaker[AsyncSession], tables: tuple[str, ...], sample: int = 0) -> None:
    """PostgreSQL: fresh planner statistics for the tables the load fills. Autovacuum's ANALYZE lags behind a load
    this fast: with the statistics of a nearly empty table, the planner reads whole tables (hash joins) to rebuild
    one chunk's summary rows, and each chunk costs more than the one before. So after chunks 1, 2, 4, 8…, the
    tables the rebuild joins, on a small sample (`sample`: statistics target; the sizes are what matters); after
    the last chunk, every filled table with full statistics, for the application's plans on the new market."""
    async with maker() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        if sample:
            await session.execute(text(f"SET LOCAL default_statistics_target = {int(sample)}"))
        await session.execute(text(f"ANALYZE {', '.join(tables)}"))
        await session.commit()


async def _vacuum(maker: async_sessionmaker[AsyncSession], tables: tuple[str, ...]) -> None:
    """PostgreSQL, after the last chunk and after the market's life: `VACUUM (ANALYZE)` of the filled tables,
    outside a transaction as VACUUM must be. The load leaves a dead version of every summary row it refreshed,
    which the first readers would otherwise wade through until autovacuum passes; and full statistics for the
    application's plans."""
    engine = maker.kw["bind"]
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))


async def _existing(session: AsyncSession, sirens: list[str]) -> set[str]:
    if not sirens:
        return set()
    return set((await session.scalars(select(Company.siren).where(Company.siren.in_(sirens)))).all())


def company_siren(seed: int, number: int) -> str:
    """Depends on the seed and the company number only, so that which companies exist is known before drawing."""
    return luhn_complete(f"{(seed * 7919 + number) % 90_000_000 + 10_000_000:08d}")


def _plan(rng: random.Random, number: int, siren: str, seed: int, steps: list[Any],
          by_step: dict[int | None, list[Questionnaire]], products_range: tuple[int, int]) -> _Plan:
    """One company's draws, in the order the per-company generator has always made them (same seed, same market)."""
    name = f"{rng.choice(PREFIXES)}{rng.choice(SUFFIXES).lower()} {number + 1} {rng.choice(FORMS)}"
    quality = rng.betavariate(2, 2)
    managers, contributors, count = rng.randint(1, 2), rng.randint(0, 4), rng.randint(*products_range)
    users: list[dict[str, Any]] = []
    for index in range(managers + contributors):
        manager = index < managers
        role = Role.MANAGER if manager else Role.CONTRIBUTOR
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append({"email": simulated_email(seed, number, role, index if manager else index - managers),
                      "first_name": first, "last_name": last, "role": str(role)})

    products: list[dict[str, Any]] = []
    previous: list[int | None] = []
    links: dict[int, list[int]] = {}  # option position → base positions
    bases: list[int] = []
    latest: list[int] = []  # products without a later version yet: the ones a new version can follow
    for index in range(count):
        position = len(products)
        if latest and rng.random() < VERSION_RATE:
            # A later version of an earlier product, as "new version" registers it: same name, edition, OS,
            # device, kind and bases, a higher version number, linked to its predecessor.
            source_position = rng.choice(latest)
            source = products[source_position]
            major, minor = (int(part) for part in source["version"].split("."))
            version = f"{major + 1}.0" if rng.random() < 0.3 else f"{major}.{minor + 1}"
            products.append({**source, "version": version, "identity_key": identity_key(
                source["name"], source["edition"], version, source["os"], "", source["device"])})
            previous.append(source_position)
            links[position] = list(links.get(source_position, []))
            latest[latest.index(source_position)] = position
            if source_position in bases:
                bases[bases.index(source_position)] = position
            continue
        word = rng.choice(PRODUCT_WORDS)
        is_option = bool(bases) and rng.random() < OPTION_RATE
        os_ = rng.choice(OSES)
        device = "Mobile" if os_ in ("iOS", "Android") else rng.choice(("Website", "Mobile"))
        version = f"{rng.randint(1, 6)}.{rng.randint(0, 9)}"
        edition = rng.choice(("", "Pro", "Essentiel", "Hôpital"))
        product_name = f"{word} {index + 1}"
        products.append({"name": product_name, "os": os_, "os_other": "", "device": device, "edition": edition,
                         "version": version, "kind": str(Kind.OPTION if is_option else Kind.BASE),
                         "description": "",
                         "commercial_name": product_name if rng.random() < 0.5 else None,
                         "identity_key": identity_key(product_name, edition, version, os_, "", device)})
        previous.append(None)
        if is_option:
            links[position] = rng.sample(bases, k=min(len(bases), rng.randint(1, 2)))
        else:
            bases.append(position)
        latest.append(position)

    rights = [(user, product, rng.choice(("read", "edit", "edit", "validate")))
              for user in range(managers, len(users))
              for product in rng.sample(range(len(products)), k=min(len(products), rng.randint(1, 4)))]

    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    enrolments: list[tuple[int, int]] = []
    responses: list[tuple[int, int, Questionnaire, str, dict[str, Any], dict[str, str]]] = []
    for position, product in enumerate(products):
        eligible = [s for s in steps if not s.requires_commercial_name or product["commercial_name"]]
        for step in rng.sample(eligible, k=min(len(eligible), rng.randint(1, 3))):
            enrolments.append((position, step.id))
            for questionnaire in by_step.get(step.id, []):
                status = rng.choices(statuses, weights)[0]
                answers, planned = fill(rng, questionnaire.items, status, quality)
                responses.append((position, step.id, questionnaire, str(status), answers, planned))
    return _Plan(number=number, name=name, siren=siren, users=users, products=products, previous=previous,
                 links=[(option, base) for option, bases_ in links.items() for base in bases_], rights=rights,
                 enrolments=enrolments, responses=responses)


async def _ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` new primary keys of `table`, handed out before the rows exist so that rows can refer to each other
    in one multi-row insert per table. PostgreSQL: from the table's sequence (safe beside concurrent writers);
    SQLite: after the largest id, which the unit of work's write lock (BEGIN IMMEDIATE) keeps ours."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = table.c.id.default
        assert isinstance(sequence, Sequence), table.name
        numbers = select(sequence.next_value()).select_from(func.generate_series(1, count))
        return sorted((await session.scalars(numbers)).all())
    first = int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0)))) + 1
    return list(range(first, first + count))


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """The rows in one go. PostgreSQL: COPY through asyncpg's own connection, in the session's transaction (about
    three times faster than an executemany of INSERTs, whose parameters SQLAlchemy processes row by row in
    Python); SQLite: one executemany, which the driver steps in C."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    columns = [column for column in table.columns if column.key in rows[0]]
    encoders = [_json_text if isinstance(column.type, JSON) else None for column in columns]
    records = [tuple(row[column.key] if encode is None else encode(row[column.key])
                     for column, encode in zip(columns, encoders)) for row in rows]
    connection = await (await session.connection()).get_raw_connection()
    await connection.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=[column.name for column in columns])


def _json_text(value: Any) -> str | None:
    # What SQLAlchemy's JSON type would send: json.dumps with its defaults (COPY takes json columns as text).
    return None if value is None else json.dumps(value)


async def _write(session: AsyncSession, plans: list[_Plan], seed: int, global_questionnaires: list[Questionnaire],
                 password_hash: str, summary: Summary, themes: bool = True) -> None:
    """`themes`: the theme score triggers were off, so the chunk's counts are added here (when they stayed on,
    they counted the rows already, and adding them again would count them twice)."""
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    tables = {model: model.__table__ for model in (Company, User, Product, MemberRight, Enrolment, Response,
                                                   AuditEvent)}
    company_ids = await _ids(session, tables[Company], len(plans))
    user_ids = iter(await _ids(session, tables[User], sum(len(p.users) for p in plans)))
    product_ids = iter(await _ids(session, tables[Product], sum(len(p.products) for p in plans)))
    rows: dict[Any, list[dict[str, Any]]] = {key: [] for key in (*tables, product_base_link)}
    for plan, company_id in zip(plans, company_ids, strict=True):
        rows[Company].append({"id": company_id, "name": plan.name, "siren": plan.siren, "active": True, **stamps})
        users = [next(user_ids) for _ in plan.users]
        author = users[0]
        rows[User].extend({"id": user_id, **user, "job_title": "", "company_id": company_id,
                           "password_hash": password_hash, "active": True, "terms_accepted_version": 1,
                           "terms_accepted_at": now, **stamps} for user_id, user in zip(users, plan.users))
        products = [next(product_ids) for _ in plan.products]
        rows[Product].extend({"id": product_id, **product, "company_id": company_id, "created_by_id": author,
                              "previous_version_id": None if before is None else products[before], **stamps}
                             for product_id, product, before in zip(products, plan.products, plan.previous))
        rows[product_base_link].extend({"option_id": products[option], "base_id": products[base]}
                                       for option, base in plan.links)
        rows[MemberRight].extend({"company_id": company_id, "user_id": users[user], "product_id": products[product],
                                  "level": level, **stamps} for user, product, level in plan.rights)
        rows[Enrolment].extend({"product_id": products[product], "step_id": step_id, **stamps}
                               for product, step_id in plan.enrolments)
        for product, step_id, questionnaire, status, answers, planned in plan.responses:
            rows[Response].append(_response(company_id, products[product], step_id, questionnaire, status, answers,
                                            planned, author, now))
            summary.statuses[status] = summary.statuses.get(status, 0) + 1
        # Every company has its global-strategy responses, not started (what ensure_global_responses creates).
        rows[Response].extend(_response(company_id, None, None, questionnaire, str(Status.NOT_STARTED), {}, {},
                                        author, now) for questionnaire in global_questionnaires)
        rows[AuditEvent].append({"action": "simulation.company_generated", "actor_id": None, "company_id": company_id,
                                 "target_type": "company", "target_id": company_id, "data": {"seed": seed},
                                 "ip": None, **stamps})
        summary.companies += 1
        summary.users += len(users)
        summary.products += len(products)
        summary.responses += len(plan.responses)
    for key in (Company, User, Product, product_base_link, MemberRight, Enrolment, Response, AuditEvent):
        table = key if isinstance(key, Table) else tables[key]
        await _insert(session, table, rows[key])
    # The summary rows of the new enrolments, by the statements the triggers run (summary_sql): the chunk's
    # companies only, and only enrolments without a row yet (on SQLite the triggers may have written them).
    # Ranges of ids read through the indexes on enrolment.product_id and review_summary.company_id: the cost of a
    # chunk does not grow with the market already there. (Ids handed to other writers meanwhile may fall inside
    # the ranges: refreshing their rows is harmless, and the rows their triggers wrote are left as they are.)
    products = [row["id"] for row in rows[Product]]
    await session.execute(text(summary_sql.INSERT.format(where="e.product_id BETWEEN :first AND :last")
                               + " ON CONFLICT (product_id, step_id) DO NOTHING"),
                          {"first": min(products, default=0), "last": max(products, default=0)})
    await session.execute(text(summary_sql.REFRESH.format(
        where="review_summary.company_id BETWEEN :first AND :last")),
        {"first": company_ids[0], "last": company_ids[-1]})
    if themes and products:
        # The chunk's products exactly (not a range): a count added twice would stay wrong.
        await session.execute(text(summary_sql.theme_delta(session.get_bind().dialect.name,
                                                           "e.product_id IN :products")).bindparams(
            bindparam("products", expanding=True)), {"products": products})
        await session.execute(text(summary_sql.STATUS_DELTA.format(where="product_id IN :products")).bindparams(
            bindparam("products", expanding=True)), {"products": products})


def _response(company_id: int, product_id: int | None, step_id: int | None, questionnaire: Questionnaire,
              status: str, answers: dict[str, Any], planned: dict[str, str], author_id: int,
              now: datetime) -> dict[str, Any]:
    evaluation = engine.evaluate(questionnaire.items, answers) if product_id is not None else None
    done = status in (Status.SUBMITTED, Status.VALIDATED)
    validated = status == Status.VALIDATED
    return {"company_id": company_id, "product_id": product_id, "questionnaire_id": questionnaire.id,
            "step_id": step_id, "status": status, "version": 1 if answers else 0, "revision": 1, "answers": answers,
            "planned": planned, "maturity": evaluation.maturity if evaluation else 0.0,
            "theme_scores": evaluation.theme_scores if evaluation else {},
            "answered_count": evaluation.answered if evaluation else 0, "item_versions": None,
            "last_saved_by_id": author_id if answers else None, "last_saved_at": now if answers else None,
            "submitted_at": now if done else None, "submitted_by_id": author_id if done else None,
            "validated_at": now if validated else None, "validated_by_id": author_id if validated else None,
            "return_comment": None, "created_at": now, "updated_at": now}


@contextlib.asynccontextmanager
async def _summary_triggers_off(session: AsyncSession) -> AsyncIterator[bool]:
    """Inside the chunk's transaction, the review_summary triggers of enrolment and response, and
    review_status_count's on review_summary, are off (the chunk rebuilds its rows and adds its counts in bulk at
    the end); they are back on before the commit, so that no other transaction ever
    sees them off.

    PostgreSQL: `ALTER TABLE … DISABLE TRIGGER <name>`, transactional, and allowed to the tables' owner (the role
    that ran the migrations), where `SET session_replication_role = replica` needs a superuser (or PostgreSQL 15's
    GRANT SET) and would skip the foreign-key checks too. It locks the two tables against other writers (readers go
    on) until the commit. A role that does not own the tables keeps the triggers: slower, as exact.
    SQLite: the triggers are dropped and created again from their own text in sqlite_master, inside the
    transaction, which holds the database's write lock."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        names = (await session.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(:tables) "
            # Always the same order (enrolment, then response), as the services write them: no lock-order deadlock.
            "AND (t.tgname LIKE :prefix OR (c.relname = 'review_summary' AND t.tgname LIKE :status_prefix)) "
            "AND pg_table_is_visible(c.oid) ORDER BY c.relname, t.tgname"),
            {"tables": [*summary_sql.LOADED_TABLES, "review_summary"], "prefix": summary_sql.TRIGGER_PREFIX + "%",
             "status_prefix": summary_sql.STATUS_TRIGGER_PREFIX + "%"})).all()
        try:
            async with session.begin_nested():
                for table, name in names:
                    await session.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"'))
        except DBAPIError:  # not the owner: the triggers stay on
            names = []
        yield bool(names)
        for table, name in names:
            await session.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"'))
        return
    triggers = (await session.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND ((tbl_name IN ('enrolment', 'response') "
        "AND name LIKE :prefix) OR (tbl_name = 'review_summary' AND name LIKE :status_prefix))"),
        {"prefix": summary_sql.TRIGGER_PREFIX + "%", "status_prefix": summary_sql.STATUS_TRIGGER_PREFIX + "%"})).all()
    for name, _sql in triggers:
        await session.execute(text(f'DROP TRIGGER "{name}"'))
    yield True
    for _name, sql in triggers:
        await session.execute(text(sql))
