"""The one authorization policy: who may take which action on what.

Actions are named once (`Permission`). Whether someone may take one is decided here and nowhere else:
- the role's table (`ROLE_PERMISSIONS`) says which actions a role may take at all;
- company actions (`Tenant` target) need the object to belong to the actor's company;
- product actions (`Grant` target: what the actor holds on one product, or on the global strategy) need
  the level of `LEVEL_NEEDED` as well — read < edit < validate;
- some actions on someone's own object are open to its owner and to the holders of an override
  (`OWNER_OVERRIDE`: a contributor withdraws the invitations they sent, a manager anyone's).

`require` raises what the actor is told: 401 nobody signed in, 404 another company's object or a product
they hold no right on (a vendor never learns it exists), 403 a right or role too low. Services call it;
handlers never check; templates ask `can` (a Jinja global) which actions to offer.
Pure: no database. Loading what a user holds on a product is `companies/access.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Protocol

from convergence.accounts.models import Role
from convergence.core.errors import Forbidden, NotAuthenticated, NotFound
from convergence.core.i18n import N_


class Level(IntEnum):
    """A right on a product, ordered: read < edit < validate."""

    READ = 1
    EDIT = 2
    VALIDATE = 3

    @classmethod
    def parse(cls, value: str) -> Level:
        return {"read": cls.READ, "edit": cls.EDIT, "validate": cls.VALIDATE}[value]

    @property
    def label(self) -> str:
        return self.name.lower()


class Permission(StrEnum):
    # The platform (ANS staff): no target.
    ACCOUNT_REQUESTS_REVIEW = "account_requests:review"
    OUTBOX_READ = "outbox:read"
    OUTBOX_RETRY = "outbox:retry"
    TERMS_PUBLISH = "terms:publish"
    COMPANIES_READ_ALL = "companies:read_all"
    REVIEW_READ = "review:read"
    REVIEW_COMMENT = "review:comment"
    FAQ_FEEDBACK_READ = "faq:feedback_read"
    # A vendor company (target: Tenant).
    COMPANY_READ = "company:read"
    TEAM_READ = "team:read"
    TEAM_INVITE = "team:invite"
    TEAM_MANAGE = "team:manage"
    INVITATION_WITHDRAW = "invitation:withdraw"  # resend or cancel (owner, or TEAM_MANAGE)
    PRODUCTS_CREATE = "products:create"
    PRODUCTS_ALL = "products:all"  # every level on every product of the company, without stored rights
    # One product, or the company's global strategy (target: Grant).
    PRODUCT_READ = "product:read"
    PRODUCT_EDIT = "product:edit"  # the product's record, its steps, its answers; submit
    RESPONSE_VALIDATE = "response:validate"  # validate or return a submitted response
    RESPONSES_REOPEN = "responses:reopen"
    RESPONSES_MIGRATE = "responses:migrate"  # move responses to the latest version of their questionnaire
    # Mon Espace Santé referencing (convergence/referencing): a vendor reads its products' applications and
    # files them (a manager); ANS reads every application and verifies and decides it (a reviewer).
    APPLICATION_READ = "application:read"
    APPLICATION_FILE = "application:file"
    REFERENCING_READ_ALL = "referencing:read_all"
    REFERENCING_REVIEW = "referencing:review"
    # Publish or revoke the public attestation of a validated response: the company speaks to its customers.
    ATTESTATION_PUBLISH = "attestation:publish"
    # Set a product's target maturity per theme (its roadmap): managers, and contributors with validate.
    ROADMAP_TARGET = "roadmap:target"
    # One's own notifications and e-mail preference (target: none; a service reads only the actor's own rows).
    NOTIFICATIONS_OWN = "notifications:own"
    # Publish or withdraw the semester's anonymised snapshot of the market (convergence/publications): ANS support.
    PUBLICATIONS_PUBLISH = "publications:publish"


_VENDOR = frozenset({
    Permission.COMPANY_READ, Permission.TEAM_READ, Permission.TEAM_INVITE, Permission.INVITATION_WITHDRAW,
    Permission.PRODUCTS_CREATE, Permission.PRODUCT_READ, Permission.PRODUCT_EDIT, Permission.RESPONSE_VALIDATE,
    Permission.APPLICATION_READ, Permission.ROADMAP_TARGET,
})
# Everyone signed in, ANS staff included, has their own notification centre (never company-scoped).
_OWN = frozenset({Permission.NOTIFICATIONS_OWN})

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.SUPPORT: _OWN | frozenset({
        Permission.ACCOUNT_REQUESTS_REVIEW, Permission.OUTBOX_READ, Permission.OUTBOX_RETRY,
        Permission.TERMS_PUBLISH, Permission.COMPANIES_READ_ALL, Permission.REVIEW_READ, Permission.FAQ_FEEDBACK_READ,
        Permission.REFERENCING_READ_ALL, Permission.PUBLICATIONS_PUBLISH,
    }),
    Role.REVIEWER: _OWN | frozenset({Permission.COMPANIES_READ_ALL, Permission.REVIEW_READ, Permission.REVIEW_COMMENT,
                              Permission.REFERENCING_READ_ALL, Permission.REFERENCING_REVIEW}),
    Role.MANAGER: _VENDOR | _OWN | {Permission.TEAM_MANAGE, Permission.PRODUCTS_ALL, Permission.RESPONSES_REOPEN,
                             Permission.ATTESTATION_PUBLISH, Permission.APPLICATION_FILE,
                             Permission.RESPONSES_MIGRATE},
    # A contributor's product actions are bounded by the levels they hold (LEVEL_NEEDED).
    Role.CONTRIBUTOR: _VENDOR | _OWN,
}

LEVEL_NEEDED: dict[Permission, Level] = {
    Permission.PRODUCT_READ: Level.READ,
    Permission.PRODUCT_EDIT: Level.EDIT,
    Permission.RESPONSE_VALIDATE: Level.VALIDATE,
    Permission.RESPONSES_REOPEN: Level.READ,
    Permission.RESPONSES_MIGRATE: Level.READ,
    Permission.APPLICATION_READ: Level.READ,
    Permission.APPLICATION_FILE: Level.VALIDATE,
    Permission.ATTESTATION_PUBLISH: Level.VALIDATE,
    Permission.ROADMAP_TARGET: Level.VALIDATE,
}

# Open to the object's owner with the first permission, and to anyone with the second.
OWNER_OVERRIDE: dict[Permission, Permission] = {Permission.INVITATION_WITHDRAW: Permission.TEAM_MANAGE}

COMPANY_SCOPED = _VENDOR | {Permission.TEAM_MANAGE, Permission.PRODUCTS_ALL, Permission.RESPONSES_REOPEN,
                            Permission.ATTESTATION_PUBLISH, Permission.APPLICATION_FILE,
                            Permission.RESPONSES_MIGRATE}


class Actor(Protocol):
    id: int
    role: str
    company_id: int | None


@dataclass(frozen=True)
class Tenant:
    """An object of one company (its team, an invitation…); `owner_id`: who created it, if that matters."""

    company_id: int
    owner_id: int | None = None
    missing: str = N_("This company does not exist.")


@dataclass(frozen=True)
class Grant:
    """What the actor holds on one product of a company (None: no right at all), or on its global strategy."""

    company_id: int
    level: Level | None
    missing: str = N_("This product does not exist.")
    refused: str = N_("You do not have the right to do this on this product.")


Target = Tenant | Grant | None


def _role_may(actor: Actor, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())


def decide(actor: Actor | None, permission: Permission, target: Target = None) -> tuple[int, str] | None:
    """None when allowed, else the refusal: (401, 403 or 404, the sentence the actor is told)."""
    if actor is None:
        return 401, N_("Please sign in.")
    if permission in COMPANY_SCOPED:
        if actor.company_id is None:
            return 403, N_("This part of the platform is for vendor companies.")
        if target is not None and target.company_id != actor.company_id:
            return 404, target.missing
    if isinstance(target, Grant):
        if target.level is None:
            return 404, target.missing
        needed = LEVEL_NEEDED.get(permission)
        if needed is not None and target.level < needed:
            return 403, target.refused
    if isinstance(target, Tenant) and permission in OWNER_OVERRIDE and target.owner_id != actor.id:
        permission = OWNER_OVERRIDE[permission]
    return None if _role_may(actor, permission) else (403, N_("You do not have the right to do this."))


def can(actor: Actor | None, permission: Permission | str, target: Target = None) -> bool:
    return decide(actor, Permission(permission), target) is None


REFUSALS = {401: NotAuthenticated, 403: Forbidden, 404: NotFound}


def require(actor: Actor | None, permission: Permission, target: Target = None) -> Actor:
    """The actor, if they may; otherwise the refusal they are told."""
    refusal = decide(actor, permission, target)
    if refusal is not None:
        status, sentence = refusal
        raise REFUSALS[status](sentence)
    assert actor is not None
    return actor


def roles_with(permission: Permission) -> list[str]:
    """The roles that may take an action at all (for queries such as "who may validate this response")."""
    return [role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions]


def allowed(actor: Actor | None, target: Target = None) -> frozenset[Permission]:
    """Every action the actor may take on the target: what a page offers."""
    return frozenset(p for p in Permission if decide(actor, p, target) is None)
