"""The team page: members, roles, a member's rights panel, invitations, and the rights audit trail."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.companies.services import MemberView, TeamService
from convergence.core.errors import DomainError
from convergence.core.i18n import gettext as _
from convergence.core.i18n import ngettext
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.core.web import retry_after
from convergence.identity.web import Ctx, signed_in

LEVELS = ("read", "edit", "validate")
# "Apply to all shown" may also take every right away from the products shown.
APPLY_LEVELS = ("none", *LEVELS)
QUERY_MAX = 100


def _fold(text: str) -> str:
    """Case and accents ignored: « diabete » finds « Suivi Diabète »."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matching(products: list[Any], query: str) -> list[Any]:
    """The products whose name (with edition and version) holds every word of the query."""
    words = _fold(query).split()
    return [p for p in products if all(w in _fold(getattr(p, "label", p.display_name)) for w in words)]


def _target(raw: str) -> int | None | bool:
    """`global` → None (the global strategy), a product id → int, anything else → False."""
    if raw == "global":
        return None
    number = parse_int(raw)
    return False if number is None else number


def _field(target: int | None) -> str:
    return "right_global" if target is None else f"right_{target}"


def chosen_levels(params: Any, held: dict[int | None, str]) -> tuple[dict[int | None, str], set[int | None]]:
    """What the panel's form says: the member's rights, overridden for every target the form listed (`listed`)
    by its select (an empty one: no right). Targets the form did not list keep what the member holds: a save
    made with a filter leaves the products the filter hid as they were."""
    listed: set[int | None] = set()
    for raw in params.getall("listed", []):
        target = _target(str(raw))
        if target is not False:
            listed.add(target)  # type: ignore[arg-type]
    chosen = dict(held)
    for target in listed:
        value = str(params.get(_field(target)) or "")
        if value:
            chosen[target] = value
        else:
            chosen.pop(target, None)
    return chosen, listed


def _query(raw: Any) -> str:
    return " ".join(str(raw or "").split())[:QUERY_MAX]


def _applied_notice(count: int, level: str) -> str:
    label = _("No right") if level == "none" else _(level.capitalize())
    return ngettext("“%(level)s” given on the product shown; rights saved.",
                    "“%(level)s” given on the %(num)s products shown; rights saved.", count, level=label)


def _in_team_page(request: Request[Any, Any, Any]) -> bool:
    """An HTMX request from /team, where the panel opens under the members list (a section, not the page)."""
    return is_htmx(request) and urlsplit(request.headers.get("hx-current-url", "")).path.rstrip("/") == "/team"


def rights_from_form(form: Any) -> list[dict[str, Any]]:
    """Selects named right_global / right_<product id> (invite form, rights panel); empty means no right."""
    rights: list[dict[str, Any]] = []
    for key, value in form.items():
        if not key.startswith("right_") or not value:
            continue
        target = _target(key.removeprefix("right_"))
        if target is not False:
            rights.append({"product_id": target, "level": value})
    return rights


