"""Typed shapes of the referencing API. Bodies are checked by `ReferencingService` (its codes and sentences);
the fields are `loose` so that a wrong type reaches it instead of Litestar's generic 400."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from convergence.core.api_docs import Integer, Page, Text
from convergence.referencing.models import ApplicationAttachment, ChapterVerdict, ReferencingApplication
from convergence.referencing.services import ApplicationView, localized
from convergence.referencing.workflow import Action


class AssignIn(msgspec.Struct, kw_only=True):
    """`assignee_id`: an ANS reviewer's user id; left out or null, the actor takes the application."""

    assignee_id: Integer = None


class VerdictIn(msgspec.Struct, kw_only=True):
    """`verdict`: `conforme` or `a_completer` (then `comment` says what to complete)."""

    chapter_code: Text = None
    verdict: Text = None
    comment: Text = None


class InfoRequestIn(msgspec.Struct, kw_only=True):
    message: Text = None


class DecisionIn(msgspec.Struct, kw_only=True):
    """`decision`: `referenced` or `refused` (then `reasons` is required)."""

    decision: Text = None
    reasons: Text = None


class CategoryOut(msgspec.Struct, kw_only=True):
    code: str
    label: str


class CategoryPage(Page[CategoryOut]):
    items: list[CategoryOut]


class ApplicationOut(msgspec.Struct, kw_only=True):
    id: int
    company_id: int
    product_id: int
    step_code: str
    status: str
    commercial_name: str
    category: str
    filed_at: datetime
    assignee_id: int | None
    decided_at: datetime | None
    flagged_at: datetime | None
    flag_reason: str | None
    version: int

    @classmethod
    def of(cls, a: ReferencingApplication) -> ApplicationOut:
        return cls(id=a.id, company_id=a.company_id, product_id=a.product_id, step_code=a.step_code, status=a.status,
                   commercial_name=a.commercial_name, category=a.category, filed_at=a.filed_at,
                   assignee_id=a.assignee_id, decided_at=a.decided_at, flagged_at=a.flagged_at,
                   flag_reason=a.flag_reason, version=a.version)


class ApplicationPage(Page[ApplicationOut]):
    items: list[ApplicationOut]


class FrozenAnswerOut(msgspec.Struct, kw_only=True):
    """An answer as frozen at filing: `value` in the item's JSON type, `text` as a reader sees it."""

    item_id: int
    code: str
    label: str
    text: str
    value: Any
    planned: str | None


class VerdictOut(msgspec.Struct, kw_only=True):
    chapter_code: str
    verdict: str
    comment: str
    reviewer_id: int | None
    reviewer: str | None
    updated_at: datetime

    @classmethod
    def of(cls, v: ChapterVerdict, reviewer: str | None) -> VerdictOut:
        return cls(chapter_code=v.chapter_code, verdict=v.verdict, comment=v.comment, reviewer_id=v.reviewer_id,
                   reviewer=reviewer, updated_at=v.updated_at)


class ChapterOut(msgspec.Struct, kw_only=True):
    """One questionnaire theme; `previous_answers` when the vendor changed it after a request for information."""

    code: str
    title: str
    questionnaire: str
    response_id: int
    revision: int
    answers: list[FrozenAnswerOut]
    previous_answers: list[FrozenAnswerOut] | None
    verdict: str | None
    comment: str | None
    reviewer: str | None


class AttachmentOut(msgspec.Struct, kw_only=True):
    id: int
    filename: str
    size: int
    sha256: str

    @classmethod
    def of(cls, a: ApplicationAttachment) -> AttachmentOut:
        return cls(id=a.id, filename=a.filename, size=a.size, sha256=a.sha256)


class HistoryOut(msgspec.Struct, kw_only=True):
    action: str
    at: datetime
    by: str | None
    details: dict[str, Any]


class ApplicationDetailOut(msgspec.Struct, kw_only=True):
    """`allowed_actions`: what the caller may do now (`assign`, `verdict`, `request_info`, `reopen`, `resubmit`,
    `reference`, `refuse`)."""

    application: ApplicationOut
    description: str
    contact_name: str
    contact_email: str
    contact_phone: str | None
    filed_by_id: int | None
    decided_by_id: int | None
    decision_reasons: str | None
    info_request: str | None
    info_chapters: list[str]
    resubmitted_at: datetime | None
    product_name: str
    company_name: str
    chapters: list[ChapterOut]
    attachments: list[AttachmentOut]
    previous: list[ApplicationOut]
    history: list[HistoryOut]
    allowed_actions: list[str]

    @classmethod
    def of(cls, view: ApplicationView) -> ApplicationDetailOut:
        a = view.application

        def answers(rows: list[dict[str, Any]]) -> list[FrozenAnswerOut]:
            return [FrozenAnswerOut(item_id=r["item_id"], code=r["code"], label=localized(r, "label"),
                                    text=localized(r, "text"), value=r["value"], planned=r.get("planned"))
                    for r in rows]

        chapters = []
        for c in view.chapters:
            verdict = view.verdicts.get(c["code"])
            chapters.append(ChapterOut(
                code=c["code"], title=localized(c, "title"), questionnaire=localized(c, "questionnaire_title"),
                response_id=c["response_id"], revision=c["revision"], answers=answers(c["answers"]),
                previous_answers=answers(c["previous_answers"]) if c.get("previous_answers") else None,
                verdict=verdict.verdict if verdict else None, comment=verdict.comment if verdict else None,
                reviewer=verdict.reviewer if verdict else None))
        return cls(
            application=ApplicationOut.of(a), description=a.description, contact_name=a.contact_name,
            contact_email=a.contact_email, contact_phone=a.contact_phone, filed_by_id=a.filed_by_id,
            decided_by_id=a.decided_by_id, decision_reasons=a.decision_reasons, info_request=a.info_request,
            info_chapters=list(a.info_chapters or []), resubmitted_at=a.resubmitted_at,
            product_name=view.product.display_name, company_name=view.company.name, chapters=chapters,
            attachments=[AttachmentOut.of(x) for x in view.attachments],
            previous=[ApplicationOut.of(p) for p in view.previous],
            history=[HistoryOut(action=h["action"], at=h["at"], by=view.name(h["actor_id"]),
                                details=h["data"]) for h in view.history],
            allowed_actions=[action.value for action in Action if action in view.allowed])
