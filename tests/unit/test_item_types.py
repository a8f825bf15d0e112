"""Each item type of the registry: parsed from a form and from JSON, checked against its bounds, scored and
shown as text (no database, no app)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from convergence.core.i18n import current_language, set_language
from convergence.questionnaires import engine
from convergence.questionnaires.item_types import TYPES, InvalidAnswer, from_form, parse, text
from convergence.questionnaires.models import Item

TODAY = date(2026, 11, 30)
OPTIONS = [{"value": "a", "label_en": "Alpha", "label_fr": "Alpha FR", "score": 40},
           {"value": "b", "label_en": "Beta", "label_fr": "Bêta", "score": 70}]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = current_language()
    set_language("en")
    yield
    set_language(before)


def item(kind: str, **extra: Any) -> Item:
    fields: dict[str, Any] = {"id": 7, "code": "q7", "type": kind, "scored": True, "score_true": 100,
                              "score_false": 0, "options": OPTIONS if "choice" in kind else [], "bounds": None}
    return Item(**{**fields, **extra})


def refused(kind: Item, value: Any) -> str:
    with pytest.raises(InvalidAnswer) as caught:
        parse(kind, value, TODAY)
    assert caught.value.code == "invalid_answer" and caught.value.extra["item_id"] == 7
    return caught.value.message


def test_the_registry_holds_the_six_types_with_their_templates():
    assert list(TYPES) == ["boolean", "choice", "multi_choice", "text", "number", "date"]
    assert {t.template for t in TYPES.values()} == {f"questionnaires/items/{n}.html" for n in TYPES}
    assert {n for n, t in TYPES.items() if t.fieldset} == {"boolean", "choice", "multi_choice"}


# (type, extra item fields, form values, parsed value, stored value, score, text)
CASES = [
    ("boolean", {}, ["true"], True, True, 100.0, "Yes"),
    ("boolean", {"score_false": 20}, ["false"], False, False, 20.0, "No"),
    ("choice", {}, ["b"], "b", "b", 70.0, "Beta"),
    ("multi_choice", {}, ["", "b", "a", "b"], ["b", "a", "b"], ["a", "b"], 100.0, "Alpha, Beta"),
    ("multi_choice", {}, ["", "a"], ["a"], ["a"], 40.0, "Alpha"),
    ("text", {"scored": False}, ["  some words "], "  some words ", "some words", None, "some words"),
    ("number", {"scored": False, "bounds": {"unit_en": "hours"}}, ["12,5"], 12.5, 12.5, None, "12.5 hours"),
    ("number", {"scored": False, "bounds": {"integer": True}}, ["3.0"], 3, 3, None, "3"),
    ("date", {"scored": False}, ["2026-01-31"], "2026-01-31", "2026-01-31", None, "31 Jan 2026"),
]


@pytest.mark.parametrize(("kind", "extra", "form", "parsed", "stored", "score", "shown"), CASES)
def test_form_json_score_text(kind, extra, form, parsed, stored, score, shown):
    one = item(kind, **extra)
    assert from_form(one, form) == parsed
    assert parse(one, parsed, TODAY) == stored
    assert engine.score(one, stored) == score
    assert text(one, stored) == shown


@pytest.mark.parametrize("kind", list(TYPES))
def test_an_empty_form_and_null_clear_the_answer(kind):
    one = item(kind)
    assert from_form(one, []) in (None, [])
    assert from_form(one, [""]) in (None, [])
    assert parse(one, None, TODAY) is None
    assert text(one, None) == text(one, "") == text(one, []) == "—"


@pytest.mark.parametrize("kind", ["boolean", "choice", "multi_choice"])
def test_an_unanswered_scored_item_counts_zero(kind):
    assert engine.score(item(kind), None) == 0.0
    assert engine.score(item(kind, scored=False), "a") is None


@pytest.mark.parametrize(("kind", "value", "sentence"), [
    ("boolean", "yes", "This answer must be yes or no (true or false)."),
    ("choice", "c", "This answer must be one of the proposed options."),
    ("multi_choice", ["a", "c"], "This answer must be a list of the proposed options."),
    ("text", "x" * 5001, "This answer must be a text of at most 5,000 characters."),
    ("number", "12", "This answer must be a number."),
    ("number", float("nan"), "This answer must be a number."),
    ("number", 10**16, "This number is too large."),
    ("date", "31/01/2026", "This answer must be a date written YYYY-MM-DD."),
    ("date", "2026-02-30", "This answer must be a date written YYYY-MM-DD."),
    ("rating", 3, "This question does not take answers."),
])
def test_wrong_values_are_refused_with_a_sentence(kind, value, sentence):
    assert refused(item(kind), value) == sentence


def test_a_form_value_the_type_cannot_read_goes_on_to_be_refused():
    assert from_form(item("number"), ["twelve"]) == "twelve"
    assert from_form(item("boolean"), ["maybe"]) == "maybe"


def test_number_bounds():
    hours = item("number", bounds={"min": 0, "max": 720, "unit_en": "hours", "unit_fr": "heures"})
    assert parse(hours, 720, TODAY) == 720
    assert refused(hours, 721) == "This answer must be between 0 and 720 hours."
    assert [str(p) for p in engine.bounds_hint(hours, TODAY)] == ["Between 0 and 720 hours."]
    assert engine.resolved_bounds(hours, TODAY) == {"min": 0, "max": 720, "integer": False,
                                                    "unit_fr": "heures", "unit_en": "hours"}
    whole = item("number", bounds={"min": 1, "integer": True})
    assert refused(whole, 0) == "This answer must be at least 1."
    assert refused(whole, 1.5) == "This answer must be a whole number."
    assert [str(p) for p in engine.bounds_hint(whole, TODAY)] == ["At least 1.", "A whole number."]


def test_date_bounds_with_today():
    past = item("date", bounds={"max": "today"})
    assert parse(past, "2026-11-30", TODAY) == "2026-11-30"
    assert refused(past, "2026-12-01") == "This date must be on or before today."
    assert engine.resolved_bounds(past, TODAY) == {"min": None, "max": "2026-11-30"}
    assert [str(p) for p in engine.bounds_hint(past, TODAY)] == ["A date until today."]


@pytest.mark.parametrize("kind", ["boolean", "choice", "multi_choice", "text"])
def test_types_without_bounds(kind):
    assert engine.resolved_bounds(item(kind), TODAY) == {}
    assert engine.bounds_hint(item(kind), TODAY) == []
