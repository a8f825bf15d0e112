"""JSON API, "Team and rights" section of api.md."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post, put
from litestar.di import Provide

from convergence.companies.services import TeamService, member_json
from convergence.core.params import FromPath, JSONObject, Limit, Offset
from convergence.core.web import Ctx, provide_ctx, signed_in


def invitation_json(invitation: Any) -> dict[str, Any]:
    return {"id": invitation.id, "user_id": invitation.user_id, "email": invitation.email, "role": invitation.role,
            "status": invitation.status, "sent_count": invitation.sent_count,
            "created_at": invitation.created_at.isoformat()}


class TeamApi(Controller):
    path = "/api/v1/companies/{company_id:int}"
    tags = ["Team and rights"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/members")
    async def members(self, ctx: Ctx, company_id: FromPath[int], limit: Limit = 50,
                      offset: Offset = 0) -> dict[str, Any]:
        views = await TeamService(ctx).members(company_id)
        return {"items": [member_json(v) for v in views[offset:offset + limit]], "total": len(views)}

    @post("/invitations", status_code=201)
    async def invite(self, ctx: Ctx, company_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        invited = await TeamService(ctx).invite(company_id, data)
        return {**invitation_json(invited.invitation), "rights": [r.as_json() for r in invited.rights]}

    @get("/invitations")
    async def invitations(self, ctx: Ctx, company_id: FromPath[int]) -> dict[str, Any]:
        invitations = await TeamService(ctx).pending_invitations(company_id)
        return {"items": [invitation_json(i) for i in invitations], "total": len(invitations)}

    @post("/invitations/{invitation_id:int}/resend", status_code=200)
    async def resend(self, ctx: Ctx, company_id: FromPath[int], invitation_id: FromPath[int]) -> dict[str, Any]:
        return invitation_json(await TeamService(ctx).resend(company_id, invitation_id))

    @delete("/invitations/{invitation_id:int}", status_code=204)
    async def cancel(self, ctx: Ctx, company_id: FromPath[int], invitation_id: FromPath[int]) -> None:
        await TeamService(ctx).cancel(company_id, invitation_id)

    @put("/members/{user_id:int}/rights", status_code=200)
    async def set_rights(self, ctx: Ctx, company_id: FromPath[int], user_id: FromPath[int],
                         data: JSONObject) -> dict[str, Any]:
        rights = await TeamService(ctx).set_rights(company_id, user_id, data.get("rights"))
        return {"user_id": user_id, "rights": [r.as_json() for r in rights]}

    @delete("/members/{user_id:int}", status_code=204)
    async def deactivate(self, ctx: Ctx, company_id: FromPath[int], user_id: FromPath[int]) -> None:
        await TeamService(ctx).deactivate(company_id, user_id)

    @get("/audit")
    async def audit(self, ctx: Ctx, company_id: FromPath[int], limit: Limit = 50,
                    offset: Offset = 0) -> dict[str, Any]:
        rows, total = await TeamService(ctx).audit_trail(company_id, limit, offset)
        return {"items": [{"id": e.id, "action": e.action, "actor_id": e.actor_id, "target_id": e.target_id,
                           "data": e.data, "created_at": e.created_at.isoformat()} for e in rows], "total": total}
