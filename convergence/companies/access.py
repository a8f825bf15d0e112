"""What the acting user holds on their company's products, loaded from the stored rights; the policy
(`identity/policy.py`) decides what that allows.

Managers hold every level on every product of their company (`Permission.PRODUCTS_ALL`); contributors hold
the rights stored for them by the team service, plus edit on the products they created.
"""

from __future__ import annotations

from convergence.accounts.models import User
from convergence.companies.rights import rights_by_product, stored_levels
from convergence.core.i18n import N_
from convergence.identity.context import Context
from convergence.identity.policy import Grant, Level, Permission, Tenant

__all__ = ["CREATOR_LEVEL", "Level", "grant", "held_level", "member", "readable_product_ids", "require_company"]

# A contributor may edit the products they created, whatever their stored rights (worklist.py lists them too).
CREATOR_LEVEL = Level.EDIT


def member(ctx: Context) -> User:
    """The acting user, who must belong to a vendor company."""
    return ctx.require(Permission.COMPANY_READ)


def require_company(ctx: Context, company_id: int | None) -> User:
    """The acting user, a member of this company: another company's objects answer 404."""
    return ctx.require(Permission.COMPANY_READ, Tenant(company_id))  # type: ignore[arg-type]


async def held_level(ctx: Context, product_id: int | None, created_by_id: int | None = None) -> Level | None:
    """The level the actor holds on a product of their own company (None: no right at all).

    `product_id=None` means the company's global-strategy questionnaires.
    """
    user = member(ctx)
    if ctx.can(Permission.PRODUCTS_ALL):
        return Level.VALIDATE
    levels = await stored_levels(ctx.session, user.id, product_id)
    if created_by_id is not None and created_by_id == user.id:
        levels.append(CREATOR_LEVEL)
    return max(levels) if levels else None


async def grant(ctx: Context, company_id: int, product_id: int | None, created_by_id: int | None = None, *,
                missing: str = N_("This product does not exist."),
                refused: str = N_("You do not have the right to do this on this product.")) -> Grant:
    """What the actor holds on one object of a company's product (or global strategy), for the policy to judge.

    Another company's object is told apart before any right is read: it answers 404 whatever the actor holds.
    """
    ctx.require(Permission.COMPANY_READ, Tenant(company_id, missing=missing))
    return Grant(company_id, await held_level(ctx, product_id, created_by_id), missing=missing, refused=refused)


async def readable_product_ids(ctx: Context) -> set[int] | None:
    """Products the actor holds a stored right on; None means all of the company's (managers).

    Lists add the products the actor created (`Product.created_by_id == actor.id`), which they may edit.
    """
    user = member(ctx)
    if ctx.can(Permission.PRODUCTS_ALL):
        return None
    return {pid for pid in (await rights_by_product(ctx.session, user.id)) if pid is not None}
