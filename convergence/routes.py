"""Every route handler of the app, by domain (the authorization-matrix test walks this list), and the services
handlers receive by dependency injection: a handler declares `product_service: ProductService` and gets one
bound to the request's acting context (`ctx`)."""

from __future__ import annotations

from typing import Any

from litestar.di import Provide

from convergence.accounts.services import AuthService, JoiningService, PasswordService, TermsService
from convergence.companies.services import TeamService
from convergence.faq.services import FaqService
from convergence.identity.mail_views import OutboxService
from convergence.identity.web import Ctx, provide_ctx
from convergence.products.imports import ImportService
from convergence.products.services import ProductService
from convergence.questionnaires.services import QuestionnaireService
from convergence.questionnaires.worklist import WorklistService
from convergence.review.services import ReviewService
from convergence.accounts.api import JoiningApi, MeApi
from convergence.accounts.pages import JoiningPages, SignInPages, SupportPages, TermsPages
from convergence.companies.api import TeamApi
from convergence.companies.pages import TeamPages
from convergence.accessibility import AccessibilityPages
from convergence.home import HomePages
from convergence.core.session_views import SessionViews
from convergence.questionnaires.api import QuestionnairesApi
from convergence.questionnaires.pages import QuestionnairePages
from convergence.questionnaires.product_pages import ProductProgressPages
from convergence.products.api import ProductsApi
from convergence.products.pages import ProductPages
from convergence.faq.api import FaqApi
from convergence.faq.pages import FaqPages
from convergence.review.api import ReviewApi, VendorReviewApi
from convergence.review.pages import ReviewPages, VendorReviewPages


SERVICES = [AuthService, FaqService, ImportService, JoiningService, OutboxService, PasswordService, ProductService,
            QuestionnaireService, ReviewService, TeamService, TermsService, WorklistService]


def service_parameter(service: type) -> str:
    """ProductService → product_service: the name a handler gives the parameter."""
    name = service.__name__.removesuffix("Service")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_") + "_service"


def dependencies() -> dict[str, Provide]:
    """The acting context (`ctx: Ctx`) and the services bound to it, for every handler."""
    return {"ctx": Provide(provide_ctx), **{service_parameter(s): _provider(s) for s in SERVICES}}


def _provider(service: type) -> Provide:
    def provide(ctx: Ctx) -> Any:
        return service(ctx)

    return Provide(provide, sync_to_thread=False)


def route_handlers() -> list[Any]:
    return [HomePages, SessionViews, JoiningApi, MeApi, JoiningPages, SignInPages, TermsPages, SupportPages, FaqApi, FaqPages,
            ProductsApi, ProductPages, ProductProgressPages, TeamApi, TeamPages, QuestionnairesApi, QuestionnairePages,
            ReviewApi, VendorReviewApi, ReviewPages, VendorReviewPages, AccessibilityPages]
