"""JSON API of evidence on answers: list and add on a question of a response, read, download and remove one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.errors import BadRequest, Invalid
from convergence.core.params import FromPath
from convergence.identity.web import signed_in
from convergence.questionnaires.evidence.models import Evidence
from convergence.questionnaires.evidence.schemas import EvidenceOut, EvidencePage
from convergence.questionnaires.evidence.services import MAX_BYTES, EvidenceService, Upload

ADD_RULES = """Adds evidence to the answer of one question (by its `item_code`) of a response: the edit level on the
product and an editable response (not started or draft) are needed; a submitted or validated response's evidence is
read-only (409 `not_editable`). A **file** is sent as `multipart/form-data` (field `file`, and `comment`): a PDF or
a PNG, JPEG or WebP picture, judged by its content, at most 5 MB (422 `file_not_accepted`, `file_too_large`,
`file_required`). A **link** is sent as JSON `{"url", "comment"}`: http:// or https:// only (422 `invalid_url`).
At most 10 pieces of evidence per answer (422 `too_much_evidence`); a comment is limited to 1,000 characters."""

_TEXT = Schema(type=OpenAPIType.STRING)
LINK_BODY = Schema(type=OpenAPIType.OBJECT, title="EvidenceLinkIn", required=["url"],
                   properties={"url": _TEXT, "comment": _TEXT})


@dataclass
class AddEvidenceOperation(Operation):
    """The body, documented by hand: the handler reads JSON or a multipart form itself, after the authorization
    check (an outsider's upload is never read). The multipart form is described in words, as the referencing
    filing's is: its file field has no JSON schema a generated request could fill."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            "application/json": OpenAPIMediaType(schema=LINK_BODY)},
            description="A link as JSON `{\"url\", \"comment\"}`, or a document as a `multipart/form-data` form "
                        "with the file in the field `file` and an optional `comment`.")


def download(evidence: Evidence) -> Response[bytes]:
    """A stored file, always as an attachment of its checked type: never shown inline, never sniffed."""
    return Response(evidence.content or b"", media_type=evidence.content_type or "application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename or '')}",
                             "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})


async def read_file(form: Any) -> Upload | None:
    upload = next((u for u in form.getall("file", []) if isinstance(u, UploadFile)), None)
    if upload is None:
        return None
    # One byte more than the limit is enough to refuse a larger file without reading all of it.
    return Upload(filename=upload.filename or "", content=await upload.read(MAX_BYTES + 1))


class EvidenceApi(Controller):
    path = "/api/v1"
    tags = ["Evidence"]
    guards = [signed_in]

    @get("/responses/{response_id:int}/evidence", responses=errors(SIGNED_IN, 404),
         description="Every piece of evidence of a response, by question code (read level, or ANS staff).")
    async def for_response(self, evidence_service: NamedDependency[EvidenceService],
                           response_id: FromPath[int]) -> EvidencePage:
        _response, views = await evidence_service.for_response(response_id)
        return EvidencePage.whole([EvidenceOut.of(v) for v in views])

    @get("/responses/{response_id:int}/items/{item_code:str}/evidence", responses=errors(SIGNED_IN, 404),
         description="The evidence of one question's answer (read level, or ANS staff).")
    async def for_item(self, evidence_service: NamedDependency[EvidenceService], response_id: FromPath[int],
                       item_code: FromPath[str]) -> EvidencePage:
        _response, _item, views = await evidence_service.for_item(response_id, item_code)
        return EvidencePage.whole([EvidenceOut.of(v) for v in views])

    @post("/responses/{response_id:int}/items/{item_code:str}/evidence", status_code=201, description=ADD_RULES,
          responses=errors(SIGNED_IN, BODY, 404, 409), operation_class=AddEvidenceOperation)
    async def add(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                  response_id: FromPath[int], item_code: FromPath[str]) -> EvidenceOut:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            await evidence_service.may_add(response_id, item_code)  # before the upload is read
            form = await request.form()
            view = await evidence_service.add_file(response_id, item_code, await read_file(form),
                                                   form.get("comment"))
            return EvidenceOut.of(view)
        try:
            body = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            body = BadRequest("The request could not be read.", code="bad_request")
        if not isinstance(body, dict):
            await evidence_service.may_add(response_id, item_code)  # who may not gets 403/404, not a body error
            raise body if isinstance(body, BadRequest) else Invalid(
                "Send the link as a JSON object {\"url\", \"comment\"}.", code="invalid_input")
        return EvidenceOut.of(await evidence_service.add_link(response_id, item_code, body.get("url"),
                                                              body.get("comment")))

    @get("/evidence/{evidence_id:int}", responses=errors(SIGNED_IN, 404))
    async def one(self, evidence_service: NamedDependency[EvidenceService], evidence_id: FromPath[int]) -> EvidenceOut:
        return EvidenceOut.of(await evidence_service.get(evidence_id))

    @get("/evidence/{evidence_id:int}/file", media_type="application/octet-stream",
         responses={**errors(SIGNED_IN, 404), 200: ResponseSpec(
             data_container=bytes, media_type="application/octet-stream",
             description="The file as attached, with its checked type, always as an attachment (404 `no_file` "
                         "for a link).")})
    async def download_file(self, evidence_service: NamedDependency[EvidenceService],
                   evidence_id: FromPath[int]) -> Response[bytes]:
        return download(await evidence_service.document(evidence_id))

    @delete("/evidence/{evidence_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409),
            description="Removes evidence (edit level, editable response: 409 `not_editable` otherwise).")
    async def remove(self, evidence_service: NamedDependency[EvidenceService], evidence_id: FromPath[int]) -> None:
        await evidence_service.remove(evidence_id)
