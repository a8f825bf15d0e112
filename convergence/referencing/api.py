"""JSON API of Mon Espace Santé referencing: a vendor files and follows its applications, ANS verifies and decides.

A filed snapshot has no route that writes it: the answers change only through the questionnaires (reopen, answer,
validate) and come back into the application by `resubmit`."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.errors import BadRequest, Invalid
from convergence.core.i18n import N_
from convergence.core.i18n import gettext
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import signed_in
from convergence.referencing.attachments import MAX_BYTES, Upload
from convergence.referencing.categories import CATEGORIES
from convergence.referencing.schemas import (
    ApplicationDetailOut,
    ApplicationOut,
    ApplicationPage,
    AssignIn,
    CategoryOut,
    CategoryPage,
    DecisionIn,
    InfoRequestIn,
    VerdictIn,
    VerdictOut,
)
from convergence.referencing.services import FilingInput, ReferencingService

READ = errors(SIGNED_IN, 404)
WRITE = errors(SIGNED_IN, BODY, 404, 409)
TRANSITION = errors(SIGNED_IN, 404, 409)
FILING_RULES = """Files a referencing application for one Mon Espace Santé step of the product (a manager of its
company). Every questionnaire of the step must be validated (409 `not_validated`, `not_enrolled`), and no other
application of the product for that step may be open (409 `already_open`). The validated answers are frozen in
the application, by chapter (questionnaire theme). Fields are checked together (422 `invalid_input` with
`fields`); `attachments`: at most 5 PDF files, 5 MB in all, judged by content (422 `attachment_not_pdf`,
`too_many_attachments`, `attachment_too_large`)."""


_TEXT = Schema(type=OpenAPIType.STRING)
FILING_BODY = Schema(type=OpenAPIType.OBJECT, title="FilingIn", properties={
    **{name: _TEXT for name in ("step_code", "commercial_name", "description", "category", "contact_name",
                                "contact_email", "contact_phone")},
    "attachments": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT, properties={
        "filename": _TEXT, "content_base64": _TEXT})),
})


@dataclass
class FilingOperation(Operation):
    """The filing's body, documented by hand: the handler reads JSON or a multipart form itself, after the
    authorization check (an outsider's upload is never read)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            "application/json": OpenAPIMediaType(schema=FILING_BODY)},
            description="JSON as described (`attachments[].content_base64`: the PDF in base64), or the same fields "
                        "as a `multipart/form-data` form whose files are sent in the field `attachments`.")


