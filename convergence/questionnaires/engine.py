"""Answer rules, conditions, maturity and projection: pure functions over items and answers.

Functions that depend on the date take `today` (the date in Europe/Paris, see services.local_today).
Sentences are English msgids carried as Phrases: translated and formatted (numbers, dates, units) when shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from convergence.core.errors import Invalid
from convergence.core.formatting import Phrase, local_today
from convergence.core.inputs import TextProblem, clean_text
from convergence.questionnaires.models import Item

INVALID = "invalid_answer"
TEXT_MAX = 5000
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TODAY = "today"
# Beyond what a JSON number keeps exactly (2**53): refused even where an item declares no bounds.
NUMBER_LIMIT = 10**15
PLANNED_YEARS = 10


class InvalidAnswer(Invalid):
    """Invalid(invalid_answer) for one item. Its sentence may have parameters: `message` gives it translated
    and filled in the current language, so the JSON `detail` and the pages show it whole."""

    def __init__(self, item: Item, phrase: Phrase) -> None:
        self.phrase = phrase
        super().__init__(phrase.msgid, code=INVALID, item_id=item.id, item_code=item.code)

    @property  # type: ignore[override]
    def message(self) -> str:
        return str(self.phrase)

    @message.setter
    def message(self, value: str) -> None:
        """DomainError.__init__ assigns the msgid; the phrase already holds it."""


def _fail(item: Item, msgid: str, **params: Any) -> InvalidAnswer:
    return InvalidAnswer(item, Phrase(msgid, params))


def ten_years_after(today: date) -> date:
    try:
        return today.replace(year=today.year + PLANNED_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + PLANNED_YEARS, day=28)


def planned_window(today: date) -> tuple[date, date]:
    """The dates a planned compliance date may take: from tomorrow to ten years from today, inclusive."""
    return today + timedelta(days=1), ten_years_after(today)


# ------------------------------------------------------------------------------------------------ bounds

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound_date(raw: Any, today: date) -> date | None:
    if raw == TODAY:
        return today
    if isinstance(raw, str):
        return date.fromisoformat(raw)
    return raw if isinstance(raw, date) else None


def resolved_bounds(item: Item, today: date) -> dict[str, Any]:
    """The item's bounds made concrete, for inputs (`min`/`max` attributes) and hints.

    number → {"min": number | None, "max": number | None, "integer": bool, "unit_fr": str, "unit_en": str}
    date   → {"min": "YYYY-MM-DD" | None, "max": "YYYY-MM-DD" | None} ("today" resolved to `today`)
    other types → {}
    """
    bounds = item.bounds or {}
    if item.type == "number":
        return {"min": bounds.get("min"), "max": bounds.get("max"), "integer": bool(bounds.get("integer")),
                "unit_fr": bounds.get("unit_fr") or "", "unit_en": bounds.get("unit_en") or ""}
    if item.type == "date":
        low, high = _bound_date(bounds.get("min"), today), _bound_date(bounds.get("max"), today)
        return {"min": low.isoformat() if low else None, "max": high.isoformat() if high else None}
    return {}


def _unit(bounds: dict[str, Any]) -> dict[str, str] | None:
    unit = {"fr": bounds.get("unit_fr") or "", "en": bounds.get("unit_en") or ""}
    return unit if unit["fr"] or unit["en"] else None


def _date_param(raw: Any, today: date) -> Any:
    """A date bound as the reader sees it: "today" stays a word, other bounds are dates."""
    return Phrase("today") if raw == TODAY else _bound_date(raw, today)


def bounds_hint(item: Item, today: date) -> list[Phrase]:
    """Sentences telling what the item accepts ("Between 0 and 720 hours.", "A whole number."); [] if free.
    Each is translated when shown: `{{ phrase }}` in a template, `str(phrase)` in code."""
    bounds = item.bounds or {}
    low, high = bounds.get("min"), bounds.get("max")
    hints: list[Phrase] = []
    if item.type == "number":
        unit = _unit(bounds)
        if low is not None and high is not None:
            hints.append(Phrase("Between %(min)s and %(max)s %(unit)s.", {"min": low, "max": high, "unit": unit})
                         if unit else Phrase("Between %(min)s and %(max)s.", {"min": low, "max": high}))
        elif low is not None:
            hints.append(Phrase("At least %(min)s %(unit)s.", {"min": low, "unit": unit})
                         if unit else Phrase("At least %(min)s.", {"min": low}))
        elif high is not None:
            hints.append(Phrase("At most %(max)s %(unit)s.", {"max": high, "unit": unit})
                         if unit else Phrase("At most %(max)s.", {"max": high}))
        if bounds.get("integer"):
            hints.append(Phrase("A whole number."))
    elif item.type == "date":
        if low is not None and high is not None:
            hints.append(Phrase("A date between %(min)s and %(max)s.",
                                {"min": _date_param(low, today), "max": _date_param(high, today)}))
        elif low is not None:
            hints.append(Phrase("A date from %(min)s.", {"min": _date_param(low, today)}))
        elif high is not None:
            hints.append(Phrase("A date until %(max)s.", {"max": _date_param(high, today)}))
    return hints


def _check_number(item: Item, value: float) -> float:
    bounds = item.bounds or {}
    low, high = bounds.get("min"), bounds.get("max")
    unit = _unit(bounds)
    if low is not None and high is not None and not low <= value <= high:
        if unit:
            raise _fail(item, "This answer must be between %(min)s and %(max)s %(unit)s.", min=low, max=high,
                        unit=unit)
        raise _fail(item, "This answer must be between %(min)s and %(max)s.", min=low, max=high)
    if low is not None and value < low:
        if unit:
            raise _fail(item, "This answer must be at least %(min)s %(unit)s.", min=low, unit=unit)
        raise _fail(item, "This answer must be at least %(min)s.", min=low)
    if high is not None and value > high:
        if unit:
            raise _fail(item, "This answer must be at most %(max)s %(unit)s.", max=high, unit=unit)
        raise _fail(item, "This answer must be at most %(max)s.", max=high)
    if abs(value) > NUMBER_LIMIT:
        raise _fail(item, "This number is too large.")
    if bounds.get("integer"):
        if not float(value).is_integer():
            raise _fail(item, "This answer must be a whole number.")
        return int(value)
    return value


def _check_date(item: Item, value: date, today: date) -> None:
    bounds = item.bounds or {}
    low, high = bounds.get("min"), bounds.get("max")
    too_early = low is not None and value < _bound_date(low, today)  # type: ignore[operator]
    too_late = high is not None and value > _bound_date(high, today)  # type: ignore[operator]
    if not (too_early or too_late):
        return
    if low is not None and high is not None:
        raise _fail(item, "This date must be between %(min)s and %(max)s.", min=_date_param(low, today),
                    max=_date_param(high, today))
    if too_early:
        raise _fail(item, "This date must be on or after %(min)s.", min=_date_param(low, today))
    raise _fail(item, "This date must be on or before %(max)s.", max=_date_param(high, today))


# ------------------------------------------------------------------------------------------------ answers

def coerce(item: Item, value: Any, today: date | None = None) -> Any:
    """The stored form of an answer, or InvalidAnswer (code invalid_answer). None clears the answer.

    Numbers and dates must lie within the item's bounds; an integer item stores an int. `today` resolves the
    "today" date bound: pass it (the date in Europe/Paris); left out, the clock is read.
    """
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
        try:
            if isinstance(value, str):
                return clean_text(value, max_len=TEXT_MAX, multiline=True)
        except TextProblem as exc:
            if not exc.too_long:
                raise _fail(item, exc.message) from None
        raise _fail(item, "This answer must be a text of at most 5,000 characters.")
    if kind == "number":
        # An integer beyond a float (a 401-digit one) is compared exactly, never converted.
        if _is_number(value) and (isinstance(value, int) or math.isfinite(value)):
            return _check_number(item, value)
        raise _fail(item, "This answer must be a number.")
    if kind == "date":
        parsed = _parse_date(value)
        if parsed is None:
            raise _fail(item, "This answer must be a date written YYYY-MM-DD.")
        _check_date(item, parsed, today or local_today())
        return parsed.isoformat()
    raise _fail(item, "This question does not take answers.")


def _parse_date(value: Any) -> date | None:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def coerce_planned(item: Item, value: Any, today: date) -> str | None:
    """A planned compliance date as stored ("YYYY-MM-DD"), or None to clear it ("" too).

    It must be after `today` and at most ten years after it; else InvalidAnswer (invalid_answer, item_id).
    """
    if value is None or value == "":
        return None
    parsed = _parse_date(value)
    if parsed is None:
        raise _fail(item, "A planned date must be written YYYY-MM-DD.")
    first, last = planned_window(today)
    if parsed < first:
        raise _fail(item, "A planned date of compliance must be in the future (after %(today)s).", today=today)
    if parsed > last:
        raise _fail(item, "A planned date of compliance must be within ten years (on or before %(max)s).",
                    max=last)
    return parsed.isoformat()


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
    parsed = _parse_date(raw)
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
