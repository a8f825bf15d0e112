"""Item types, one registry entry each: how an answer is parsed from a form and from JSON (checked against the
item's options and bounds), scored, shown as text, and which template renders the question.

To add a type: one ItemType in TYPES below and its template `templates/questionnaires/items/<type>.html`.
Pure (no database): `engine`, `answers` and the pages call through `TYPES[item.type]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from convergence.core.errors import Invalid
from convergence.core.formatting import Phrase, format_date, format_number, local_today
from convergence.core.i18n import current_language, gettext as _
from convergence.core.inputs import TextProblem, clean_text, parse_decimal
from convergence.questionnaires.models import Item

INVALID = "invalid_answer"
TEXT_MAX = 5000
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TODAY = "today"
# Beyond what a JSON number keeps exactly (2**53): refused even where an item declares no bounds.
NUMBER_LIMIT = 10**15


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


def is_answered(value: Any) -> bool:
    return value is not None and value != "" and value != []


def parse_date(value: Any) -> date | None:
    """A "YYYY-MM-DD" string as a date; None for anything else."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def option_label(option: dict[str, Any]) -> str:
    return option.get(f"label_{current_language()}") or option.get("label_fr") or option["value"]


# ------------------------------------------------------------------------------------------------ bounds

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound_date(raw: Any, today: date) -> date | None:
    if raw == TODAY:
        return today
    if isinstance(raw, str):
        return date.fromisoformat(raw)
    return raw if isinstance(raw, date) else None


def _unit(bounds: dict[str, Any]) -> dict[str, str] | None:
    unit = {"fr": bounds.get("unit_fr") or "", "en": bounds.get("unit_en") or ""}
    return unit if unit["fr"] or unit["en"] else None


def _date_param(raw: Any, today: date) -> Any:
    """A date bound as the reader sees it: "today" stays a word, other bounds are dates."""
    return Phrase("today") if raw == TODAY else _bound_date(raw, today)


def _no_bounds(item: Item, today: date) -> dict[str, Any]:
    return {}


def _no_hint(item: Item, today: date) -> list[Phrase]:
    return []


def _number_bounds(item: Item, today: date) -> dict[str, Any]:
    bounds = item.bounds or {}
    return {"min": bounds.get("min"), "max": bounds.get("max"), "integer": bool(bounds.get("integer")),
            "unit_fr": bounds.get("unit_fr") or "", "unit_en": bounds.get("unit_en") or ""}


def _date_bounds(item: Item, today: date) -> dict[str, Any]:
    bounds = item.bounds or {}
    low, high = _bound_date(bounds.get("min"), today), _bound_date(bounds.get("max"), today)
    return {"min": low.isoformat() if low else None, "max": high.isoformat() if high else None}


def _number_hint(item: Item, today: date) -> list[Phrase]:
    bounds = item.bounds or {}
    low, high = bounds.get("min"), bounds.get("max")
    hints: list[Phrase] = []
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
    return hints


def _date_hint(item: Item, today: date) -> list[Phrase]:
    bounds = item.bounds or {}
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None:
        return [Phrase("A date between %(min)s and %(max)s.",
                       {"min": _date_param(low, today), "max": _date_param(high, today)})]
    if low is not None:
        return [Phrase("A date from %(min)s.", {"min": _date_param(low, today)})]
    if high is not None:
        return [Phrase("A date until %(max)s.", {"max": _date_param(high, today)})]
    return []


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


# ------------------------------------------------------------------------------------------------ parse (JSON)
# value (not None) → the stored form, or InvalidAnswer

def _option_values(item: Item) -> list[str]:
    return [o["value"] for o in item.options or []]


def _boolean(item: Item, value: Any, today: date) -> Any:
    if isinstance(value, bool):
        return value
    raise _fail(item, "This answer must be yes or no (true or false).")


def _choice(item: Item, value: Any, today: date) -> Any:
    if isinstance(value, str) and value in _option_values(item):
        return value
    raise _fail(item, "This answer must be one of the proposed options.")


def _multi_choice(item: Item, value: Any, today: date) -> Any:
    values = _option_values(item)
    if isinstance(value, list) and all(isinstance(v, str) and v in values for v in value):
        return [v for v in values if v in value]  # option order, no duplicates
    raise _fail(item, "This answer must be a list of the proposed options.")


def _text(item: Item, value: Any, today: date) -> Any:
    try:
        if isinstance(value, str):
            return clean_text(value, max_len=TEXT_MAX, multiline=True)
    except TextProblem as exc:
        if not exc.too_long:
            raise _fail(item, exc.message) from None
    raise _fail(item, "This answer must be a text of at most 5,000 characters.")


def _number(item: Item, value: Any, today: date) -> Any:
    # An integer beyond a float (a 401-digit one) is compared exactly, never converted.
    if _is_number(value) and (isinstance(value, int) or math.isfinite(value)):
        return _check_number(item, value)
    raise _fail(item, "This answer must be a number.")


