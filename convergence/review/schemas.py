"""Typed shapes of the review API (api.md, "Review (ANS)"). The drill-down, charts and market averages are still
documented as free objects (their views are being split out of `review/services.py`)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import loose


class ReviewRowOut(msgspec.Struct, kw_only=True):
    """One product × enrolled step: the least advanced status and the mean maturity (0-100)."""

    product_id: int
    company_id: int
    company_name: str
    display_name: str
    commercial_name: str | None
    edition: str
    version: str
    step_id: int
    step_code: str
    step: str
    track: str
    status: str
    maturity: float | None
    validated_at: str | None


class CommentIn(msgspec.Struct, kw_only=True):
    body: loose(OpenAPIType.STRING) = None  # type: ignore[valid-type]


class CommentOut(msgspec.Struct, kw_only=True):
    id: int
    response_id: int
    body: str
    author: str | None
    author_id: int | None
    created_at: str


class MarketOut(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    total: int
    min_companies: int
