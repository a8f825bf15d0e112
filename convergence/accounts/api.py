"""JSON API, "Joining" section of api.md."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide

from convergence.accounts.schemas import (
    AccountRequestFiled,
    AccountRequestIn,
    AccountRequestOut,
    ApprovedOut,
    CredentialsIn,
    DetailOut,
    EmailIn,
    MeOut,
    OutboxMessageOut,
    PasswordSetIn,
    RejectIn,
    TermsAcceptIn,
    TermsOut,
    TokenOut,
)
from convergence.accounts.services import AuthService, JoiningService, PasswordService, RequestInput, TermsService
from convergence.core.api_docs import BODY, SIGNED_IN, Page, errors, given
from convergence.core.errors import Invalid
from convergence.identity.mail_views import OutboxService, outbox_json
from convergence.identity.permissions import Permission
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import Ctx, provide_ctx, requires, signed_in
from convergence.core.ratelimit import settle_early



def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("A text field was given a value of another type.", code="invalid_input",
                      fields={name: "Must be a string."})
    return value


SUPPORT = errors(SIGNED_IN, 404, 409)


class JoiningApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]
    dependencies = {"ctx": Provide(provide_ctx)}

    @post("/account-requests", status_code=201, responses=errors(BODY, 409, 429))
    async def file_request(self, ctx: Ctx, data: JSONBody[AccountRequestIn]) -> AccountRequestFiled:
        data = given(data)
        officer = data.get("is_corporate_officer")
        if not isinstance(officer, bool):
            raise Invalid("Say whether you are the corporate officer (true or false).", code="invalid_input",
                          fields={"is_corporate_officer": "Must be true or false."})
        for name in ("company_name", "siren", "first_name", "last_name", "email", "job_title", "officer_name"):
            _string(data, name)
        request = await JoiningService(ctx).file_request(RequestInput.from_mapping(data))
        return AccountRequestFiled(id=request.id, status=request.status)

    @get("/account-requests", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=SUPPORT)
    async def list_requests(self, ctx: Ctx, status: FromQuery[str | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> Page[AccountRequestOut]:
        service = JoiningService(ctx)
        rows, total = await service.list_requests(status, limit, offset)
        registered = await service.registered_emails(rows)
        return Page(items=[AccountRequestOut.of(r, registered) for r in rows], total=total)

    @get("/account-requests/{request_id:int}", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         responses=SUPPORT)
    async def show_request(self, ctx: Ctx, request_id: FromPath[int]) -> AccountRequestOut:
        service = JoiningService(ctx)
        request = await service.get_request(request_id)
        return AccountRequestOut.of(request, await service.registered_emails([request]))

    @get("/account-requests/{request_id:int}/document", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         media_type="application/pdf", responses=SUPPORT)
    async def request_document(self, ctx: Ctx, request_id: FromPath[int]) -> Response[bytes]:
        request, content = await JoiningService(ctx).get_document(request_id)
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="account-request-{request.id}.pdf"'})

    @post("/account-requests/{request_id:int}/approve", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=SUPPORT)
    async def approve(self, ctx: Ctx, request_id: FromPath[int]) -> ApprovedOut:
        company, user = await JoiningService(ctx).approve(request_id)
        return ApprovedOut(company_id=company.id, user_id=user.id)

    @post("/account-requests/{request_id:int}/reject", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)], responses=errors(SIGNED_IN, BODY, 404, 409))
    async def reject(self, ctx: Ctx, request_id: FromPath[int], data: JSONBody[RejectIn]) -> AccountRequestOut:
        service = JoiningService(ctx)
        request = await service.reject(request_id, _string(given(data), "reason"))
        return AccountRequestOut.of(request, await service.registered_emails([request]))

    @post("/password/set", status_code=204, responses=errors(BODY, 429))
    async def set_password(self, ctx: Ctx, data: JSONBody[PasswordSetIn]) -> None:
        fields = given(data)
        await PasswordService(ctx).set_password(_string(fields, "token"), _string(fields, "password"))

    @post("/password/reset", status_code=202, responses=errors(BODY, 429))
    async def reset_password(self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONBody[EmailIn]) -> DetailOut:
        await PasswordService(ctx).request_reset(_string(given(data), "email"),
                                                 settle=settle_early(request, ctx.session))
        return DetailOut(detail="If an account exists for this address, a reset link has been sent.")

    @post("/auth/token", status_code=200, responses=errors(BODY, 401, 403, 429))
    async def token(self, ctx: Ctx, data: JSONBody[CredentialsIn]) -> TokenOut:
        auth = AuthService(ctx)
        fields = given(data)
        user = await auth.authenticate(_string(fields, "email"), _string(fields, "password"))
        credentials = await auth.issue_api_token(user)
        return TokenOut(access_token=credentials.token, token_type="bearer",
                        expires_at=credentials.expires_at.isoformat())

    @delete("/auth/token", status_code=204, guards=[signed_in], opt={"terms_exempt": True},
            responses=errors(SIGNED_IN))
    async def revoke_token(self, ctx: Ctx, request: Request[Any, Any, Any]) -> None:
        """Revokes the bearer token the call is made with."""
        authorization = request.headers.get("authorization", "")
        await AuthService(ctx).revoke_api_token(authorization[7:].strip())

    @get("/terms/current", opt={"terms_exempt": True}, responses=errors(404))
    async def current_terms(self, ctx: Ctx, request: Request[Any, Any, Any]) -> TermsOut:
        terms = await TermsService(ctx).current()
        lang = request.query_params.get("lang", "fr")
        return TermsOut(version=terms.version, text=terms.text_en if lang == "en" else terms.text_fr,
                        published_at=terms.published_at.isoformat())


class MeApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/me", opt={"terms_exempt": True}, responses=errors(SIGNED_IN))
    async def me(self, ctx: Ctx) -> MeOut:
        assert ctx.actor is not None
        return MeOut.of(ctx.actor)

    @post("/me/terms/accept", status_code=204, opt={"terms_exempt": True}, responses=errors(SIGNED_IN, BODY, 409))
    async def accept_terms(self, ctx: Ctx, data: JSONBody[TermsAcceptIn]) -> None:
        await TermsService(ctx).accept(data.version)

    @get("/outbox", guards=[requires(Permission.OUTBOX_READ)], responses=SUPPORT)
    async def outbox(self, ctx: Ctx, recipient: FromQuery[str | None] = None, status: FromQuery[str | None] = None,
                     limit: Limit = 50, offset: Offset = 0) -> Page[OutboxMessageOut]:
        rows, total = await OutboxService(ctx).list(recipient, limit, offset, status=status)
        return Page(items=[OutboxMessageOut(**outbox_json(m)) for m in rows], total=total)

    @post("/outbox/{message_id:int}/retry", status_code=200, guards=[requires(Permission.OUTBOX_RETRY)],
          responses=errors(SIGNED_IN, 404, 409))
    async def retry_outbox_message(self, ctx: Ctx, message_id: FromPath[int]) -> OutboxMessageOut:
        """Re-queue a failed message (409 `not_failed` otherwise); the sender tries it again at once."""
        return OutboxMessageOut(**outbox_json(await OutboxService(ctx).retry(message_id)))
