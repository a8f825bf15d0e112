"""Answer rules, conditions, maturity and projection: pure functions over items and answers.

Functions that depend on the date take `today` (the date in Europe/Paris, see services.local_today).
Sentences are English msgids carried as Phrases: translated and formatted (numbers, dates, units) when shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from convergence.core.formatting import Phrase
from convergence.questionnaires import item_types
from convergence.questionnaires.item_types import InvalidAnswer, is_answered, parse_date  # noqa: F401 (re-exported)
from convergence.questionnaires.models import Item

PLANNED_YEARS = 10


def ten_years_after(today: date) -> date:
    try:
        return today.replace(year=today.year + PLANNED_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + PLANNED_YEARS, day=28)


def planned_window(today: date) -> tuple[date, date]:
    """The dates a planned compliance date may take: from tomorrow to ten years from today, inclusive."""
    return today + timedelta(days=1), ten_years_after(today)


# ------------------------------------------------------------------------------------------------ answers
# Each item type's rules live in item_types.TYPES; these are the entry points the rest of the code calls.

def resolved_bounds(item: Item, today: date) -> dict[str, Any]:
    """The item's bounds made concrete, for inputs (`min`/`max` attributes) and hints.

    number → {"min": number | None, "max": number | None, "integer": bool, "unit_fr": str, "unit_en": str}
    date   → {"min": "YYYY-MM-DD" | None, "max": "YYYY-MM-DD" | None} ("today" resolved to `today`)
    other types → {}
    """
    kind = item_types.TYPES.get(item.type)
    return kind.bounds(item, today) if kind else {}


def bounds_hint(item: Item, today: date) -> list[Phrase]:
    """Sentences telling what the item accepts ("Between 0 and 720 hours.", "A whole number."); [] if free.
    Each is translated when shown: `{{ phrase }}` in a template, `str(phrase)` in code."""
    kind = item_types.TYPES.get(item.type)
    return kind.hint(item, today) if kind else []


def coerce(item: Item, value: Any, today: date | None = None) -> Any:
    """The stored form of an answer, or InvalidAnswer (code invalid_answer). None clears the answer.

    Numbers and dates must lie within the item's bounds; an integer item stores an int. `today` resolves the
    "today" date bound: pass it (the date in Europe/Paris); left out, the clock is read.
    """
    return item_types.parse(item, value, today)


def coerce_planned(item: Item, value: Any, today: date) -> str | None:
    """A planned compliance date as stored ("YYYY-MM-DD"), or None to clear it ("" too).

    It must be after `today` and at most ten years after it; else InvalidAnswer (invalid_answer, item_id).
    """
    if value is None or value == "":
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise InvalidAnswer(item, Phrase("A planned date must be written YYYY-MM-DD."))
    first, last = planned_window(today)
    if parsed < first:
        raise InvalidAnswer(item, Phrase("A planned date of compliance must be in the future (after %(today)s).",
                                         {"today": today}))
    if parsed > last:
        raise InvalidAnswer(item, Phrase("A planned date of compliance must be within ten years (on or before "
                                         "%(max)s).", {"max": last}))
    return parsed.isoformat()


def is_enabled(item: Item, answers: dict[str, Any], by_code: dict[str, Item]) -> bool:
    condition = item.enable_when
    if not condition:
        return True
    source = by_code.get(condition.get("item", ""))
    if source is None or not is_enabled(source, answers, by_code):
        return False
    value = answers.get(str(source.id))
    if "equals" in condition:
        return value == condition["equals"]
    if "in" in condition:
        return value in condition["in"]
    return is_answered(value)


def score(item: Item, value: Any) -> float | None:
    """0-100 for a scored item (unanswered counts as 0: not yet compliant); None for unscored items."""
    if not item.scored:
        return None
    if not is_answered(value):
        return 0.0
    kind = item_types.TYPES.get(item.type)
    return kind.score(item, value) if kind else None


@dataclass
class Evaluation:
    maturity: float
    theme_scores: dict[str, float]
    answered: int
    enabled: int
    required: int  # enabled required items: what a submission needs
    missing: list[Item]
    section_progress: dict[str, tuple[int, int]]


def evaluate(items: list[Item], answers: dict[str, Any]) -> Evaluation:
    by_code = {i.code: i for i in items}
    theme_values: dict[str, list[float]] = {}
    progress: dict[str, list[int]] = {}
    missing: list[Item] = []
    answered = enabled = required = 0
    for item in items:
        if not is_enabled(item, answers, by_code):
            continue
        enabled += 1
        required += item.required
        value = answers.get(str(item.id))
        done = is_answered(value)
        answered += done
        counts = progress.setdefault(item.theme, [0, 0])
        counts[0] += done
        counts[1] += 1
        if item.required and not done:
            missing.append(item)
        item_score = score(item, value)
        if item_score is not None:
            theme_values.setdefault(item.theme, []).append(item_score)
    all_scores = [s for values in theme_values.values() for s in values]
    return Evaluation(
        maturity=round(sum(all_scores) / len(all_scores), 1) if all_scores else 0.0,
        theme_scores={t: round(sum(v) / len(v), 1) for t, v in theme_values.items()},
        answered=answered, enabled=enabled, required=required, missing=missing,
        section_progress={t: (c[0], c[1]) for t, c in progress.items()},
    )


def not_compliant(items: list[Item], answers: dict[str, Any]) -> list[Item]:
    """Enabled scored items below 100: the ones a planned compliance date applies to."""
    by_code = {i.code: i for i in items}
    return [i for i in items if i.scored and is_enabled(i, answers, by_code)
            and (score(i, answers.get(str(i.id))) or 0) < 100]


def _future_plan(raw: Any, today: date) -> date | None:
    """A stored planned date that still lies ahead; a past one (overdue) or a malformed one counts for nothing."""
    parsed = parse_date(raw)
    return parsed if parsed is not None and parsed > today else None


def projection(items: list[Item], answers: dict[str, Any], planned: dict[str, str],
               today: date) -> list[tuple[date, float]]:
    """Maturity today, then at each planned date, assuming each item is compliant from its planned date.

    Only dates after today count: a planned date already past is overdue, it never raises the maturity.
    """
    by_code = {i.code: i for i in items}
    scored = [i for i in items if i.scored and is_enabled(i, answers, by_code)]
    if not scored:
        return [(today, 0.0)]
    plans = {str(i.id): plan for i in scored if (plan := _future_plan(planned.get(str(i.id)), today))}
    points = []
    for moment in [today, *sorted(set(plans.values()))]:
        total = 0.0
        for item in scored:
            current = score(item, answers.get(str(item.id))) or 0.0
            plan = plans.get(str(item.id))
            total += 100.0 if plan and plan <= moment and current < 100 else current
        points.append((moment, round(total / len(scored), 1)))
    if len(points) == 1:
        points.append((today + timedelta(days=30), points[0][1]))
    return points
