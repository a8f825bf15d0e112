"""Pure figures over rows the database already grouped: quartiles, means, maturity bands, status counts, market
averages. No database, no request: unit-tested on plain numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from convergence.review.filters import STATUSES

MIN_COMPANIES = 3  # a market average is shown only when at least this many companies contribute to a theme
BAND_WIDTH = 20  # maturity bands 0-20, 20-40, 40-60, 60-80, 80-100
BANDS = 100 // BAND_WIDTH

Counts = list[tuple[float, int]]  # a sorted multiset of scores as (score, how many) pairs


@dataclass
class ThemeStats:
    theme: str
    title: str
    count: int
    minimum: float = 0
    q1: float = 0
    median: float = 0
    q3: float = 0
    maximum: float = 0
    mean: float = 0
    histogram: list[int] = field(default_factory=list)


def _at(counts: Counts, index: int) -> float:
    """The index-th value (from 0) of the sorted multiset given as (value, how many) pairs."""
    seen = 0
    for value, count in counts:
        seen += count
        if index < seen:
            return value
    return counts[-1][0]


def _quantile(counts: Counts, total: int, q: float) -> float:
    position = (total - 1) * q
    low, high = math.floor(position), math.ceil(position)
    below, above = _at(counts, low), _at(counts, high)
    return round(below + (above - below) * (position - low), 1)


def band(value: float) -> int:
    """The maturity band (0 to BANDS - 1) a score falls in; 100 belongs to the last band."""
    return min(max(int(value // BAND_WIDTH), 0), BANDS - 1)


def theme_stats(theme: str, title: str, counts: Iterable[tuple[float, int]]) -> ThemeStats:
    """Box-plot figures and a 5-bar histogram of a theme's scores, given as (score, how many) pairs: the
    database groups equal scores, so this stays small whatever the number of responses."""
    ordered = sorted((float(value), int(count)) for value, count in counts if count)
    total = sum(count for _, count in ordered)
    if not total:
        return ThemeStats(theme, title, 0, histogram=[0] * BANDS)
    histogram = [0] * BANDS
    for value, count in ordered:
        histogram[band(value)] += count
    mean = sum(value * count for value, count in ordered) / total
    return ThemeStats(theme, title, total, ordered[0][0], _quantile(ordered, total, .25),
                      _quantile(ordered, total, .5), _quantile(ordered, total, .75), ordered[-1][0],
                      round(mean, 1), histogram)


def status_counts(rows: Iterable[tuple[int, int, int]]) -> dict[int, dict[str, int]]:
    """(step id, status rank, how many) rows → per step, how many rows at each status (every status listed)."""
    by_step: dict[int, dict[str, int]] = {}
    for step_id, rank, count in rows:
        by_step.setdefault(step_id, dict.fromkeys(STATUSES, 0))[STATUSES[int(rank)]] += count
    return by_step


def score_counts(rows: Iterable[tuple[str, Any, int]]) -> dict[str, Counts]:
    """(theme, score, how many) rows → per theme, its (score, how many) pairs."""
    values: dict[str, Counts] = {}
    for theme, value, count in rows:
        values.setdefault(theme, []).append((float(value), int(count)))
    return values


def theme_order(known: Iterable[str], found: Iterable[str]) -> list[str]:
    """The reference themes in their order, then the codes found outside the reference list, sorted."""
    codes = list(known)
    return codes + sorted(set(found) - set(codes))


def market_rows(titles: Mapping[str, str], means: Mapping[str, tuple[float | None, int]]) -> list[dict[str, Any]]:
    """Per theme, the market average from its (mean, contributing companies); None below MIN_COMPANIES.
    Every reference theme is listed; a code outside the list only when it has an average."""
    out = []
    for code in theme_order(titles, (k for k, (average, _) in means.items() if average is not None)):
        average, count = means.get(code, (None, 0))
        enough = count >= MIN_COMPANIES and average is not None
        out.append({"theme": code, "title": titles.get(code, code), "enough_data": enough,
                    "market_average": round(float(average), 1) if enough else None})
    return out


def beside_own(market: list[dict[str, Any]], means: Mapping[str, tuple[float | None, int]]) -> list[dict[str, Any]]:
    """The market rows with the vendor's own mean per theme (None where the vendor has no score)."""
    own = {key: float(average) for key, (average, _) in means.items() if average is not None}
    return [{**row, "own_average": round(own[row["theme"]], 1) if row["theme"] in own else None}
            for row in market]
