"""JSON API, "Joining" section of api.md."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide

from convergence.accounts.models import AccountRequest, User
from convergence.accounts.services import AuthService, JoiningService, PasswordService, RequestInput, TermsService
from convergence.core.errors import Invalid
from convergence.core.mail_views import OutboxService, outbox_json
from convergence.core.permissions import Permission
from convergence.core.params import FromPath, FromQuery, JSONObject, Limit, Offset
from convergence.core.web import Ctx, provide_ctx, requires, signed_in
from convergence.core.ratelimit import settle_early



def request_json(r: AccountRequest, registered: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """`email_registered`: the address already has an account (approving would answer 409)."""
    return {
        "id": r.id, "status": r.status, "company_name": r.company_name, "siren": r.siren,
        "first_name": r.first_name, "last_name": r.last_name, "email": r.email, "job_title": r.job_title,
        "is_corporate_officer": r.is_corporate_officer, "officer_name": r.officer_name,
        "reason": r.reason, "created_at": r.created_at.isoformat(),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "company_id": r.company_id, "user_id": r.user_id,
        "has_document": r.document_size is not None, "email_registered": r.email in registered,
    }


def me_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "role": user.role, "company_id": user.company_id, "terms_accepted_version": user.terms_accepted_version,
    }


def _string(data: JSONObject, name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("A text field was given a value of another type.", code="invalid_input",
                      fields={name: "Must be a string."})
    return value


class JoiningApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]
    dependencies = {"ctx": Provide(provide_ctx)}

    @post("/account-requests", status_code=201)
    async def file_request(self, ctx: Ctx, data: JSONObject) -> dict[str, Any]:
        officer = data.get("is_corporate_officer")
        if not isinstance(officer, bool):
            raise Invalid("Say whether you are the corporate officer (true or false).", code="invalid_input",
                          fields={"is_corporate_officer": "Must be true or false."})
        for name in ("company_name", "siren", "first_name", "last_name", "email", "job_title", "officer_name"):
            _string(data, name)
        request = await JoiningService(ctx).file_request(RequestInput.from_mapping(data))
        return {"id": request.id, "status": request.status}

    @get("/account-requests", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def list_requests(self, ctx: Ctx, status: FromQuery[str | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> dict[str, Any]:
        service = JoiningService(ctx)
        rows, total = await service.list_requests(status, limit, offset)
        registered = await service.registered_emails(rows)
        return {"items": [request_json(r, registered) for r in rows], "total": total}

    @get("/account-requests/{request_id:int}", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def show_request(self, ctx: Ctx, request_id: FromPath[int]) -> dict[str, Any]:
        service = JoiningService(ctx)
        request = await service.get_request(request_id)
        return request_json(request, await service.registered_emails([request]))

    @get("/account-requests/{request_id:int}/document", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         media_type="application/pdf")
    async def request_document(self, ctx: Ctx, request_id: FromPath[int]) -> Response[bytes]:
        request, content = await JoiningService(ctx).get_document(request_id)
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="account-request-{request.id}.pdf"'})

    @post("/account-requests/{request_id:int}/approve", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def approve(self, ctx: Ctx, request_id: FromPath[int]) -> dict[str, Any]:
        company, user = await JoiningService(ctx).approve(request_id)
        return {"company_id": company.id, "user_id": user.id}

    @post("/account-requests/{request_id:int}/reject", status_code=200,
          guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def reject(self, ctx: Ctx, request_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        service = JoiningService(ctx)
        request = await service.reject(request_id, _string(data, "reason"))
        return request_json(request, await service.registered_emails([request]))

    @post("/password/set", status_code=204)
    async def set_password(self, ctx: Ctx, data: JSONObject) -> None:
        await PasswordService(ctx).set_password(_string(data, "token"), _string(data, "password"))

    @post("/password/reset", status_code=202)
    async def reset_password(self, ctx: Ctx, request: Request[Any, Any, Any], data: JSONObject) -> dict[str, str]:
        await PasswordService(ctx).request_reset(_string(data, "email"), settle=settle_early(request, ctx.session))
        return {"detail": "If an account exists for this address, a reset link has been sent."}

    @post("/auth/token", status_code=200)
    async def token(self, ctx: Ctx, data: JSONObject) -> dict[str, Any]:
        auth = AuthService(ctx)
        user = await auth.authenticate(_string(data, "email"), _string(data, "password"))
        credentials = await auth.issue_api_token(user)
        return {"access_token": credentials.token, "token_type": "bearer",
                "expires_at": credentials.expires_at.isoformat()}

    @delete("/auth/token", status_code=204, guards=[signed_in], opt={"terms_exempt": True})
    async def revoke_token(self, ctx: Ctx, request: Request[Any, Any, Any]) -> None:
        """Revokes the bearer token the call is made with."""
        authorization = request.headers.get("authorization", "")
        await AuthService(ctx).revoke_api_token(authorization[7:].strip())

    @get("/terms/current", opt={"terms_exempt": True})
    async def current_terms(self, ctx: Ctx, request: Request[Any, Any, Any]) -> dict[str, Any]:
        terms = await TermsService(ctx).current()
        lang = request.query_params.get("lang", "fr")
        return {"version": terms.version, "text": terms.text_en if lang == "en" else terms.text_fr,
                "published_at": terms.published_at.isoformat()}


class MeApi(Controller):
    path = "/api/v1"
    tags = ["Joining"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/me", opt={"terms_exempt": True})
    async def me(self, ctx: Ctx) -> dict[str, Any]:
        assert ctx.actor is not None
        return me_json(ctx.actor)

    @post("/me/terms/accept", status_code=204, opt={"terms_exempt": True})
    async def accept_terms(self, ctx: Ctx, data: JSONObject) -> None:
        await TermsService(ctx).accept(data.get("version"))

    @get("/outbox", guards=[requires(Permission.OUTBOX_READ)])
    async def outbox(self, ctx: Ctx, recipient: FromQuery[str | None] = None, status: FromQuery[str | None] = None,
                     limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        rows, total = await OutboxService(ctx).list(recipient, limit, offset, status=status)
        return {"items": [outbox_json(m) for m in rows], "total": total}

    @post("/outbox/{message_id:int}/retry", status_code=200, guards=[requires(Permission.OUTBOX_RETRY)])
    async def retry_outbox_message(self, ctx: Ctx, message_id: FromPath[int]) -> dict[str, Any]:
        """Re-queue a failed message (409 `not_failed` otherwise); the sender tries it again at once."""
        return outbox_json(await OutboxService(ctx).retry(message_id))
