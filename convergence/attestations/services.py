"""Publishing, listing, revoking and verifying attestations. Every page and API handler goes through here.

Whether an attestation holds is decided when it is read (`validity`), from the response as it stands: revoked,
reopened (a new revision), changed (another version) or gone. No hook on the questionnaire workflow has to
remember to invalidate anything, and the reader is told which of these happened.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from convergence.accounts.models import User
from convergence.attestations import signing
from convergence.attestations.models import Attestation
from convergence.companies.access import grant, member
from convergence.companies.models import Company
from convergence.core import events
from convergence.core.errors import Conflict, NotFound
from convergence.core.formatting import Phrase
from convergence.core.i18n import N_
from convergence.core.inputs import clean_field
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Permission, Tenant
from convergence.products.models import Product
from convergence.questionnaires import engine
from convergence.questionnaires.models import Response, Status, Theme
from convergence.questionnaires.services import QuestionnaireService, ResponseView, localized

FORMAT = "convergence-attestation/1"
# No 0/O, 1/I/L: a code read aloud or copied from paper is not misread. 31^12 ≈ 2^59 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
TOKEN_BYTES = 24  # 192 bits: the public address cannot be guessed or walked
REASON_MAX = 500
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
MISSING = N_("This attestation does not exist.")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCD-EFGH-JKMN: three groups of four, as printed and shown."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: object) -> str | None:
    """A code as typed (any case, spaces or dashes between groups) as stored; None if it cannot be one."""
    if not isinstance(raw, str):
        return None
    code = re.sub(r"[\s\-.]", "", raw).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


@dataclass(frozen=True)
class Validity:
    state: str  # valid | revoked | invalidated
    reason: str | None  # None when valid; revoked | reopened | changed | deleted | signature
    sentence: Phrase

    @property
    def valid(self) -> bool:
        return self.state == "valid"


SENTENCES = {
    None: N_("Valid: the response is still validated as attested."),
    "revoked": N_("Revoked by the company on %(date)s: it no longer vouches for these facts."),
    "reopened": N_("No longer valid: the response was reopened for changes after this attestation was published."),
    "changed": N_("No longer valid: the response changed after this attestation was published."),
    "deleted": N_("No longer valid: the attested questionnaire response no longer exists."),
    "signature": N_("No longer valid: the signature does not match the platform's public key."),
}


def validity(attestation: Attestation, response: Response | None, signature_ok: bool) -> Validity:
    """The attestation's state now, judged against the response as it stands (None: deleted)."""
    if attestation.revoked_at is not None:
        return Validity("revoked", "revoked", Phrase(SENTENCES["revoked"], {"date": attestation.revoked_at}))
    reason = None
    if not signature_ok:
        reason = "signature"
    elif response is None:
        reason = "deleted"
    elif response.revision != attestation.response_revision or response.status != Status.VALIDATED:
        reason = "reopened"
    elif response.version != attestation.response_version:
        reason = "changed"
    return Validity("valid" if reason is None else "invalidated", reason, Phrase(SENTENCES[reason]))


@dataclass
class AttestationView:
    attestation: Attestation
    facts: dict[str, Any]
    validity: Validity
    signature_ok: bool
    published_by: str | None = None
    revoked_by: str | None = None

    @property
    def code(self) -> str:
        return format_code(self.attestation.code)

    def path(self) -> str:
        return f"/attestations/{self.attestation.token}"

    def title(self, part: str) -> str:
        """A bilingual attested title (`product`, `step`, `questionnaire`…) in the reader's language."""
        value = self.facts.get(part)
        return localized(_Titles(value if isinstance(value, dict) else {}), "title")

    def fact(self, part: str, name: str | None = None) -> Any:
        """One attested fact (`fact("maturity")`, `fact("company", "name")`), None when absent: a page never
        fails on an attestation written in another format."""
        value = self.facts.get(part)
        if name is None:
            return value
        return value.get(name) if isinstance(value, dict) else None

    def themes(self) -> list[dict[str, Any]]:
        themes = self.facts.get("themes")
        return [{**t, "title": localized(_Titles(t), "title")} for t in themes if isinstance(t, dict)
                and "code" in t and "maturity" in t] if isinstance(themes, list) else []


