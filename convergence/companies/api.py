"""JSON API, "Team and rights" section of api.md."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency

from convergence.companies.schemas import (
    AuditEventOut,
    AuditEventPage,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    InvitedOut,
    MemberOut,
    MemberPage,
    MemberRightsOut,
    RightOut,
    RightsIn,
)
from convergence.companies.services import TeamService
from convergence.core.api_docs import BODY, SIGNED_IN, errors, given
from convergence.core.params import FromPath, JSONBody, Limit, Offset
from convergence.identity.web import signed_in


READ = errors(SIGNED_IN, 404)
WRITE = errors(SIGNED_IN, BODY, 404, 409)


class TeamApi(Controller):
    path = "/api/v1/companies/{company_id:int}"
    tags = ["Team and rights"]
    guards = [signed_in]

    @get("/members", responses=READ)
    async def members(self, team_service: NamedDependency[TeamService], company_id: FromPath[int], limit: Limit = 50,
                      offset: Offset = 0) -> MemberPage:
        views = await team_service.members(company_id)
        return MemberPage(items=[MemberOut.of(v) for v in views[offset:offset + limit]], total=len(views))

    @post("/invitations", status_code=201, responses=WRITE)
    async def invite(self, team_service: NamedDependency[TeamService], company_id: FromPath[int],
                     data: JSONBody[InvitationIn]) -> InvitedOut:
        invited = await team_service.invite(company_id, given(data))
        return InvitedOut(**msgspec.structs.asdict(InvitationOut.of(invited.invitation)),
                          rights=[RightOut(**r.as_json()) for r in invited.rights])

    @get("/invitations", responses=READ)
    async def invitations(self, team_service: NamedDependency[TeamService],
                          company_id: FromPath[int]) -> InvitationPage:
        invitations = await team_service.pending_invitations(company_id)
        return InvitationPage.whole([InvitationOut.of(i) for i in invitations])

    @post("/invitations/{invitation_id:int}/resend", status_code=200, responses=errors(SIGNED_IN, 404, 409, 429))
    async def resend(self, team_service: NamedDependency[TeamService], company_id: FromPath[int],
                     invitation_id: FromPath[int]) -> InvitationOut:
        return InvitationOut.of(await team_service.resend(company_id, invitation_id))

    @delete("/invitations/{invitation_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409))
    async def cancel(self, team_service: NamedDependency[TeamService], company_id: FromPath[int],
                     invitation_id: FromPath[int]) -> None:
        await team_service.cancel(company_id, invitation_id)

    @put("/members/{user_id:int}/rights", status_code=200, responses=WRITE)
    async def set_rights(self, team_service: NamedDependency[TeamService], company_id: FromPath[int],
                         user_id: FromPath[int], data: JSONBody[RightsIn]) -> MemberRightsOut:
        rights = await team_service.set_rights(company_id, user_id, data.rights)
        return MemberRightsOut(user_id=user_id, rights=[RightOut(**r.as_json()) for r in rights])

    @delete("/members/{user_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409))
    async def deactivate(self, team_service: NamedDependency[TeamService], company_id: FromPath[int],
                         user_id: FromPath[int]) -> None:
        await team_service.deactivate(company_id, user_id)

    @get("/audit", responses=READ)
    async def audit(self, team_service: NamedDependency[TeamService], company_id: FromPath[int], limit: Limit = 50,
                    offset: Offset = 0) -> AuditEventPage:
        rows, total = await team_service.audit_trail(company_id, limit, offset)
        return AuditEventPage(items=[AuditEventOut(id=e.id, action=e.action, actor_id=e.actor_id, target_id=e.target_id,
                                         data=e.data, created_at=e.created_at.isoformat()) for e in rows],
                    total=total)
