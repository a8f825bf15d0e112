"""Typed shapes of the team API (api.md, "Team and rights"). Request fields are checked by `TeamService`, which
names each problem (`invalid_email`, `rights_escalation`...); the document states their types."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.companies.services import MemberView
from convergence.core.api_docs import UNSET, Page, Text, loose

RIGHT_SCHEMA = {"type": "object", "properties": {
    "product_id": {"type": ["integer", "null"]}, "level": {"type": "string", "enum": ["read", "edit", "validate"]}},
    "required": ["product_id", "level"]}
Rights = loose(OpenAPIType.ARRAY, "`product_id: null` means the global-strategy questionnaires.", items=RIGHT_SCHEMA)
InvitedRole = loose(OpenAPIType.STRING, enum=["manager", "contributor"])


class RightOut(msgspec.Struct, kw_only=True):
    product_id: int | None
    level: str


class InvitationIn(msgspec.Struct, kw_only=True):
    email: Text = UNSET
    first_name: Text = UNSET
    last_name: Text = UNSET
    job_title: Text = UNSET
    role: InvitedRole = UNSET
    rights: Rights = UNSET


class RightsIn(msgspec.Struct, kw_only=True):
    rights: Rights = None


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: int
    email: str
    first_name: str
    last_name: str
    role: str
    active: bool
    rights: list[RightOut]
    pending: bool
    invitation_id: int | None

    @classmethod
    def of(cls, view: MemberView) -> MemberOut:
        user, invitation = view.user, view.pending_invitation
        return cls(user_id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name,
                   role=user.role, active=user.active, rights=[RightOut(**r.as_json()) for r in view.rights],
                   pending=invitation is not None, invitation_id=invitation.id if invitation else None)


class InvitationOut(msgspec.Struct, kw_only=True):
    id: int
    user_id: int | None
    email: str
    role: str
    status: str
    sent_count: int
    created_at: str

    @classmethod
    def of(cls, invitation: Any) -> InvitationOut:
        return cls(id=invitation.id, user_id=invitation.user_id, email=invitation.email, role=invitation.role,
                   status=invitation.status, sent_count=invitation.sent_count,
                   created_at=invitation.created_at.isoformat())


class InvitedOut(InvitationOut, kw_only=True):
    rights: list[RightOut]


class MemberPage(Page[MemberOut], kw_only=True):
    items: list[MemberOut]


class InvitationPage(Page[InvitationOut], kw_only=True):
    items: list[InvitationOut]


class MemberRightsOut(msgspec.Struct, kw_only=True):
    user_id: int
    rights: list[RightOut]


class AuditEventOut(msgspec.Struct, kw_only=True):
    id: int
    action: str
    actor_id: int | None
    target_id: int | None
    data: dict[str, Any]
    created_at: str


class AuditEventPage(Page[AuditEventOut], kw_only=True):
    items: list[AuditEventOut]
