"""The questionnaires' reference data, cached per process (see core/reference.py for when a copy is dropped):
each questionnaire version with its items, the themes, the steps with their track, and the FAQ answers the
questions link to. Loaded fully, then detached from the request's session: shared read-only by every request.

Nothing here checks a right: tracks, steps, themes and questionnaires are the same for everyone signed in;
services ask the policy before they hand a response's questionnaire out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from convergence.core import reference
from convergence.faq.models import FaqEntry
from convergence.questionnaires.models import Item, Questionnaire, Response, Step, Theme, Track

reference.watch(Questionnaire.__table__, Item.__table__, Step.__table__, Track.__table__,  # type: ignore[arg-type]
                Theme.__table__, FaqEntry.__table__)  # type: ignore[arg-type]

_cache = reference.Cache("questionnaires")


def _detach(session: AsyncSession, *objects: Any) -> None:
    for obj in objects:
        if obj in session:
            session.expunge(obj)


async def questionnaire(session: AsyncSession, questionnaire_id: int) -> Questionnaire | None:
    """A questionnaire version with its items in order."""

    async def load() -> Questionnaire | None:
        found = await session.scalar(select(Questionnaire).where(Questionnaire.id == questionnaire_id)
                                     .execution_options(populate_existing=True))
        if found is not None:
            _detach(session, found, *found.items)
        return found

    return await _cache.get(session, ("questionnaire", questionnaire_id), load)


async def latest(session: AsyncSession, code: str) -> Questionnaire | None:
    """The highest version of a questionnaire (by code), with its items."""

    async def load() -> int | None:
        return await session.scalar(select(Questionnaire.id).where(Questionnaire.code == code)
                                    .order_by(Questionnaire.version.desc()).limit(1))

    found = await _cache.get(session, ("latest", code), load)
    return None if found is None else await questionnaire(session, found)


async def attach(session: AsyncSession, responses: Iterable[Response]) -> None:
    """Give responses read with `noload(Response.questionnaire)` their questionnaire from the cache, as if it had
    been loaded with them (no statement per response, none at all once the cache holds them)."""
    for response in responses:
        found = await questionnaire(session, response.questionnaire_id)
        if found is None:  # removed since: the relationship's own load says so
            await session.refresh(response, ["questionnaire"])
        else:
            set_committed_value(response, "questionnaire", found)


async def themes(session: AsyncSession) -> dict[str, Theme]:
    async def load() -> dict[str, Theme]:
        rows = (await session.scalars(select(Theme).order_by(Theme.position))).all()
        _detach(session, *rows)
        return {t.code: t for t in rows}

    return await _cache.get(session, "themes", load)


async def steps(session: AsyncSession) -> dict[int, Step]:
    """Every step with its track, by id, in the tracks' order."""

    async def load() -> dict[int, Step]:
        rows = (await session.scalars(select(Step).join(Track).order_by(Track.position, Step.position))).all()
        _detach(session, *rows, *{s.track for s in rows})
        return {s.id: s for s in rows}

    return await _cache.get(session, "steps", load)


async def tracks(session: AsyncSession) -> list[Track]:
    """Every track with its steps, in order."""

    async def load() -> list[Track]:
        rows = (await session.scalars(select(Track).order_by(Track.position))).all()
        _detach(session, *rows, *(step for t in rows for step in t.steps))
        return list(rows)

    return await _cache.get(session, "tracks", load)


async def faq(session: AsyncSession) -> dict[str, FaqEntry]:
    """Every FAQ answer by slug: questions link to them (a few dozen, read by every questionnaire page)."""

    async def load() -> dict[str, FaqEntry]:
        rows = (await session.scalars(select(FaqEntry))).unique().all()
        _detach(session, *rows, *(tag for e in rows for tag in e.tags))
        return {e.slug: e for e in rows}

    return await _cache.get(session, "faq", load)
