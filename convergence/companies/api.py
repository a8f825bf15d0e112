"""JSON API, "Team and rights" section of api.md."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide

from convergence.companies.schemas import (
    AuditEventOut,
    InvitationIn,
    InvitationOut,
    InvitedOut,
    MemberOut,
    MemberRightsOut,
    RightOut,
    RightsIn,
)
from convergence.companies.services import TeamService
from convergence.core.api_docs import BODY, SIGNED_IN, Page, errors, given
from convergence.core.params import FromPath, JSONBody, Limit, Offset
from convergence.identity.web import Ctx, provide_ctx, signed_in


READ = errors(SIGNED_IN, 404)
WRITE = errors(SIGNED_IN, BODY, 404, 409)


class TeamApi(Controller):
    path = "/api/v1/companies/{company_id:int}"
    tags = ["Team and rights"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/members", responses=READ)
    async def members(self, ctx: Ctx, company_id: FromPath[int], limit: Limit = 50,
                      offset: Offset = 0) -> Page[MemberOut]:
        views = await TeamService(ctx).members(company_id)
        return Page(items=[MemberOut.of(v) for v in views[offset:offset + limit]], total=len(views))

    @post("/invitations", status_code=201, responses=WRITE)
    async def invite(self, ctx: Ctx, company_id: FromPath[int], data: JSONBody[InvitationIn]) -> InvitedOut:
        invited = await TeamService(ctx).invite(company_id, given(data))
        return InvitedOut(**msgspec.structs.asdict(InvitationOut.of(invited.invitation)),
                          rights=[RightOut(**r.as_json()) for r in invited.rights])

    @get("/invitations", responses=READ)
    async def invitations(self, ctx: Ctx, company_id: FromPath[int]) -> Page[InvitationOut]:
        invitations = await TeamService(ctx).pending_invitations(company_id)
        return Page(items=[InvitationOut.of(i) for i in invitations], total=len(invitations))

    @post("/invitations/{invitation_id:int}/resend", status_code=200, responses=errors(SIGNED_IN, 404, 409, 429))
    async def resend(self, ctx: Ctx, company_id: FromPath[int], invitation_id: FromPath[int]) -> InvitationOut:
        return InvitationOut.of(await TeamService(ctx).resend(company_id, invitation_id))

    @delete("/invitations/{invitation_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409))
    async def cancel(self, ctx: Ctx, company_id: FromPath[int], invitation_id: FromPath[int]) -> None:
        await TeamService(ctx).cancel(company_id, invitation_id)

    @put("/members/{user_id:int}/rights", status_code=200, responses=WRITE)
    async def set_rights(self, ctx: Ctx, company_id: FromPath[int], user_id: FromPath[int],
                         data: JSONBody[RightsIn]) -> MemberRightsOut:
        rights = await TeamService(ctx).set_rights(company_id, user_id, data.rights)
        return MemberRightsOut(user_id=user_id, rights=[RightOut(**r.as_json()) for r in rights])

    @delete("/members/{user_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409))
    async def deactivate(self, ctx: Ctx, company_id: FromPath[int], user_id: FromPath[int]) -> None:
        await TeamService(ctx).deactivate(company_id, user_id)

    @get("/audit", responses=READ)
    async def audit(self, ctx: Ctx, company_id: FromPath[int], limit: Limit = 50,
                    offset: Offset = 0) -> Page[AuditEventOut]:
        rows, total = await TeamService(ctx).audit_trail(company_id, limit, offset)
        return Page(items=[AuditEventOut(id=e.id, action=e.action, actor_id=e.actor_id, target_id=e.target_id,
                                         data=e.data, created_at=e.created_at.isoformat()) for e in rows],
                    total=total)
