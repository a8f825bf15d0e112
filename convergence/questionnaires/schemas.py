"""Typed shapes of the responses API (api.md, "Tracks, questionnaires, responses"). Bodies are checked by
`QuestionnaireService` (`invalid_answer`, `stale_version`...); the tracks tree, a response's detail and a save's
answer are still documented as free objects while the item types move into one registry."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import loose
from convergence.questionnaires.models import Response

Version = loose(OpenAPIType.INTEGER, "The response's version the client last read.")


class ResponseRowOut(msgspec.Struct, kw_only=True):
    """`status` is `not_started`, `draft`, `submitted` or `validated`; `maturity` goes from 0 to 100."""

    id: int
    questionnaire_id: int
    step_id: int | None
    product_id: int | None
    status: str
    version: int
    revision: int
    maturity: float

    @classmethod
    def of(cls, r: Response) -> ResponseRowOut:
        return cls(id=r.id, questionnaire_id=r.questionnaire_id, step_id=r.step_id, product_id=r.product_id,
                   status=r.status, version=r.version, revision=r.revision, maturity=r.maturity)


class StepsIn(msgspec.Struct, kw_only=True):
    step_ids: loose(OpenAPIType.ARRAY, items={"type": "integer"}) = None  # type: ignore[valid-type]


class AnswersIn(msgspec.Struct, kw_only=True):
    version: Version = None
    answers: loose(OpenAPIType.OBJECT, "`{item_id: value}`; `null` clears.") = None  # type: ignore[valid-type]
    planned: loose(OpenAPIType.OBJECT, '`{item_id: "YYYY-MM-DD"}`.') = None  # type: ignore[valid-type]


class CopyFromIn(msgspec.Struct, kw_only=True):
    source_response_id: loose(OpenAPIType.INTEGER) = None  # type: ignore[valid-type]
    version: Version = None


class ReturnIn(msgspec.Struct, kw_only=True):
    comment: loose(OpenAPIType.STRING) = None  # type: ignore[valid-type]


class EnrolledOut(msgspec.Struct, kw_only=True):
    product_id: int
    step_ids: list[int]
    responses: list[ResponseRowOut]


class SavedOut(msgspec.Struct, kw_only=True):
    version: int
    status: str
    maturity: float


class AnswersSavedOut(SavedOut, kw_only=True):
    """`changes`: the items others changed after the `version` sent, with their values."""

    changes: list[dict[str, Any]]


class ProjectionPoint(msgspec.Struct, kw_only=True):
    date: str
    maturity: float


class ProjectionOut(msgspec.Struct, kw_only=True):
    points: list[ProjectionPoint]
