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
from convergence.notifications.api import NotificationsApi
from convergence.notifications.pages import NotificationPages
from convergence.notifications.services import NotificationService
from convergence.questionnaires.api import VersionsApi
from convergence.questionnaires.library import LibraryPages, LibraryService, VersionPages
from convergence.questionnaires.versions import VersionService
from convergence.attestations.api import AttestationsApi, VerifyApi
from convergence.attestations.pages import AttestationPages, PublicAttestationPages
from convergence.attestations.services import AttestationService
from convergence.referencing.api import ReferencingApi
from convergence.referencing.pages import ReferencingPages
from convergence.referencing.services import ReferencingService
from convergence.catalogue.api import CatalogueApi
from convergence.catalogue.pages import CataloguePages
from convergence.catalogue.services import CatalogueService
from convergence.review.applications import ApplicationQueueService
from convergence.review.applications_web import ApplicationQueueApi, ApplicationQueuePages
from convergence.questionnaires.evidence.api import EvidenceApi
from convergence.questionnaires.evidence.pages import EvidencePages
from convergence.questionnaires.evidence.services import EvidenceService
from convergence.publications.api import PublicationsApi
from convergence.publications.pages import PublicationPages
from convergence.publications.services import PublicationService
from convergence.roadmap.api import RoadmapApi
from convergence.roadmap.pages import RoadmapPages
from convergence.roadmap.services import RoadmapService


SERVICES = [AuthService, FaqService, ImportService, JoiningService, OutboxService, PasswordService, ProductService,
            QuestionnaireService, ReviewService, TeamService, TermsService, WorklistService]
SERVICES += [ApplicationQueueService, CatalogueService]
SERVICES += [AttestationService]
SERVICES += [NotificationService]
SERVICES += [ReferencingService]

SERVICES += [LibraryService, VersionService]


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


HANDLERS: list[Any] = [
    LibraryPages, VersionPages, VersionsApi, HomePages, SessionViews, JoiningApi, MeApi, JoiningPages, SignInPages,
    TermsPages, SupportPages, FaqApi, FaqPages,
    ProductsApi, ProductPages, ProductProgressPages, TeamApi, TeamPages, QuestionnairesApi, QuestionnairePages,
    ReviewApi, VendorReviewApi, ReviewPages, VendorReviewPages, AccessibilityPages,
    NotificationsApi, NotificationPages,
    CatalogueApi, CataloguePages, ApplicationQueueApi, ApplicationQueuePages,
    ReferencingApi, ReferencingPages,
    AttestationsApi, VerifyApi, AttestationPages, PublicAttestationPages,
]


def route_handlers() -> list[Any]:
    return list(HANDLERS)


SERVICES += [PublicationService]
HANDLERS += [PublicationsApi, PublicationPages]

SERVICES += [RoadmapService]
HANDLERS += [RoadmapApi, RoadmapPages]

SERVICES += [EvidenceService]
HANDLERS += [EvidenceApi, EvidencePages]
