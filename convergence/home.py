"""The home page: what each role comes to do."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from convergence.accounts.services import JoiningService
from convergence.core.pages import render
from convergence.identity.policy import Permission
from convergence.identity.web import Ctx
from convergence.questionnaires.services import localized
from convergence.questionnaires.worklist import WorklistService


class HomePages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, joining_service: NamedDependency[JoiningService],
                   worklist_service: NamedDependency[WorklistService], request: Request[Any, Any, Any],
                   ctx: Ctx) -> Any:
        context: dict[str, Any] = {}
        if ctx.can(Permission.ACCOUNT_REQUESTS_REVIEW):
            context["pending_requests"] = await joining_service.pending_count()
        elif ctx.can(Permission.COMPANY_READ):
            # A vendor's home is their work list: what to answer, what came back, what awaits their validation.
            context["work"] = await worklist_service.for_actor()
            context["localized"] = localized
        return render(request, "home.html", context)

    @get("/health", opt={"terms_exempt": True}, include_in_schema=False)
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}
