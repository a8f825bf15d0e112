"""Team and rights: members, invitations, per-product rights, deactivation. No escalation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column, delete, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import ApiToken, PasswordToken, Role, User, UserSession
from convergence.accounts.services import PasswordService
from convergence.accounts.validation import normalise_email, valid_email
from convergence.companies.access import held_level, member, require_company
from convergence.companies.models import Company
from convergence.companies.team_models import Invitation, MemberRight
from convergence.core import events, ratelimit
from convergence.identity.context import Context
from convergence.core.errors import Conflict, Forbidden, Invalid, NotFound
from convergence.core.i18n import gettext as _
from convergence.core.i18n import N_
from convergence.core.inputs import TextProblem, clean_text
from convergence.core.models import AuditEvent, utcnow
from convergence.identity.policy import Level, Permission, Tenant

# Rights name products, but identity sits below the products domain and never imports it (tests/test_layers.py).
# The checks read the product table by name (which ids exist in the company, who created them); the rights grid,
# which shows products' display names (products' naming rule), gets them from a reader products plug in:
# `read_products_with(products.services.products_for_rights)`, wired in `convergence.app.create_app`.
_PRODUCT = table("product", column("id"), column("company_id"), column("created_by_id"))

ProductReader = Callable[[AsyncSession, int], Awaitable[list[Any]]]
_product_reader: ProductReader | None = None


def read_products_with(reader: ProductReader) -> None:
    global _product_reader
    _product_reader = reader


RIGHTS_ACTIONS = (N_("team.invited"), N_("team.rights_changed"), N_("team.member_deactivated"),
                  N_("team.invitation_cancelled"), N_("team.invitation_resent"))


@dataclass(frozen=True)
class Right:
    product_id: int | None
    level: Level

    def as_json(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "level": self.level.label}


@dataclass
class MemberView:
    user: User
    rights: list[Right] = field(default_factory=list)
    pending_invitation: Invitation | None = None

    @property
    def held(self) -> dict[int | None, str]:
        return {r.product_id: r.level.label for r in self.rights}


@dataclass
class Invited:
    """An invitation and the rights it gives (what the inviter is answered, whoever the address belongs to)."""

    invitation: Invitation
    rights: list[Right]


def _right_order(right: Right) -> tuple[bool, int]:
    """The global-strategy right first, then by product."""
    return right.product_id is not None, right.product_id or 0


def parse_rights(raw: object) -> list[Right]:
    """`[{product_id: int | null, level: read|edit|validate}]`; one right per product, the highest wins."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("Rights must be a list of {product_id, level}.", code="invalid_rights")
    best: dict[int | None, Level] = {}
    for item in raw:
        if not isinstance(item, dict) or "level" not in item:
            raise Invalid("Rights must be a list of {product_id, level}.", code="invalid_rights")
        product_id = item.get("product_id")
        if product_id is not None and (not isinstance(product_id, int) or isinstance(product_id, bool)):
            raise Invalid("A product id must be a number, or null for the global-strategy questionnaires.",
                          code="invalid_rights")
        try:
            level = Level.parse(str(item["level"]))
        except KeyError:
            raise Invalid("A level is read, edit or validate.", code="invalid_rights") from None
        best[product_id] = max(level, best.get(product_id, level))
    return [Right(pid, level) for pid, level in best.items()]