class TeamPages(Controller):
    path = "/team"
    guards = [signed_in]
    include_in_schema = False

    async def _context(self, ctx: Any, **extra: Any) -> dict[str, Any]:
        company_id = ctx.company_id
        service = TeamService(ctx)
        members = await service.members(company_id)
        # Invitations to an address that has an account elsewhere have no member row of their own.
        detached = [i for i in await service.pending_invitations(company_id) if i.user_id is None]
        return {"members": members, "detached": detached, "products": await service.products(company_id),
                "company": await service.company(company_id), "levels": LEVELS, "errors": {}, "form": {}, **extra}

    @get("/")
    async def team(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        return render(request, "team/team.html", await self._context(ctx))

    @post("/invite")
    async def invite(self, team_service: NamedDependency[TeamService], request: Request[Any, Any, Any],
                     ctx: Ctx) -> Any:
        form = await request.form()
        data = {key: form.get(key) for key in ("email", "first_name", "last_name", "role", "job_title")}
        data["rights"] = rights_from_form(form)
        try:
            await team_service.invite(ctx.company_id, data)
        except DomainError as exc:
            context = await self._context(ctx, errors=form_errors(exc), form=dict(form.items()))
            return retry_after(render(request, "team/team.html", context, partial="team/_invite_form.html",
                                      status=exc.status_code), exc)
        return redirect(request, "/team?invited=1")

    async def _panel(self, request: Request[Any, Any, Any], team_service: TeamService, ctx: Any,
                     member: MemberView, query: str, chosen: dict[int | None, str] | None = None,
                     listed: set[int | None] | None = None, **extra: Any) -> dict[str, Any]:
        """A member's rights panel: the global strategy, then the products the query matches (by name)."""
        products = sorted(await team_service.products(ctx.company_id), key=lambda p: (_fold(p.display_name), p.id))
        shown = matching(products, query)
        chosen = member.held if chosen is None else chosen
        shown_ids = {p.id for p in shown}
        # Unsaved choices on products the filter now hides ride along as hidden fields: a save keeps them.
        carried = {t: chosen.get(t, "") for t in sorted(listed or (), key=lambda t: t or 0)
                   if t is not None and t not in shown_ids and chosen.get(t) != member.held.get(t)}
        return {"member": member, "u": member.user, "chosen": chosen, "shown": shown, "total": len(products),
                "carried": carried, "q": query, "levels": LEVELS, "apply_levels": APPLY_LEVELS,
                "in_team": _in_team_page(request), "errors": {}, "notice": None, **extra}

    @get("/members/{user_id:int}/rights")
    async def rights_panel(self, team_service: NamedDependency[TeamService], request: Request[Any, Any, Any],
                           ctx: Ctx, user_id: FromPath[int]) -> Any:
        params = request.query_params
        member = await team_service.member_rights(ctx.company_id, user_id)
        chosen, listed = chosen_levels(params, member.held)
        # A value the panel does not offer is dropped here: showing never fails, saving validates.
        chosen = {t: v for t, v in chosen.items() if v in LEVELS}
        notice = None
        applied, level = parse_int(params.get("applied")), params.get("level")
        if applied is not None and level in APPLY_LEVELS:
            notice = _applied_notice(applied, level)
        elif params.get("saved"):
            notice = _("Rights of %(name)s saved.", name=member.user.full_name)
        target = request.headers.get("hx-target")
        context = await self._panel(request, team_service, ctx, member, _query(params.get("q")), chosen, listed,
                                    notice=notice, focus_heading=is_htmx(request) and target == "rights-panel",
                                    oob_count=target == "rights-list")
        # The filter refreshes the list alone (the field being typed in stays as it is); opening asks the panel.
        partial = "team/_rights_list.html" if target == "rights-list" else "team/_rights_panel.html"
        return render(request, "team/rights.html", context, partial=partial)

    @post("/members/{user_id:int}/rights")
    async def set_rights(self, team_service: NamedDependency[TeamService], request: Request[Any, Any, Any], ctx: Ctx,
                         user_id: FromPath[int]) -> Any:
        form = await request.form()
        # Another company's member answers 404 and a contributor 403 before anything in the form is looked at.
        member = await team_service.member_rights(ctx.company_id, user_id)
        query = _query(form.get("q"))
        errors: dict[str, str] = {}
        chosen: dict[int | None, str] | None = None
        listed: set[int | None] = set()
        applied: tuple[int, str] | None = None
        if form.getall("listed", []):
            # The panel: it names what it listed; products it did not list (hidden by a filter) keep their rights.
            chosen, listed = chosen_levels(form, member.held)
            if form.get("action") == "apply":
                level = str(form.get("apply_level") or "")
                if level not in APPLY_LEVELS:
                    errors["apply-level"] = _("Choose the level to give to every product shown.")
                else:
                    shown = matching(await team_service.products(ctx.company_id), query)
                    for product in shown:
                        if level == "none":
                            chosen.pop(product.id, None)
                        else:
                            chosen[product.id] = level
                    applied = (len(shown), level)
            for target, value in chosen.items():
                if value not in LEVELS:
                    errors["r-global" if target is None else f"r-{target}"] = _("Choose a level from the list.")
            rights = [{"product_id": target, "level": value} for target, value in chosen.items()]
        else:
            # Without `listed` (a client of the former grid), the form is the member's whole set of rights.
            rights = rights_from_form(form)
        status = 422
        if not errors:
            try:
                await team_service.set_rights(ctx.company_id, user_id, rights)
            except DomainError as exc:
                errors, status = form_errors(exc), exc.status_code
        if errors:
            context = await self._panel(request, team_service, ctx, member, query, chosen, listed, errors=errors)
            return render(request, "team/rights.html", context, partial="team/_rights_panel.html", status=status)
        done = {"q": query} if query else {}
        done.update({"applied": applied[0], "level": applied[1]} if applied else {"saved": 1})
        if not is_htmx(request):
            return redirect(request, f"/team/members/{user_id}/rights?{urlencode(done)}")
        # HTMX: the panel in place, read again (what was stored), with the notice that takes the focus.
        member = await team_service.member_rights(ctx.company_id, user_id)
        notice = _applied_notice(*applied) if applied else _("Rights of %(name)s saved.",
                                                              name=member.user.full_name)
        context = await self._panel(request, team_service, ctx, member, query, notice=notice)
        return render(request, "team/rights.html", context, partial="team/_rights_panel.html")

    async def _act(self, request: Request[Any, Any, Any], ctx: Any, action: str, object_id: int,
                   done_url: str) -> Any:
        """A one-button action on a member or an invitation: 303 back to the team page, or the page with
        the error."""
        service = TeamService(ctx)
        method = {"deactivate": service.deactivate, "resend": service.resend, "cancel": service.cancel}[action]
        try:
            await method(ctx.company_id, object_id)
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
    async def audit(self, team_service: NamedDependency[TeamService], request: Request[Any, Any, Any], ctx: Ctx,
                    page: FromQuery[int] = 1) -> Any:
        page = max(page, 1)
        rows, total = await team_service.audit_trail(ctx.company_id, 50, (page - 1) * 50)
        names = {v.user.id: v.user for v in await team_service.members(ctx.company_id)}
        return render(request, "team/audit.html", {"rows": rows, "total": total, "page": page,
                                                   "pages": max(1, -(-total // 50)), "names": names,
                                                   "products": {p.id: p for p in await team_service.products(
                                                       ctx.company_id)}})
