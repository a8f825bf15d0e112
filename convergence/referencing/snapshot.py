"""The frozen copy of a product's validated answers for one Mon Espace Santé step, by chapter.

A chapter is one theme of one questionnaire of the step (the questionnaire's sections are its themes): ANS gives
each chapter a verdict. The snapshot keeps what a reader needs without the live response — labels and answer
texts in both languages — since the response goes on living (reopened, changed) after the application is filed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.i18n import current_language, set_language
from convergence.questionnaires import engine
from convergence.questionnaires.answers import answer_text
from convergence.questionnaires.models import Questionnaire, Response, Status, Step, Theme

T = TypeVar("T")
SNAPSHOT_FORMAT = 1


def chapter_code(questionnaire_code: str, theme: str) -> str:
    return f"{questionnaire_code}:{theme}"


def _in(language: str, fn: Callable[[], T]) -> T:
    """`fn()` with texts written in `language`, the request's language restored after."""
    previous = current_language()
    set_language(language)
    try:
        return fn()
    finally:
        set_language(previous)


async def mes_steps(session: AsyncSession) -> list[Step]:
    """The steps a referencing application may be filed for: those of the Mon Espace Santé track."""
    return list((await session.scalars(select(Step).where(Step.requires_commercial_name.is_(True))
                                       .order_by(Step.position))).all())


async def step_responses(session: AsyncSession, product_id: int, step_id: int) -> list[Response]:
    """The product's responses to the step's current questionnaires, in questionnaire order."""
    return list((await session.scalars(
        select(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.product_id == product_id, Response.step_id == step_id, Questionnaire.current.is_(True))
        .order_by(Questionnaire.position, Questionnaire.id))).all())


def all_validated(responses: list[Response]) -> bool:
    return bool(responses) and all(r.status == Status.VALIDATED for r in responses)


def chapters_of(response: Response, themes: dict[str, Theme]) -> list[dict[str, Any]]:
    """The response's chapters (one per theme, in the questionnaire's order) with the answers of the items
    shown (follow-ups whose condition is not met are left out, as on the page)."""
    questionnaire = response.questionnaire
    items = questionnaire.items
    by_code = {i.code: i for i in items}
    answers = response.answers or {}
    planned = response.planned or {}
    chapters: dict[str, dict[str, Any]] = {}
    for item in items:
        if not engine.is_enabled(item, answers, by_code):
            continue
        code = chapter_code(questionnaire.code, item.theme)
        if code not in chapters:
            theme = themes.get(item.theme)
            chapters[code] = {
                "code": code, "theme": item.theme,
                "title_fr": theme.title_fr if theme else item.theme, "title_en": theme.title_en if theme else item.theme,
                "questionnaire_code": questionnaire.code, "questionnaire_id": questionnaire.id,
                "questionnaire_version": questionnaire.version,
                "questionnaire_title_fr": questionnaire.title_fr, "questionnaire_title_en": questionnaire.title_en,
                "response_id": response.id, "revision": response.revision,
                "validated_at": response.validated_at.isoformat() if response.validated_at else None,
                "answers": [],
            }
        value = answers.get(str(item.id))
        chapters[code]["answers"].append({
            "item_id": item.id, "code": item.code, "label_fr": item.label_fr, "label_en": item.label_en,
            "value": value, "planned": planned.get(str(item.id)),
            "text_fr": _in("fr", lambda: answer_text(item, value)),
            "text_en": _in("en", lambda: answer_text(item, value)),
        })
    return list(chapters.values())


async def take(session: AsyncSession, step: Step, responses: list[Response]) -> dict[str, Any]:
    """The snapshot stored in `ReferencingApplication.snapshot`."""
    themes = {t.code: t for t in (await session.scalars(select(Theme))).all()}
    return {
        "format": SNAPSHOT_FORMAT,
        "step": {"id": step.id, "code": step.code, "title_fr": step.title_fr, "title_en": step.title_en},
        "chapters": [chapter for response in responses for chapter in chapters_of(response, themes)],
    }


async def refresh(session: AsyncSession, snapshot: dict[str, Any], responses: list[Response],
                  response_ids: set[int]) -> tuple[dict[str, Any], set[str]]:
    """A new snapshot where the chapters of `response_ids` are taken again (the others kept as filed), and the
    codes of the chapters whose answers changed. A changed chapter keeps its filed answers in `previous_answers`
    so that ANS sees what the vendor changed."""
    themes = {t.code: t for t in (await session.scalars(select(Theme))).all()}
    fresh = {c["code"]: c for r in responses if r.id in response_ids for c in chapters_of(r, themes)}
    chapters: list[dict[str, Any]] = []
    changed: set[str] = set()
    for chapter in snapshot.get("chapters", []):
        if chapter.get("response_id") in response_ids:
            new = fresh.pop(chapter["code"], None)
            if new is None:  # every item of the chapter is now hidden: the chapter is gone
                changed.add(chapter["code"])
                continue
            if _values(new) != _values(chapter):
                new["previous_answers"] = chapter["answers"]
                changed.add(chapter["code"])
            chapters.append(new)
        else:
            chapters.append(chapter)
    for code, chapter in fresh.items():  # a theme that appeared with a follow-up answer
        changed.add(code)
        chapters.append(chapter)
    return {**snapshot, "chapters": chapters}, changed


def _values(chapter: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    return [(a["item_id"], a["value"], a.get("planned")) for a in chapter["answers"]]
