"""JSON API, "Joining" section of api.md."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency

from convergence.accounts.schemas import (
    AccountRequestFiled,
    AccountRequestIn,
    AccountRequestOut,
    AccountRequestPage,
    ApprovedOut,
    CredentialsIn,
    DetailOut,
    EmailIn,
    MeOut,
    OutboxMessageOut,
    OutboxMessagePage,
    PasswordSetIn,
    RejectIn,
    TermsAcceptIn,
    TermsOut,
    TokenOut,
)
from convergence.accounts.services import AuthService, JoiningService, PasswordService, RequestInput, TermsService
from convergence.core.api_docs import BODY, SIGNED_IN, errors, given
from convergence.core.errors import Invalid
from convergence.core.i18n import N_
from convergence.identity.mail_views import OutboxService, outbox_json
from convergence.identity.policy import Permission
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import Ctx, requires, signed_in
from convergence.core.ratelimit import settle_early



def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("A text field was given a value of another type.", code="invalid_input",
                      fields={name: N_("Must be a string.")})
    return value


SUPPORT = errors(SIGNED_IN, 404, 409)


class JoiningApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]

    @post("/account-requests", status_code=201, responses=errors(BODY, 409, 429))
    async def file_request(self, joining_service: NamedDependency[JoiningService],
                           data: JSONBody[AccountRequestIn]) -> AccountRequestFiled:
        data = given(data)
        officer = data.get("is_corporate_officer")
        if not isinstance(officer, bool):
            raise Invalid("Say whether you are the corporate officer (true or false).", code="invalid_input",
                          fields={"is_corporate_officer": N_("Must be true or false.")})
        for name in ("company_name", "siren", "first_name", "last_name", "email", "job_title", "officer_name"):
            _string(data, name)
        request = await joining_service.file_request(RequestInput.from_mapping(data))
        return AccountRequestFiled(id=request.id, status=request.status)

    @get("/account-requests", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=SUPPORT)
    async def list_requests(self, joining_service: NamedDependency[JoiningService],
                            status: FromQuery[str | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> AccountRequestPage:
        rows, total = await joining_service.list_requests(status, limit, offset)
        registered = await joining_service.registered_emails(rows)
        return AccountRequestPage(items=[AccountRequestOut.of(r, registered) for r in rows], total=total)

    @get("/account-requests/{request_id:int}", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         responses=SUPPORT)
    async def show_request(self, joining_service: NamedDependency[JoiningService],
                           request_id: FromPath[int]) -> AccountRequestOut:
        request = await joining_service.get_request(request_id)
        return AccountRequestOut.of(request, await joining_service.registered_emails([request]))

    @get("/account-requests/{request_id:int}/document", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         media_type="application/pdf", responses=SUPPORT)
    async def request_document(self, joining_service: NamedDependency[JoiningService],
                               request_id: FromPath[int]) -> Response[bytes]:
        request, content = await joining_service.get_document(request_id)
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="account-request-{request.id}.pdf"'})

    @post("/account-requests/{request_id:int}/approve", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=SUPPORT)
    async def approve(self, joining_service: NamedDependency[JoiningService], request_id: FromPath[int]) -> ApprovedOut:
        company, user = await joining_service.approve(request_id)
        return ApprovedOut(company_id=company.id, user_id=user.id)

    @post("/account-requests/{request_id:int}/reject", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=errors(SIGNED_IN, BODY, 404, 409))
    async def reject(self, joining_service: NamedDependency[JoiningService], request_id: FromPath[int],
                     data: JSONBody[RejectIn]) -> AccountRequestOut:
        request = await joining_service.reject(request_id, _string(given(data), "reason"))
        return AccountRequestOut.of(request, await joining_service.registered_emails([request]))

    @post("/password/set", status_code=204, responses=errors(BODY, 429))
    async def set_password(self, password_service: NamedDependency[PasswordService],
                           data: JSONBody[PasswordSetIn]) -> None:
        fields = given(data)
        await password_service.set_password(_string(fields, "token"), _string(fields, "password"))

    @post("/password/reset", status_code=202, responses=errors(BODY, 429))
    async def reset_password(self, password_service: NamedDependency[PasswordService], ctx: Ctx,
                             request: Request[Any, Any, Any], data: JSONBody[EmailIn]) -> DetailOut:
        await password_service.request_reset(_string(given(data), "email"),
                                                 settle=settle_early(request, ctx.session))
        return DetailOut(detail="If an account exists for this address, a reset link has been sent.")

    @post("/auth/token", status_code=200, responses=errors(BODY, 401, 403, 429))
    async def token(self, auth_service: NamedDependency[AuthService], data: JSONBody[CredentialsIn]) -> TokenOut:
        fields = given(data)
        user = await auth_service.authenticate(_string(fields, "email"), _string(fields, "password"))
        credentials = await auth_service.issue_api_token(user)
        return TokenOut(access_token=credentials.token, token_type="bearer",
                        expires_at=credentials.expires_at.isoformat())

    @delete("/auth/token", status_code=204, guards=[signed_in], opt={"terms_exempt": True},
            responses=errors(SIGNED_IN))
    async def revoke_token(self, auth_service: NamedDependency[AuthService], request: Request[Any, Any, Any]) -> None:
        """Revokes the bearer token the call is made with."""
        authorization = request.headers.get("authorization", "")
        await auth_service.revoke_api_token(authorization[7:].strip())

    @get("/terms/current", opt={"terms_exempt": True}, responses=errors(404))
    async def current_terms(self, terms_service: NamedDependency[TermsService],
                            request: Request[Any, Any, Any]) -> TermsOut:
        terms = await terms_service.current()
        lang = request.query_params.get("lang", "fr")
        return TermsOut(version=terms.version, text=terms.text_en if lang == "en" else terms.text_fr,
                        published_at=terms.published_at.isoformat())


class MeApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]
    guards = [signed_in]

    @get("/me", opt={"terms_exempt": True}, responses=errors(SIGNED_IN))
    async def me(self, ctx: Ctx) -> MeOut:
        assert ctx.actor is not None
        return MeOut.of(ctx.actor)

    @post("/me/terms/accept", status_code=204, opt={"terms_exempt": True}, responses=errors(SIGNED_IN, BODY, 409))
    async def accept_terms(self, terms_service: NamedDependency[TermsService], data: JSONBody[TermsAcceptIn]) -> None:
        await terms_service.accept(data.version)

    @get("/outbox", guards=[requires(Permission.OUTBOX_READ)], responses=SUPPORT)
    async def outbox(self, outbox_service: NamedDependency[OutboxService], recipient: FromQuery[str | None] = None,
                     status: FromQuery[str | None] = None, limit: Limit = 50, offset: Offset = 0) -> OutboxMessagePage:
        rows, total = await outbox_service.list(recipient, limit, offset, status=status)
        return OutboxMessagePage(items=[OutboxMessageOut(**outbox_json(m)) for m in rows], total=total)

    @post("/outbox/{message_id:int}/retry", status_code=200, guards=[requires(Permission.OUTBOX_RETRY)],
          responses=errors(SIGNED_IN, 404, 409))
    async def retry_outbox_message(self, outbox_service: NamedDependency[OutboxService],
                                   message_id: FromPath[int]) -> OutboxMessageOut:
        """Re-queue a failed message (409 `not_failed` otherwise); the sender tries it again at once."""
        return OutboxMessageOut(**outbox_json(await outbox_service.retry(message_id)))
