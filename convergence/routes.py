"""Every route handler of the app, by domain. The authorization-matrix test walks this list."""

from __future__ import annotations

from typing import Any

from convergence.accounts.api import JoiningApi, MeApi
from convergence.accounts.pages import JoiningPages, SignInPages, SupportPages, TermsPages
from convergence.companies.api import TeamApi
from convergence.companies.pages import TeamPages
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


def route_handlers() -> list[Any]:
    return [HomePages, SessionViews, JoiningApi, MeApi, JoiningPages, SignInPages, TermsPages, SupportPages, FaqApi, FaqPages,
            ProductsApi, ProductPages, ProductProgressPages, TeamApi, TeamPages, QuestionnairesApi, QuestionnairePages,
            ReviewApi, VendorReviewApi, ReviewPages, VendorReviewPages]
