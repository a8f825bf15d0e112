"""Enrolment in steps, responses and their workflow, maturity. Every page and API handler goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import noload, raiseload
from sqlalchemy.orm.attributes import set_committed_value

from convergence.accounts.models import User
from convergence.companies.access import grant, member, readable_product_ids, require_company
from convergence.companies.team_models import MemberRight
from convergence.core import events
from convergence.core.db import lock_rows_in_order
from convergence.identity.policy import Grant, Permission, roles_with
from convergence.identity.context import Context
from convergence.core.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from convergence.core.i18n import current_language, gettext as _
from convergence.core.i18n import N_
from convergence.core.formatting import local_today
from convergence.core.inputs import clean_field, is_id
from convergence.core.models import AuditEvent, utcnow
from convergence.products.models import Product
from convergence.products.services import ProductService
from convergence.questionnaires import engine, reference, workflow
from convergence.questionnaires.answers import AnswerChange, answer_text, changes_between
from convergence.questionnaires.evidence.carry import copy_evidence
from convergence.questionnaires.workflow import Action
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Questionnaire,
    Response,
    ResponseRevision,
    Status,
    Step,
    Theme,
    Track,
)

COMMENT_MAX = 5000


def clean_comment(field: str, raw: object) -> str:
    """A comment as stored (returning a response, reviewing it): refused beyond COMMENT_MAX characters at its
    field, never cut, since it is mailed and shown whole."""
    return clean_field(field, raw, max_len=COMMENT_MAX, multiline=True,
                       too_long=N_("A comment is limited to 5,000 characters."), too_long_code="comment_too_long")


def localized(obj: Any, field: str) -> str:
    return getattr(obj, f"{field}_{'en' if current_language() == 'en' else 'fr'}")


@dataclass
class ResponseView:
    response: Response
    questionnaire: Questionnaire
    product: Product | None
    step: Step | None
    grant: Grant  # what the actor holds on the response's product (or the global strategy)
    evaluation: engine.Evaluation

    @property
    def items(self) -> list[Item]:
        return self.questionnaire.items


@dataclass
class ItemChange:
    """An item another save changed: its current value, who changed it and when."""

    item_id: int
    value: Any
    planned: str | None
    version: int
    saved_by: str | None
    saved_at: datetime | None

    def as_json(self, item: Item) -> dict[str, Any]:
        return {"item_id": self.item_id, "value": self.value, "planned": self.planned, "version": self.version,
                "text": answer_text(item, self.value),
                "saved_by": self.saved_by, "saved_at": self.saved_at.isoformat() if self.saved_at else None}


@dataclass
class CopySource:
    response: Response
    product: Product | None
    answers: int


@dataclass
class CopyPreview:
    source: Response
    product: Product | None
    answers: dict[str, Any]
    planned: dict[str, Any]
    overwritten: list[str]


@dataclass
class RevisionChanges:
    revision: int
    validated_at: datetime | None
    changes: list[AnswerChange]


@dataclass
class SaveResult:
    response: Response
    evaluation: engine.Evaluation  # of the answers as saved
    changes: list[ItemChange]


def _merge(target: dict[str, Any], incoming: dict[str, Any]) -> set[str]:
    """Apply incoming values (None clears) to target; the keys whose value really changed."""
    changed = set()
    for key, value in incoming.items():
        if target.get(key) == value:
            continue
        changed.add(key)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return changed


# A response with what the policy needs of its product, for `_response`; its questionnaire comes from the cache.
# Built once: SQLAlchemy keys a statement object for its compiled-SQL cache only the first time it runs it.
_RESPONSE_WITH_PRODUCT = (
    select(Response, Product).outerjoin(Product, Product.id == Response.product_id)
    .where(Response.id == bindparam("response_id"))
    # The product's bases and options are not for a response's pages: two statements each time otherwise.
    .options(noload(Response.questionnaire), raiseload(Product.bases), raiseload(Product.options)))
_RESPONSE_WITH_CREATOR = (
    select(Response, Product.created_by_id).outerjoin(Product, Product.id == Response.product_id)
    .where(Response.id == bindparam("response_id")).options(noload(Response.questionnaire)))


# The autosave's compare-and-set, built once (see _RESPONSE_WITH_PRODUCT): the row this request read, at the
# version it read, gets every column a save writes.
_SAVED_COLUMNS = ("answers", "planned", "item_versions", "version", "maturity", "theme_scores", "answered_count",
                  "status", "last_saved_by_id", "last_saved_at", "updated_at")
_SAVE = (update(Response)
         .where(Response.id == bindparam("read_id"), Response.version == bindparam("read_version"))
         .values({name: bindparam(f"new_{name}", type_=Response.__table__.c[name].type) for name in _SAVED_COLUMNS})
         .execution_options(synchronize_session=False))


class QuestionnaireService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ reference data

    async def tracks(self) -> list[Track]:
        if self.ctx.actor is None:
            raise NotAuthenticated("Please sign in.")
        return list((await self.session.scalars(select(Track).order_by(Track.position))).all())

    async def current_questionnaires(self) -> list[Questionnaire]:
        return list((await self.session.scalars(select(Questionnaire).where(Questionnaire.current.is_(True))
                                                .order_by(Questionnaire.position, Questionnaire.id))).all())

    async def steps(self) -> list[Step]:
        return list((await self.session.scalars(select(Step).join(Track).order_by(Track.position,
                                                                                  Step.position))).all())

    async def themes(self) -> dict[str, Theme]:
        """Every maturity theme, by code (reference data: anyone signed in may read it)."""
        return await reference.themes(self.session)

    # ------------------------------------------------------------------ scoping

    async def _product(self, product_id: int, permission: Permission) -> Product:
        return await ProductService(self.ctx).get(product_id, permission)

    async def _response(self, response_id: int, permission: Permission, *,
                        with_product: bool = True) -> tuple[Response, Product | None, Grant]:
        """A response of the actor's company, loaded and judged once: the policy must allow `permission`.

        One statement reads the response and what the policy needs of its product (its creator); its
        questionnaire comes from the per-process cache. `with_product=False` (the autosave) leaves the product
        unloaded: None is returned in its place."""
        member(self.ctx)
        row = (await self.session.execute(_RESPONSE_WITH_PRODUCT if with_product else _RESPONSE_WITH_CREATOR,
                                          {"response_id": response_id})).one_or_none()
        if row is None:
            raise NotFound("This response does not exist.")
        response, loaded = row
        product = loaded if with_product else None
        created_by_id = loaded if not with_product else product.created_by_id if product is not None else None
        await self._attach_questionnaire(response)
        held = await grant(self.ctx, response.company_id, response.product_id, created_by_id,
                           missing=N_("This response does not exist."),
                           refused=N_("You do not have the right to do this on this questionnaire."))
        self.ctx.require(permission, held)
        return response, product, held

    async def _attach_questionnaire(self, response: Response) -> None:
        """The response's questionnaire from the per-process cache, set as if loaded with the row."""
        await reference.attach(self.session, [response])

    def allowed_actions(self, view: ResponseView) -> frozenset[Action]:
        """What the actor may do on this response now (the page and the API offer exactly these)."""
        return workflow.allowed_actions(self.ctx.actor, view.response.status, view.grant)

    async def view(self, response_id: int) -> ResponseView:
        response, product, held = await self._response(response_id, Permission.PRODUCT_READ)
        step = (await reference.steps(self.session)).get(response.step_id) if response.step_id else None
        return ResponseView(response=response, questionnaire=response.questionnaire, product=product, step=step,
                            grant=held, evaluation=engine.evaluate(response.questionnaire.items, response.answers))

    # ------------------------------------------------------------------ enrolment

    async def enrolled_steps(self, product_id: int) -> list[int]:
        await self._product(product_id, Permission.PRODUCT_READ)
        return list((await self.session.scalars(select(Enrolment.step_id).where(
            Enrolment.product_id == product_id))).all())

    async def enrol(self, product_id: int, raw_step_ids: object) -> list[int]:
        product = await self._product(product_id, Permission.PRODUCT_EDIT)
        if not isinstance(raw_step_ids, list) or not all(is_id(s) for s in raw_step_ids):
            raise Invalid("step_ids must be a list of step ids.", code="invalid_steps")
        wanted = set(raw_step_ids)
        # Every step (a few), not `id IN (...)`: a request can carry more ids than a query takes parameters.
        steps = {s.id: s for s in (await self.session.scalars(select(Step))).all() if s.id in wanted}
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
            await lock_rows_in_order(self.session, Response.id, Response.product_id == product.id,
                                     Response.step_id.in_(removed))
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
        await self._product(product_id, Permission.PRODUCT_READ)
        return list((await self.session.scalars(select(Response).where(Response.product_id == product_id)
                                                .order_by(Response.step_id, Response.questionnaire_id))).all())

    async def company_responses(self, company_id: int) -> list[Response]:
        require_company(self.ctx, company_id)
        strategy = await grant(self.ctx, company_id, None)
        if strategy.level is None:
            raise Forbidden("You have no right on the global-strategy questionnaires.")
        return list((await self.session.scalars(select(Response).where(
            Response.company_id == company_id, Response.product_id.is_(None)).order_by(Response.id))).all())

    # ------------------------------------------------------------------ answers

    async def save_answers(self, response_id: int, version: object, raw_answers: object,
                           raw_planned: object = None, *, since: int | None = None) -> SaveResult:
        """Save some answers (and planned dates) of a response.

        The rule for concurrent editors: `version` is the version of the response the client last saw these
        items at. The save is refused (409 stale_version) only when one of the items it changes was changed
        by a save after that version (by anyone, the same person in another tab included) to a different
        value; saves of other items merge. The result lists the items others changed after `since` (by
        default `version`), so that the client can show them.
        """
        response, _product, _held = await self._response(response_id, Permission.PRODUCT_EDIT, with_product=False)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise Invalid("Send the version of the response you started from.", code="invalid_input")
        if not isinstance(raw_answers, dict):
            raise Invalid("answers must be an object {item_id: value}.", code="invalid_input")
        if raw_planned is not None and not isinstance(raw_planned, dict):
            raise Invalid("planned must be an object {item_id: date}.", code="invalid_input")
        items = {str(i.id): i for i in response.questionnaire.items}
        answers_in: dict[str, Any] = {}
        today = local_today()
        for key, value in raw_answers.items():
            item = items.get(str(key))
            if item is None:
                raise Invalid("One of the answers is for a question that is not in this questionnaire.",
                              code="invalid_answer", item_id=key)
            answers_in[str(key)] = engine.coerce(item, value, today)
        planned_in: dict[str, str | None] = {}
        for key, value in (raw_planned or {}).items():
            item = items.get(str(key))
            if item is None or not item.scored:
                raise Invalid("A planned date applies to a scored question of this questionnaire.",
                              code="invalid_answer", item_id=key)
            planned_in[str(key)] = engine.coerce_planned(item, value, today)
        actor = member(self.ctx)
        for _attempt in range(5):
            workflow.target(response.status, Action.EDIT)
            if version > response.version:
                raise Conflict("This version of the response does not exist: reload it.", code="stale_version",
                               current_version=response.version, items=[])
            answers = dict(response.answers or {})
            planned = dict(response.planned or {})
            marks = dict(response.item_versions or {})
            changed = _merge(answers, answers_in) | _merge(planned, planned_in)
            stale = [key for key in sorted(changed) if marks.get(key, {}).get("v", 0) > version]
            if stale:
                await self._stale(response, stale, items)
            now = utcnow()
            new_version = response.version + 1
            for key in changed:
                marks[key] = {"v": new_version, "by": actor.id, "at": now.isoformat()}
            evaluation = engine.evaluate(response.questionnaire.items, answers)
            values = dict(answers=answers, planned=planned, item_versions=marks, version=new_version,
                          maturity=evaluation.maturity, theme_scores=evaluation.theme_scores,
                          answered_count=evaluation.answered, status=Status.DRAFT, last_saved_by_id=actor.id,
                          last_saved_at=now, updated_at=now)
            if not changed and response.status == Status.DRAFT:
                break  # nothing to write: the same values again
            # Compare-and-set on the version this request read: a save committed in between is merged by
            # running the check again on the fresh row, never overwritten.
            assert values.keys() == set(_SAVED_COLUMNS)  # _SAVE writes exactly these
            result = await self.session.execute(_SAVE, {"read_id": response.id, "read_version": response.version,
                                                        **{f"new_{key}": value for key, value in values.items()}})
            if result.rowcount == 1:
                for key, value in values.items():
                    set_committed_value(response, key, value)
                self.ctx.audit("response.saved", target_type="response", target_id=response.id,
                               company_id=response.company_id, version=new_version, items=sorted(changed))
                break
            await self.session.refresh(response)
            await self._attach_questionnaire(response)
        else:
            raise Conflict("Too many people are saving this response at once. Try again.", code="busy")
        return SaveResult(response=response, evaluation=evaluation, changes=await self._changes_since(
            response, version if since is None else since, exclude=set(answers_in) | set(planned_in)))

    async def _changes_since(self, response: Response, version: int, exclude: set[str]) -> list[ItemChange]:
        marks = {k: m for k, m in (response.item_versions or {}).items() if m.get("v", 0) > version
                 and k not in exclude}
        return await self._item_changes(response, marks)

    async def _item_changes(self, response: Response, marks: dict[str, dict[str, Any]]) -> list[ItemChange]:
        if not marks:
            return []
        users = await self._names({m.get("by") for m in marks.values()})
        return [ItemChange(item_id=int(key), value=(response.answers or {}).get(key),
                           planned=(response.planned or {}).get(key), version=mark.get("v", 0),
                           saved_by=users.get(mark.get("by")),
                           saved_at=datetime.fromisoformat(mark["at"]) if mark.get("at") else None)
                for key, mark in sorted(marks.items(), key=lambda kv: int(kv[0]))]

    async def _names(self, ids: set[Any]) -> dict[int, str]:
        wanted = {i for i in ids if isinstance(i, int)}
        if not wanted:
            return {}
        rows = (await self.session.scalars(select(User).where(User.id.in_(wanted)))).all()
        return {u.id: u.full_name for u in rows}

    async def _stale(self, response: Response, keys: list[str], items: dict[str, Item]) -> None:
        marks = response.item_versions or {}
        changes = await self._item_changes(response, {k: marks[k] for k in keys})
        first = changes[0]
        raise Conflict("Someone changed this answer since you opened it. Compare both values and choose the one "
                       "to keep.", code="stale_version", current_version=response.version,
                       saved_by=first.saved_by, saved_at=first.saved_at.isoformat() if first.saved_at else None,
                       items=[change.as_json(items[str(change.item_id)]) for change in changes])

    async def copy_sources(self, view: ResponseView) -> list[CopySource]:
        """The responses to the same questionnaire on the company's other products the actor may read."""
        response = view.response
        rows = (await self.session.execute(
            select(Response, Product).join(Questionnaire, Response.questionnaire_id == Questionnaire.id)
            .outerjoin(Product, Response.product_id == Product.id)
            .where(Response.company_id == response.company_id, Response.id != response.id,
                   Questionnaire.code == response.questionnaire.code)
            .order_by(Product.name, Product.version, Response.id)
            .options(noload(Response.questionnaire), raiseload(Product.bases), raiseload(Product.options)))).all()
        await reference.attach(self.session, (r for r, _p in rows))
        readable = await readable_product_ids(self.ctx)
        user = member(self.ctx)
        return [CopySource(response=r, product=p, answers=sum(1 for v in (r.answers or {}).values()
                                                               if engine.is_answered(v)))
                for r, p in rows
                if readable is None or (p is not None and (p.id in readable or p.created_by_id == user.id))]

    async def copy_preview(self, response_id: int, source_id: object) -> CopyPreview:
        response, _product, _held = await self._response(response_id, Permission.PRODUCT_EDIT)
        if not is_id(source_id):
            raise Invalid("Choose the response to copy from.", code="invalid_input",
                          fields={"source_response_id": "Choose the response to copy from."})
        source, source_product, _ = await self._response(source_id, Permission.PRODUCT_READ)
        if source.id == response.id:
            raise Invalid("A response cannot be copied onto itself.", code="invalid_input")
        if source.questionnaire.code != response.questionnaire.code:
            raise Invalid("Answers can only be copied from the same questionnaire.", code="invalid_source")
        by_code = {i.code: str(i.id) for i in response.questionnaire.items}
        source_codes = {str(i.id): i.code for i in source.questionnaire.items}

        def carried(values: dict[str, Any]) -> dict[str, Any]:
            return {by_code[source_codes[k]]: v for k, v in values.items()
                    if k in source_codes and source_codes[k] in by_code and engine.is_answered(v)}

        answers = carried(source.answers or {})
        today = local_today()
        # A planned date already past in the source is overdue there, not a plan for this product.
        planned = {k: v for k, v in carried(source.planned or {}).items() if str(v) > today.isoformat()}
        current = response.answers or {}
        overwritten = sorted(k for k, v in answers.items() if engine.is_answered(current.get(k)) and current[k] != v)
        return CopyPreview(source=source, product=source_product, answers=answers, planned=planned,
                           overwritten=overwritten)

    async def copy_from(self, response_id: int, source_id: object, version: object) -> Response:
        """Answers the source gives replace this response's; answers it does not give are kept."""
        preview = await self.copy_preview(response_id, source_id)
        result = await self.save_answers(response_id, version, preview.answers, preview.planned)
        self.ctx.audit(N_("response.copied"), target_type="response", target_id=response_id,
                       company_id=result.response.company_id, source_id=preview.source.id,
                       copied=len(preview.answers), overwritten=len(preview.overwritten))
        codes = {str(item.id): item.code for item in result.response.questionnaire.items}
        await copy_evidence(self.ctx, preview.source, result.response, (codes[key] for key in preview.answers))
        return result.response

    async def changes_since_validated(self, view: ResponseView) -> RevisionChanges | None:
        """For a reopened response: what differs from the last validated revision (for the validator)."""
        if view.response.revision <= 1:
            return None
        last = await self.session.scalar(select(ResponseRevision).where(
            ResponseRevision.response_id == view.response.id).order_by(ResponseRevision.revision.desc()).limit(1))
        if last is None:
            return None
        return RevisionChanges(revision=last.revision, validated_at=last.validated_at,
                               changes=changes_between(view.items, last.answers or {}, view.response.answers or {}))

    async def last_transition(self, response: Response) -> dict[str, Any] | None:
        """The latest workflow event on a response, with who was told: the page's feedback after a transition."""
        event = await self.session.scalar(select(AuditEvent).where(
            AuditEvent.company_id == response.company_id,  # its index: see `history`
            AuditEvent.target_type == "response", AuditEvent.target_id == response.id,
            AuditEvent.action != "response.saved").order_by(AuditEvent.id.desc()).limit(1))
        if event is None:
            return None
        return {"action": event.action.removeprefix("response."), "notified": event.data.get("notified", []),
                "data": event.data}

    # ------------------------------------------------------------------ workflow

    async def _change(self, response: Response, **values: Any) -> None:
        """Apply a transition by compare-and-set on the version this request read.

        Two transitions (or a transition and a save) sent at the same moment both read the same version; only
        the first to write matches it, the other gets 409 stale_version instead of silently overwriting it.
        """
        read = response.version
        values["version"] = read + 1
        values["updated_at"] = utcnow()
        result = await self.session.execute(
            update(Response).where(Response.id == response.id, Response.version == read).values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            await self.session.refresh(response)
            raise Conflict("Someone changed this response at the same moment. Reload it to see where it stands.",
                           code="stale_version", current_version=response.version, items=[])
        for key, value in values.items():
            set_committed_value(response, key, value)

    async def apply(self, action: Action, response_id: int, comment: object = None) -> Response:
        """Take a workflow action (see workflow.TRANSITIONS and RULES): check who may and the status, re-check
        the precondition, write the new status by compare-and-set, then mail and audit as the rule says."""
        rule = workflow.RULES[action]
        if action == Action.EDIT:
            raise ValueError("answers are saved by save_answers")
        response, product, _held = await self._response(response_id, rule.permission)
        text = ""
        if rule.comment:
            text = clean_comment("comment", comment)
            if not text:
                raise Invalid("Say what needs to change: the contributors will read your comment.",
                              code="comment_required", fields={"comment": N_("Say what needs to change.")})
        status = workflow.target(response.status, action)
        if rule.requires_complete:
            # Checked on the version the compare-and-set below writes over: a save in between makes it fail.
            evaluation = engine.evaluate(response.questionnaire.items, response.answers)
            if evaluation.missing:
                raise Invalid("Some required questions are not answered yet.", code="incomplete",
                              missing=[{"item_id": i.id, "code": i.code, "label": localized(i, "label")}
                                       for i in evaluation.missing])
        actor = member(self.ctx)
        now = utcnow()
        values: dict[str, Any] = {key: now if value == workflow.NOW else actor.id if value == workflow.ACTOR
                                  else value for key, value in rule.writes.items()}
        if rule.comment:
            values["return_comment"] = text
        kept = None
        if rule.new_revision:
            kept = ResponseRevision(
                response_id=response.id, revision=response.revision, answers=dict(response.answers),
                planned=dict(response.planned or {}), maturity=response.maturity,
                theme_scores=dict(response.theme_scores or {}), validated_at=response.validated_at,
                validated_by_id=response.validated_by_id)
            values["revision"] = response.revision + 1
        await self._change(response, status=status, **values)
        if kept is not None:
            self.session.add(kept)
        details: dict[str, Any] = {name: getattr(response, name) for name in rule.audit_fields}
        if rule.comment:
            details["comment"] = text[:500]
        if rule.notify is not None:
            recipients = await (self._validators(response) if rule.notify == "validators"
                                else self._contributors(response))
            assert rule.subject is not None and rule.body is not None
            extra = {"comment": text} if rule.comment else {}
            details["notified"] = await self._notify(response, product, recipients, rule.mail_kind,
                                                     str(rule.subject), str(rule.body), **extra)
        if rule.audit is not None:
            self.ctx.audit(rule.audit, target_type="response", target_id=response.id,
                           company_id=response.company_id, **details)
        if rule.event is not None:
            told = [u.id for u in recipients if u.id != actor.id] if rule.notify is not None else []
            await events.emit(self.session, rule.event, response_id=response.id, company_id=response.company_id,
                              product_id=response.product_id, actor_id=actor.id, recipient_ids=told,
                              comment=text or None)
        return response

    async def submit(self, response_id: int) -> Response:
        return await self.apply(Action.SUBMIT, response_id)

    async def validate(self, response_id: int) -> Response:
        return await self.apply(Action.VALIDATE, response_id)

    async def return_for_changes(self, response_id: int, comment: object) -> Response:
        return await self.apply(Action.RETURN, response_id, comment)

    async def reopen(self, response_id: int) -> Response:
        return await self.apply(Action.REOPEN, response_id)

    async def history(self, response: Response) -> list[dict[str, Any]]:
        # The events with who acted, in one statement.
        rows = (await self.session.execute(select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
                                           # The company first: its index (company, created_at) finds the
                                           # company's events; audit_event has none on its target, and every
                                           # event on a response carries the response's company.
                                           .where(AuditEvent.company_id == response.company_id,
                                                  AuditEvent.target_type == "response",
                                                  AuditEvent.target_id == response.id,
                                                  AuditEvent.action != "response.saved")
                                           .order_by(AuditEvent.id))).all()
        events = [event for event, _user in rows]
        users = {user.id: user for _event, user in rows if user is not None}
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
            User.role.in_(roles_with(Permission.PRODUCTS_ALL)) | User.id.in_(rights)))).all())

    async def _contributors(self, response: Response) -> list[User]:
        ids = {response.submitted_by_id, response.last_saved_by_id} - {None}
        return list((await self.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))).all())

    async def _notify(self, response: Response, product: Product | None, recipients: list[User], kind: str,
                      subject: str, body: str, **extra: str) -> list[str]:
        """Mail the recipients (never the actor); the names of those told."""
        actor = member(self.ctx)
        told: list[str] = []
        target = product.display_name if product else _("the global strategy")
        link = f"{self.ctx.settings.base_url}/responses/{response.id}"
        for user in recipients:
            if user.id == actor.id:
                continue
            await self.ctx.mailer.send(user.email, subject, body % {
                "actor": actor.full_name, "questionnaire": localized(response.questionnaire, "title"),
                "target": target, "link": link, **extra}, kind=kind)
            told.append(user.full_name)
        return told


def subscribe_hooks() -> None:
    """A company created by identity (an approved account request) gets its global-strategy responses."""
    events.subscribe(events.COMPANY_CREATED, ensure_global_responses)


async def ensure_global_responses(session: Any, company_id: int) -> None:
    """Every company has one response per global-strategy questionnaire, on its current version when created (a
    response on an earlier version stays there until a manager migrates it: questionnaires/versions.py)."""
    existing = set((await session.scalars(select(Questionnaire.code).join(
        Response, Response.questionnaire_id == Questionnaire.id).where(
        Response.company_id == company_id, Response.product_id.is_(None)))).all())
    for questionnaire in (await session.scalars(select(Questionnaire).where(
            Questionnaire.step_id.is_(None), Questionnaire.current.is_(True)))).all():
        if questionnaire.code not in existing:
            session.add(Response(company_id=company_id, product_id=None, questionnaire_id=questionnaire.id,
                                 step_id=None, status=Status.NOT_STARTED, version=0, revision=1, answers={},
                                 planned={}))
