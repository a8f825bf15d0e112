"""Answer rules, conditions, maturity and projection: pure functions over items and answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from convergence.core.errors import Invalid
from convergence.questionnaires.models import Item

INVALID = "invalid_answer"


def _fail(item: Item, sentence: str) -> Invalid:
    return Invalid(sentence, code=INVALID, item_id=item.id, item_code=item.code)


def coerce(item: Item, value: Any) -> Any:
    """The stored form of an answer, or Invalid(invalid_answer). None clears the answer."""
    if value is None:
        return None
    kind = item.type
    values = [o["value"] for o in item.options or []]
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise _fail(item, "This answer must be yes or no (true or false).")
    if kind == "choice":
        if isinstance(value, str) and value in values:
            return value
        raise _fail(item, "This answer must be one of the proposed options.")
    if kind == "multi_choice":
        if isinstance(value, list) and all(isinstance(v, str) and v in values for v in value):
            return [v for v in values if v in value]  # option order, no duplicates
        raise _fail(item, "This answer must be a list of the proposed options.")
    if kind == "text":
        if isinstance(value, str) and len(value) <= 5000:
            return value.strip()
        raise _fail(item, "This answer must be a text of at most 5,000 characters.")
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise _fail(item, "This answer must be a number.")
    if kind == "date":
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise _fail(item, "This answer must be a date written YYYY-MM-DD.")
    raise _fail(item, "This question does not take answers.")


def is_answered(value: Any) -> bool:
    return value is not None and value != "" and value != []


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
    if item.type == "boolean":
        return float(item.score_true if value else item.score_false)
    scores = {o["value"]: float(o.get("score", 0)) for o in item.options or []}
    if item.type == "choice":
        return scores.get(value, 0.0)
    if item.type == "multi_choice":
        return min(100.0, sum(scores.get(v, 0.0) for v in value))
    return None


@dataclass
class Evaluation:
    maturity: float
    theme_scores: dict[str, float]
    answered: int
    enabled: int
    missing: list[Item]
    section_progress: dict[str, tuple[int, int]]


def evaluate(items: list[Item], answers: dict[str, Any]) -> Evaluation:
    by_code = {i.code: i for i in items}
    theme_values: dict[str, list[float]] = {}
    progress: dict[str, list[int]] = {}
    missing: list[Item] = []
    answered = enabled = 0
    for item in items:
        if not is_enabled(item, answers, by_code):
            continue
        enabled += 1
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
        answered=answered, enabled=enabled, missing=missing,
        section_progress={t: (c[0], c[1]) for t, c in progress.items()},
    )


def not_compliant(items: list[Item], answers: dict[str, Any]) -> list[Item]:
    """Enabled scored items below 100: the ones a planned compliance date applies to."""
    by_code = {i.code: i for i in items}
    return [i for i in items if i.scored and is_enabled(i, answers, by_code)
            and (score(i, answers.get(str(i.id))) or 0) < 100]


def projection(items: list[Item], answers: dict[str, Any], planned: dict[str, str],
               today: date) -> list[tuple[date, float]]:
    """Maturity today, then at each planned date, assuming each item is compliant from its planned date."""
    by_code = {i.code: i for i in items}
    scored = [i for i in items if i.scored and is_enabled(i, answers, by_code)]
    if not scored:
        return [(today, 0.0)]
    dates = sorted({date.fromisoformat(d) for key, d in planned.items()
                    if any(str(i.id) == key for i in scored) and date.fromisoformat(d) > today})
    points = []
    for moment in [today, *dates]:
        total = 0.0
        for item in scored:
            current = score(item, answers.get(str(item.id))) or 0.0
            plan = planned.get(str(item.id))
            total += 100.0 if plan and date.fromisoformat(plan) <= moment and current < 100 else current
        points.append((moment, round(total / len(scored), 1)))
    if len(points) == 1:
        points.append((today + timedelta(days=30), points[0][1]))
    return points
