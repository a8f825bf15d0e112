"""The home page: what each role comes to do."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide
from sqlalchemy import func, select

from convergence.accounts.models import AccountRequest, RequestStatus
from convergence.core.pages import render
from convergence.identity.permissions import Permission, has_permission
from convergence.identity.web import Ctx, provide_ctx
from convergence.questionnaires.services import localized
from convergence.questionnaires.worklist import WorklistService


class HomePages(Controller):
    dependencies = {"ctx": Provide(provide_ctx)}
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        context: dict[str, Any] = {}
        user = ctx.actor
        if user is not None and has_permission(user.role, Permission.ACCOUNT_REQUESTS_REVIEW):
            context["pending_requests"] = await ctx.session.scalar(select(func.count()).select_from(
                AccountRequest).where(AccountRequest.status == RequestStatus.PENDING))
        elif user is not None and user.company_id is not None:
            # A vendor's home is their work list: what to answer, what came back, what awaits their validation.
            context["work"] = await WorklistService(ctx).for_actor()
            context["localized"] = localized
        return render(request, "home.html", context)

    @get("/health", opt={"terms_exempt": True}, include_in_schema=False)
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}
