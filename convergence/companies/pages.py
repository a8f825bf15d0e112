"""The team page: members, roles, the rights grid, invitations, and the rights audit trail."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide

from convergence.accounts.models import Role
from convergence.companies.access import member
from convergence.companies.services import TeamService
from convergence.core.errors import DomainError
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.core.web import retry_after
from convergence.identity.web import Ctx, provide_ctx, signed_in

LEVELS = ("read", "edit", "validate")


def rights_from_form(form: Any) -> list[dict[str, Any]]:
    """Grid cells are named right_global / right_<product id>; an empty value means no right."""
    rights: list[dict[str, Any]] = []
    for key, value in form.items():
        if not key.startswith("right_") or not value:
            continue
        target = key.removeprefix("right_")
        if target == "global":
            rights.append({"product_id": None, "level": value})
        elif parse_int(target) is not None:
            rights.append({"product_id": parse_int(target), "level": value})
    return rights


class TeamPages(Controller):
    path = "/team"
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}
    include_in_schema = False

    async def _context(self, ctx: Any, **extra: Any) -> dict[str, Any]:
        user = member(ctx)
        service = TeamService(ctx)
        members = await service.members(user.company_id)
        # Invitations to an address that has an account elsewhere have no member row of their own.
        detached = [i for i in await service.pending_invitations(user.company_id) if i.user_id is None]
        return {"members": members, "detached": detached, "products": await service.products(user.company_id),
                "company": await service.company(user.company_id), "levels": LEVELS,
                "is_manager": user.role == Role.MANAGER, "errors": {}, "form": {}, **extra}

    @get("/")
    async def team(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        return render(request, "team/team.html", await self._context(ctx))

    @post("/invite")
    async def invite(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        user = member(ctx)
        form = await request.form()
        data = {key: form.get(key) for key in ("email", "first_name", "last_name", "role", "job_title")}
        data["rights"] = rights_from_form(form)
        try:
            await TeamService(ctx).invite(user.company_id, data)
        except DomainError as exc:
            context = await self._context(ctx, errors=form_errors(exc), form=dict(form.items()))
            return retry_after(render(request, "team/team.html", context, partial="team/_invite_form.html",
                                      status=exc.status_code), exc)
        return redirect(request, "/team?invited=1")

    @post("/members/{user_id:int}/rights")
    async def set_rights(self, request: Request[Any, Any, Any], ctx: Ctx, user_id: FromPath[int]) -> Any:
        user = member(ctx)
        form = await request.form()
        service = TeamService(ctx)
        errors: dict[str, str] = {}
        status = 200
        try:
            await service.set_rights(user.company_id, user_id, rights_from_form(form))
        except DomainError as exc:
            errors, status = form_errors(exc), exc.status_code
        context = await self._context(ctx, errors=errors, saved=status == 200)
        row = next((m for m in context["members"] if m.user.id == user_id), None)
        if row is None:
            return render(request, "error.html", {"status": 404, "detail": errors.get("__all__", "")}, status=404)
        return render(request, "team/team.html", {**context, "row": row}, partial="team/_member_row.html",
                      status=status)

    async def _act(self, request: Request[Any, Any, Any], ctx: Any, action: str, object_id: int,
                   done_url: str) -> Any:
        """A one-button action on a member or an invitation: 303 back to the team page, or the page with
        the error."""
        user = member(ctx)
        service = TeamService(ctx)
        method = {"deactivate": service.deactivate, "resend": service.resend, "cancel": service.cancel}[action]
        try:
            await method(user.company_id, object_id)
        except DomainError as exc:
            return retry_after(render(request, "team/team.html", await self._context(ctx, errors=form_errors(exc)),
                                      status=exc.status_code), exc)
        return redirect(request, done_url)

    @post("/members/{user_id:int}/deactivate")
    async def deactivate(self, request: Request[Any, Any, Any], ctx: Ctx, user_id: FromPath[int]) -> Any:
        return await self._act(request, ctx, "deactivate", user_id, "/team")

    @post("/invitations/{invitation_id:int}/resend")
    async def resend(self, request: Request[Any, Any, Any], ctx: Ctx, invitation_id: FromPath[int]) -> Any:
        return await self._act(request, ctx, "resend", invitation_id, "/team?resent=1")

    @post("/invitations/{invitation_id:int}/cancel")
    async def cancel(self, request: Request[Any, Any, Any], ctx: Ctx, invitation_id: FromPath[int]) -> Any:
        return await self._act(request, ctx, "cancel", invitation_id, "/team")

    @get("/audit")
    async def audit(self, request: Request[Any, Any, Any], ctx: Ctx, page: FromQuery[int] = 1) -> Any:
        user = member(ctx)
        page = max(page, 1)
        service = TeamService(ctx)
        rows, total = await service.audit_trail(user.company_id, 50, (page - 1) * 50)
        names = {v.user.id: v.user for v in await service.members(user.company_id)}
        return render(request, "team/audit.html", {"rows": rows, "total": total, "page": page,
                                                   "pages": max(1, -(-total // 50)), "names": names,
                                                   "products": {p.id: p for p in await service.products(
                                                       user.company_id)}})
