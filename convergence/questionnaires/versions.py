"""Questionnaire versions: what changed between two versions of a questionnaire, and moving responses to the
latest version.

A new version (same code, higher version, loaded by `convergence fixtures load`) never moves a response by
itself: the answers were given, and validated, against the questions of their version. A manager migrates a
response (one, a product's or the whole company's): answers are carried over by item code, the questions new or
changed in the new version are flagged for the contributors (a flag clears when the answer is given or changed,
or when a contributor confirms it), answers the new version has no question for are kept in the migration's
record, and a validated response goes back to draft (its validated answers kept as a revision, as a reopening
does). A submitted response awaits its validator's decision and is not migrated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from convergence.accounts.models import Role, User
from convergence.companies.access import grant, member
from convergence.core import audit
from convergence.core.db import lock_rows_in_order
from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.formatting import local_today
from convergence.core.i18n import N_
from convergence.core.inputs import is_id
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Grant, Permission, Tenant
from convergence.products.models import Product
from convergence.questionnaires import engine, reference, workflow
from convergence.questionnaires.answers import answer_text
from convergence.questionnaires.fixtures import load_version_file
from convergence.questionnaires.item_types import InvalidAnswer
from convergence.questionnaires.models import (
    Item,
    Questionnaire,
    Response,
    ResponseMigration,
    ResponseRevision,
    Status,
)
from convergence.questionnaires.workflow import Action
from convergence.settings import Settings

# The history's names of the events written here (the response page shows `_(action)`).
MIGRATED, CONFIRMED = N_("migrated"), N_("item_confirmed")
AUDIT_MIGRATED, AUDIT_CONFIRMED = N_("response.migrated"), N_("response.item_confirmed")

# The migration's transitions: from-status → the status the migrated response has. A submitted response is
# absent: it awaits a validator's decision on the answers as submitted.
MIGRATION_TARGET: dict[Status, Status] = {
    Status.NOT_STARTED: Status.NOT_STARTED,
    Status.DRAFT: Status.DRAFT,
    Status.VALIDATED: Status.DRAFT,
}

# What makes an item "changed" between versions: what the person answering reads or may answer.
COMPARED = ("label", "type", "options", "bounds")
NEXT_VERSION_FILE = Path("questionnaires") / "next" / "socles-maturity-v2.yaml"


# ------------------------------------------------------------------------------------------------ comparing

@dataclass
class ItemDiff:
    kind: str  # "added", "removed" or "changed"
    code: str
    before: Item | None
    after: Item | None
    fields: list[str] = field(default_factory=list)  # of COMPARED, for "changed"

    @property
    def item(self) -> Item:
        return self.after or self.before  # type: ignore[return-value]


def changed_fields(before: Item, after: Item) -> list[str]:
    out = []
    if (before.label_fr, before.label_en) != (after.label_fr, after.label_en):
        out.append("label")
    if before.type != after.type:
        out.append("type")
    if (before.options or []) != (after.options or []):
        out.append("options")
    if (before.bounds or None) != (after.bounds or None):
        out.append("bounds")
    return out


def diff_items(before: list[Item], after: list[Item]) -> list[ItemDiff]:
    """Items added and changed in the new version's order, then items removed in the old version's order."""
    old = {i.code: i for i in before}
    new_codes = {i.code for i in after}
    out: list[ItemDiff] = []
    for item in after:
        previous = old.get(item.code)
        if previous is None:
            out.append(ItemDiff("added", item.code, None, item))
        elif fields := changed_fields(previous, item):
            out.append(ItemDiff("changed", item.code, previous, item, fields))
    out.extend(ItemDiff("removed", i.code, i, None) for i in before if i.code not in new_codes)
    return out


# ------------------------------------------------------------------------------------------------ migrating

@dataclass
class MigrationPlan:
    """What a response becomes on the target version (pure: computed before anything is written)."""

    answers: dict[str, Any]
    planned: dict[str, str]
    item_versions: dict[str, dict[str, Any]]
    flags: dict[str, str]
    removed: dict[str, dict[str, Any]]
    carried: int


def plan_migration(response: Response, source: list[Item], target: list[Item], today: date,
                   outstanding: dict[str, str] | None = None) -> MigrationPlan:
    """Answers carried over by item code; an answer the new question no longer accepts (an option gone, a
    bound moved, a type changed) is kept with the removed ones. New and changed questions are flagged once the
    response has answers; `outstanding` (flags of an earlier migration not yet cleared, by code) carry over."""
    answers_in, planned_in = response.answers or {}, response.planned or {}
    marks_in = response.item_versions or {}
    old = {i.code: i for i in source}
    answers: dict[str, Any] = {}
    planned: dict[str, str] = {}
    marks: dict[str, dict[str, Any]] = {}
    flags: dict[str, str] = {}
    removed: dict[str, dict[str, Any]] = {}
    started = any(engine.is_answered(v) for v in answers_in.values())

    def keep(item: Item, value: Any, reason: str) -> None:
        removed[item.code] = {"label_fr": item.label_fr, "label_en": item.label_en, "value": value,
                              "text": answer_text(item, value), "planned": planned_in.get(str(item.id)),
                              "reason": reason}

    for item in target:
        key = str(item.id)
        previous = old.get(item.code)
        if previous is None:
            if started:
                flags[key] = "new"
            continue
        if started and (changed_fields(previous, item) or (outstanding or {}).get(item.code)):
            flags[key] = "changed" if changed_fields(previous, item) else (outstanding or {})[item.code]
        old_key = str(previous.id)
        value = answers_in.get(old_key)
        if not engine.is_answered(value):
            continue
        try:
            answers[key] = engine.coerce(item, value, today)
        except InvalidAnswer:
            keep(previous, value, "no_longer_accepted")
            flags[key] = "changed"
            continue
        if item.scored and planned_in.get(old_key):
            planned[key] = planned_in[old_key]
        if old_key in marks_in:
            marks[key] = marks_in[old_key]
    target_codes = {i.code for i in target}
    for item in source:
        value = answers_in.get(str(item.id))
        if item.code not in target_codes and engine.is_answered(value):
            keep(item, value, "removed")
    return MigrationPlan(answers=answers, planned=planned, item_versions=marks, flags=flags, removed=removed,
                         carried=len(answers))


async def latest_version(session: AsyncSession, code: str) -> Questionnaire | None:
    """The highest version of a questionnaire, with its items: the reference cache's shared copy (read-only)."""
    return await reference.latest(session, code)