class _Titles:
    """Reads `title_fr` / `title_en` of an attested fact the way `localized` reads a model."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.title_fr = value.get("title_fr", "")
        self.title_en = value.get("title_en", "") or self.title_fr


class AttestationService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ reading

    @property
    def public_key_pem(self) -> str:
        return signing.public_key_pem(self.ctx.settings.secret_key)

    @property
    def key_id(self) -> str:
        return signing.key_id(self.ctx.settings.secret_key)

    async def _views(self, rows: list[Attestation]) -> list[AttestationView]:
        response_ids = {a.response_id for a in rows if a.response_id is not None}
        responses = {r.id: r for r in (await self.session.scalars(
            select(Response).where(Response.id.in_(response_ids)))).all()} if response_ids else {}
        user_ids = {i for a in rows for i in (a.published_by_id, a.revoked_by_id) if i is not None}
        names = {u.id: u.full_name for u in (await self.session.scalars(
            select(User).where(User.id.in_(user_ids)))).all()} if user_ids else {}
        key = signing.public_key(self.ctx.settings.secret_key)
        views = []
        for a in rows:
            ok = signing.verify(key, a.facts, a.signature)
            views.append(AttestationView(
                attestation=a, facts=_parse(a.facts), signature_ok=ok,
                validity=validity(a, responses.get(a.response_id) if a.response_id else None, ok),
                published_by=names.get(a.published_by_id), revoked_by=names.get(a.revoked_by_id)))
        return views

    async def by_token(self, token: str) -> AttestationView:
        """The public page: anyone holding the address (no sign-in)."""
        found = await self.session.scalar(select(Attestation).where(Attestation.token == token)) \
            if _TOKEN.fullmatch(token or "") else None
        if found is None:
            raise NotFound(MISSING)
        return (await self._views([found]))[0]

    async def by_code(self, raw: object) -> AttestationView:
        """What anyone checking a code is told; 404 for a code that names no attestation."""
        code = normalize_code(raw)
        found = await self.session.scalar(select(Attestation).where(Attestation.code == code)) if code else None
        if found is None:
            raise NotFound("No attestation has this verification code. Check the code as printed.",
                           code="unknown_code")
        return (await self._views([found]))[0]

    async def panel(self, response_id: int) -> tuple[ResponseView, list[AttestationView], bool]:
        """A response (anyone who may read it), its attestations newest first, and whether the actor may publish
        and revoke them: what the response page's section shows."""
        view = await QuestionnaireService(self.ctx).view(response_id)
        rows = (await self.session.scalars(select(Attestation).where(Attestation.response_id == response_id)
                                           .order_by(Attestation.id.desc()))).all()
        return view, await self._views(list(rows)), self.ctx.can(Permission.ATTESTATION_PUBLISH, view.grant)

    async def for_response(self, response_id: int) -> list[AttestationView]:
        return (await self.panel(response_id))[1]

    async def response_of(self, attestation_id: int) -> int | None:
        """The response an attestation of the actor's company attests (None if gone): where its list is shown."""
        attestation = await self.session.get(Attestation, attestation_id)
        if attestation is None:
            raise NotFound(MISSING)
        self.ctx.require(Permission.COMPANY_READ, Tenant(attestation.company_id, missing=MISSING))
        return attestation.response_id

    # ------------------------------------------------------------------ publishing

    async def publish(self, response_id: int) -> AttestationView:
        view = await QuestionnaireService(self.ctx).view(response_id)
        actor = self.ctx.require(Permission.ATTESTATION_PUBLISH, view.grant)
        response = view.response
        if view.product is None or view.step is None:
            raise Conflict("Only a product's questionnaire can be attested, not the global strategy.",
                           code="not_attestable")
        if response.status != Status.VALIDATED:
            raise Conflict("Only a validated response can be attested: have it validated first.",
                           code="not_validated")
        live_key = f"{response.id}:{response.version}"
        existing = await self.session.scalar(select(Attestation).where(Attestation.live_key == live_key))
        if existing is not None:
            raise Conflict("This response already has a valid attestation: revoke it before publishing another.",
                           code="already_published", attestation_id=existing.id)
        company = await self.session.get(Company, response.company_id)
        assert company is not None
        themes = {t.code: t for t in (await self.session.scalars(select(Theme))).all()}
        # The one maturity computation (the one the response page and the review show), on the validated answers.
        evaluation = engine.evaluate(view.items, response.answers or {})
        code = new_code()
        while await self.session.scalar(select(Attestation.id).where(Attestation.code == code)) is not None:
            code = new_code()
        now = utcnow().replace(microsecond=0)
        step, product, questionnaire = view.step, view.product, view.questionnaire
        facts = {
            "format": FORMAT,
            "issuer": self.ctx.settings.base_url,
            "code": code,
            "published_at": _iso(now),
            "company": {"name": company.name, "siren": company.siren},
            "product": {"id": product.id, "title_fr": product.label, "title_en": product.label,
                        "commercial_name": product.commercial_name},
            "track": {"code": step.track.code, "title_fr": step.track.title_fr, "title_en": step.track.title_en},
            "step": {"code": step.code, "title_fr": step.title_fr, "title_en": step.title_en},
            "questionnaire": {"code": questionnaire.code, "version": questionnaire.version,
                              "title_fr": questionnaire.title_fr, "title_en": questionnaire.title_en},
            "response": {"id": response.id, "revision": response.revision, "version": response.version,
                         "validated_at": _iso(response.validated_at)},
            "maturity": evaluation.maturity,
            "themes": [{"code": code_, "maturity": score,
                        "title_fr": themes[code_].title_fr if code_ in themes else code_,
                        "title_en": themes[code_].title_en if code_ in themes else code_}
                       for code_, score in sorted(evaluation.theme_scores.items(),
                                                  key=lambda kv: (themes[kv[0]].position if kv[0] in themes
                                                                  else 10**6, kv[0]))],
        }
        text = signing.canonical(facts)
        attestation = Attestation(
            company_id=response.company_id, response_id=response.id, response_revision=response.revision,
            response_version=response.version, token=secrets.token_urlsafe(TOKEN_BYTES), code=code,
            live_key=live_key, facts=text, signature=signing.sign(self.ctx.settings.secret_key, text),
            key_id=self.key_id, published_by_id=actor.id)
        try:
            async with self.session.begin_nested():
                self.session.add(attestation)
                await self.session.flush()
        except IntegrityError:
            raise Conflict("This response already has a valid attestation: revoke it before publishing another.",
                           code="already_published") from None
        self.ctx.audit(N_("attestation.published"), target_type="response", target_id=response.id,
                       company_id=response.company_id, attestation_id=attestation.id, code=code,
                       maturity=evaluation.maturity)
        return (await self._views([attestation]))[0]

    async def revoke(self, attestation_id: int, raw_reason: object = None) -> AttestationView:
        member(self.ctx)
        attestation = await self.session.get(Attestation, attestation_id)
        if attestation is None:
            raise NotFound(MISSING)
        response = await self.session.get(Response, attestation.response_id) if attestation.response_id else None
        product = await self.session.get(Product, response.product_id) if response and response.product_id else None
        if response is not None:
            held = await grant(self.ctx, attestation.company_id, response.product_id,
                               product.created_by_id if product else None, missing=MISSING,
                               refused=N_("Only a manager of the company can revoke an attestation."))
            actor = self.ctx.require(Permission.ATTESTATION_PUBLISH, held)
        else:
            actor = self.ctx.require(Permission.ATTESTATION_PUBLISH, Tenant(attestation.company_id, missing=MISSING))
        reason = clean_field("reason", raw_reason, max_len=REASON_MAX, multiline=True,
                             too_long=N_("A reason is limited to 500 characters."))
        if attestation.revoked_at is not None:
            raise Conflict("This attestation is already revoked.", code="already_revoked")
        now = utcnow()
        # Compare-and-set: of two revocations at the same moment, one is recorded and the other told.
        result = await self.session.execute(
            update(Attestation).where(Attestation.id == attestation.id, Attestation.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by_id=actor.id, revoke_reason=reason or None, live_key=None,
                    updated_at=now).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict("This attestation is already revoked.", code="already_revoked")
        await self.session.refresh(attestation)
        self.ctx.audit(N_("attestation.revoked"), target_type="response", target_id=attestation.response_id,
                       company_id=attestation.company_id, attestation_id=attestation.id, code=attestation.code,
                       comment=reason or None)
        # The notification centre tells the company's managers and editors (in the app, and by mail as each
        # chose): one path, so nobody is mailed twice.
        await events.emit(self.session, events.ATTESTATION_REVOKED, attestation_id=attestation.id,
                          company_id=attestation.company_id, product_id=response.product_id if response else None,
                          actor_id=actor.id)
        return (await self._views([attestation]))[0]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

