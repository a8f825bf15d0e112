"""Mon Espace Santé referencing: filing, ANS verification per chapter, request for information, decision, and the
flag raised when a referenced product changes. Every page and API handler goes through here; authorization is
the one policy's (`identity/policy.py`), transitions are `workflow.py`'s table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import set_committed_value

from convergence.accounts.models import User
from convergence.accounts.validation import normalise_email, valid_email
from convergence.companies.access import grant, member, readable_product_ids
from convergence.companies.models import Company
from convergence.core import audit, events
from convergence.core.db import lock_rows_in_order
from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.i18n import N_, current_language, gettext
from convergence.core.inputs import TextProblem, clean_text, is_id
from convergence.core.models import AuditEvent, utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Grant, Permission, roles_with
from convergence.products.models import Product
from convergence.questionnaires.models import Response, Status, Step
from convergence.questionnaires.services import QuestionnaireService
from convergence.referencing import attachments as files
from convergence.referencing import snapshot, workflow
from convergence.referencing.categories import CATEGORIES
from convergence.referencing.models import (
    OPEN_STATUSES,
    ApplicationAttachment,
    AppStatus,
    ChapterVerdict,
    ReferencingApplication,
    Verdict,
)
from convergence.referencing.workflow import Action

TARGET = "referencing_application"
NAME_MAX = 120
DESCRIPTION_MAX = 2000
CONTACT_MAX = 200
PHONE_MAX = 40
TEXT_MAX = 5000
_PHONE = re.compile(r"\+?[0-9 .()\-]{6,40}")


def open_key(product_id: int, step_code: str) -> str:
    return f"{product_id}:{step_code}"


def localized(obj: Any, field_name: str) -> str:
    """`title_fr` or `title_en` of a model or of a snapshot dict, in the current language."""
    suffix = "en" if current_language() == "en" else "fr"
    if isinstance(obj, dict):
        return obj.get(f"{field_name}_{suffix}") or obj.get(f"{field_name}_fr") or ""
    return getattr(obj, f"{field_name}_{suffix}")


@dataclass
class FilingInput:
    step_code: Any = None
    commercial_name: Any = None
    description: Any = None
    category: Any = None
    contact_name: Any = None
    contact_email: Any = None
    contact_phone: Any = None

    @classmethod
    def from_mapping(cls, data: Any) -> FilingInput:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass
class StepReadiness:
    """One Mon Espace Santé step the product is enrolled in, as the vendor's referencing page shows it."""

    step: Step
    responses: list[Response]
    ready: bool  # every questionnaire of the step validated
    open_application: ReferencingApplication | None
    referenced: ReferencingApplication | None  # the latest referenced application (what the catalogue shows)


@dataclass
class VerdictView:
    verdict: str
    comment: str
    reviewer: str | None
    updated_at: datetime


@dataclass
class ApplicationView:
    application: ReferencingApplication
    product: Product
    company: Company
    chapters: list[dict[str, Any]]
    verdicts: dict[str, VerdictView]
    attachments: list[ApplicationAttachment]
    previous: list[ReferencingApplication]
    history: list[dict[str, Any]]
    names: dict[int, str]
    grant: Grant | None
    allowed: frozenset[Action]
    reviewers: list[User] = field(default_factory=list)

    @property
    def missing_verdicts(self) -> list[str]:
        return [c["code"] for c in self.chapters if c["code"] not in self.verdicts]

    @property
    def to_complete(self) -> list[str]:
        return [code for code, v in self.verdicts.items() if v.verdict == Verdict.A_COMPLETER]

    def name(self, user_id: int | None) -> str | None:
        return self.names.get(user_id) if user_id else None


def _text(name: str, raw: Any, max_len: int, *, multiline: bool = False, required: str | None = None,
          too_long: str = N_("This text is too long.")) -> str:
    try:
        value = clean_text(raw if isinstance(raw, str) else "", max_len=max_len, multiline=multiline,
                           too_long=too_long)
    except TextProblem as exc:
        raise Invalid(exc.message, code="invalid_input", fields={name: exc.message}) from None
    if required and not value:
        raise Invalid(required, code="invalid_input", fields={name: required})
    return value


