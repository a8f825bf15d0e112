"""Loads fixtures/questionnaires/questionnaires.yaml: themes, tracks, steps, questionnaires and items.

Idempotent: a questionnaire (code, version) already loaded keeps its items, since responses point at them,
except their bounds (what the server accepts), which follow the file; the highest version of a code is the
current one, which new enrolments get (existing responses stay on theirs until a manager migrates them,
questionnaires/versions.py).

A new version is published either in questionnaires.yaml or as a file of its own in
fixtures/questionnaires/versions/ (`step:` the step's code, or `global_strategy: true`, and `questionnaire:`);
fixtures/questionnaires/next/ holds the project's next version, loaded by the simulation and the tests.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.models import Company
from convergence.questionnaires.models import Item, Questionnaire, Step, Theme, Track
from convergence.questionnaires.services import ensure_global_responses
from convergence.settings import Settings

MES_TRACK = "mes"
NUMBER_BOUNDS = {"min", "max", "integer", "unit_fr", "unit_en"}
DATE_BOUNDS = {"min", "max"}


def _date_bound(value: Any) -> bool:
    if value == "today":
        return True
    try:
        return isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


def bounds_from_fixture(item: dict[str, Any]) -> dict[str, Any] | None:
    """The item's `bounds`, checked against its type (a mistake in the file stops the load, naming the item)."""
    bounds = item.get("bounds")
    if bounds is None:
        return None
    code, kind = item["code"], item["type"]
    allowed = {"number": NUMBER_BOUNDS, "date": DATE_BOUNDS}.get(kind, set())
    if not isinstance(bounds, dict) or not bounds or set(bounds) - allowed:
        raise ValueError(f"item {code}: bounds of a {kind} item take only {sorted(allowed)}")
    for key in ("min", "max"):
        value = bounds.get(key)
        if value is None:
            continue
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"item {code}: bounds.{key} must be a number")
        if kind == "date" and not _date_bound(value):
            raise ValueError(f'item {code}: bounds.{key} must be "YYYY-MM-DD" (quoted) or today')
    if kind == "number" and "integer" in bounds and not isinstance(bounds["integer"], bool):
        raise ValueError(f"item {code}: bounds.integer must be true or false")
    low, high = bounds.get("min"), bounds.get("max")
    if kind == "number" and low is not None and high is not None and low > high:
        raise ValueError(f"item {code}: bounds.min is above bounds.max")
    return dict(bounds)


async def _update_bounds(session: AsyncSession, questionnaire_id: int, data: dict[str, Any]) -> None:
    """Bounds of an already-loaded questionnaire follow the file (only they: the items stay as answered)."""
    wanted = {item["code"]: bounds_from_fixture(item) for section in data["sections"] for item in section["items"]}
    for row in (await session.scalars(select(Item).where(Item.questionnaire_id == questionnaire_id))).all():
        if row.code in wanted and row.bounds != wanted[row.code]:
            row.bounds = wanted[row.code]


async def _upsert(session: AsyncSession, model: Any, code: str, **values: Any) -> Any:
    row = await session.scalar(select(model).where(model.code == code))
    if row is None:
        row = model(code=code, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    return row


async def _questionnaire(session: AsyncSession, data: dict[str, Any], step_id: int | None, position: int) -> int:
    exists = await session.scalar(select(Questionnaire.id).where(
        Questionnaire.code == data["code"], Questionnaire.version == data["version"]))
    if exists is not None:
        await _update_bounds(session, exists, data)
        return 0
    latest = await session.scalar(select(func.max(Questionnaire.version)).where(
        Questionnaire.code == data["code"]))
    # A version older than one already loaded (a file added late) joins the library without replacing it.
    current = latest is None or data["version"] > latest
    if current:
        await session.execute(update(Questionnaire).where(Questionnaire.code == data["code"]).values(current=False))
    questionnaire = Questionnaire(code=data["code"], version=data["version"], step_id=step_id,
                                  title_fr=data["title_fr"], title_en=data["title_en"], position=position,
                                  current=current)
    session.add(questionnaire)
    await session.flush()
    index = 0
    for section in data["sections"]:
        for item in section["items"]:
            index += 1
            session.add(Item(
                questionnaire_id=questionnaire.id, code=item["code"], position=index, theme=section["theme"],
                type=item["type"], label_fr=item["label_fr"], label_en=item["label_en"],
                help_fr=item.get("help_fr", ""), help_en=item.get("help_en", ""),
                required=bool(item.get("required", True)), scored=bool(item.get("scored", False)),
                score_true=float(item.get("score_true", 100)), score_false=float(item.get("score_false", 0)),
                options=item.get("options", []), enable_when=item.get("enable_when"), faq=item.get("faq", []),
                bounds=bounds_from_fixture(item)))
    return 1


async def load_version(session: AsyncSession, document: dict[str, Any]) -> int:
    """One questionnaire version from a file of its own (its steps and themes already loaded): 1 if added."""
    data = document.get("questionnaire")
    if not isinstance(data, dict) or not isinstance(data.get("version"), int) or not data.get("code"):
        raise ValueError("a version file holds `questionnaire:` with its code and an integer version")
    step_id = None
    if not document.get("global_strategy"):
        step_id = await session.scalar(select(Step.id).where(Step.code == document.get("step")))
        if step_id is None:
            raise ValueError(f"questionnaire {data['code']}: unknown step {document.get('step')!r}")
    position = await session.scalar(select(Questionnaire.position).where(Questionnaire.code == data["code"])
                                    .order_by(Questionnaire.version.desc()).limit(1))
    return await _questionnaire(session, data, step_id, position or 0)


async def load_version_file(session: AsyncSession, path: Path) -> int:
    added = await load_version(session, yaml.safe_load(path.read_text(encoding="utf-8")))
    await session.flush()
    return added


async def load_questionnaires(settings: Settings, session: AsyncSession) -> int:
    path = settings.fixtures_dir / "questionnaires" / "questionnaires.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    added = 0
    for position, theme in enumerate(data["themes"]):
        await _upsert(session, Theme, theme["code"], title_fr=theme["title_fr"], title_en=theme["title_en"],
                      position=position)
    for track_position, track_data in enumerate(data["tracks"]):
        track = await _upsert(session, Track, track_data["code"], title_fr=track_data["title_fr"],
                              title_en=track_data["title_en"], position=track_position)
        for step_data in track_data["steps"]:
            step = await _upsert(session, Step, step_data["code"], track_id=track.id,
                                 position=step_data["position"], title_fr=step_data["title_fr"],
                                 title_en=step_data["title_en"],
                                 requires_commercial_name=track_data["code"] == MES_TRACK)
            for position, questionnaire in enumerate(step_data["questionnaires"]):
                added += await _questionnaire(session, questionnaire, step.id, position)
    for position, questionnaire in enumerate(data.get("global_strategy", [])):
        added += await _questionnaire(session, questionnaire, None, position)
    await session.flush()
    for version_file in sorted((settings.fixtures_dir / "questionnaires" / "versions").glob("*.yaml")):
        added += await load_version_file(session, version_file)
    for company_id in (await session.scalars(select(Company.id))).all():
        await ensure_global_responses(session, company_id)
    return added
