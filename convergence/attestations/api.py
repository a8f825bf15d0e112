"""JSON API of attestations: a response's attestations (publish, list), revoking one, and the public check of a
verification code."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency

from convergence.attestations.schemas import AttestationOut, AttestationPage, RevokeIn
from convergence.attestations.services import AttestationService
from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.params import FromPath, JSONBody
from convergence.identity.web import Ctx, signed_in

PUBLISH_RULE = """Publishes the attestation of a validated product response (managers of the company): its public
page (`url`, no sign-in), its PDF (`pdf_url`) and a verification `code` anyone checks at `/verify` or with
`GET /api/v1/verify/{code}`. The facts (company, product, step, questionnaire and version, maturity per theme,
dates) are signed with the platform's Ed25519 key (`/attestations/public-key`). 409 `not_validated` when the
response is not validated, `already_published` when it already has a valid attestation, `not_attestable` for a
global-strategy response. Reopening the response makes the attestation `invalidated` at once."""


class AttestationsApi(Controller):
    path = "/api/v1"
    tags = ["Attestations"]
    guards = [signed_in]

    @post("/responses/{response_id:int}/attestations", status_code=201, description=PUBLISH_RULE,
          responses=errors(SIGNED_IN, 404, 409))
    async def publish(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                      response_id: FromPath[int]) -> AttestationOut:
        return AttestationOut.of(await attestation_service.publish(response_id), ctx.settings.base_url)

    @get("/responses/{response_id:int}/attestations", responses=errors(SIGNED_IN, 404))
    async def list_for_response(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                                response_id: FromPath[int]) -> AttestationPage:
        views = await attestation_service.for_response(response_id)
        return AttestationPage.whole([AttestationOut.of(v, ctx.settings.base_url) for v in views])

    @post("/attestations/{attestation_id:int}/revoke", status_code=200, responses=errors(SIGNED_IN, BODY, 404, 409),
          description="Revokes an attestation (managers of the company); its managers are mailed. Whoever checks "
                      "the code is told it is revoked, with the `reason` if given. 409 `already_revoked`.")
    async def revoke(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                     attestation_id: FromPath[int], data: JSONBody[RevokeIn]) -> AttestationOut:
        view = await attestation_service.revoke(attestation_id, data.reason)
        return AttestationOut.of(view, ctx.settings.base_url)


class VerifyApi(Controller):
    path = "/api/v1"
    tags = ["Attestations"]

    @get("/verify/{verification_code:str}", responses=errors(404),
         description="Anyone: what an attestation's verification code (12 characters, dashes and case ignored) "
                     "attests and whether it still holds (`status`, `reason`, `explanation`). 404 `unknown_code`.")
    async def verify(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                     verification_code: FromPath[str]) -> AttestationOut:
        view = await attestation_service.by_code(verification_code)
        return AttestationOut.of(view, ctx.settings.base_url, private=False)
