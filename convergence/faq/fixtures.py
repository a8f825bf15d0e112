"""Loads fixtures/faq/faq.yaml: an upsert by slug (idempotent); votes already given are kept.

Each entry has both question titles, the ANS answer in English (`answer_en`, Markdown) and its French version
(`answer_fr`), with `answer_fr_translated: true` when the French text is the project's translation.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.faq.models import FACETS, PLACE, FaqEntry, FaqTag
from convergence.settings import Settings

TEXT_FIELDS = ("question_fr", "question_en", "answer_en", "answer_fr", "theme")
FLAGS = ("answer_fr_translated",)


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"faq.yaml: {where} must be a list of non-empty strings")
    return list(dict.fromkeys(v.strip() for v in value))


def read_entries(settings: Settings) -> list[dict[str, Any]]:
    """The entries of the YAML file, checked: a malformed file stops the load with a clear message."""
    document = yaml.safe_load((settings.fixtures_dir / "faq" / "faq.yaml").read_text(encoding="utf-8"))
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("faq.yaml: an 'entries' list is required")
    seen: set[str] = set()
    result = []
    for number, raw in enumerate(entries, 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("slug"), str) or not raw["slug"].strip():
            raise ValueError(f"faq.yaml: entry {number} has no slug")
        slug = raw["slug"].strip()
        if slug in seen:
            raise ValueError(f"faq.yaml: slug {slug!r} appears twice")
        seen.add(slug)
        for name in TEXT_FIELDS:
            if not isinstance(raw.get(name), str) or not raw[name].strip():
                raise ValueError(f"faq.yaml: {slug}: {name} is required")
        for name in FLAGS:
            if not isinstance(raw.get(name, False), bool):
                raise ValueError(f"faq.yaml: {slug}: {name} must be true or false")
        facets = raw.get("facets") or {}
        if not isinstance(facets, dict) or set(facets) - set(FACETS):
            raise ValueError(f"faq.yaml: {slug}: facets must only name {', '.join(FACETS)}")
        tags = [(name, value) for name in FACETS for value in _strings(facets.get(name), f"{slug}: {name}")]
        tags += [(PLACE, value) for value in _strings(raw.get("places"), f"{slug}: places")]
        result.append({"slug": slug, **{name: raw[name].strip() for name in TEXT_FIELDS},
                       **{name: raw.get(name, False) for name in FLAGS}, "position": number, "tags": tags})
    return result


async def load_faq(settings: Settings, session: AsyncSession) -> int:
    """Creates the answers that are new, brings the others up to date; returns how many were new."""
    existing = {e.slug: e for e in (await session.scalars(select(FaqEntry))).all()}
    added = 0
    for data in read_entries(settings):
        entry = existing.get(data["slug"])
        if entry is None:
            session.add(FaqEntry(slug=data["slug"], position=data["position"],
                                 **{name: data[name] for name in (*TEXT_FIELDS, *FLAGS)},
                                 tags=[FaqTag(kind=kind, value=value) for kind, value in data["tags"]]))
            added += 1
            continue
        for name in (*TEXT_FIELDS, *FLAGS, "position"):
            if getattr(entry, name) != data[name]:
                setattr(entry, name, data[name])
        if [(t.kind, t.value) for t in entry.tags] != data["tags"]:
            # Remove first: the unit of work would otherwise insert the new rows before deleting the old ones.
            entry.tags.clear()
            await session.flush()
            entry.tags.extend(FaqTag(kind=kind, value=value) for kind, value in data["tags"])
    await session.flush()
    return added