def check_filing(data: FilingInput) -> dict[str, Any]:
    """The filing's fields as stored, or 422 naming every field at fault."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    texts = [
        ("commercial_name", NAME_MAX, False, N_("Give the name the citizen sees in the catalogue."),
         N_("The commercial name is limited to 120 characters.")),
        ("description", DESCRIPTION_MAX, True, N_("Describe the service in a few sentences."),
         N_("The description is limited to 2,000 characters.")),
        ("contact_name", CONTACT_MAX, False, N_("Give the name of the person ANS may contact."),
         N_("This text is too long.")),
    ]
    for name, max_len, multiline, required, too_long in texts:
        try:
            values[name] = _text(name, getattr(data, name), max_len, multiline=multiline, required=required,
                                 too_long=too_long)
        except Invalid as exc:
            problems.update(exc.fields)
    category = data.category if isinstance(data.category, str) else ""
    if category not in CATEGORIES:
        problems["category"] = N_("Choose the category of the service.")
    values["category"] = category
    email = normalise_email(data.contact_email)
    if not valid_email(email):
        problems["contact_email"] = N_("Give a valid e-mail address.")
    values["contact_email"] = email
    phone = data.contact_phone if isinstance(data.contact_phone, str) else ""
    phone = " ".join(phone.split())
    if phone and (not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 6):
        problems["contact_phone"] = N_("Give a telephone number (digits, spaces, +, dots or dashes).")
    values["contact_phone"] = phone or None
    if problems:
        raise Invalid("Some fields of the application need attention.", code="invalid_input", fields=problems)
    return values


class ReferencingService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ scoping

    @property
    def is_ans(self) -> bool:
        return self.ctx.can(Permission.REFERENCING_READ_ALL)

    async def _product(self, product_id: int, permission: Permission) -> tuple[Product, Grant | None]:
        """A product of the actor's company they hold a right on (another company's, or one without a right:
        404). ANS reads a product's applications through `list(product_id=...)`."""
        product = await self.session.get(Product, product_id) if is_id(product_id) else None
        member(self.ctx)
        if product is None:
            raise NotFound("This product does not exist.")
        held = await grant(self.ctx, product.company_id, product.id, product.created_by_id)
        self.ctx.require(permission, held)
        return product, held

    async def _application(self, application_id: int, permission: Permission
                           ) -> tuple[ReferencingApplication, Grant | None]:
        """An application the actor may take `permission` on: ANS permissions need no target; a vendor's are
        judged on their grant on the product (another company's application answers 404)."""
        application = await self.session.get(ReferencingApplication, application_id) if is_id(application_id) \
            else None
        if permission in (Permission.REFERENCING_REVIEW, Permission.REFERENCING_READ_ALL) or (
                permission == Permission.APPLICATION_READ and self.is_ans):
            self.ctx.require(Permission.REFERENCING_READ_ALL if permission == Permission.APPLICATION_READ
                             else permission)
            if application is None:
                raise NotFound("This application does not exist.")
            return application, None
        member(self.ctx)
        if application is None:
            raise NotFound("This application does not exist.")
        product = await self.session.get(Product, application.product_id)
        held = await grant(self.ctx, application.company_id, application.product_id,
                           product.created_by_id if product else None,
                           missing=N_("This application does not exist."),
                           refused=N_("You do not have the right to do this on this application."))
        self.ctx.require(permission, held)
        return application, held

    async def _step(self, step_code: Any) -> Step:
        steps = {s.code: s for s in await snapshot.mes_steps(self.session)}
        if not isinstance(step_code, str) or step_code not in steps:
            raise Invalid("Choose a Mon Espace Santé step.", code="invalid_step",
                          fields={"step_code": N_("Choose a Mon Espace Santé step.")})
        return steps[step_code]

    # ------------------------------------------------------------------ reading

    async def steps(self) -> list[Step]:
        return await snapshot.mes_steps(self.session)

    async def readiness(self, product_id: int) -> tuple[Product, Grant | None, list[StepReadiness]]:
        """The product's Mon Espace Santé steps it is enrolled in, with what filing needs."""
        product, held = await self._product(product_id, Permission.APPLICATION_READ)
        out = []
        applications = await self.product_applications(product_id, checked=True)
        for step in await snapshot.mes_steps(self.session):
            responses = await snapshot.step_responses(self.session, product_id, step.id)
            if not responses:
                continue
            mine = [a for a in applications if a.step_code == step.code]
            out.append(StepReadiness(
                step=step, responses=responses, ready=snapshot.all_validated(responses),
                open_application=next((a for a in mine if a.status in OPEN_STATUSES), None),
                referenced=next((a for a in mine if a.status == AppStatus.REFERENCED), None)))
        return product, held, out

    async def product_applications(self, product_id: int, *, checked: bool = False) -> list[ReferencingApplication]:
        """Every application of the product, newest first."""
        if not checked:
            await self._product(product_id, Permission.APPLICATION_READ)
        return list((await self.session.scalars(select(ReferencingApplication).where(
            ReferencingApplication.product_id == product_id).order_by(ReferencingApplication.filed_at.desc(),
                                                                      ReferencingApplication.id.desc()))).all())

    async def list(self, *, status: str | None = None, step_code: str | None = None, company_id: int | None = None,
                   product_id: int | None = None, assignee_id: int | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[ReferencingApplication], int]:
        """ANS sees every application; a vendor those of their company's products they hold a right on."""
        if status is not None and status not in set(AppStatus):
            raise Invalid("Unknown status.", code="invalid_input",
                          fields={"status": N_("The status is filed, under_review, info_requested, referenced or "
                                               "refused.")})
        query = select(ReferencingApplication)
        if not self.is_ans:
            user = member(self.ctx)
            query = query.where(ReferencingApplication.company_id == user.company_id)
            readable = await readable_product_ids(self.ctx)
            if readable is not None:
                created = select(Product.id).where(Product.created_by_id == user.id)
                query = query.where(ReferencingApplication.product_id.in_(readable)
                                    | ReferencingApplication.product_id.in_(created))
        if status:
            query = query.where(ReferencingApplication.status == status)
        if step_code:
            query = query.where(ReferencingApplication.step_code == step_code)
        if company_id is not None:
            query = query.where(ReferencingApplication.company_id == company_id)
        if product_id is not None:
            query = query.where(ReferencingApplication.product_id == product_id)
        if assignee_id is not None:
            query = query.where(ReferencingApplication.assignee_id == assignee_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await self.session.scalars(query.order_by(ReferencingApplication.filed_at.desc(),
                                                         ReferencingApplication.id.desc()).limit(limit).offset(offset))
        return list(rows), total

    async def view(self, application_id: int) -> ApplicationView:
        application, held = await self._application(application_id, Permission.APPLICATION_READ)
        product = await self.session.get(Product, application.product_id)
        company = await self.session.get(Company, application.company_id)
        assert product is not None and company is not None
        verdict_rows = (await self.session.scalars(select(ChapterVerdict).where(
            ChapterVerdict.application_id == application.id))).all()
        attachments = list((await self.session.scalars(select(ApplicationAttachment).where(
            ApplicationAttachment.application_id == application.id).order_by(ApplicationAttachment.id))).all())
        previous = [a for a in await self.product_applications(application.product_id, checked=True)
                    if a.id != application.id]
        history = await self._history(application)
        ids = {application.filed_by_id, application.assignee_id, application.decided_by_id,
               *(v.reviewer_id for v in verdict_rows), *(h["actor_id"] for h in history)} - {None}
        names = await self._names(ids)
        reviewers = await self.reviewers() if self.ctx.can(Permission.REFERENCING_REVIEW) else []
        return ApplicationView(
            application=application, product=product, company=company,
            chapters=list(application.snapshot.get("chapters", [])),
            verdicts={v.chapter_code: VerdictView(v.verdict, v.comment, names.get(v.reviewer_id or 0),
                                                  v.updated_at) for v in verdict_rows},
            attachments=attachments, previous=previous, history=history, names=names, grant=held,
            allowed=workflow.allowed_actions(self.ctx.actor, application.status, held), reviewers=reviewers)

    async def attachment(self, application_id: int, attachment_id: int) -> ApplicationAttachment:
        application, _held = await self._application(application_id, Permission.APPLICATION_READ)
        found = await self.session.scalar(select(ApplicationAttachment).options(undefer(
            ApplicationAttachment.content)).where(ApplicationAttachment.id == attachment_id,
                                                  ApplicationAttachment.application_id == application.id)) \
            if is_id(attachment_id) else None
        if found is None:
            raise NotFound("This attachment does not exist.")
        return found

    async def reviewers(self) -> list[User]:
        """ANS staff who may verify applications: the choices of an assignment."""
        return list((await self.session.scalars(select(User).where(
            User.role.in_(roles_with(Permission.REFERENCING_REVIEW)), User.active.is_(True))
            .order_by(User.last_name, User.first_name))).all())

    async def _names(self, ids: set[Any]) -> dict[int, str]:
        ids = {i for i in ids if i}
        if not ids:
            return {}
        return {u.id: u.full_name for u in (await self.session.scalars(select(User).where(User.id.in_(ids)))).all()}

    async def _history(self, application: ReferencingApplication) -> list[dict[str, Any]]:
        rows = (await self.session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == TARGET, AuditEvent.target_id == application.id).order_by(AuditEvent.id))).all()
        return [{"action": e.action.removeprefix("referencing."), "at": e.created_at, "actor_id": e.actor_id,
                 "data": e.data} for e in rows]

    # ------------------------------------------------------------------ filing

    async def may_file(self, product_id: int) -> None:
        """Refuses (404/403) whoever may not file for this product, before their upload is read."""
        await self._product(product_id, Permission.APPLICATION_FILE)

    async def file(self, product_id: int, data: FilingInput, uploads: list[files.Upload] | None = None
                   ) -> ReferencingApplication:
        """File an application for a step whose questionnaires are all validated: the answers are frozen."""
        product, _held = await self._product(product_id, Permission.APPLICATION_FILE)
        step = await self._step(data.step_code)
        values = check_filing(data)
        checked = files.check(uploads or [])
        responses = await snapshot.step_responses(self.session, product.id, step.id)
        if not responses:
            raise Conflict("This product is not enrolled in this step.", code="not_enrolled")
        if not snapshot.all_validated(responses):
            raise Conflict("Every questionnaire of the step must be validated before the application is filed.",
                           code="not_validated",
                           pending=[r.id for r in responses if r.status != Status.VALIDATED])
        key = open_key(product.id, step.code)
        if await self.session.scalar(select(ReferencingApplication.id).where(ReferencingApplication.open_key == key)):
            raise Conflict("An application for this step is already being reviewed.", code="already_open")
        actor = member(self.ctx)
        now = utcnow()
        application = ReferencingApplication(
            company_id=product.company_id, product_id=product.id, step_code=step.code, status=AppStatus.FILED,
            open_key=key, snapshot=await snapshot.take(self.session, step, responses), filed_by_id=actor.id,
            filed_at=now, info_chapters=[], version=1, **values)
        self.session.add(application)
        # A concurrent filing for the same step hits the unique open_key here (IntegrityError → 409).
        await self.session.flush()
        for attachment in checked:
            self.session.add(ApplicationAttachment(
                application_id=application.id, filename=attachment.filename, content_type="application/pdf",
                size=attachment.size, sha256=attachment.sha256, content=attachment.content))
        notified = await self._notify(application, product, step, ("vendor", "reviewers"), "referencing_filed",
                                      N_("A referencing application was filed"),
                                      N_("%(actor)s filed the referencing application of “%(name)s” (%(step)s): "
                                         "%(link)s"), include_actor=True)
        self.ctx.audit(N_("referencing.filed"), target_type=TARGET, target_id=application.id,
                       company_id=application.company_id, product_id=product.id, step_code=step.code,
                       attachments=[a.filename for a in checked], notified=notified)
        return application

    # ------------------------------------------------------------------ transitions

    async def _move(self, application: ReferencingApplication, action: Action, **values: Any) -> AppStatus:
        """Compare-and-set on the version and status this request read: of two concurrent transitions one wins,
        the other is told (409) instead of writing over it."""
        to = workflow.target(application.status, action)
        read_version, read_status = application.version, application.status
        values = {"status": to, "version": read_version + 1, "updated_at": utcnow(), **values}
        if to not in OPEN_STATUSES:
            values["open_key"] = None
        result = await self.session.execute(
            update(ReferencingApplication).where(ReferencingApplication.id == application.id,
                                                 ReferencingApplication.version == read_version,
                                                 ReferencingApplication.status == read_status)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict("Someone changed this application at the same moment. Reload it to see where it stands.",
                           code="stale_version")
        for key, value in values.items():
            set_committed_value(application, key, value)
        return to

    async def _done(self, application: ReferencingApplication, action: Action, text: str = "",
                    **details: Any) -> None:
        """Mail as the rule says, then audit."""
        rule = workflow.RULES[action]
        if rule.notify:
            product = await self.session.get(Product, application.product_id)
            step = await self.session.scalar(select(Step).where(Step.code == application.step_code))
            assert product is not None and rule.subject is not None and rule.body is not None
            details["notified"] = await self._notify(application, product, step, rule.notify, rule.mail_kind,
                                                     rule.subject.msgid, rule.body.msgid, text=text)
        self.ctx.audit(rule.audit, target_type=TARGET, target_id=application.id, company_id=application.company_id,
                       status=application.status, **details)

    async def assign(self, application_id: int, assignee_id: Any = None) -> ReferencingApplication:
        """Assign the application to an ANS reviewer (the actor when none is named)."""
        application, _ = await self._application(application_id, Permission.REFERENCING_REVIEW)
        actor = self.ctx.require(Permission.REFERENCING_REVIEW)
        if assignee_id is None or assignee_id == "":
            assignee = actor
        else:
            assignee = await self.session.get(User, assignee_id) if is_id(assignee_id) else None
            if assignee is None or not assignee.active or assignee.role not in roles_with(
                    Permission.REFERENCING_REVIEW):
                raise Invalid("Choose an ANS reviewer.", code="invalid_assignee",
                              fields={"assignee_id": N_("Choose an ANS reviewer.")})
        workflow.target(application.status, Action.ASSIGN)
        if application.assignee_id == assignee.id:
            raise Conflict("The application is already assigned to this reviewer.", code="already_assigned")
        before = application.assignee_id
        await self._move(application, Action.ASSIGN, assignee_id=assignee.id)
        await self._done(application, Action.ASSIGN, assignee_id=assignee.id, previous_assignee_id=before)
        return application

    async def set_verdict(self, application_id: int, chapter_code: Any, verdict: Any, comment: Any
                          ) -> ChapterVerdict:
        """Mark one chapter conforme or à compléter; a second verdict on a chapter replaces the first (the
        history keeps both). The first verdict moves a filed application under review."""
        application, _ = await self._application(application_id, Permission.REFERENCING_REVIEW)
        actor = self.ctx.require(Permission.REFERENCING_REVIEW)
        codes = [c["code"] for c in application.snapshot.get("chapters", [])]
        if not isinstance(chapter_code, str) or chapter_code not in codes:
            raise Invalid("This chapter is not part of the application.", code="invalid_chapter",
                          fields={"chapter_code": N_("This chapter is not part of the application.")})
        if not isinstance(verdict, str) or verdict not in set(Verdict):
            raise Invalid("Say whether the chapter is compliant or to be completed.", code="invalid_verdict",
                          fields={"verdict": N_("Say whether the chapter is compliant or to be completed.")})
        text = _text("comment", comment, TEXT_MAX, multiline=True,
                     too_long=N_("A comment is limited to 5,000 characters."))
        if verdict == Verdict.A_COMPLETER and not text:
            raise Invalid("Say what the vendor must complete.", code="comment_required",
                          fields={"comment": N_("Say what the vendor must complete.")})
        await self._move(application, Action.VERDICT)
        row = await self.session.scalar(select(ChapterVerdict).where(
            ChapterVerdict.application_id == application.id, ChapterVerdict.chapter_code == chapter_code))
        if row is None:
            row = ChapterVerdict(application_id=application.id, chapter_code=chapter_code, verdict=verdict,
                                 comment=text, reviewer_id=actor.id)
            self.session.add(row)
        else:
            row.verdict, row.comment, row.reviewer_id, row.updated_at = verdict, text, actor.id, utcnow()
        await self.session.flush()
        await self._done(application, Action.VERDICT, chapter_code=chapter_code, verdict=verdict,
                         comment=text[:500])
        return row

    async def request_info(self, application_id: int, message: Any) -> ReferencingApplication:
        """Ask the vendor to complete the chapters marked à compléter: they reopen those questionnaires."""
        application, _ = await self._application(application_id, Permission.REFERENCING_REVIEW)
        text = _text("message", message, TEXT_MAX, multiline=True,
                     too_long=N_("A message is limited to 5,000 characters."))
        workflow.target(application.status, Action.REQUEST_INFO)
        to_complete = await self._verdict_codes(application, Verdict.A_COMPLETER)
        if not to_complete:
            raise Conflict("Mark at least one chapter “to be completed” before asking for information.",
                           code="nothing_to_complete")
        if not text:
            raise Invalid("Say what ANS expects from the vendor.", code="message_required",
                          fields={"message": N_("Say what ANS expects from the vendor.")})
        await self._move(application, Action.REQUEST_INFO, info_request=text, info_chapters=to_complete)
        titles = [localized(c, "title") for c in application.snapshot.get("chapters", []) if c["code"] in to_complete]
        await self._done(application, Action.REQUEST_INFO, text="\n".join([text, "", *(f"– {t}" for t in titles)]),
                         chapters=to_complete, message=text[:500])
        return application

    def _concerned(self, application: ReferencingApplication) -> dict[int, int]:
        """The responses of the chapters ANS asked about: response id → revision frozen in the snapshot."""
        return {c["response_id"]: c["revision"] for c in application.snapshot.get("chapters", [])
                if c["code"] in (application.info_chapters or [])}

    async def reopen(self, application_id: int) -> list[Response]:
        """The vendor reopens the questionnaires of the chapters ANS asked about, through the questionnaires'
        own reopen transition (a new revision in draft, the validated one kept); those already reopened are left
        as they are."""
        application, _ = await self._application(application_id, Permission.APPLICATION_FILE)
        workflow.target(application.status, Action.REOPEN)
        questionnaires = QuestionnaireService(self.ctx)
        concerned = self._concerned(application)
        await lock_rows_in_order(self.session, Response.id, Response.id.in_(list(concerned)))
        reopened = []
        for response_id, revision in concerned.items():
            response = await self.session.get(Response, response_id)
            if response is not None and response.status == Status.VALIDATED and response.revision == revision:
                reopened.append(await questionnaires.reopen(response_id))
        if not reopened:
            raise Conflict("The questionnaires concerned are already reopened.", code="already_reopened")
        await self._move(application, Action.REOPEN)
        await self._done(application, Action.REOPEN, response_ids=[r.id for r in reopened])
        return reopened

    async def resubmit(self, application_id: int) -> ReferencingApplication:
        """Back to ANS once every questionnaire concerned was reopened and validated again: the chapters of
        the reopened questionnaires are frozen anew, and their verdicts (and those of any chapter that changed)
        are withdrawn so that ANS verifies them again."""
        application, _ = await self._application(application_id, Permission.APPLICATION_FILE)
        workflow.target(application.status, Action.RESUBMIT)
        step = await self.session.scalar(select(Step).where(Step.code == application.step_code))
        responses = await snapshot.step_responses(self.session, application.product_id, step.id) if step else []
        concerned = self._concerned(application)
        current = {r.id: r for r in responses}
        if any(rid not in current or current[rid].revision <= revision for rid, revision in concerned.items()):
            raise Conflict("Reopen and complete the questionnaires ANS asked about before resubmitting.",
                           code="not_reopened")
        if not snapshot.all_validated(responses):
            raise Conflict("Every questionnaire of the step must be validated again before the application is "
                           "resubmitted.", code="not_validated",
                           pending=[r.id for r in responses if r.status != Status.VALIDATED])
        fresh, changed = await snapshot.refresh(self.session, application.snapshot, responses, set(concerned))
        withdrawn = sorted(set(application.info_chapters or []) | changed)
        for row in (await self.session.scalars(select(ChapterVerdict).where(
                ChapterVerdict.application_id == application.id, ChapterVerdict.chapter_code.in_(withdrawn)))).all():
            await self.session.delete(row)
        await self._move(application, Action.RESUBMIT, snapshot=fresh, resubmitted_at=utcnow())
        await self._done(application, Action.RESUBMIT, changed_chapters=sorted(changed))
        return application

    async def decide(self, application_id: int, decision: Any, reasons: Any) -> ReferencingApplication:
        """Reference or refuse: every chapter needs a verdict, and referencing needs every chapter conforme."""
        application, _ = await self._application(application_id, Permission.REFERENCING_REVIEW)
        actor = self.ctx.require(Permission.REFERENCING_REVIEW)
        actions = {AppStatus.REFERENCED.value: Action.REFERENCE, AppStatus.REFUSED.value: Action.REFUSE}
        if not isinstance(decision, str) or decision not in actions:
            raise Invalid("Choose to reference or to refuse.", code="invalid_decision",
                          fields={"decision": N_("Choose to reference or to refuse.")})
        action = actions[decision]
        text = _text("reasons", reasons, TEXT_MAX, multiline=True,
                     too_long=N_("The reasons are limited to 5,000 characters."))
        workflow.target(application.status, action)
        codes = [c["code"] for c in application.snapshot.get("chapters", [])]
        given = {v.chapter_code: v.verdict for v in (await self.session.scalars(select(ChapterVerdict).where(
            ChapterVerdict.application_id == application.id))).all()}
        missing = [code for code in codes if code not in given]
        if missing:
            raise Conflict("Every chapter needs a verdict before the decision.", code="verdicts_missing",
                           chapters=missing)
        if action == Action.REFERENCE and any(given[code] != Verdict.CONFORME for code in codes):
            raise Conflict("A service is referenced only when every chapter is compliant.", code="not_compliant",
                           chapters=[code for code in codes if given[code] != Verdict.CONFORME])
        if action == Action.REFUSE and not text:
            raise Invalid("Give the reasons for the refusal: the vendor will read them.", code="reasons_required",
                          fields={"reasons": N_("Give the reasons for the refusal.")})
        await self._move(application, action, decided_at=utcnow(), decided_by_id=actor.id,
                         decision_reasons=text or None)
        await self._done(application, action, text=text, reasons=text[:500])
        return application

    async def _verdict_codes(self, application: ReferencingApplication, verdict: Verdict) -> list[str]:
        order = [c["code"] for c in application.snapshot.get("chapters", [])]
        found = set((await self.session.scalars(select(ChapterVerdict.chapter_code).where(
            ChapterVerdict.application_id == application.id, ChapterVerdict.verdict == verdict))).all())
        return [code for code in order if code in found]

    # ------------------------------------------------------------------ mail

    async def _notify(self, application: ReferencingApplication, product: Product, step: Step | None,
                      who: tuple[str, ...], kind: str, subject: str, body: str, *, text: str = "",
                      include_actor: bool = False) -> list[str]:
        """Mail the people `who` names (the actor only with `include_actor`); the addresses told."""
        actor = self.ctx.actor
        recipients: dict[str, str] = {}  # e-mail → link
        base = self.ctx.settings.base_url
        vendor_link = f"{base}/products/{application.product_id}/referencing"
        ans_link = f"{base}/referencing/applications/{application.id}"
        if "vendor" in who:
            for user in (await self.session.scalars(select(User).where(
                    User.company_id == application.company_id, User.active.is_(True),
                    User.role.in_(roles_with(Permission.APPLICATION_FILE))))).all():
                recipients[user.email] = vendor_link
            recipients.setdefault(application.contact_email, vendor_link)
        if "assignee" in who and application.assignee_id:
            assignee = await self.session.get(User, application.assignee_id)
            if assignee is not None and assignee.active:
                recipients[assignee.email] = ans_link
        if "reviewers" in who or ("assignee" in who and not application.assignee_id):
            for user in await self.reviewers():
                recipients.setdefault(user.email, ans_link)
        if actor is not None and not include_actor:
            recipients.pop(actor.email, None)
        told = []
        for email, link in recipients.items():
            await self.ctx.mailer.send(email, gettext(subject), gettext(body) % {
                "actor": actor.full_name if actor else "ANS", "name": application.commercial_name,
                "step": localized(step, "title") if step else application.step_code, "link": link, "text": text},
                kind=kind)
            told.append(email)
        return told


# ---------------------------------------------------------------------- flags

async def flag_referenced(session: AsyncSession, *, product_id: int, reason: str, actor_id: int | None,
                          step_code: str | None = None, company_id: int | None = None) -> int:
    """Flag for ANS the referenced applications of a product that changed after the decision (the first change
    is kept as the reason); how many were flagged."""
    query = select(ReferencingApplication).where(ReferencingApplication.product_id == product_id,
                                                 ReferencingApplication.status == AppStatus.REFERENCED,
                                                 ReferencingApplication.flagged_at.is_(None))
    if step_code is not None:
        query = query.where(ReferencingApplication.step_code == step_code)
    flagged = 0
    now = utcnow()
    for application in (await session.scalars(query)).all():
        application.flagged_at, application.flag_reason = now, reason
        audit.record(session, N_("referencing.flagged"), actor_id=actor_id, target_type=TARGET,
                     target_id=application.id, company_id=application.company_id, reason=reason)
        flagged += 1
    return flagged


async def on_product_changed(session: AsyncSession, *, product_id: int, reason: str, actor_id: int | None = None,
                             **data: Any) -> None:
    text = {"updated": N_("The product record was edited."),
            "new_version": N_("A new version of the product was registered.")}.get(reason, reason)
    await flag_referenced(session, product_id=product_id, reason=text, actor_id=actor_id)


async def on_response_reopened(session: AsyncSession, *, response_id: int, product_id: int | None = None,
                               actor_id: int | None = None, **data: Any) -> None:
    if product_id is None:
        return
    step_code = await session.scalar(select(Step.code).join(Response, Response.step_id == Step.id).where(
        Response.id == response_id))
    if step_code is not None:
        await flag_referenced(session, product_id=product_id, step_code=step_code, actor_id=actor_id,
                              reason=N_("A questionnaire of the step was reopened."))


def subscribe_hooks() -> None:
    """A referenced product that changes afterwards is flagged for ANS (wired where the app is built)."""
    events.subscribe(events.PRODUCT_CHANGED, on_product_changed)
    events.subscribe(events.RESPONSE_REOPENED, on_response_reopened)


