"""Who may do what to a company's objects. Products and questionnaires ask here, never about roles.

Levels are ordered: read < edit < validate. Managers hold every level on every product of their company;
contributors hold the rights stored for them by the team service, plus edit on the products they created.
"""

from __future__ import annotations

from convergence.accounts.models import Role, User
from convergence.identity.context import Context
from convergence.core.errors import Forbidden, NotAuthenticated, NotFound
from convergence.companies.rights import Level, rights_by_product, stored_levels

__all__ = ["Level", "member", "product_level", "readable_product_ids", "require_company", "require_level"]


def member(ctx: Context) -> User:
    """The acting user, who must belong to a company (vendors only)."""
    if ctx.actor is None:
        raise NotAuthenticated("Please sign in.")
    if ctx.actor.company_id is None:
        raise Forbidden("This part of the platform is for vendor companies.")
    return ctx.actor


def require_company(ctx: Context, company_id: int) -> User:
    """Another company's objects answer 404: a vendor never learns they exist."""
    user = member(ctx)
    if user.company_id != company_id:
        raise NotFound("This company does not exist.")
    return user


# A contributor may edit the products they created, whatever their stored rights (worklist.py lists them too).
CREATOR_LEVEL = Level.EDIT


async def product_level(ctx: Context, product_id: int | None, created_by_id: int | None = None) -> Level | None:
    """The level the actor holds on a product of their own company (None: no right at all).

    `product_id=None` means the company's global-strategy questionnaires.
    """
    user = member(ctx)
    if user.role == Role.MANAGER:
        return Level.VALIDATE
    levels = await _contributor_levels(ctx, user, product_id)
    if created_by_id is not None and created_by_id == user.id:
        levels.append(CREATOR_LEVEL)
    return max(levels) if levels else None


async def _contributor_levels(ctx: Context, user: User, product_id: int | None) -> list[Level]:
    return await stored_levels(ctx.session, user.id, product_id)


async def readable_product_ids(ctx: Context) -> set[int] | None:
    """Products the actor holds a stored right on; None means all of the company's (managers).

    Lists add the products the actor created (`Product.created_by_id == actor.id`), which they may edit.
    """
    user = member(ctx)
    if user.role == Role.MANAGER:
        return None
    ids = {pid for pid in (await rights_by_product(ctx.session, user.id)) if pid is not None}
    return ids


async def require_level(ctx: Context, product_id: int | None, level: Level, created_by_id: int | None = None) -> None:
    held = await product_level(ctx, product_id, created_by_id)
    if held is None:
        raise NotFound("This product does not exist.")
    if held < level:
        raise Forbidden("You do not have the right to do this on this product.")