async def read_filing(request: Request[Any, Any, Any]) -> tuple[FilingInput, list[Upload]]:
    """The filing from a multipart form or a JSON body: its fields, and the attachments as sent."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        uploads = [Upload(filename=u.filename or "", content=await u.read(MAX_BYTES + 1))
                   for u in form.getall("attachments", []) if isinstance(u, UploadFile)]
        return FilingInput.from_mapping({k: v for k, v in form.items() if isinstance(v, str)}), uploads
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        raise BadRequest("The request could not be read.", code="bad_request") from None
    if not isinstance(body, dict):
        raise Invalid("Send the application as a JSON object.", code="invalid_input")
    raw = body.get("attachments") or []
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise Invalid("Attachments must be PDF files.", code="attachment_not_pdf",
                      fields={"attachments": N_("Attachments must be PDF files.")})
    uploads = []
    for attachment in raw:
        try:
            content = base64.b64decode(str(attachment.get("content_base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("Attachments must be PDF files.", code="attachment_not_pdf",
                          fields={"attachments": N_("Attachments must be PDF files.")}) from None
        uploads.append(Upload(filename=str(attachment.get("filename") or ""), content=content))
    return FilingInput.from_mapping(body), uploads


class ReferencingApi(Controller):
    path = "/api/v1"
    tags = ["Mon Espace Santé referencing"]
    guards = [signed_in]

    @get("/referencing/categories", responses=errors(SIGNED_IN))
    async def categories(self) -> CategoryPage:
        return CategoryPage.whole([CategoryOut(code=code, label=gettext(label)) for code, label in CATEGORIES.items()])

    @get("/referencing/applications", responses=errors(SIGNED_IN))
    async def applications(self, referencing_service: NamedDependency[ReferencingService],
                           status: FromQuery[str | None] = None, step: FromQuery[str | None] = None,
                           company_id: FromQuery[int | None] = None, product_id: FromQuery[int | None] = None,
                           assignee_id: FromQuery[int | None] = None, limit: Limit = 50,
                           offset: Offset = 0) -> ApplicationPage:
        """ANS sees every application; a vendor those of its company's products it holds a right on."""
        rows, total = await referencing_service.list(status=status, step_code=step, company_id=company_id,
                                                     product_id=product_id, assignee_id=assignee_id, limit=limit,
                                                     offset=offset)
        return ApplicationPage(items=[ApplicationOut.of(a) for a in rows], total=total, limit=limit, offset=offset)

    @get("/products/{product_id:int}/referencing-applications", responses=READ)
    async def product_applications(self, referencing_service: NamedDependency[ReferencingService],
                                   product_id: FromPath[int]) -> ApplicationPage:
        rows = await referencing_service.product_applications(product_id)
        return ApplicationPage.whole([ApplicationOut.of(a) for a in rows])

    @post("/products/{product_id:int}/referencing-applications", status_code=201, description=FILING_RULES,
          responses=WRITE, operation_class=FilingOperation)
    async def file(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                   product_id: FromPath[int]) -> ApplicationDetailOut:
        await referencing_service.may_file(product_id)
        data, uploads = await read_filing(request)
        application = await referencing_service.file(product_id, data, uploads)
        return ApplicationDetailOut.of(await referencing_service.view(application.id))

    @get("/referencing/applications/{application_id:int}", responses=READ)
    async def application(self, referencing_service: NamedDependency[ReferencingService],
                          application_id: FromPath[int]) -> ApplicationDetailOut:
        return ApplicationDetailOut.of(await referencing_service.view(application_id))

    @get("/referencing/applications/{application_id:int}/attachments/{attachment_id:int}", media_type="application/pdf",
         responses={**READ, 200: ResponseSpec(data_container=bytes, media_type="application/pdf",
                                              description="The PDF as filed.")})
    async def attachment(self, referencing_service: NamedDependency[ReferencingService],
                         application_id: FromPath[int], attachment_id: FromPath[int]) -> Response[bytes]:
        found = await referencing_service.attachment(application_id, attachment_id)
        return Response(found.content, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})

    @post("/referencing/applications/{application_id:int}/assign", status_code=200, responses=WRITE)
    async def assign(self, referencing_service: NamedDependency[ReferencingService], application_id: FromPath[int],
                     data: JSONBody[AssignIn]) -> ApplicationOut:
        return ApplicationOut.of(await referencing_service.assign(application_id, data.assignee_id))

    @post("/referencing/applications/{application_id:int}/verdicts", status_code=200, responses=WRITE,
          description="Marks one chapter `conforme` or `a_completer` (a comment is then required); a later "
                      "verdict on the same chapter replaces it. Only while the application is filed or under "
                      "review (409 `invalid_transition`).")
    async def verdict(self, referencing_service: NamedDependency[ReferencingService], application_id: FromPath[int],
                      data: JSONBody[VerdictIn]) -> VerdictOut:
        row = await referencing_service.set_verdict(application_id, data.chapter_code, data.verdict, data.comment)
        actor = referencing_service.ctx.actor
        return VerdictOut.of(row, actor.full_name if actor else None)

    @post("/referencing/applications/{application_id:int}/request-info", status_code=200, responses=WRITE,
          description="Asks the vendor to complete the chapters marked `a_completer` (409 `nothing_to_complete` "
                      "when none is).")
    async def request_info(self, referencing_service: NamedDependency[ReferencingService],
                           application_id: FromPath[int], data: JSONBody[InfoRequestIn]) -> ApplicationOut:
        return ApplicationOut.of(await referencing_service.request_info(application_id, data.message))

    @post("/referencing/applications/{application_id:int}/reopen", status_code=200, responses=TRANSITION,
          description="The vendor's manager reopens the questionnaires of the chapters ANS asked about (each into "
                      "a new revision in draft, as `POST /responses/{id}/reopen`).")
    async def reopen(self, referencing_service: NamedDependency[ReferencingService],
                     application_id: FromPath[int]) -> ApplicationOut:
        await referencing_service.reopen(application_id)
        return ApplicationOut.of((await referencing_service.view(application_id)).application)

    @post("/referencing/applications/{application_id:int}/resubmit", status_code=200, responses=TRANSITION,
          description="Back to ANS once the reopened questionnaires are validated again (409 `not_reopened`, "
                      "`not_validated`): their chapters are frozen anew and verified again.")
    async def resubmit(self, referencing_service: NamedDependency[ReferencingService],
                       application_id: FromPath[int]) -> ApplicationOut:
        return ApplicationOut.of(await referencing_service.resubmit(application_id))

    @post("/referencing/applications/{application_id:int}/decision", status_code=200, responses=WRITE,
          description="`referenced` needs every chapter `conforme`; `refused` needs `reasons`; both need a verdict "
                      "on every chapter (409 `verdicts_missing`, `not_compliant`).")
    async def decide(self, referencing_service: NamedDependency[ReferencingService], application_id: FromPath[int],
                     data: JSONBody[DecisionIn]) -> ApplicationOut:
        return ApplicationOut.of(await referencing_service.decide(application_id, data.decision, data.reasons))
