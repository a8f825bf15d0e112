"""The review's query string → a typed Filters object, or a 422 naming the field (no database, no app)."""

from __future__ import annotations

import pytest

from convergence.core.errors import Invalid
from convergence.review.filters import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    STATUSES,
    Filters,
    parse_filters,
    parse_page,
    parse_window,
)


def refused(call, *args) -> Invalid:
    with pytest.raises(Invalid) as caught:
        call(*args)
    assert caught.value.status_code == 422 and caught.value.code == "invalid_filter"
    return caught.value


def test_empty_values_mean_any():
    assert parse_filters({}) == Filters()
    assert parse_filters(dict.fromkeys(("track", "step", "status", "company", "q", "min_maturity",
                                        "max_maturity", "sort"), "  ")) == Filters()


def test_every_filter_is_typed():
    filters = parse_filters({"track": " doctrine ", "step": "3", "status": "submitted", "company": "12",
                             "q": "  Agenda ", "min_maturity": "12,5", "max_maturity": "80", "sort": "-maturity"})
    assert filters == Filters(track="doctrine", step=3, status="submitted", company=12, q="Agenda",
                              min_maturity=12.5, max_maturity=80.0, sort="maturity", descending=True)
    assert filters.track_id is None and parse_filters({"track": "7"}).track_id == 7


def test_the_filters_come_back_as_a_query_string_without_the_defaults():
    assert Filters().query() == {}
    filters = parse_filters({"step": "3", "q": "x", "min_maturity": "12.50", "max_maturity": "80", "sort": "step"})
    assert filters.query() == {"step": "3", "q": "x", "min_maturity": "12.5", "max_maturity": "80", "sort": "step"}
    assert parse_filters({"sort": "-company"}).query() == {"sort": "-company"}
    assert parse_filters(filters.query()) == filters  # a round trip through the links keeps the filters


def test_non_string_values_are_ignored():
    assert parse_filters({"step": 3, "q": ["x"], "status": None}) == Filters()


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_is_accepted(status):
    assert parse_filters({"status": status}).status == status


@pytest.mark.parametrize(("name", "value", "field"), [
    ("step", "-1", "step"), ("step", "1.5", "step"), ("step", "9" * 30, "step"), ("step", "３", "step"),
    ("company", "abc", "company"), ("company", "1 OR 1=1", "company"),
    ("status", "VALIDATED", "status"), ("status", "done", "status"),
    ("track", "t" * 41, "track"),
    ("q", "x" * 201, "q"),
    ("min_maturity", "-0.1", "min_maturity"), ("max_maturity", "100.01", "max_maturity"),
    ("min_maturity", "nan", "min_maturity"), ("max_maturity", "inf", "max_maturity"),
    ("max_maturity", "1e3", "max_maturity"), ("min_maturity", "<script>", "min_maturity"),
    ("sort", "name", "sort"), ("sort", "--company", "sort"), ("sort", "company;drop", "sort"),
])
def test_a_hostile_or_out_of_range_value_is_a_422_on_its_field(name, value, field):
    error = refused(parse_filters, {name: value})
    assert list(error.fields) == [field] and error.message.endswith(".")


def test_the_bounds_are_inclusive():
    assert parse_filters({"min_maturity": "0", "max_maturity": "100"}).max_maturity == 100
    assert parse_filters({"track": "t" * 40, "q": "x" * 200}).q == "x" * 200
    assert parse_filters({"min_maturity": "50", "max_maturity": "50"}).min_maturity == 50


def test_the_minimum_above_the_maximum_is_refused():
    error = refused(parse_filters, {"min_maturity": "60", "max_maturity": "40"})
    assert error.fields == {"min_maturity": "The minimum maturity is above the maximum."}


def test_the_api_window():
    assert parse_window(None, None) == (DEFAULT_LIMIT, 0)
    assert parse_window(" ", "") == (DEFAULT_LIMIT, 0)
    assert parse_window("1", "0") == (1, 0)
    assert parse_window(str(MAX_LIMIT), " 40 ") == (MAX_LIMIT, 40)


@pytest.mark.parametrize(("limit", "offset", "field"), [
    ("0", None, "limit"), (str(MAX_LIMIT + 1), None, "limit"), ("-5", None, "limit"), ("ten", None, "limit"),
    (None, "-1", "offset"), (None, "1.5", "offset"), (None, "9" * 30, "offset"),
])
def test_a_bad_window_is_a_422(limit, offset, field):
    assert list(refused(parse_window, limit, offset).fields) == [field]


def test_the_dashboard_page():
    assert parse_page(None) == 1 and parse_page("") == 1 and parse_page("7") == 7
    for bad in ("0", "-1", "x", "1e3", str(10**9 + 1)):
        assert refused(parse_page, bad).fields == {"page": "The page is a number from 1."}
