"""The review's figures over grouped rows: box plots, maturity bands, status counts, market averages
(no database, no app)."""

from __future__ import annotations

import pytest

from convergence.review.statistics import (
    MIN_COMPANIES,
    band,
    beside_own,
    market_rows,
    score_counts,
    status_counts,
    theme_order,
    theme_stats,
)


def test_theme_box_plot_from_grouped_scores_matches_the_plain_figures():
    """The database hands over (score, how many) pairs; quartiles, mean and histogram are those of the
    expanded list of scores (linear interpolation between ranks)."""
    scores = [10, 20, 20, 20, 35.5, 50, 50, 90, 100]
    stats = theme_stats("ins", "INS", [(20, 3), (100, 1), (10, 1), (50, 2), (35.5, 1), (90, 1)])
    assert (stats.count, stats.minimum, stats.maximum) == (9, 10, 100)
    assert (stats.q1, stats.median, stats.q3) == (20, 35.5, 50)
    assert stats.mean == round(sum(scores) / len(scores), 1)
    assert stats.histogram == [1, 4, 2, 0, 2]
    assert theme_stats("ins", "INS", [(42, 2)]).q1 == 42
    # Between ranks: of four scores, the first quartile lies three quarters of the way from the 1st to the 2nd.
    assert theme_stats("x", "X", [(0, 1), (10, 1), (20, 1), (30, 1)]).q1 == 7.5


def test_no_score_gives_an_empty_box():
    for counts in ([], [(50, 0)]):
        stats = theme_stats("psc", "PSC", counts)
        assert (stats.count, stats.median, stats.histogram) == (0, 0, [0, 0, 0, 0, 0])


def test_a_single_score_is_every_figure():
    stats = theme_stats("t", "T", [(64.5, 3)])
    assert {stats.minimum, stats.q1, stats.median, stats.q3, stats.maximum, stats.mean} == {64.5}
    assert stats.histogram == [0, 0, 0, 3, 0]


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (19.9, 0), (20, 1), (39.99, 1), (40, 2), (79.9, 3), (80, 4), (100, 4), (-3, 0), (130, 4),
])
def test_maturity_bands(value, expected):
    assert band(value) == expected


def test_status_counts_list_every_status_of_each_step():
    counts = status_counts([(1, 0, 2), (1, 3, 5), (2, 2, 1)])
    assert counts == {1: {"not_started": 2, "draft": 0, "submitted": 0, "validated": 5},
                      2: {"not_started": 0, "draft": 0, "submitted": 1, "validated": 0}}
    assert status_counts([]) == {}


def test_score_counts_group_by_theme():
    assert score_counts([("ins", 20, 3), ("ins", "50.5", 1), ("psc", 0, 2)]) == {
        "ins": [(20.0, 3), (50.5, 1)], "psc": [(0.0, 2)]}


def test_themes_outside_the_reference_come_last_sorted():
    assert theme_order(["psc", "ins"], ["zz", "ins", "aa"]) == ["psc", "ins", "aa", "zz"]


def test_a_market_average_needs_enough_companies():
    titles = {"ins": "INS", "psc": "PSC"}
    means = {"ins": (62.345, MIN_COMPANIES), "psc": (40.0, MIN_COMPANIES - 1), "extra": (10.0, 9),
             "empty": (None, 0)}
    rows = market_rows(titles, means)
    assert [r["theme"] for r in rows] == ["ins", "psc", "extra"]  # no average: an unknown theme is left out
    assert rows[0] == {"theme": "ins", "title": "INS", "enough_data": True, "market_average": 62.3}
    assert rows[1] == {"theme": "psc", "title": "PSC", "enough_data": False, "market_average": None}
    assert rows[2]["title"] == "extra" and rows[2]["market_average"] == 10.0
    assert market_rows(titles, {}) == [
        {"theme": code, "title": title, "enough_data": False, "market_average": None}
        for code, title in titles.items()]


def test_the_vendors_own_average_beside_the_market():
    market = market_rows({"ins": "INS", "psc": "PSC"}, {"ins": (50.0, 5)})
    rows = beside_own(market, {"ins": (33.333, 1), "psc": (None, 0)})
    assert [(r["theme"], r["market_average"], r["own_average"]) for r in rows] == [
        ("ins", 50.0, 33.3), ("psc", None, None)]
