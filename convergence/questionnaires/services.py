"""Enrolment in steps, responses and their workflow, maturity. Every page and API handler goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from convergence.accounts.models import Role, User
from convergence.companies.access import Level, member, product_level, require_company
from convergence.companies.team_models import MemberRight
from convergence.core.context import Context
from convergence.core.errors import Conflict, Forbidden, Invalid, NotFound
from convergence.core.i18n import current_language, gettext as _
from convergence.core.models import AuditEvent, utcnow
from convergence.core.permissions import Permission
from convergence.products.models import Product
from convergence.questionnaires import engine
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Questionnaire,
    Response,
    ResponseRevision,
    Status,
    Step,
    Track,
)

EDITABLE = (Status.NOT_STARTED, Status.DRAFT)


def localized(obj: Any, field: str) -> str:
    return getattr(obj, f"{field}_{'en' if current_language() == 'en' else 'fr'}")


@dataclass
class ResponseView:
    response: Response
    questionnaire: Questionnaire
    product: Product | None
    step: Step | None
    level: Level
    evaluation: engine.Evaluation

    @property
    def items(self) -> list[Item]:
        return self.questionnaire.items


class QuestionnaireService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ reference data

    async def tracks(self) -> list[Track]:
        if self.ctx.actor is None:
            from convergence.core.errors import NotAuthenticated
            raise NotAuthenticated("Please sign in.")
        return list((await self.session.scalars(select(Track).order_by(Track.position))).all())

    async def current_questionnaires(self) -> list[Questionnaire]:
        return list((await self.session.scalars(select(Questionnaire).where(Questionnaire.current.is_(True))
                                                .order_by(Questionnaire.position, Questionnaire.id))).all())

    async def steps(self) -> list[Step]:
        return list((await self.session.scalars(select(Step).join(Track).order_by(Track.position,
                                                                                  Step.position))).all())

    # ------------------------------------------------------------------ scoping

    async def _product(self, product_id: int, level: Level) -> Product:
        from convergence.products.services import ProductService

        return await ProductService(self.ctx).get(product_id, level)

    async def _response(self, response_id: int, level: Level) -> tuple[Response, Product | None, Level]:
        user = member(self.ctx)
        response = await self.session.get(Response, response_id)
        if response is None or response.company_id != user.company_id:
            raise NotFound("This response does not exist.")
        product = await self.session.get(Product, response.product_id) if response.product_id else None
        held = await product_level(self.ctx, response.product_id, product.created_by_id if product else None)
        if held is None:
            raise NotFound("This response does not exist.")
        if held < level:
            raise Forbidden("You do not have the right to do this on this questionnaire.")
        return response, product, held

    async def view(self, response_id: int) -> ResponseView:
        response, product, held = await self._response(response_id, Level.READ)
        step = await self.session.get(Step, response.step_id) if response.step_id else None
        return ResponseView(response=response, questionnaire=response.questionnaire, product=product, step=step,
                            level=held, evaluation=engine.evaluate(response.questionnaire.items, response.answers))

    # ------------------------------------------------------------------ enrolment

    async def enrolled_steps(self, product_id: int) -> list[int]:
        await self._product(product_id, Level.READ)
        return list((await self.session.scalars(select(Enrolment.step_id).where(
            Enrolment.product_id == product_id))).all())

    async def enrol(self, product_id: int, raw_step_ids: object) -> list[int]:
        product = await self._product(product_id, Level.EDIT)
        if not isinstance(raw_step_ids, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in raw_step_ids):
            raise Invalid("step_ids must be a list of step ids.", code="invalid_steps")
        wanted = set(raw_step_ids)
        steps = {s.id: s for s in (await self.session.scalars(select(Step).where(Step.id.in_(wanted)))).all()}
        if set(steps) != wanted:
            raise Invalid("One of the steps does not exist.", code="invalid_steps")
        if any(s.requires_commercial_name for s in steps.values()) and not (product.commercial_name or "").strip():
            raise Invalid("Mon Espace Santé steps need the commercial name the citizen sees: add it to the product "
                          "first.", code="commercial_name_required")
        current = set((await self.session.scalars(select(Enrolment.step_id).where(
            Enrolment.product_id == product.id))).all())
        removed, added = current - wanted, wanted - current
        if removed:
            started = await self.session.scalar(select(func.count()).select_from(Response).where(
                Response.product_id == product.id, Response.step_id.in_(removed),
                Response.status != Status.NOT_STARTED))
            if started:
                raise Conflict("A step whose questionnaires have answers cannot be removed.",
                               code="step_has_answers")
            await self.session.execute(delete(Response).where(Response.product_id == product.id,
                                                              Response.step_id.in_(removed)))
            await self.session.execute(delete(Enrolment).where(Enrolment.product_id == product.id,
                                                               Enrolment.step_id.in_(removed)))
        questionnaires = (await self.session.scalars(select(Questionnaire).where(
            Questionnaire.step_id.in_(added), Questionnaire.current.is_(True)))).all() if added else []
        for step_id in sorted(added):
            self.session.add(Enrolment(product_id=product.id, step_id=step_id))
        for questionnaire in questionnaires:
            self.session.add(Response(company_id=product.company_id, product_id=product.id,
                                      questionnaire_id=questionnaire.id, step_id=questionnaire.step_id,
                                      status=Status.NOT_STARTED, version=0, revision=1, answers={}, planned={}))
        if added or removed:
            self.ctx.audit("product.steps_changed", target_type="product", target_id=product.id,
                           company_id=product.company_id, added=sorted(added), removed=sorted(removed))
        return sorted(wanted)

    # ------------------------------------------------------------------ lists

    async def product_responses(self, product_id: int) -> list[Response]:
        await self._product(product_id, Level.READ)
        return list((await self.session.scalars(select(Response).where(Response.product_id == product_id)
                                                .order_by(Response.step_id, Response.questionnaire_id))).all())

    async def company_responses(self, company_id: int) -> list[Response]:
        user = require_company(self.ctx, company_id)
        if await product_level(self.ctx, None) is None:
            raise Forbidden("You have no right on the global-strategy questionnaires.")
        assert user.company_id is not None
        return list((await self.session.scalars(select(Response).where(
            Response.company_id == company_id, Response.product_id.is_(None)).order_by(Response.id))).all())

    async def progress(self, product_ids: list[int]) -> dict[int, dict[int, dict[str, Any]]]:
        """Per product and step: the least advanced status and the mean maturity (stored, not recomputed)."""
        if not product_ids:
            return {}
        order = {s: i for i, s in enumerate(Status)}
        out: dict[int, dict[int, dict[str, Any]]] = {}
        rows = (await self.session.execute(select(Response.product_id, Response.step_id, Response.status,
                                                  Response.maturity).where(
            Response.product_id.in_(product_ids)))).all()
        for product_id, step_id, status, maturity in rows:
            cell = out.setdefault(product_id, {}).setdefault(step_id, {"statuses": [], "maturities": []})
            cell["statuses"].append(status)
            cell["maturities"].append(maturity)
        for steps in out.values():
            for cell in steps.values():
                cell["status"] = min(cell.pop("statuses"), key=lambda s: order[Status(s)])
                values = cell.pop("maturities")
                cell["maturity"] = round(sum(values) / len(values), 1) if values else 0.0
        return out

    # ------------------------------------------------------------------ answers

    async def save_answers(self, response_id: int, version: object, raw_answers: object,
                           raw_planned: object = None) -> Response:
        response, product, _held = await self._response(response_id, Level.EDIT)
        if not isinstance(version, int) or isinstance(version, bool):
            raise Invalid("Send the version of the response you started from.", code="invalid_input")
        if response.status not in EDITABLE:
            raise Conflict("This response is submitted or validated: it cannot be changed now.",
                           code="not_editable")
        if not isinstance(raw_answers, dict):
            raise Invalid("answers must be an object {item_id: value}.", code="invalid_input")
        items = {str(i.id): i for i in response.questionnaire.items}
        answers = dict(response.answers or {})
        for key, value in raw_answers.items():
            item = items.get(str(key))
            if item is None:
                raise Invalid("One of the answers is for a question that is not in this questionnaire.",
                              code="invalid_answer", item_id=key)
            coerced = engine.coerce(item, value)
            if coerced is None:
                answers.pop(str(key), None)
            else:
                answers[str(key)] = coerced
        planned = dict(response.planned or {})
        if raw_planned is not None:
            if not isinstance(raw_planned, dict):
                raise Invalid("planned must be an object {item_id: date}.", code="invalid_input")
            for key, value in raw_planned.items():
                item = items.get(str(key))
                if item is None or not item.scored:
                    raise Invalid("A planned date applies to a scored question of this questionnaire.",
                                  code="invalid_answer", item_id=key)
                if value is None or value == "":
                    planned.pop(str(key), None)
                    continue
                if not isinstance(value, str) or len(value) != 10:
                    raise Invalid("A planned date is written YYYY-MM-DD.", code="invalid_answer", item_id=key)
                try:
                    planned[str(key)] = date.fromisoformat(value).isoformat()
                except ValueError:
                    raise Invalid("A planned date is written YYYY-MM-DD.", code="invalid_answer",
                                  item_id=key) from None
        if version != response.version:
            await self._stale(response)
        evaluation = engine.evaluate(response.questionnaire.items, answers)
        actor = member(self.ctx)
        now = utcnow()
        values = dict(answers=answers, planned=planned, version=version + 1, maturity=evaluation.maturity,
                      theme_scores=evaluation.theme_scores, answered_count=evaluation.answered,
                      status=Status.DRAFT, last_saved_by_id=actor.id, last_saved_at=now, updated_at=now)
        result = await self.session.execute(
            update(Response).where(Response.id == response.id, Response.version == version).values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            await self.session.refresh(response)
            await self._stale(response)
        # The row now holds exactly these values (the version check guarantees nobody wrote in between):
        # set them on the loaded object instead of reading the row back.
        for key, value in values.items():
            set_committed_value(response, key, value)
        self.ctx.audit("response.saved", target_type="response", target_id=response.id,
                       company_id=response.company_id, version=response.version,
                       items=sorted(str(k) for k in raw_answers))
        return response

    async def _stale(self, response: Response) -> None:
        saver = await self.session.get(User, response.last_saved_by_id) if response.last_saved_by_id else None
        raise Conflict("Someone saved this response since you opened it. Reload it to see their answers; "
                       "your own answer is still on your screen.", code="stale_version",
                       current_version=response.version,
                       saved_by=saver.full_name if saver else None,
                       saved_at=response.last_saved_at.isoformat() if response.last_saved_at else None)

    async def copy_from(self, response_id: int, source_id: object, version: object) -> Response:
        response, _product, _held = await self._response(response_id, Level.EDIT)
        if not isinstance(source_id, int) or isinstance(source_id, bool):
            raise Invalid("Choose the response to copy from.", code="invalid_input")
        source, _source_product, _ = await self._response(source_id, Level.READ)
        if source.id == response.id:
            raise Invalid("A response cannot be copied onto itself.", code="invalid_input")
        if source.questionnaire.code != response.questionnaire.code:
            raise Invalid("Answers can only be copied from the same questionnaire.", code="invalid_source")
        by_code = {i.code: str(i.id) for i in response.questionnaire.items}
        source_codes = {str(i.id): i.code for i in source.questionnaire.items}
        answers = {by_code[source_codes[k]]: v for k, v in source.answers.items()
                   if k in source_codes and source_codes[k] in by_code}
        planned = {by_code[source_codes[k]]: v for k, v in (source.planned or {}).items()
                   if k in source_codes and source_codes[k] in by_code}
        cleared = {key: None for key in response.answers if key not in answers}
        saved = await self.save_answers(response.id, version, {**cleared, **answers},
                                        {**{k: None for k in response.planned or {}}, **planned})
        self.ctx.audit("response.copied", target_type="response", target_id=response.id,
                       company_id=response.company_id, source_id=source.id)
        return saved

    # ------------------------------------------------------------------ workflow

    async def submit(self, response_id: int) -> Response:
        response, product, _held = await self._response(response_id, Level.EDIT)
        if response.status not in EDITABLE:
            raise Conflict("Only a draft can be submitted.", code="invalid_transition")
        evaluation = engine.evaluate(response.questionnaire.items, response.answers)
        if evaluation.missing:
            raise Invalid("Some required questions are not answered yet.", code="incomplete",
                          missing=[{"item_id": i.id, "code": i.code, "label": localized(i, "label")}
                                   for i in evaluation.missing])
        actor = member(self.ctx)
        response.status = Status.SUBMITTED
        response.submitted_at = utcnow()
        response.submitted_by_id = actor.id
        response.return_comment = None
        response.version += 1
        await self._notify(response, product, await self._validators(response), "response_submitted",
                           _("A questionnaire awaits your validation"),
                           _("%(actor)s submitted “%(questionnaire)s” for %(target)s. Review and validate it: "
                             "%(link)s"))
        self.ctx.audit("response.submitted", target_type="response", target_id=response.id,
                       company_id=response.company_id)
        return response

    async def validate(self, response_id: int) -> Response:
        response, product, _held = await self._response(response_id, Level.VALIDATE)
        if response.status != Status.SUBMITTED:
            raise Conflict("Only a submitted response can be validated.", code="invalid_transition")
        response.status = Status.VALIDATED
        response.validated_at = utcnow()
        response.validated_by_id = member(self.ctx).id
        response.version += 1
        await self._notify(response, product, await self._contributors(response), "response_validated",
                           _("A questionnaire has been validated"),
                           _("%(actor)s validated “%(questionnaire)s” for %(target)s: %(link)s"))
        self.ctx.audit("response.validated", target_type="response", target_id=response.id,
                       company_id=response.company_id, maturity=response.maturity)
        return response

    async def return_for_changes(self, response_id: int, comment: object) -> Response:
        response, product, _held = await self._response(response_id, Level.VALIDATE)
        text = comment.strip() if isinstance(comment, str) else ""
        if not text:
            raise Invalid("Say what needs to change: the contributors will read your comment.",
                          code="comment_required", fields={"comment": "Say what needs to change."})
        if response.status != Status.SUBMITTED:
            raise Conflict("Only a submitted response can be returned for changes.", code="invalid_transition")
        response.status = Status.DRAFT
        response.return_comment = text[:5000]
        response.version += 1
        await self._notify(response, product, await self._contributors(response), "response_returned",
                           _("A questionnaire was returned for changes"),
                           _("%(actor)s returned “%(questionnaire)s” for %(target)s with this comment:\n\n"
                             "%(comment)s\n\n%(link)s"), comment=text)
        self.ctx.audit("response.returned", target_type="response", target_id=response.id,
                       company_id=response.company_id, comment=text[:500])
        return response

    async def reopen(self, response_id: int) -> Response:
        response, _product, _held = await self._response(response_id, Level.READ)
        self.ctx.require(Permission.RESPONSES_REOPEN)
        if response.status != Status.VALIDATED:
            raise Conflict("Only a validated response can be reopened.", code="invalid_transition")
        self.session.add(ResponseRevision(
            response_id=response.id, revision=response.revision, answers=dict(response.answers),
            planned=dict(response.planned or {}), maturity=response.maturity,
            theme_scores=dict(response.theme_scores or {}), validated_at=response.validated_at,
            validated_by_id=response.validated_by_id))
        response.revision += 1
        response.status = Status.DRAFT
        response.version += 1
        response.validated_at = None
        response.validated_by_id = None
        self.ctx.audit("response.reopened", target_type="response", target_id=response.id,
                       company_id=response.company_id, revision=response.revision)
        return response

    async def history(self, response: Response) -> list[dict[str, Any]]:
        events = (await self.session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "response", AuditEvent.target_id == response.id,
            AuditEvent.action != "response.saved").order_by(AuditEvent.id))).all()
        users = {u.id: u for u in (await self.session.scalars(select(User).where(
            User.id.in_({e.actor_id for e in events if e.actor_id})))).all()} if events else {}
        revisions = (await self.session.scalars(select(ResponseRevision).where(
            ResponseRevision.response_id == response.id).order_by(ResponseRevision.revision))).all()
        return [
            *({"action": e.action.removeprefix("response."), "at": e.created_at.isoformat(),
               "by": users[e.actor_id].full_name if e.actor_id in users else None,
               "comment": e.data.get("comment")} for e in events),
            *({"action": "revision", "revision": r.revision, "maturity": r.maturity,
               "validated_at": r.validated_at.isoformat() if r.validated_at else None,
               "answers": r.answers} for r in revisions),
        ]

    # ------------------------------------------------------------------ mail

    async def _validators(self, response: Response) -> list[User]:
        rights = select(MemberRight.user_id).where(
            MemberRight.level == "validate",
            MemberRight.product_id.is_(None) if response.product_id is None
            else MemberRight.product_id == response.product_id)
        return list((await self.session.scalars(select(User).where(
            User.company_id == response.company_id, User.active.is_(True),
            (User.role == Role.MANAGER) | User.id.in_(rights)))).all())

    async def _contributors(self, response: Response) -> list[User]:
        ids = {response.submitted_by_id, response.last_saved_by_id} - {None}
        return list((await self.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))).all())

    async def _notify(self, response: Response, product: Product | None, recipients: list[User], kind: str,
                      subject: str, body: str, **extra: str) -> None:
        actor = member(self.ctx)
        target = product.display_name if product else _("the global strategy")
        link = f"{self.ctx.settings.base_url}/responses/{response.id}"
        for user in recipients:
            if user.id == actor.id:
                continue
            await self.ctx.mailer.send(user.email, subject, body % {
                "actor": actor.full_name, "questionnaire": localized(response.questionnaire, "title"),
                "target": target, "link": link, **extra}, kind=kind)


async def ensure_global_responses(session: Any, company_id: int) -> None:
    """Every company has one response per current global-strategy questionnaire."""
    existing = set((await session.scalars(select(Response.questionnaire_id).where(
        Response.company_id == company_id, Response.product_id.is_(None)))).all())
    for questionnaire in (await session.scalars(select(Questionnaire).where(
            Questionnaire.step_id.is_(None), Questionnaire.current.is_(True)))).all():
        if questionnaire.id not in existing:
            session.add(Response(company_id=company_id, product_id=None, questionnaire_id=questionnaire.id,
                                 step_id=None, status=Status.NOT_STARTED, version=0, revision=1, answers={},
                                 planned={}))
