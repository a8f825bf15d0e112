"""Typed shapes of the evidence API."""

from __future__ import annotations

import msgspec

from convergence.core.api_docs import Page
from convergence.questionnaires.evidence.services import EvidenceView


class EvidenceOut(msgspec.Struct, kw_only=True):
    """`kind` is `file` (then `filename`, `content_type`, `size`, `sha256`, and `file_url` to download it) or
    `link` (then `url`). `item_code` is the question's code: evidence follows the question from one version of
    the questionnaire to the next."""

    id: int
    response_id: int
    item_code: str
    kind: str
    comment: str
    url: str | None
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    file_url: str | None
    added_by: str | None
    added_at: str

    @classmethod
    def of(cls, view: EvidenceView) -> EvidenceOut:
        e = view.evidence
        return cls(id=e.id, response_id=e.response_id, item_code=e.item_code, kind=e.kind, comment=e.comment or "",
                   url=e.url, filename=e.filename, content_type=e.content_type, size=e.size, sha256=e.sha256,
                   file_url=f"/api/v1/evidence/{e.id}/file" if e.kind == "file" else None,
                   added_by=view.added_by, added_at=e.created_at.isoformat())


class EvidencePage(Page[EvidenceOut]):
    items: list[EvidenceOut]
