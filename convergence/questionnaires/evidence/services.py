"""Evidence on answers: who may add, remove and read it, and the checks on what is sent.

Adding or removing evidence needs the edit level on the response's product and an editable response (not
started or draft, a returned one included); a submitted or validated response's evidence is read-only (409).
Reading needs the read level, or the review right of ANS staff on any company's response. Another company's
evidence answers 404, as its response does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import undefer

from convergence.accounts.models import User
from convergence.companies.access import grant, member
from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.i18n import N_
from convergence.core.inputs import clean_field, has_control_characters
from convergence.core.models import utcnow
from convergence.core.uploads import clean_filename, document_type
from convergence.identity.context import Context
from convergence.identity.policy import Permission
from convergence.products.models import Product
from convergence.questionnaires import reference, workflow
from convergence.questionnaires.evidence.models import Evidence, Kind
from convergence.questionnaires.models import Item, Response

MAX_PER_ANSWER = 10
# The request body is capped a little above the upload limit (app.py): a file up to this size reaches the check.
MAX_BYTES = 5 * 1024 * 1024
COMMENT_MAX = 1000
URL_MAX = 2000

MISSING_RESPONSE = N_("This response does not exist.")
MISSING_EVIDENCE = N_("This evidence does not exist.")
MISSING_ITEM = N_("This question does not exist in this questionnaire.")
REFUSED = N_("You do not have the right to do this on this questionnaire.")
READ_ONLY = N_("This response is submitted or validated: its evidence cannot be changed now.")
TOO_MANY = N_("An answer can carry at most 10 pieces of evidence.")
NOT_A_DOCUMENT = N_("Evidence files must be PDF documents or PNG, JPEG or WebP pictures.")
TOO_LARGE = N_("An evidence file is limited to 5 MB.")
NO_FILE = N_("Choose the file to attach.")
BAD_URL = N_("Give a link that starts with http:// or https://.")


@dataclass
class Upload:
    filename: str
    content: bytes


@dataclass
class EvidenceView:
    evidence: Evidence
    added_by: str | None

    @property
    def label(self) -> str:
        return (self.evidence.filename if self.evidence.kind == Kind.FILE else self.evidence.url) or ""


def clean_url(raw: object) -> str:
    """An absolute http(s) link to a named host, as sent (trimmed), or 422 on the `url` field."""
    url = raw.strip() if isinstance(raw, str) else ""
    problem = None
    if not url or len(url) > URL_MAX or has_control_characters(url) or any(c.isspace() for c in url):
        problem = BAD_URL
    else:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - a port out of range raises here
        except ValueError:
            host = None
        # Credentials in a link are refused: they are a classic way to disguise where it leads.
        if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
            problem = BAD_URL
    if problem:
        raise Invalid(problem, code="invalid_url", fields={"url": problem})
    return url


def clean_comment(raw: object) -> str:
    return clean_field("comment", raw, max_len=COMMENT_MAX, multiline=True,
                       too_long=N_("A comment on evidence is limited to 1,000 characters."),
                       too_long_code="comment_too_long")


def check_upload(upload: Upload | None) -> tuple[str, str]:
    """The stored name and media type of a document we accept, or 422 on the `file` field."""
    if upload is None or not upload.content:
        raise Invalid(NO_FILE, code="file_required", fields={"file": NO_FILE})
    if len(upload.content) > MAX_BYTES:
        raise Invalid(TOO_LARGE, code="file_too_large", fields={"file": TOO_LARGE})
    content_type = document_type(upload.content)
    if content_type is None:
        raise Invalid(NOT_A_DOCUMENT, code="file_not_accepted", fields={"file": NOT_A_DOCUMENT})
    return clean_filename(upload.filename or "", default="document"), content_type


_WITH_CREATOR = select(Response, Product.created_by_id).outerjoin(Product, Product.id == Response.product_id)


class EvidenceService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session
        # Whether the actor may change the evidence of the response last judged (what a page offers).
        self.editable = False

    # ------------------------------------------------------------------ scoping

    async def _judge(self, response: Response, created_by_id: int | None, permission: Permission,
                     missing: str, staff: bool) -> bool:
        """ANS staff read any company's evidence; everyone else through what they hold on the product. Whether
        the actor may also change the evidence now (what a page offers)."""
        if staff:
            return False
        held = await grant(self.ctx, response.company_id, response.product_id, created_by_id, missing=missing,
                           refused=REFUSED)
        self.ctx.require(permission, held)
        return self.ctx.can(Permission.PRODUCT_EDIT, held) and response.status in workflow.EDITABLE

    def _staff_reads(self, permission: Permission) -> bool:
        """ANS staff reading: any company's evidence. Anyone else must belong to a vendor company, told before
        anything is looked up (403 for ANS staff changing evidence, whatever the id)."""
        if permission == Permission.PRODUCT_READ and self.ctx.can(Permission.REVIEW_READ):
            return True
        member(self.ctx)
        return False

    async def _response(self, response_id: int, permission: Permission) -> Response:
        staff = self._staff_reads(permission)
        row = (await self.session.execute(_WITH_CREATOR.where(Response.id == response_id))).one_or_none()
        if row is None:
            raise NotFound(MISSING_RESPONSE)
        response, created_by_id = row
        self.editable = await self._judge(response, created_by_id, permission, MISSING_RESPONSE, staff)
        await reference.attach(self.session, [response])
        return response

    async def _evidence(self, evidence_id: int, permission: Permission, *,
                        with_content: bool = False) -> tuple[Evidence, Response]:
        staff = self._staff_reads(permission)
        statement = (_WITH_CREATOR.add_columns(Evidence).join(Evidence, Evidence.response_id == Response.id)
                     .where(Evidence.id == evidence_id))
        if with_content:
            statement = statement.options(undefer(Evidence.content))
        row = (await self.session.execute(statement)).one_or_none()
        if row is None:
            raise NotFound(MISSING_EVIDENCE)
        response, created_by_id, evidence = row
        self.editable = await self._judge(response, created_by_id, permission, MISSING_EVIDENCE, staff)
        return evidence, response

    @staticmethod
    def _item(response: Response, item_code: str) -> Item:
        for item in response.questionnaire.items:
            if item.code == item_code:
                return item
        raise NotFound(MISSING_ITEM)

    async def _hold_editable(self, response: Response) -> None:
        """409 unless the response can be edited; the row stays locked until the request commits, so that a
        submission at the same moment sees this change or refuses it (PostgreSQL waits on the row and reads the
        status again). The version is left alone: evidence never conflicts with an autosave."""
        result = await self.session.execute(
            update(Response).where(Response.id == response.id, Response.status.in_(workflow.EDITABLE))
            .values(updated_at=utcnow()).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(READ_ONLY, code="not_editable")

    async def _views(self, rows: list[Evidence]) -> list[EvidenceView]:
        ids = {e.added_by_id for e in rows} - {None}
        users = {u.id: u for u in (await self.session.scalars(select(User).where(User.id.in_(ids)))).all()
                 } if ids else {}
        return [EvidenceView(evidence=e, added_by=users[e.added_by_id].full_name if e.added_by_id in users else None)
                for e in rows]

    # ------------------------------------------------------------------ reading

    async def for_item(self, response_id: int, item_code: str) -> tuple[Response, Item, list[EvidenceView]]:
        response = await self._response(response_id, Permission.PRODUCT_READ)
        item = self._item(response, item_code)
        rows = (await self.session.scalars(select(Evidence).where(
            Evidence.response_id == response.id, Evidence.item_code == item.code).order_by(Evidence.id))).all()
        return response, item, await self._views(list(rows))

    async def for_response(self, response_id: int) -> tuple[Response, list[EvidenceView]]:
        response = await self._response(response_id, Permission.PRODUCT_READ)
        return response, await self._of(response)

    async def _of(self, response: Response) -> list[EvidenceView]:
        rows = (await self.session.scalars(select(Evidence).where(Evidence.response_id == response.id)
                                           .order_by(Evidence.item_code, Evidence.id))).all()
        return await self._views(list(rows))

    async def by_code(self, response: Response) -> dict[str, list[EvidenceView]]:
        """The evidence of a response its page has already loaded and judged readable, by question code."""
        found: dict[str, list[EvidenceView]] = {}
        for view in await self._of(response):
            found.setdefault(view.evidence.item_code, []).append(view)
        return found

    async def get(self, evidence_id: int) -> EvidenceView:
        evidence, _response = await self._evidence(evidence_id, Permission.PRODUCT_READ)
        return (await self._views([evidence]))[0]

    async def document(self, evidence_id: int) -> Evidence:
        """A file's evidence with its content (404 for a link: it has no file)."""
        evidence, _response = await self._evidence(evidence_id, Permission.PRODUCT_READ, with_content=True)
        if evidence.kind != Kind.FILE or evidence.content is None:
            raise NotFound(N_("This evidence is a link: it has no file."), code="no_file")
        return evidence

    # ------------------------------------------------------------------ changing

    async def may_add(self, response_id: int, item_code: str) -> tuple[Response, Item]:
        """Refuses (404, 403, 409) whoever may not add evidence here, before their upload is read."""
        response = await self._response(response_id, Permission.PRODUCT_EDIT)
        item = self._item(response, item_code)
        if response.status not in workflow.EDITABLE:
            raise Conflict(READ_ONLY, code="not_editable")
        return response, item

    async def add_file(self, response_id: int, item_code: str, upload: Upload | None,
                       comment: object = None) -> EvidenceView:
        response, item = await self.may_add(response_id, item_code)
        text = clean_comment(comment)
        filename, content_type = check_upload(upload)
        assert upload is not None
        return await self._add(response, item, Evidence(
            kind=Kind.FILE, filename=filename, content_type=content_type, size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(), content=upload.content, comment=text))

    async def add_link(self, response_id: int, item_code: str, url: object, comment: object = None) -> EvidenceView:
        response, item = await self.may_add(response_id, item_code)
        # Both fields are checked, so that the form shows every problem at once; the first one is the answer's.
        problems: list[Invalid] = []
        checked: dict[str, str] = {}
        for name, check, raw in (("url", clean_url, url), ("comment", clean_comment, comment)):
            try:
                checked[name] = check(raw)
            except Invalid as exc:
                problems.append(exc)
        if problems:
            raise Invalid(problems[0].message, code=problems[0].code,
                          fields={k: v for exc in problems for k, v in exc.fields.items()})
        return await self._add(response, item, Evidence(kind=Kind.LINK, url=checked["url"],
                                                        comment=checked["comment"]))

    async def _add(self, response: Response, item: Item, evidence: Evidence) -> EvidenceView:
        await self._hold_editable(response)
        count = await self.session.scalar(select(func.count()).select_from(Evidence).where(
            Evidence.response_id == response.id, Evidence.item_code == item.code))
        if (count or 0) >= MAX_PER_ANSWER:
            raise Invalid(TOO_MANY, code="too_much_evidence", fields={"file": TOO_MANY, "url": TOO_MANY})
        actor = self.ctx.actor
        evidence.company_id, evidence.response_id, evidence.item_code = response.company_id, response.id, item.code
        evidence.added_by_id = actor.id if actor else None
        self.session.add(evidence)
        await self.session.flush()
        self.ctx.audit(N_("evidence.added"), target_type="response", target_id=response.id,
                       company_id=response.company_id, evidence_id=evidence.id, item_code=item.code,
                       kind=evidence.kind, name=(evidence.filename or evidence.url or "")[:200],
                       size=evidence.size)
        return EvidenceView(evidence=evidence, added_by=actor.full_name if actor else None)

    async def remove(self, evidence_id: int) -> Evidence:
        evidence, response = await self._evidence(evidence_id, Permission.PRODUCT_EDIT)
        await self._hold_editable(response)
        await self.session.delete(evidence)
        self.ctx.audit(N_("evidence.removed"), target_type="response", target_id=response.id,
                       company_id=response.company_id, evidence_id=evidence.id, item_code=evidence.item_code,
                       kind=evidence.kind, name=(evidence.filename or evidence.url or "")[:200])
        return evidence

    async def response_and_item(self, evidence: Evidence) -> tuple[Response, Item | None]:
        """The evidence's response (already judged by the caller) and its question, for re-rendering a page."""
        response = await self.session.get_one(Response, evidence.response_id)
        await reference.attach(self.session, [response])
        return response, next((i for i in response.questionnaire.items if i.code == evidence.item_code), None)
