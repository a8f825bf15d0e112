"""The authorization matrix: every route of the app, for every role, on own, foreign and missing objects.

A route missing from MATRIX fails the test: a new route must say who may use it.
Rules (what a role gets on its own company's objects; foreign objects always answer 404 to vendors):
  public     anyone, signed in or not
  anon       the sign-in side: anyone (signed-in users too)
  signed_in  any signed-in user
  support    ANS support only;  ans: support and reviewers;  reviewer: ANS reviewers only
  member     managers and every contributor of the company
  manager    managers of the company
  product:L  managers, and contributors holding level L (read < edit < validate) on the product;
             a contributor without any right on it gets 404, with a lower right 403
Every request is sent with an empty body: an allowed call may answer 400/409/422, never 401/403/404/5xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from convergence.accounts.models import AccountRequest, AccountRequestDocument, ApiToken, Role, User, UserSession
from convergence.app import create_app
from convergence.attestations import signing
from convergence.attestations.models import Attestation
from convergence.companies.team_models import Invitation, MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import OutboxMessage, utcnow
from convergence.core.security import session_csrf_token, token_digest
from convergence.products.models import Product
from convergence.questionnaires.models import Item, Questionnaire, Response as QResponse, Step, Track
from tests.conftest import BASE_URL, _empty
from tests.factories import make_company, make_user
from convergence.fixtures import load_terms
from convergence.faq.fixtures import load_faq
from convergence.faq.models import FaqEntry
from convergence.notifications.models import Notification
from convergence.questionnaires.evidence.models import Evidence
from convergence.publications.models import Publication
from convergence.referencing.models import ApplicationAttachment, ReferencingApplication
from sqlalchemy import select

MATRIX: dict[str, str] = {
    "GET /": "public",
    "GET /health": "public",
    "GET /session/csrf": "public",
    "GET /account-request": "public",
    "POST /account-request": "public",
    "POST /account-request/check-siren": "public",
    "GET /account-request/sent": "public",
    "POST /api/v1/account-requests": "public",
    "GET /api/v1/account-requests": "support",
    "GET /api/v1/account-requests/{request_id}": "support",
    "POST /api/v1/account-requests/{request_id}/approve": "support",
    "GET /api/v1/account-requests/{request_id}/document": "support",
    "POST /api/v1/account-requests/{request_id}/reject": "support",
    "POST /api/v1/auth/token": "anon",
    "DELETE /api/v1/auth/token": "signed_in",
    "GET /api/v1/me": "signed_in",
    "POST /api/v1/me/terms/accept": "signed_in",
    "GET /api/v1/outbox": "support",
    "POST /api/v1/outbox/{message_id}/retry": "support",
    "POST /api/v1/password/reset": "anon",
    "POST /api/v1/password/set": "anon",
    "GET /api/v1/terms/current": "public",
    "GET /login": "anon",
    "POST /login": "anon",
    "GET /login/link": "anon",
    "POST /login/link": "anon",
    "POST /logout": "anon",
    "POST /lang": "public",
    "GET /password/forgot": "anon",
    "POST /password/forgot": "anon",
    "GET /password/set": "anon",
    "POST /password/set": "anon",
    "GET /terms": "public",
    "GET /accessibilite": "public",
    "POST /terms/accept": "signed_in",
    "GET /support/requests": "support",
    "GET /support/requests/{request_id}": "support",
    "POST /support/requests/{request_id}/approve": "support",
    "GET /support/requests/{request_id}/document": "support",
    "POST /support/requests/{request_id}/reject": "support",
    "GET /support/outbox": "support",
    "GET /support/outbox/{message_id}": "support",
    "POST /support/outbox/{message_id}/retry": "support",
    "GET /support/terms": "support",
    "POST /support/terms": "support",
    # Team and rights
    "GET /api/v1/companies/{company_id}/members": "member",
    "GET /api/v1/companies/{company_id}/audit": "manager",
    "GET /api/v1/companies/{company_id}/invitations": "member",
    "POST /api/v1/companies/{company_id}/invitations": "member",
    "DELETE /api/v1/companies/{company_id}/invitations/{invitation_id}": "manager",
    "POST /api/v1/companies/{company_id}/invitations/{invitation_id}/resend": "manager",
    "DELETE /api/v1/companies/{company_id}/members/{user_id}": "manager",
    "PUT /api/v1/companies/{company_id}/members/{user_id}/rights": "manager",
    "GET /team": "member",
    "GET /team/audit": "manager",
    "POST /team/invite": "member",
    "POST /team/invitations/{invitation_id}/cancel": "manager",
    "POST /team/invitations/{invitation_id}/resend": "manager",
    "POST /team/members/{user_id}/deactivate": "manager",
    "POST /team/members/{user_id}/rights": "manager",
    "GET /team/members/{user_id}/rights": "manager",
    # Products
    "GET /api/v1/companies/{company_id}/products": "member",
    "POST /api/v1/companies/{company_id}/products": "member",
    "POST /api/v1/companies/{company_id}/products/import": "member",
    "GET /products": "member",
    "GET /products/new": "member",
    "POST /products/new": "member",
    "POST /products/preview": "member",
    "GET /products/import": "member",
    "POST /products/import": "member",
    "GET /api/v1/products/{product_id}": "product:read",
    "GET /products/{product_id}": "product:read",
    "PATCH /api/v1/products/{product_id}": "product:edit",
    "DELETE /api/v1/products/{product_id}": "product:edit",
    "POST /api/v1/products/{product_id}/duplicate": "product:edit",
    "POST /api/v1/products/{product_id}/versions": "product:edit",
    "GET /products/{product_id}/edit": "product:edit",
    "POST /products/{product_id}/edit": "product:edit",
    "GET /products/{product_id}/delete": "product:edit",
    "POST /products/{product_id}/delete": "product:edit",
    "GET /products/{product_id}/duplicate": "product:edit",
    "POST /products/{product_id}/duplicate": "product:edit",
    "GET /products/{product_id}/versions/new": "product:edit",
    "POST /products/{product_id}/versions/new": "product:edit",
    # Tracks, questionnaires, responses
    "GET /api/v1/tracks": "signed_in",
    # Questionnaire versions and the library (questionnaires/versions.py, library.py).
    "GET /library": "signed_in",
    "GET /library/{code}": "signed_in",
    "GET /library/{code}/versions/{version}": "signed_in",
    "GET /library/{code}/diff": "signed_in",
    "POST /library/migrate": "manager",
    "GET /api/v1/library": "signed_in",
    "GET /api/v1/library/{code}/versions/{version}": "signed_in",
    "GET /api/v1/library/{code}/diff": "signed_in",
    "POST /api/v1/responses/{response_id}/migrate": "product:manager",
    "POST /api/v1/products/{product_id}/migrate": "product:manager",
    "POST /api/v1/companies/{company_id}/migrate": "manager",
    "POST /api/v1/responses/{response_id}/confirm": "product:edit",
    "POST /responses/{response_id}/migrate": "product:manager",
    "POST /responses/{response_id}/confirm": "product:edit",
    "POST /products/{product_id}/questionnaires/migrate": "product:manager",
    "PUT /api/v1/products/{product_id}/steps": "product:edit",
    "GET /api/v1/products/{product_id}/responses": "product:read",
    "GET /api/v1/companies/{company_id}/responses": "global:read",
    "GET /api/v1/responses/{response_id}": "product:read",
    "PATCH /api/v1/responses/{response_id}/answers": "product:edit",
    "POST /api/v1/responses/{response_id}/copy-from": "product:edit",
    "POST /api/v1/responses/{response_id}/submit": "product:edit",
    "POST /api/v1/responses/{response_id}/validate": "product:validate",
    "POST /api/v1/responses/{response_id}/return": "product:validate",
    "POST /api/v1/responses/{response_id}/reopen": "product:manager",
    "GET /api/v1/responses/{response_id}/projection": "product:read",
    "GET /responses/{response_id}": "product:read",
    "POST /responses/{response_id}/answer": "product:edit",
    "POST /responses/{response_id}/submit": "product:edit",
    "POST /responses/{response_id}/validate": "product:validate",
    "POST /responses/{response_id}/return": "product:validate",
    "POST /responses/{response_id}/reopen": "product:manager",
    "POST /responses/{response_id}/copy": "product:edit",
    "GET /products/{product_id}/questionnaires": "product:read",
    "POST /products/{product_id}/questionnaires": "product:edit",
    "GET /strategy": "global:read",
    # FAQ: open to anyone (feedback too); the vote counts are for ANS support
    "GET /faq": "public",
    "GET /faq/help/{place}": "public",
    "POST /faq/{entry_id}/feedback": "public",
    "GET /api/v1/faq": "public",
    "GET /api/v1/faq/{entry_id}": "public",
    "POST /api/v1/faq/{entry_id}/feedback": "public",
    "GET /support/faq-feedback": "support",
    # The public Mon Espace Santé catalogue (catalogue/): anyone reads the referenced products.
    "GET /catalogue": "public",
    "GET /catalogue/{listing_id}": "public",
    "GET /api/v1/catalogue": "public",
    "GET /api/v1/catalogue/{listing_id}": "public",
    # The referencing applications queue (review/applications*.py): ANS staff.
    "GET /review/applications": "ans",
    "GET /api/v1/review/applications": "ans",
    # Mon Espace Santé referencing (referencing/): a vendor files (managers) and follows its products'
    # applications; ANS reads them all, and reviewers verify and decide.
    "GET /api/v1/referencing/categories": "signed_in",
    "GET /api/v1/referencing/applications": "signed_in",
    "GET /api/v1/products/{product_id}/referencing-applications": "product:read",
    "POST /api/v1/products/{product_id}/referencing-applications": "product:manager",
    "GET /api/v1/referencing/applications/{application_id}": "application:read",
    "GET /api/v1/referencing/applications/{application_id}/attachments/{attachment_id}": "application:read",
    "POST /api/v1/referencing/applications/{application_id}/assign": "reviewer",
    "POST /api/v1/referencing/applications/{application_id}/verdicts": "reviewer",
    "POST /api/v1/referencing/applications/{application_id}/request-info": "reviewer",
    "POST /api/v1/referencing/applications/{application_id}/decision": "reviewer",
    "POST /api/v1/referencing/applications/{application_id}/reopen": "product:manager",
    "POST /api/v1/referencing/applications/{application_id}/resubmit": "product:manager",
    "GET /products/{product_id}/referencing": "product:read",
    "POST /products/{product_id}/referencing": "product:manager",
    "GET /referencing/applications/{application_id}": "application:read",
    "GET /referencing/applications/{application_id}/attachments/{attachment_id}": "application:read",
    "POST /referencing/applications/{application_id}/assign": "reviewer",
    "POST /referencing/applications/{application_id}/verdicts": "reviewer",
    "POST /referencing/applications/{application_id}/request-info": "reviewer",
    "POST /referencing/applications/{application_id}/decision": "reviewer",
    "POST /referencing/applications/{application_id}/reopen": "product:manager",
    "POST /referencing/applications/{application_id}/resubmit": "product:manager",
    # ANS review: support and reviewers read every company's products; only reviewers comment.
    # Vendors read the comments on their responses and the anonymised market averages.
    "GET /review": "ans",
    "GET /review/products/{product_id}": "ans",
    "POST /review/responses/{response_id}/comments": "reviewer",
    "GET /api/v1/review/products": "ans",
    "GET /api/v1/review/charts": "ans",
    "GET /api/v1/review/export.csv": "ans",
    "GET /api/v1/review/export.xlsx": "ans",
    "GET /api/v1/review/products/{product_id}": "ans",
    "GET /api/v1/review/responses/{response_id}/comments": "ans",
    "POST /api/v1/review/responses/{response_id}/comments": "reviewer",
    "GET /api/v1/responses/{response_id}/comments": "product:read",
    "GET /responses/{response_id}/comments": "product:read",
    "GET /responses/{response_id}/market": "product:read",
    "GET /api/v1/market/themes": "member",
    # Maturity attestations: managers publish and revoke; whoever holds the address or the code reads it.
    "POST /api/v1/responses/{response_id}/attestations": "product:manager",
    "GET /api/v1/responses/{response_id}/attestations": "product:read",
    "POST /api/v1/attestations/{attestation_id}/revoke": "product:manager",
    "GET /api/v1/verify/{verification_code}": "public",
    "GET /responses/{response_id}/attestations": "product:read",
    "POST /responses/{response_id}/attestations": "product:manager",
    "POST /attestations/{attestation_id}/revoke": "product:manager",
    "GET /attestations/{token}": "public",
    "GET /attestations/public-key": "public",
    "GET /verify": "public",
    # Notifications: everyone signed in has a centre; a notification is its recipient's only (others: 404).
    "GET /notifications": "signed_in",
    "POST /notifications/{notification_id}/read": "recipient",
    "POST /notifications/read-all": "signed_in",
    "GET /notifications/preferences": "signed_in",
    "POST /notifications/preferences": "signed_in",
    "GET /api/v1/notifications": "signed_in",
    "POST /api/v1/notifications/{notification_id}/read": "recipient",
    "POST /api/v1/notifications/read-all": "signed_in",
    "GET /api/v1/me/notification-preferences": "signed_in",
    "PUT /api/v1/me/notification-preferences": "signed_in",
}


ROADMAP_ROWS = {
    "GET /api/v1/products/{product_id}/roadmap": "application:read",
    "GET /api/v1/products/{product_id}/roadmap.csv": "application:read",
    "GET /api/v1/products/{product_id}/roadmap.ics": "application:read",
    "PUT /api/v1/products/{product_id}/roadmap/targets": "product:validate",
    "PUT /api/v1/products/{product_id}/roadmap/lines/{item_code}/owner": "product:edit",
    "GET /api/v1/roadmap": "member",
    "GET /api/v1/roadmap.csv": "member",
    "GET /api/v1/roadmap.ics": "member",
    "GET /products/{product_id}/roadmap": "application:read",
    "GET /products/{product_id}/roadmap.csv": "application:read",
    "GET /products/{product_id}/roadmap.ics": "application:read",
    "POST /products/{product_id}/roadmap/targets": "product:validate",
    "POST /products/{product_id}/roadmap/lines/{item_code}/owner": "product:edit",
    "GET /roadmap": "member",
    "GET /roadmap.csv": "member",
    "GET /roadmap.ics": "member",
}
MATRIX.update(ROADMAP_ROWS)

EVIDENCE_ROWS = {
    "GET /api/v1/responses/{response_id}/evidence": "application:read",
    "GET /api/v1/responses/{response_id}/items/{item_code}/evidence": "application:read",
    "POST /api/v1/responses/{response_id}/items/{item_code}/evidence": "product:edit",
    "GET /api/v1/evidence/{evidence_id}": "application:read",
    "GET /api/v1/evidence/{evidence_id}/file": "application:read",
    "DELETE /api/v1/evidence/{evidence_id}": "product:edit",
    "GET /responses/{response_id}/evidence": "application:read",
    "GET /responses/{response_id}/items/{item_code}/evidence": "application:read",
    "POST /responses/{response_id}/items/{item_code}/evidence/file": "product:edit",
    "POST /responses/{response_id}/items/{item_code}/evidence/link": "product:edit",
    "POST /evidence/{evidence_id}/remove": "product:edit",
    "GET /evidence/{evidence_id}/file": "application:read",
}
MATRIX.update(EVIDENCE_ROWS)
MATRIX_PDF = b"%PDF-1.4\n%matrix\n"

MATRIX.update({
    "POST /api/v1/publications": "support",
    "GET /api/v1/publications": "public",
    "GET /api/v1/publications/{publication_id}": "public",
    "POST /api/v1/publications/{publication_id}/withdraw": "support",
    "GET /api/v1/products/{product_id}/comparison": "product:read",
    "GET /publications": "public",
    "POST /publications": "support",
    "GET /publications/{publication_id}": "public",
    "POST /publications/{publication_id}/withdraw": "support",
    "GET /publications/trend": "public",
    "GET /products/{product_id}/comparison": "product:read",
    "GET /review/companies": "ans",
})

ROLES = ("anonymous", "support", "reviewer", "manager", "contributor", "contributor_read", "contributor_edit",
         "contributor_validate", "outsider")
CONTRIBUTOR_LEVEL = {"contributor": None, "contributor_read": "read", "contributor_edit": "edit",
                     "contributor_validate": "validate"}
LEVELS = {"read": 1, "edit": 2, "validate": 3}
SKIP_PREFIXES = ("/schema", "/static")


def app_routes() -> set[str]:
    routes: set[str] = set()
    for route in create_app().routes:
        if route.path.startswith(SKIP_PREFIXES):
            continue
        for method in getattr(route, "methods", ()):
            if method not in ("OPTIONS", "HEAD"):
                routes.add(f"{method} {re.sub(r':[a-z]+}', '}', route.path)}")
    return routes


def test_every_route_is_in_the_matrix():
    missing = sorted(app_routes() - set(MATRIX))
    stale = sorted(set(MATRIX) - app_routes())
    assert missing == [], f"routes without an authorization rule: {missing}"
    assert stale == [], f"rules for routes that no longer exist: {stale}"


@dataclass
class World:
    ids: dict[str, dict[str, int]]
    tokens: dict[str, str]


async def build_world(settings: Any, db: async_sessionmaker[AsyncSession]) -> World:
    async with unit_of_work(db) as session:
        await _empty(session)
        await load_terms(settings, session)
        await load_faq(settings, session)
        faq_ids = (await session.scalars(select(FaqEntry.id).order_by(FaqEntry.id).limit(2))).all()
        own, foreign = await make_company(session, "Maison"), await make_company(session, "Ailleurs")
        users: dict[str, User] = {
            "support": await make_user(session, settings, role=Role.SUPPORT),
            "reviewer": await make_user(session, settings, role=Role.REVIEWER),
            "manager": await make_user(session, settings, role=Role.MANAGER, company=own),
            "outsider": await make_user(session, settings, role=Role.MANAGER, company=foreign),
        }
        for role in CONTRIBUTOR_LEVEL:
            users[role] = await make_user(session, settings, role=Role.CONTRIBUTOR, company=own)
        target = await make_user(session, settings, role=Role.CONTRIBUTOR, company=own)
        foreign_member = await make_user(session, settings, role=Role.CONTRIBUTOR, company=foreign)

        def product(company_id: int, name: str) -> Product:
            return Product(company_id=company_id, name=name, os="Linux", device="Website", edition="", version="1",
                           kind="base", description="", identity_key=f"{name}|linux|website||1",
                           created_by_id=users["manager"].id)

        own_product, foreign_product = product(own.id, "Maison"), product(foreign.id, "Ailleurs")
        session.add_all([own_product, foreign_product])
        await session.flush()
        for role, level in CONTRIBUTOR_LEVEL.items():
            if level:
                session.add(MemberRight(company_id=own.id, user_id=users[role].id, product_id=own_product.id,
                                        level=level))
        invitations = {}
        for key, company, user in (("own", own, target), ("foreign", foreign, foreign_member)):
            invitation = Invitation(company_id=company.id, user_id=user.id, email=user.email, role=user.role,
                                    invited_by_id=None, status="pending", sent_count=1)
            session.add(invitation)
            await session.flush()
            invitations[key] = invitation.id
        request = AccountRequest(company_name="Req", siren="443061841", first_name="A", last_name="B",
                                 email="req@example.org", job_title="CEO", is_corporate_officer=True)
        message = OutboxMessage(recipient="x@example.org", subject="s", body="b", kind="k")
        session.add_all([request, message])
        await session.flush()
        session.add(AccountRequestDocument(request_id=request.id, content=b"%PDF-1.4\n%%EOF\n", sha256="0" * 64))
        request.document_name, request.document_size = "form.pdf", 14
        tokens: dict[str, str] = {}
        for role, user in users.items():
            tokens[role] = f"matrix-{role}-token-0123456789abcdef"
            session.add(ApiToken(user_id=user.id, digest=token_digest(settings, tokens[role]),
                                 expires_at=utcnow().replace(year=utcnow().year + 1)))
            session.add(UserSession(user_id=user.id, digest=token_digest(settings, tokens[role]),
                                    last_seen_at=utcnow(), expires_at=utcnow().replace(year=utcnow().year + 1)))
        track = Track(code="t", title_fr="t", title_en="t", position=0)
        session.add(track)
        await session.flush()
        step = Step(code="s", track_id=track.id, position=1, title_fr="s", title_en="s")
        session.add(step)
        await session.flush()
        questionnaire = Questionnaire(code="q", version=1, step_id=step.id, title_fr="q", title_en="q", current=True)
        session.add(questionnaire)
        await session.flush()
        matrix_item = Item(questionnaire_id=questionnaire.id, code="i", position=1, theme="security",
                         type="boolean", label_fr="i", label_en="i", required=True, scored=True, options=[])
        session.add(matrix_item)
        await session.flush()
        responses = {}
        for key, company, prod in (("own", own, own_product), ("foreign", foreign, foreign_product)):
            response = QResponse(company_id=company.id, product_id=prod.id, questionnaire_id=questionnaire.id,
                                 step_id=step.id, status="not_started", version=0, revision=1, answers={},
                                 planned={str(matrix_item.id): "2031-01-15"})
            session.add(response)
            await session.flush()
            responses[key] = response.id
        # An attestation on each response: its public address and code are open to anyone, revoking is the
        # managers' (attestations/).
        attestations = {}
        for n, key in enumerate(("own", "foreign")):
            attestation = Attestation(
                company_id=(own if key == "own" else foreign).id, response_id=responses[key], response_revision=1,
                response_version=0, token=f"matrix-attestation-token-{key}-0123456789abcdef", code=f"ABCDEFGHJKM{n + 2}",
                live_key=None, facts="{}", signature=signing.sign(settings.secret_key, "{}"),
                key_id=signing.key_id(settings.secret_key))
            session.add(attestation)
            await session.flush()
            attestations[key] = attestation
        # A file (a link has no /file) on each response's question: evidence follows the response's rights.
        evidence = {}
        for key in ("own", "foreign"):
            item = Evidence(company_id=(own if key == "own" else foreign).id, response_id=responses[key],
                            item_code="i", kind="file", filename="e.pdf", content_type="application/pdf",
                            size=len(MATRIX_PDF), sha256="0" * 64, content=MATRIX_PDF, comment="")
            session.add(item)
            await session.flush()
            evidence[key] = item.id
        # A notification of our manager ("own") and one of the outsider ("foreign"): only its recipient reads it.
        notifications = {}
        for key, recipient in (("own", users["manager"]), ("foreign", users["outsider"])):
            notification = Notification(user_id=recipient.id, company_id=recipient.company_id, kind="rights_changed",
                                        data={}, link="/products", mail="immediate")
            session.add(notification)
            await session.flush()
            notifications[key] = notification.id
        # A referenced application of each company: what the public catalogue lists (catalogue/).
        listings = {}
        for key, company, prod in (("own", own, own_product), ("foreign", foreign, foreign_product)):
            listing = ReferencingApplication(
                company_id=company.id, product_id=prod.id, step_code=step.code, status="referenced",
                commercial_name=f"Service {key}", description="d", category="other", contact_name="c",
                contact_email="c@example.org", snapshot={}, filed_at=utcnow(), decided_at=utcnow())
            session.add(listing)
            await session.flush()
            listings[key] = listing.id
        # Each referenced application carries a PDF (referencing/: read with the application).
        attachments = {}
        for key, application_id in listings.items():
            attachment = ApplicationAttachment(application_id=application_id, filename="a.pdf",
                                               content_type="application/pdf", size=14, sha256="0" * 64,
                                               content=b"%PDF-1.4\n%%EOF\n")
            session.add(attachment)
            await session.flush()
            attachments[key] = attachment.id
        # A publication is the market's, anonymised: the same one for everyone.
        publication = Publication(label="2026 S1", year=2026, half=1, live_key="2026 S1", basis="validated",
                                  products=0, companies=0, figures={"steps": []}, published_at=utcnow())
        session.add(publication)
        await session.flush()
        missing = 987654
        ids = {
            "listing_id": listings | {"missing": missing},
            "application_id": listings | {"missing": missing},
            "attachment_id": attachments | {"missing": missing},
            "notification_id": notifications | {"missing": missing},
            "company_id": {"own": own.id, "foreign": foreign.id, "missing": missing},
            "user_id": {"own": target.id, "foreign": foreign_member.id, "missing": missing},
            "product_id": {"own": own_product.id, "foreign": foreign_product.id, "missing": missing},
            "invitation_id": {"own": invitations["own"], "foreign": invitations["foreign"], "missing": missing},
            "request_id": {"own": request.id, "foreign": request.id, "missing": missing},
            "message_id": {"own": message.id, "foreign": message.id, "missing": missing},
            "response_id": {"own": responses["own"], "foreign": responses["foreign"], "missing": missing},
            "entry_id": {"own": faq_ids[0], "foreign": faq_ids[1], "missing": missing},
            # The library is reference data: the same questionnaire for everyone, a missing one 404.
            "code": {"own": "q", "foreign": "q", "missing": "absent"},  # type: ignore[dict-item]
            "version": {"own": 1, "foreign": 1, "missing": missing},
            "item_code": {"own": "i", "foreign": "i", "missing": "absent"},  # type: ignore[dict-item]
            "evidence_id": evidence | {"missing": missing},
            "publication_id": {"own": publication.id, "foreign": publication.id, "missing": missing},
            "place": {"own": "team", "foreign": "products", "missing": "nowhere"},  # type: ignore[dict-item]
            "attestation_id": {key: a.id for key, a in attestations.items()} | {"missing": missing},
            "token": {key: a.token for key, a in attestations.items()}  # type: ignore[dict-item]
            | {"missing": "matrix-attestation-token-missing-0123456789"},
            "verification_code": {key: a.code for key, a in attestations.items()}  # type: ignore[dict-item]
            | {"missing": "ZZZZZZZZZZZZ"},
        }
        return World(ids=ids, tokens=tokens)


def expected(rule: str, role: str, target: str, scoped: bool = True) -> str:
    """allow | auth | forbidden | notfound"""
    signed = role != "anonymous"
    vendor = role in ("manager", "outsider") or role in CONTRIBUTOR_LEVEL
    if rule in ("public", "anon"):
        return "notfound" if target == "missing" else "allow"
    if not signed:
        return "auth"
    if rule == "recipient":
        recipient = {"own": "manager", "foreign": "outsider"}.get(target)
        return "allow" if role == recipient else "notfound"
    if rule == "signed_in":
        return "notfound" if target == "missing" else "allow"
    if rule == "application:read":
        # ANS reads every application; a vendor, those of its products it holds a right on.
        if role in ("support", "reviewer"):
            return "notfound" if target == "missing" else "allow"
        rule = "product:read"
    if rule in ("support", "ans", "reviewer"):
        allowed = role == rule or (rule == "ans" and role in ("support", "reviewer"))
        if not allowed:
            return "forbidden"
        return "notfound" if target == "missing" else "allow"
    if not vendor:
        return "forbidden"
    if target == "missing":
        return "notfound"
    if role == "outsider":
        # The outsider is a manager of the other company: our objects are foreign to them, theirs are own.
        if scoped and target == "own":
            return "notfound"
        role = "manager"
    elif target == "foreign":
        return "notfound"
    if rule == "member" or role == "manager":
        return "allow"
    if rule == "manager":
        return "forbidden"
    if rule == "global:read":
        return "forbidden"  # the matrix's contributors hold rights on a product, none on the global strategy
    if rule.startswith("product:"):
        held = CONTRIBUTOR_LEVEL[role]
        if held is None:
            return "notfound"
        if rule == "product:manager":
            return "forbidden"
        return "allow" if LEVELS[held] >= LEVELS[rule.split(":")[1]] else "forbidden"
    raise AssertionError(f"unknown rule {rule}")


def classify(response: Any, path: str) -> str:
    status = response.status_code
    assert status < 500, f"{path}: server error {status}: {response.text[:300]}"
    if status == 401:
        return "auth"
    if status in (302, 303) and response.headers.get("location", "").startswith("/login"):
        return "auth"
    if status == 403 and '"code":"csrf_failed"' in response.text.replace(" ", ""):
        raise AssertionError(f"{path}: CSRF refused the matrix request")
    return {403: "forbidden", 404: "notfound"}.get(status, "allow")


async def call(client: AsyncTestClient[Any], world: World, role: str, method: str, path: str) -> Any:
    api = path.startswith("/api/")
    headers: dict[str, str] = {}
    # Anonymous forms: the double-submit token; a signed-in browser's token is bound to its session.
    token = "matrix-csrf-token-0123456789abcdefghijklmnop"
    client.cookies.clear()
    if role != "anonymous":
        if api:
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
        else:
            client.cookies.set("cv_session", world.tokens[role])
            token = session_csrf_token(client.app.state.settings, world.tokens[role])
    client.cookies.set("cv_csrf", token)
    if method in ("GET", "DELETE"):
        return await client.request(method, path, headers=headers)
    if api:
        return await client.request(method, path, json={}, headers=headers)
    return await client.request(method, path, data={"_csrf": token}, headers=headers)


def targets(path: str) -> list[str]:
    return ["own", "foreign", "missing"] if "{" in path else ["own"]


def fill(path: str, world: World, target: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(world.ids[m.group(1)][target]), path)


@pytest.mark.parametrize("route", sorted(MATRIX))
async def test_route_decisions(route, settings, db):
    method, template = route.split(" ", 1)
    rule = MATRIX[route]
    failures = []
    unsafe = method not in ("GET",)
    world = await build_world(settings, db)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        client.follow_redirects = False
        dirty = False
        for role in ROLES:
            for target in targets(template):
                if dirty:
                    world = await build_world(settings, db)  # an allowed write must not change the next call
                path = fill(template, world, target)
                got = classify(await call(client, world, role, method, path), path)
                dirty = unsafe and got == "allow"
                if rule == "anon" and got == "auth":
                    got = "allow"  # sign-in endpoints answer 401 to the empty credentials they were sent
                want = expected(rule, role, target, scoped="{" in template)
                if got != want:
                    failures.append(f"{role:<21} {target:<8} want {want:<9} got {got}")
    assert not failures, f"{route} ({rule}):\n" + "\n".join(failures)
