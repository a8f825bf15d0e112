"""What a vendor user has to do: the responses they may edit or validate, and progress per product and step.

Reads only, in a fixed number of statements whatever the number of products or responses: rights once,
responses once (their questionnaires' items come with them), products, steps and return events once each.
Progress is counted on required questions (the ones a submission needs), with the same engine the submission
uses, so "12/12" on the home page means the response can be submitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import noload

from convergence.accounts.models import User
from convergence.companies.access import CREATOR_LEVEL, Level, member
from convergence.identity.policy import Grant, Permission
from convergence.companies.rights import rights_by_product
from convergence.identity.context import Context
from convergence.core.models import AuditEvent
from convergence.core.web import is_api
from convergence.identity.web import provide_ctx
from convergence.products.models import Product
from convergence.questionnaires import engine, reference
from convergence.questionnaires.models import Enrolment, Response, Status, Step
from convergence.questionnaires.workflow import Action, allowed_actions

# Least advanced first: a step is as far as its least advanced questionnaire.
STATUS_ORDER = {status: index for index, status in enumerate(Status)}


@dataclass(frozen=True)
class Progress:
    """Required questions answered, out of the required questions currently asked (follow-ups included)."""

    done: int
    required: int

    @property
    def complete(self) -> bool:
        return self.done >= self.required

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.required, 1) if self.required else 100.0


def progress_of(response: Response) -> Progress:
    """Counted with `engine.evaluate`, as the submission does (needs `response.questionnaire.items` loaded)."""
    return answers_progress(response.questionnaire.items, response.answers)


def answers_progress(items: list[Any], answers: dict[str, Any] | None) -> Progress:
    evaluation = engine.evaluate(items, answers or {})
    return Progress(done=evaluation.required - len(evaluation.missing), required=evaluation.required)


def response_progress(responses: Iterable[Response]) -> dict[int, Progress]:
    """Progress of each response, by id (no SQL: the items come with the responses)."""
    return {r.id: progress_of(r) for r in responses}


@dataclass
class WorkItem:
    response: Response
    level: Level
    progress: Progress
    allowed: frozenset[Action] = frozenset()  # what the actor may do on it (workflow.allowed_actions)
    returned_by: User | None = None
    returned_at: Any = None
    submitted_by: User | None = None
    product: Product | None = None  # None: a global-strategy questionnaire

    @property
    def can_validate(self) -> bool:
        return Action.VALIDATE in self.allowed


@dataclass
class StepGroup:
    step: Step | None  # None: global-strategy questionnaires
    items: list[WorkItem] = field(default_factory=list)


@dataclass
class ProductGroup:
    product: Product | None  # None: the company's global strategy
    steps: list[StepGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.steps)


@dataclass
class Worklist:
    groups: list[ProductGroup]
    returned: list[WorkItem]
    awaiting_validation: list[WorkItem]
    strategy_access: bool

    @property
    def empty(self) -> bool:
        return not self.groups


@dataclass
class StepProgress:
    """One enrolled step of a product: its least advanced status and required answers over its questionnaires."""

    step: Step
    status: str
    progress: Progress
    responses: int


class WorklistService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    async def _levels(self, user: User) -> tuple[dict[int | None, Level], bool]:
        """(level per product, plus None for the global strategy; True when the user holds every level)."""
        if self.ctx.can(Permission.PRODUCTS_ALL):
            return {}, True
        held = await rights_by_product(self.session, user.id)
        # Contributors may edit the products they created (see companies.access.held_level).
        created = (await self.session.scalars(select(Product.id).where(
            Product.company_id == user.company_id, Product.created_by_id == user.id))).all()
        for product_id in created:
            held[product_id] = max(held.get(product_id, CREATOR_LEVEL), CREATOR_LEVEL)
        return held, False

    async def strategy_access(self) -> bool:
        """Whether the actor holds a right on the company's global-strategy questionnaires."""
        user = member(self.ctx)
        if self.ctx.can(Permission.PRODUCTS_ALL):
            return True
        return None in await rights_by_product(self.session, user.id)

    async def for_actor(self) -> Worklist:
        """The acting vendor's work: responses they may edit (not started, draft) or validate (submitted)."""
        user = member(self.ctx)
        held, everything = await self._levels(user)
        query = select(Response).where(Response.company_id == user.company_id,
                                       Response.status != Status.VALIDATED)
        if not everything:
            product_ids = [pid for pid, level in held.items() if pid is not None and level >= Level.EDIT]
            condition = Response.product_id.in_(product_ids)
            if held.get(None, Level.READ) >= Level.EDIT:
                condition = condition | Response.product_id.is_(None)
            query = query.where(condition)
        work: list[WorkItem] = []
        for response in (await self.session.scalars(query)).unique().all():
            level = Level.VALIDATE if everything else held.get(response.product_id)
            if level is None:
                continue
            allowed = allowed_actions(user, response.status, Grant(response.company_id, level))
            if allowed & {Action.EDIT, Action.VALIDATE}:
                work.append(WorkItem(response, level, progress_of(response), allowed))

        products = await self._products({w.response.product_id for w in work} - {None})
        steps = await self._steps({w.response.step_id for w in work} - {None})
        returned = [w for w in work if w.response.status == Status.DRAFT and w.response.return_comment]
        await self._people(returned, [w for w in work if w.can_validate])
        returned_ids = {w.response.id for w in returned}

        def product_key(product_id: int | None) -> tuple[Any, ...]:
            if product_id is None:
                return (0, "", 0)  # the company's own strategy first
            product = products[product_id]
            return (1, product.display_name.casefold(), product.edition, product.version, product.id)

        def step_key(step_id: int | None) -> tuple[int, int]:
            step = steps.get(step_id) if step_id is not None else None
            return (step.track.position, step.position) if step else (-1, -1)

        groups: dict[int | None, ProductGroup] = {}
        for item in sorted(work, key=lambda w: (product_key(w.response.product_id), step_key(w.response.step_id),
                                                w.response.questionnaire.position, w.response.id)):
            response = item.response
            if response.product_id is not None and response.product_id not in products:
                continue
            group = groups.setdefault(response.product_id, ProductGroup(
                products.get(response.product_id) if response.product_id is not None else None))
            item.product = group.product
            step = steps.get(response.step_id) if response.step_id is not None else None
            if not group.steps or group.steps[-1].step is not step:
                group.steps.append(StepGroup(step))
            group.steps[-1].items.append(item)
        ordered = [w for g in groups.values() for s in g.steps for w in s.items]
        return Worklist(
            groups=list(groups.values()),
            returned=[w for w in ordered if w.response.id in returned_ids],
            awaiting_validation=[w for w in ordered if w.can_validate],
            strategy_access=everything or None in held)

    async def _products(self, ids: set[int]) -> dict[int, Product]:
        if not ids:
            return {}
        user = member(self.ctx)
        rows = (await self.session.scalars(select(Product).where(
            Product.id.in_(ids), Product.company_id == user.company_id)
            .options(noload(Product.bases), noload(Product.options)))).all()
        return {p.id: p for p in rows}

    async def _steps(self, ids: set[int]) -> dict[int, Step]:
        if not ids:
            return {}
        return {s.id: s for s in (await self.session.scalars(select(Step).where(Step.id.in_(ids)))).all()}

    async def _people(self, returned: list[WorkItem], awaiting: list[WorkItem]) -> None:
        """Who returned each response and when (its latest `response.returned` event), who submitted the ones
        awaiting validation: one read of events and one of users for the whole list."""
        by_id = {w.response.id: w for w in returned}
        events = (await self.session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "response", AuditEvent.action == "response.returned",
            AuditEvent.target_id.in_(by_id)).order_by(AuditEvent.id))).all() if by_id else []
        latest = {e.target_id: e for e in events}
        ids = {e.actor_id for e in latest.values()} | {w.response.submitted_by_id for w in awaiting}
        ids.discard(None)
        users = {u.id: u for u in (await self.session.scalars(select(User).where(
            User.id.in_(ids)))).all()} if ids else {}
        for response_id, event in latest.items():
            item = by_id[response_id]
            item.returned_by = users.get(event.actor_id) if event.actor_id else None
            item.returned_at = event.created_at
        for item in awaiting:
            item.submitted_by = users.get(item.response.submitted_by_id) if item.response.submitted_by_id else None

    async def step_progress(self, product_ids: Iterable[int]) -> dict[int, list[StepProgress]]:
        """Per product (of the actor's company), each enrolled step in track order with its progress.

        The caller passes products it already read through ProductService (which checked the rights).
        """
        user = member(self.ctx)
        ids = set(product_ids)
        if not ids:
            return {}
        # One statement: each enrolment of these products with its responses (none for a step not started), the
        # columns progress needs only (no ORM objects, no JSON parsed but the answers).
        rows = (await self.session.execute(
            select(Enrolment.product_id, Enrolment.step_id, Response.status, Response.questionnaire_id,
                   Response.answers)
            .join(Product, Product.id == Enrolment.product_id)
            .outerjoin(Response, (Response.product_id == Enrolment.product_id)
                       & (Response.step_id == Enrolment.step_id) & (Response.company_id == Product.company_id))
            .where(Enrolment.product_id.in_(ids), Product.company_id == user.company_id))).all()
        if not rows:
            return {}
        steps = await reference.steps(self.session)  # questionnaires and steps: the per-process cache
        cells: dict[tuple[int, int], list[tuple[str, Progress]]] = {}
        for product_id, step_id, status, questionnaire_id, answers in rows:
            cell = cells.setdefault((product_id, step_id), [])
            if status is None:
                continue  # enrolled, no response
            questionnaire = await reference.questionnaire(self.session, questionnaire_id)
            if questionnaire is not None:
                cell.append((status, answers_progress(questionnaire.items, answers)))
        out: dict[int, list[StepProgress]] = {}
        for product_id, step_id in sorted(cells, key=lambda e: (e[0], steps[e[1]].track.position,
                                                                steps[e[1]].position)):
            cell = cells[(product_id, step_id)]
            status = min((s for s, _p in cell), key=lambda s: STATUS_ORDER[Status(s)], default=Status.NOT_STARTED)
            out.setdefault(product_id, []).append(StepProgress(
                step=steps[step_id], status=status, responses=len(cell),
                progress=Progress(sum(p.done for _s, p in cell), sum(p.required for _s, p in cell))))
        return out


async def remember_strategy_access(request: Any) -> None:
    """`before_request` hook: tells the navigation whether to offer the global strategy (see base.html).

    Vendor managers always hold it; a contributor only with a stored right (one indexed read). Pages only:
    the JSON API has no navigation.
    """
    user = request.scope.get("user")
    if user is None or user.company_id is None or request.method != "GET" or is_api(request.url.path):
        return
    ctx = await provide_ctx(request)
    request.state.strategy_access = await WorklistService(ctx).strategy_access()