class TeamService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ reading

    def _require(self, company_id: int, permission: Permission) -> User:
        return self.ctx.require(permission, Tenant(company_id))

    async def company(self, company_id: int) -> Company:
        require_company(self.ctx, company_id)
        company = await self.session.get(Company, company_id)
        if company is None:
            raise NotFound("This company does not exist.")
        return company

    async def members(self, company_id: int) -> list[MemberView]:
        self._require(company_id, Permission.TEAM_READ)
        users = (await self.session.scalars(select(User).where(User.company_id == company_id).order_by(
            User.role.desc(), User.last_name, User.first_name, User.id))).all()
        rights = (await self.session.scalars(select(MemberRight).where(MemberRight.company_id == company_id))).all()
        pending = (await self.session.scalars(select(Invitation).where(
            Invitation.company_id == company_id, Invitation.status == "pending"))).all()
        views = {u.id: MemberView(user=u) for u in users}
        for right in rights:
            if right.user_id in views:
                views[right.user_id].rights.append(Right(right.product_id, Level.parse(right.level)))
        for invitation in pending:
            if invitation.user_id in views:
                views[invitation.user_id].pending_invitation = invitation
        for view in views.values():
            view.rights.sort(key=_right_order)
        return list(views.values())

    async def pending_invitations(self, company_id: int) -> list[Invitation]:
        """Every pending invitation, those to an address that has an account elsewhere (no member row) included."""
        self._require(company_id, Permission.TEAM_READ)
        return list((await self.session.scalars(select(Invitation).where(
            Invitation.company_id == company_id, Invitation.status == "pending").order_by(Invitation.id))).all())

    async def products(self, company_id: int) -> list[Any]:
        """The company's products (objects with `id` and `display_name`), for the rights grid."""
        require_company(self.ctx, company_id)
        if _product_reader is None:
            raise RuntimeError("No product reader: convergence.app wires products' one (read_products_with).")
        return await _product_reader(self.session, company_id)

    async def member_rights(self, company_id: int, user_id: int) -> MemberView:
        """One member and the rights they hold, for a manager's rights panel. Checked in the order `set_rights`
        checks (another company's member: 404 before a missing right: 403), so that the panel and its save
        answer alike."""
        require_company(self.ctx, company_id)
        target = await self._member(company_id, user_id)
        self._require(company_id, Permission.TEAM_MANAGE)
        rows = (await self.session.scalars(select(MemberRight).where(MemberRight.user_id == user_id))).all()
        pending = await self.session.scalar(select(Invitation).where(
            Invitation.user_id == user_id, Invitation.status == "pending").order_by(Invitation.id.desc()).limit(1))
        return MemberView(user=target, rights=sorted((Right(r.product_id, Level.parse(r.level)) for r in rows),
                                                     key=_right_order), pending_invitation=pending)

    async def audit_trail(self, company_id: int, limit: int = 50, offset: int = 0) -> tuple[list[AuditEvent], int]:
        self._require(company_id, Permission.TEAM_MANAGE)
        query = select(AuditEvent).where(AuditEvent.company_id == company_id,
                                         AuditEvent.action.in_(RIGHTS_ACTIONS))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await self.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit).offset(offset))).all()
        return list(rows), total

    # ------------------------------------------------------------------ rights checks

    async def _check_products(self, company_id: int, rights: list[Right]) -> dict[int, Any]:
        """The rows (id, created_by_id) of the products the rights name, all of the company's."""
        ids = {r.product_id for r in rights if r.product_id is not None}
        if not ids:
            return {}
        found = {p.id: p for p in (await self.session.execute(select(_PRODUCT.c.id, _PRODUCT.c.created_by_id).where(
            _PRODUCT.c.company_id == company_id, _PRODUCT.c.id.in_(ids)))).all()}
        if set(found) != ids:
            raise Invalid("A right names a product that does not exist in your company.", code="invalid_product")
        return found

    async def _check_no_escalation(self, rights: list[Right], products: dict[int, Any]) -> None:
        """A contributor hands on at most what they hold, product by product."""
        for right in rights:
            product = products.get(right.product_id) if right.product_id is not None else None
            held = await held_level(self.ctx, right.product_id,
                                       getattr(product, "created_by_id", None) if product else None)
            if held is None or held < right.level:
                raise Forbidden("You cannot hand on a right you do not hold yourself.", code="rights_escalation")

    async def _store_rights(self, company_id: int, user_id: int, rights: list[Right]) -> None:
        await self.session.execute(delete(MemberRight).where(MemberRight.user_id == user_id))
        for right in rights:
            self.session.add(MemberRight(company_id=company_id, user_id=user_id, product_id=right.product_id,
                                         level=right.level.label))

    # ------------------------------------------------------------------ invitations

    @staticmethod
    def _invitee(data: dict[str, Any]) -> tuple[str, dict[str, str], str, dict[str, str]]:
        """The address, the cleaned names and job title, the role, and what is wrong with them."""
        email = normalise_email(data.get("email"))
        role = data.get("role") or Role.CONTRIBUTOR
        problems: dict[str, str] = {}
        if not valid_email(email):
            problems["email"] = N_("The e-mail address is not valid.")
        required = {
            "first_name": (N_("The first name is required (100 characters at most)."), 100),
            "last_name": (N_("The last name is required (100 characters at most)."), 100),
            "job_title": (N_("The job title is too long."), 150),
        }
        texts: dict[str, str] = {}
        for name, (message, limit) in required.items():
            try:
                texts[name] = clean_text(data.get(name), max_len=limit, too_long=message)
            except TextProblem as problem:
                problems[name] = problem.message
                continue
            if not texts[name] and name != "job_title":
                problems[name] = message
        if role not in (Role.MANAGER, Role.CONTRIBUTOR):
            problems["role"] = N_("The role is manager or contributor.")
        return email, texts, str(role), problems

    async def invite(self, company_id: int, data: dict[str, Any]) -> Invited:
        """Invite someone to the team. An address that already has an account in another company (or at ANS) is
        answered exactly like a new one (no enumeration of people): the invitation is recorded without an
        account, listed as pending, and the address's owner is told by mail. An address already in this company
        is refused: the inviter sees the team anyway."""
        inviter = self._require(company_id, Permission.TEAM_INVITE)
        email, texts, role, problems = self._invitee(data)
        if problems:
            code = "invalid_email" if "email" in problems else "invalid_input"
            raise Invalid(next(iter(problems.values())), code=code, fields=problems)
        rights = sorted(parse_rights(data.get("rights")), key=_right_order)
        if role == Role.MANAGER and not self.ctx.can(Permission.TEAM_MANAGE, Tenant(company_id)):
            raise Forbidden("Only a manager can invite a manager.", code="rights_escalation")
        products = await self._check_products(company_id, rights)
        await self._check_no_escalation(rights, products)
        granted = rights if role == Role.CONTRIBUTOR else []
        await ratelimit.limit_mails(self.ctx, "invitation", email)
        owner = await self.session.scalar(select(User).where(User.email == email))
        already_invited = await self.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.company_id == company_id, Invitation.email == email, Invitation.status == "pending"))
        if (owner is not None and owner.company_id == company_id) or already_invited:
            raise Conflict("This address is already a member of your team or invited to it.",
                           code="email_already_registered")

        if owner is None:
            owner = User(email=email, first_name=texts["first_name"], last_name=texts["last_name"], role=role,
                         company_id=company_id, active=True, job_title=texts["job_title"])
            self.session.add(owner)
            await self.session.flush()
            await self._store_rights(company_id, owner.id, granted)
            invitation = Invitation(company_id=company_id, user_id=owner.id, invited_by_id=inviter.id, email=email,
                                    role=role, status="pending", sent_count=1)
            target_type, target_id = "user", owner.id
        else:
            invitation = Invitation(company_id=company_id, user_id=None, invited_by_id=inviter.id, email=email,
                                    role=role, status="pending", sent_count=1)
        self.session.add(invitation)
        await self.session.flush()
        if invitation.user_id is None:
            target_type, target_id = "invitation", invitation.id
        await self._send_invitation(invitation, owner, inviter)
        self.ctx.audit("team.invited", target_type=target_type, target_id=target_id, company_id=company_id,
                       email=email, role=role, rights=[r.as_json() for r in granted])
        if invitation.user_id is not None:  # an account elsewhere is only told by mail: it is not this team's
            await events.emit(self.session, events.TEAM_INVITED, company_id=company_id, user_id=invitation.user_id,
                              actor_id=inviter.id)
        return Invited(invitation, granted)

    async def _send_invitation(self, invitation: Invitation, user: User, inviter: User) -> None:
        """The invitation mail with its link; to an address that has an account elsewhere, a notice instead."""
        company = await self.session.get(Company, invitation.company_id)
        subject = _("You are invited to join %(company)s on Convergence", company=company.name)
        if invitation.user_id is None:
            await self.ctx.mailer.send(
                user.email, subject,
                _("Hello %(name)s,\n\n%(inviter)s invited you to join the team of %(company)s on Convergence, but "
                  "your address already has a Convergence account, and an account belongs to one company only. "
                  "Nothing has changed for your account.\n\nIf you should work with %(company)s, ask %(inviter)s to "
                  "invite another of your addresses, or write to ANS support: %(support)s\n"
                  "If you do not know them, ignore this message.",
                  name=user.first_name, inviter=inviter.full_name, company=company.name,
                  support=self.ctx.settings.support_address),
                kind="invitation_existing_account")
            return
        token = await PasswordService(self.ctx).issue(user, "invitation", self.ctx.settings.invitation_link_hours)
        await self.ctx.mailer.send(
            user.email, subject,
            _("Hello %(name)s,\n\n%(inviter)s invites you to join %(company)s on Convergence as %(role)s.\n\n"
              "Set your password with this link (valid %(days)s days, usable once):\n%(link)s\n\n"
              "Questions: %(support)s",
              name=user.first_name, inviter=inviter.full_name, company=company.name,
              role=_(user.role.capitalize()), days=self.ctx.settings.invitation_link_hours // 24,
              link=f"{self.ctx.settings.base_url}/password/set?token={token}",
              support=self.ctx.settings.support_address),
            kind="invitation")

    async def _pending_invitation(self, company_id: int, invitation_id: int) -> Invitation:
        invitation = await self.session.get(Invitation, invitation_id)
        if invitation is None or invitation.company_id != company_id:
            raise NotFound("This invitation does not exist.")
        if invitation.status != "pending":
            raise Conflict("This invitation is no longer pending.", code="invitation_not_pending")
        return invitation

    async def resend(self, company_id: int, invitation_id: int) -> Invitation:
        require_company(self.ctx, company_id)
        invitation = await self._pending_invitation(company_id, invitation_id)
        if not self.ctx.can(Permission.INVITATION_WITHDRAW, Tenant(company_id, invitation.invited_by_id)):
            raise Forbidden("Only a manager or the person who sent it can resend this invitation.")
        actor = member(self.ctx)
        await ratelimit.limit_mails(self.ctx, "invitation", invitation.email)
        if invitation.user_id is None:
            recipient = await self.session.scalar(select(User).where(User.email == invitation.email))
        else:
            recipient = await self.session.get(User, invitation.user_id)
            # The previous links stop working: only the newest e-mail is valid.
            await self.session.execute(update(PasswordToken).where(
                PasswordToken.user_id == recipient.id, PasswordToken.used_at.is_(None)).values(used_at=utcnow()))
        invitation.sent_count += 1
        if recipient is not None:
            await self._send_invitation(invitation, recipient, actor)
        self.ctx.audit("team.invitation_resent", target_type="invitation", target_id=invitation.id,
                       company_id=company_id, email=invitation.email)
        return invitation

    async def cancel(self, company_id: int, invitation_id: int) -> None:
        require_company(self.ctx, company_id)
        invitation = await self._pending_invitation(company_id, invitation_id)
        if not self.ctx.can(Permission.INVITATION_WITHDRAW, Tenant(company_id, invitation.invited_by_id)):
            raise Forbidden("Only a manager or the person who sent it can cancel this invitation.")
        invitation.status = "cancelled"
        if invitation.user_id is not None:  # without an account of its own, there is no access to end
            user = await self.session.get(User, invitation.user_id)
            await self._end_access(user)
            user.active = False
        self.ctx.audit("team.invitation_cancelled", target_type="invitation", target_id=invitation.id,
                       company_id=company_id, email=invitation.email)

    # ------------------------------------------------------------------ members

    async def _member(self, company_id: int, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None or user.company_id != company_id:
            raise NotFound("This member does not exist.")
        return user

    async def set_rights(self, company_id: int, user_id: int, raw: object) -> list[Right]:
        require_company(self.ctx, company_id)
        target = await self._member(company_id, user_id)
        self._require(company_id, Permission.TEAM_MANAGE)
        rights = parse_rights(raw)
        if target.role == Role.MANAGER:
            raise Invalid("Managers hold every right on every product; rights are given to contributors.",
                          code="manager_has_all_rights")
        if not target.active:
            raise Conflict("This member is deactivated.", code="member_inactive")
        await self._check_products(company_id, rights)
        before = [r.as_json() for r in sorted(
            [Right(r.product_id, Level.parse(r.level)) for r in (await self.session.scalars(
                select(MemberRight).where(MemberRight.user_id == user_id))).all()],
            key=lambda r: (r.product_id is not None, r.product_id or 0))]
        await self._store_rights(company_id, user_id, rights)
        self.ctx.audit("team.rights_changed", target_type="user", target_id=user_id, company_id=company_id,
                       email=target.email, before=before, after=[r.as_json() for r in rights])
        await events.emit(self.session, events.RIGHTS_CHANGED, company_id=company_id, user_id=user_id,
                          actor_id=self.ctx.actor.id)
        return rights

    async def deactivate(self, company_id: int, user_id: int) -> None:
        require_company(self.ctx, company_id)
        target = await self._member(company_id, user_id)
        self._require(company_id, Permission.TEAM_MANAGE)
        # Lock the company row so that two managers deactivating each other cannot both succeed.
        await self.session.execute(select(Company.id).where(Company.id == company_id).with_for_update())
        if not target.active:
            return
        if target.role == Role.MANAGER:
            others = await self.session.scalar(select(func.count()).select_from(User).where(
                User.company_id == company_id, User.role == Role.MANAGER, User.active.is_(True),
                User.id != target.id))
            if not others:
                raise Conflict("The company must keep at least one active manager.", code="last_manager")
        target.active = False
        await self._end_access(target)
        await self.session.execute(update(Invitation).where(
            Invitation.user_id == target.id, Invitation.status == "pending").values(status="cancelled"))
        self.ctx.audit("team.member_deactivated", target_type="user", target_id=target.id, company_id=company_id,
                       email=target.email, role=target.role)

    async def _end_access(self, user: User) -> None:
        """Sessions and tokens end at once; outstanding password links die too."""
        now = utcnow()
        await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        await self.session.execute(update(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))
        await self.session.execute(update(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)).values(used_at=now))


__all__ = ["Invited", "MemberView", "Right", "TeamService", "member", "parse_rights"]