async def latest_migration(session: AsyncSession, response: Response) -> ResponseMigration | None:
    return await session.scalar(select(ResponseMigration).where(
        ResponseMigration.response_id == response.id,
        ResponseMigration.to_version == response.questionnaire.version))


def active_flags(response: Response, migration: ResponseMigration | None) -> dict[int, str]:
    """The flags of the response's last migration still standing: answer unchanged since, not confirmed."""
    if migration is None or migration.to_version != response.questionnaire.version:
        return {}
    marks = response.item_versions or {}
    return {int(key): kind for key, kind in (migration.flags or {}).items()
            if marks.get(key, {}).get("v", 0) <= migration.response_version
            and key not in (migration.confirmed or {})}


def refusal(response: Response, latest: Questionnaire) -> Conflict | None:
    """Why this response cannot be migrated now (None: it can)."""
    if latest.version <= response.questionnaire.version:
        return Conflict("This response already uses the latest version of its questionnaire.", code="already_latest")
    if Status(response.status) not in MIGRATION_TARGET:
        return Conflict("This response is submitted and awaits validation: it can be migrated once it is validated "
                        "or returned for changes.", code="awaiting_validation")
    return None


async def migrate_response(session: AsyncSession, response: Response, latest: Questionnaire, *,
                           actor_id: int | None, ip: str | None = None) -> ResponseMigration:
    """Move a response to `latest` (the caller has checked who may): compare-and-set on the version read,
    the migration recorded, an audit event written. Raises the refusal when it cannot be migrated."""
    problem = refusal(response, latest)
    if problem is not None:
        raise problem
    source = response.questionnaire
    previous = await latest_migration(session, response)
    codes = {item.id: item.code for item in source.items}
    outstanding = {codes[item_id]: kind for item_id, kind in active_flags(response, previous).items()
                   if item_id in codes}
    plan = plan_migration(response, source.items, latest.items, local_today(), outstanding)
    evaluation = engine.evaluate(latest.items, plan.answers)
    status = MIGRATION_TARGET[Status(response.status)]
    read = response.version
    now = utcnow()
    values: dict[str, Any] = dict(
        questionnaire_id=latest.id, answers=plan.answers, planned=plan.planned, item_versions=plan.item_versions,
        maturity=evaluation.maturity, theme_scores=evaluation.theme_scores, answered_count=evaluation.answered,
        status=status, version=read + 1, updated_at=now)
    kept = None
    if response.status == Status.VALIDATED:
        # As a reopening does: the validated answers stay in the history as a revision.
        kept = ResponseRevision(
            response_id=response.id, revision=response.revision, answers=dict(response.answers or {}),
            planned=dict(response.planned or {}), maturity=response.maturity,
            theme_scores=dict(response.theme_scores or {}), validated_at=response.validated_at,
            validated_by_id=response.validated_by_id)
        values.update(revision=response.revision + 1, validated_at=None, validated_by_id=None)
    result = await session.execute(
        update(Response).where(Response.id == response.id, Response.version == read).values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        await session.refresh(response)
        raise Conflict("Someone changed this response at the same moment. Reload it to see where it stands.",
                       code="stale_version", current_version=response.version, items=[])
    if kept is not None:
        session.add(kept)
    record = ResponseMigration(
        response_id=response.id, questionnaire_code=source.code, from_version=source.version,
        to_version=latest.version, previous_status=str(response.status), response_version=read + 1,
        carried=plan.carried, flags=plan.flags, confirmed={}, removed=plan.removed, migrated_by_id=actor_id)
    session.add(record)
    audit.record(session, AUDIT_MIGRATED, actor_id=actor_id, target_type="response", target_id=response.id,
                 company_id=response.company_id, ip=ip, questionnaire=source.code, from_version=source.version,
                 to_version=latest.version, previous_status=str(response.status), status=str(status),
                 carried=plan.carried, flagged=len(plan.flags), removed=sorted(plan.removed))
    await session.flush()
    await session.refresh(response)
    return record


# ------------------------------------------------------------------------------------------------ the service

@dataclass
class Migrated:
    """One response migrated: what the confirmation and the API tell."""

    response: Response
    record: ResponseMigration
    previous_status: str

    @property
    def back_to_draft(self) -> bool:
        return self.previous_status == Status.VALIDATED


@dataclass
class BulkResult:
    migrated: list[Migrated]
    skipped_submitted: int

    @property
    def back_to_draft(self) -> int:
        return sum(1 for m in self.migrated if m.back_to_draft)


@dataclass
class VersionState:
    """What the response page shows of the response's version."""

    latest: Questionnaire
    behind: bool
    refusal: Conflict | None  # why it cannot be migrated now (None: it can)
    may_migrate: bool  # the actor may migrate (a manager)
    flags: dict[int, str]  # item id → "new" | "changed", still to look at
    migration: ResponseMigration | None  # the migration to the response's version, if any
    changes: list[ItemDiff]  # from the response's version to the latest, when behind


@dataclass
class ProductVersions:
    """What a product's questionnaires page shows of versions."""

    latest: dict[str, int]  # questionnaire code → its latest version
    behind: int  # the product's responses on an earlier version
    may_migrate: bool


class VersionService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    async def _response(self, response_id: object, permission: Permission) -> tuple[Response, Grant]:
        member(self.ctx)
        response = await self.session.get(Response, response_id) if is_id(response_id) else None
        if response is None:
            raise NotFound("This response does not exist.")
        product = await self.session.get(Product, response.product_id) if response.product_id else None
        held = await grant(self.ctx, response.company_id, response.product_id,
                           product.created_by_id if product else None, missing=N_("This response does not exist."),
                           refused=N_("You do not have the right to do this on this questionnaire."))
        self.ctx.require(permission, held)
        return response, held

    async def _latest(self, response: Response) -> Questionnaire:
        latest = await latest_version(self.session, response.questionnaire.code)
        assert latest is not None  # the response's own version at least
        return latest

    async def migrate(self, response_id: object) -> Migrated:
        response, _held = await self._response(response_id, Permission.RESPONSES_MIGRATE)
        previous = str(response.status)
        actor = member(self.ctx)
        record = await migrate_response(self.session, response, await self._latest(response), actor_id=actor.id,
                                        ip=self.ctx.ip)
        return Migrated(response=response, record=record, previous_status=previous)

    async def _bulk(self, responses: list[Response]) -> BulkResult:
        actor = member(self.ctx)
        await lock_rows_in_order(self.session, Response.id, Response.id.in_([r.id for r in responses]))
        latest: dict[str, Questionnaire | None] = {}
        migrated, submitted = [], 0
        for response in responses:
            code = response.questionnaire.code
            if code not in latest:
                latest[code] = await latest_version(self.session, code)
            target = latest[code]
            if target is None or target.version <= response.questionnaire.version:
                continue
            if response.status == Status.SUBMITTED:
                submitted += 1
                continue
            previous = str(response.status)
            record = await migrate_response(self.session, response, target, actor_id=actor.id, ip=self.ctx.ip)
            migrated.append(Migrated(response=response, record=record, previous_status=previous))
        if not migrated:
            if submitted:
                raise Conflict("The responses on an earlier version are submitted and await validation: they can be "
                               "migrated once validated or returned for changes.", code="awaiting_validation")
            raise Conflict("Every response already uses the latest version of its questionnaire.",
                           code="already_latest")
        return BulkResult(migrated=migrated, skipped_submitted=submitted)

    async def migrate_product(self, product_id: object) -> BulkResult:
        """Every response of a product on an earlier version (those awaiting validation skipped)."""
        member(self.ctx)
        product = await self.session.get(Product, product_id) if is_id(product_id) else None
        if product is None:
            raise NotFound("This product does not exist.")
        self.ctx.require(Permission.RESPONSES_MIGRATE,
                         await grant(self.ctx, product.company_id, product.id, product.created_by_id))
        return await self._bulk(list((await self.session.scalars(select(Response).where(
            Response.product_id == product.id).order_by(Response.id))).all()))

    async def migrate_company(self, company_id: object) -> BulkResult:
        """Every response of the company (products and global strategy) on an earlier version."""
        # Another company answers 404 before the role is judged, as the policy orders it for any target.
        self.ctx.require(Permission.RESPONSES_MIGRATE, Tenant(company_id) if is_id(company_id) else None)  # type: ignore[arg-type]
        if not is_id(company_id):
            raise NotFound("This company does not exist.")
        return await self._bulk(list((await self.session.scalars(select(Response).where(
            Response.company_id == company_id).order_by(Response.id))).all()))

    async def behind_count(self, company_id: int, product_id: int | None = None) -> int:
        """How many of the company's (or one product's) responses use an earlier version than the latest."""
        self.ctx.require(Permission.COMPANY_READ, Tenant(company_id))
        latest = (select(Questionnaire.code, func.max(Questionnaire.version).label("version"))
                  .group_by(Questionnaire.code).subquery())
        statement = (select(func.count()).select_from(Response)
                     .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
                     .join(latest, latest.c.code == Questionnaire.code)
                     .where(Response.company_id == company_id, Questionnaire.version < latest.c.version))
        if product_id is not None:
            statement = statement.where(Response.product_id == product_id)
        return int(await self.session.scalar(statement) or 0)

    async def confirm(self, response_id: object, raw_item_id: object) -> Response:
        """A contributor confirms the answer of a flagged question as it stands: the flag clears."""
        response, _held = await self._response(response_id, Permission.PRODUCT_EDIT)
        workflow.target(response.status, Action.EDIT)  # 409 not_editable once submitted or validated
        if not is_id(raw_item_id) or not any(i.id == raw_item_id for i in response.questionnaire.items):
            raise Invalid("Choose a question of this questionnaire.", code="invalid_input",
                          fields={"item_id": N_("Choose a question of this questionnaire.")})
        migration = await latest_migration(self.session, response)
        if int(raw_item_id) not in active_flags(response, migration):  # type: ignore[call-overload]
            return response  # nothing left to confirm: confirming twice changes nothing
        assert migration is not None
        actor = member(self.ctx)
        migration.confirmed = {**(migration.confirmed or {}),
                               str(raw_item_id): {"by": actor.id, "at": utcnow().isoformat()}}
        flag_modified(migration, "confirmed")
        self.ctx.audit(AUDIT_CONFIRMED, target_type="response", target_id=response.id,
                       company_id=response.company_id, item_id=raw_item_id)
        return response

    async def state(self, response: Response, held: Grant) -> VersionState:
        """The response's version for its page (the caller has checked the actor may read it)."""
        latest = await self._latest(response)
        migration = await latest_migration(self.session, response)
        behind = latest.version > response.questionnaire.version
        return VersionState(
            latest=latest, behind=behind, refusal=refusal(response, latest) if behind else None,
            may_migrate=self.ctx.can(Permission.RESPONSES_MIGRATE, held), flags=active_flags(response, migration),
            migration=migration, changes=diff_items(response.questionnaire.items, latest.items) if behind else [])

    async def flags(self, response: Response) -> dict[int, str]:
        return active_flags(response, await latest_migration(self.session, response))

    async def product_versions(self, product: Product, grant_held: Grant) -> ProductVersions:
        """For a product's questionnaires page (the caller has checked the actor may read the product)."""
        latest = dict((await self.session.execute(select(Questionnaire.code, func.max(Questionnaire.version))
                                                  .group_by(Questionnaire.code))).all())
        return ProductVersions(latest=latest, behind=await self.behind_count(product.company_id, product.id),
                               may_migrate=self.ctx.can(Permission.RESPONSES_MIGRATE, grant_held))

    async def migrations(self, response: Response) -> list[ResponseMigration]:
        return list((await self.session.scalars(select(ResponseMigration).where(
            ResponseMigration.response_id == response.id).order_by(ResponseMigration.id))).all())


# ------------------------------------------------------------------------------------------------ simulation

MIGRATE_SHARE = 0.5


async def simulate_versions(session: AsyncSession, rng: random.Random, settings: Settings | None = None, *,
                            limit: int = 300) -> int:
    """On a simulated market: publish the project's next version of a questionnaire, then have managers migrate
    about half of the responses on the earlier version (submitted ones wait), leaving the others behind; at most
    `limit` per run, since each migration is a whole service call (a market of 10,000 companies keeps minutes).
    Returns how many responses were migrated."""
    settings = settings or Settings.from_env()
    if not await load_version_file(session, settings.fixtures_dir / NEXT_VERSION_FILE):
        return 0  # adopted by an earlier run: migrating more now would change a market a second run must keep
    migrated = 0
    latest_by_code: dict[str, Questionnaire | None] = {}
    managers = dict((await session.execute(select(User.company_id, func.min(User.id)).where(
        User.role == Role.MANAGER, User.company_id.is_not(None)).group_by(User.company_id))).all())
    behind = (await session.scalars(select(Response).join(Questionnaire).where(
        Questionnaire.current.is_(False), Response.status != Status.SUBMITTED).order_by(Response.id)
        .limit(limit * 4))).all()
    for response in behind:
        if migrated >= limit:
            break
        if rng.random() >= MIGRATE_SHARE:
            continue
        code = response.questionnaire.code
        if code not in latest_by_code:
            latest_by_code[code] = await latest_version(session, code)
        await migrate_response(session, response, latest_by_code[code],  # type: ignore[arg-type]
                               actor_id=managers.get(response.company_id))
        migrated += 1
    return migrated


# ------------------------------------------------------------------------------------------------ the review

@dataclass
class UsedVersion:
    """The version of its questionnaire a response uses, beside the latest one (the review's rows)."""

    code: str
    title_fr: str
    title_en: str
    version: int
    latest: int

    @property
    def behind(self) -> bool:
        return self.version < self.latest


async def versions_used(session: AsyncSession, pairs: list[tuple[int, int]]) -> dict[tuple[int, int],
                                                                                      list[UsedVersion]]:
    """For (product, step) rows (a page of the review): the versions their responses use, in one statement over
    the page's products (by index); the questionnaires' codes, titles and latest versions come from the reference
    cache. (Joined to the questionnaires in SQL, SQLite's planner chose to read every response of the market
    through the questionnaire index once a page held a dozen products: 17 ms at 1,000 companies.)
    No authorization here: the caller has checked the reader may see these rows. An empty page runs the
    statement too: a page costs the same statements whatever it holds."""
    rows = (await session.execute(
        select(Response.product_id, Response.step_id, Response.questionnaire_id)
        .where(Response.product_id.in_({product for product, _step in pairs})))).all()
    wanted = set(pairs)
    found: list[tuple[Questionnaire, tuple[int, int], int]] = []
    for product_id, step_id, questionnaire_id in rows:
        if (product_id, step_id) not in wanted:
            continue
        used = await reference.questionnaire(session, questionnaire_id)
        newest = await reference.latest(session, used.code) if used is not None else None
        if used is not None and newest is not None:
            found.append((used, (product_id, step_id), newest.version))
    out: dict[tuple[int, int], list[UsedVersion]] = {}
    for used, pair, newest_version in sorted(found, key=lambda f: (f[0].position, f[0].code)):
        out.setdefault(pair, []).append(UsedVersion(code=used.code, title_fr=used.title_fr, title_en=used.title_en,
                                                    version=used.version, latest=newest_version))
    return out
