"""Typed shapes of the attestation API. The attested facts are returned twice: `facts` (parsed, to read) and
`facts_json` (the exact text that was signed, to verify `signature` with the key at /attestations/public-key)."""

from __future__ import annotations

from typing import Any

import msgspec

from convergence.attestations.services import AttestationView
from convergence.core.api_docs import Page, Text


class ThemeOut(msgspec.Struct, kw_only=True):
    code: str
    title: str
    maturity: float


class AttestationOut(msgspec.Struct, kw_only=True):
    """`status`: `valid`, `revoked` or `invalidated` (then `reason`: `reopened`, `changed`, `deleted` or
    `signature`), decided at the time of the request against the response as it stands; `explanation` says it
    in a sentence. `url` is the public page (no sign-in), `pdf_url` the PDF; `code` is what anyone checks at
    /verify. `signature` is Ed25519 (base64) over the UTF-8 bytes of `facts_json`, by the key `key_id`."""

    id: int | None  # None on the public check
    response_id: int | None
    code: str
    status: str
    reason: str | None
    explanation: str
    url: str
    pdf_url: str
    product: str
    company: str
    step: str
    questionnaire: str
    questionnaire_version: int
    maturity: float
    themes: list[ThemeOut]
    validated_at: str | None
    published_at: str
    published_by: str | None
    revoked_at: str | None
    revoked_by: str | None
    revoke_reason: str | None
    facts: dict[str, Any]
    facts_json: str
    signature: str
    signature_valid: bool
    key_id: str

    @classmethod
    def of(cls, view: AttestationView, base_url: str, *, private: bool = True) -> AttestationOut:
        a, facts = view.attestation, view.facts
        return cls(
            id=a.id if private else None, response_id=a.response_id if private else None, code=view.code, status=view.validity.state,
            reason=view.validity.reason, explanation=str(view.validity.sentence),
            url=f"{base_url}{view.path()}", pdf_url=f"{base_url}{view.path()}.pdf",
            product=view.title("product"), company=view.fact("company", "name") or "",
            step=view.title("step"), questionnaire=view.title("questionnaire"),
            questionnaire_version=int(view.fact("questionnaire", "version") or 0),
            maturity=float(view.fact("maturity") or 0),
            themes=[ThemeOut(code=t["code"], title=t["title"], maturity=float(t["maturity"])) for t in view.themes()],
            validated_at=view.fact("response", "validated_at"),
            published_at=view.fact("published_at") or a.created_at.isoformat(),
            published_by=view.published_by if private else None,
            revoked_at=a.revoked_at.isoformat() if a.revoked_at else None,
            revoked_by=view.revoked_by if private else None, revoke_reason=a.revoke_reason,
            facts=facts, facts_json=a.facts, signature=a.signature, signature_valid=view.signature_ok,
            key_id=a.key_id)


class AttestationPage(Page[AttestationOut]):
    items: list[AttestationOut]


class RevokeIn(msgspec.Struct, kw_only=True):
    """`reason` (optional, up to 500 characters) is shown to whoever checks the code and mailed to the managers."""

    reason: Text = None