def _date(item: Item, value: Any, today: date) -> Any:
    parsed = parse_date(value)
    if parsed is None:
        raise _fail(item, "This answer must be a date written YYYY-MM-DD.")
    _check_date(item, parsed, today)
    return parsed.isoformat()


# ------------------------------------------------------------------------------------------------ parse (form)
# the form's "value" fields (strings) → what `parse` checks; text it cannot read goes on for `parse` to refuse

def _form_one(values: list[str]) -> Any:
    return values[0] if values and values[0] != "" else None


def _form_boolean(values: list[str]) -> Any:
    value = _form_one(values)
    return {"true": True, "false": False}.get(value, value) if value is not None else None


def _form_multi(values: list[str]) -> Any:
    return [v for v in values if v]


def _form_number(values: list[str]) -> Any:
    value = _form_one(values)
    if value is None:
        return None
    number = parse_decimal(value)
    if number is None:
        return value  # refused by the parser with a clear sentence
    return int(number) if number.is_integer() else number


# ------------------------------------------------------------------------------------------------ score, text
# called with an answered value

def _score_boolean(item: Item, value: Any) -> float | None:
    return float(item.score_true if value else item.score_false)


def _option_scores(item: Item) -> dict[str, float]:
    return {o["value"]: float(o.get("score", 0)) for o in item.options or []}


def _score_choice(item: Item, value: Any) -> float | None:
    return _option_scores(item).get(value, 0.0)


def _score_multi(item: Item, value: Any) -> float | None:
    scores = _option_scores(item)
    return min(100.0, sum(scores.get(v, 0.0) for v in value))


def _not_scored(item: Item, value: Any) -> float | None:
    return None


def _labels(item: Item) -> dict[str, str]:
    return {o["value"]: option_label(o) for o in item.options or []}


def _text_boolean(item: Item, value: Any) -> str:
    return _("Yes") if value else _("No")


def _text_choice(item: Item, value: Any) -> str:
    return str(_labels(item).get(value, value))


def _text_multi(item: Item, value: Any) -> str:
    if not isinstance(value, list):
        return str(value)
    labels = _labels(item)
    return ", ".join(str(labels.get(v, v)) for v in value)


def _text_number(item: Item, value: Any) -> str:
    unit = (item.bounds or {}).get(f"unit_{current_language()}") or ""
    return f"{format_number(value)} {unit}".strip()


def _text_date(item: Item, value: Any) -> str:
    return format_date(value)


def _text_plain(item: Item, value: Any) -> str:
    return str(value)


# ------------------------------------------------------------------------------------------------ registry

@dataclass(frozen=True)
class ItemType:
    name: str
    parse: Callable[[Item, Any, date], Any]  # a JSON value (not None) → the stored value, or InvalidAnswer
    from_form: Callable[[list[str]], Any] = _form_one  # the form's "value" fields → what `parse` checks
    score: Callable[[Item, Any], float | None] = _not_scored  # an answered value → 0-100 (scored items)
    text: Callable[[Item, Any], str] = _text_plain  # an answered value as the reader sees it
    bounds: Callable[[Item, date], dict[str, Any]] = _no_bounds  # bounds made concrete (input min/max, unit)
    hint: Callable[[Item, date], list[Phrase]] = _no_hint  # sentences telling what the item accepts
    fieldset: bool = False  # rendered as a group of inputs under a legend, not one labelled input

    @property
    def template(self) -> str:
        return f"questionnaires/items/{self.name}.html"


TYPES: dict[str, ItemType] = {t.name: t for t in (
    ItemType("boolean", _boolean, from_form=_form_boolean, score=_score_boolean, text=_text_boolean,
             fieldset=True),
    ItemType("choice", _choice, score=_score_choice, text=_text_choice, fieldset=True),
    ItemType("multi_choice", _multi_choice, from_form=_form_multi, score=_score_multi, text=_text_multi,
             fieldset=True),
    ItemType("text", _text),
    ItemType("number", _number, from_form=_form_number, text=_text_number, bounds=_number_bounds,
             hint=_number_hint),
    ItemType("date", _date, text=_text_date, bounds=_date_bounds, hint=_date_hint),
)}


def parse(item: Item, value: Any, today: date | None = None) -> Any:
    """The stored form of an answer, or InvalidAnswer (code invalid_answer). None clears the answer."""
    if value is None:
        return None
    kind = TYPES.get(item.type)
    if kind is None:
        raise _fail(item, "This question does not take answers.")
    return kind.parse(item, value, today or local_today())


def from_form(item: Item, values: list[Any]) -> Any:
    """The form's "value" fields (strings) as the value `parse` checks."""
    kind = TYPES.get(item.type)
    strings = [v for v in values if v is not None]
    return kind.from_form(strings) if kind else _form_one(strings)


def text(item: Item, value: Any) -> str:
    """An answer as the reader sees it: option labels, yes/no, dates; "—" when unanswered."""
    if not is_answered(value):
        return "—"
    kind = TYPES.get(item.type)
    return kind.text(item, value) if kind else str(value)
