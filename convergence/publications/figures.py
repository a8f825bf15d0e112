"""The snapshot's figures, from rows the database already grouped: per step and theme, how many products and
companies, the mean, quartiles and extremes and the distribution over maturity bands (review.statistics does
the arithmetic, as on the review dashboard), and the suppression of every cell fewer than MIN_COMPANIES companies
stand behind. Pure: no database, no request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from convergence.review.statistics import BAND_WIDTH, BANDS, theme_stats

FORMAT = "convergence-publication/1"
# A cell (a step's theme) is published only when at least this many companies stand behind it: below, a
# figure could be traced back to a company (the statistical secret's usual threshold).
MIN_COMPANIES = 5
BAND_LABELS = [f"{low}–{low + BAND_WIDTH}" for low in range(0, BANDS * BAND_WIDTH, BAND_WIDTH)]

Key = tuple[int, str]  # (step id, theme code)


def cell(products: int, companies: int, counts: Iterable[tuple[float, int]]) -> dict[str, Any]:
    """One published cell; only `suppressed` when too few companies stand behind it (not even their number)."""
    if companies < MIN_COMPANIES:
        return {"suppressed": True}
    stats = theme_stats("", "", counts)
    return {"suppressed": False, "products": products, "companies": companies, "mean": stats.mean,
            "minimum": stats.minimum, "q1": stats.q1, "median": stats.median, "q3": stats.q3,
            "maximum": stats.maximum, "histogram": stats.histogram}


def snapshot(steps: Iterable[Any], themes: Iterable[Any], step_totals: Mapping[int, tuple[int, int]],
             step_scores: Mapping[int, list[tuple[float, int]]], theme_totals: Mapping[Key, tuple[int, int]],
             theme_scores: Mapping[Key, list[tuple[float, int]]]) -> dict[str, Any]:
    """The stored figures. `steps` (with their track) and `themes` in reference order; `*_totals`: (products,
    companies); `*_scores`: (score, how many products) pairs. Steps with no validated product are left out; a
    theme with no score in a step is left out of that step."""
    themes = list(themes)
    out = []
    for step in steps:
        if step.id not in step_totals:
            continue
        products, companies = step_totals[step.id]
        cells = []
        for theme in themes:
            if (step.id, theme.code) in theme_totals:
                cells.append({"code": theme.code, "title_fr": theme.title_fr, "title_en": theme.title_en,
                              **cell(*theme_totals[(step.id, theme.code)], theme_scores.get((step.id, theme.code),
                                                                                            []))})
        out.append({"code": step.code, "title_fr": step.title_fr, "title_en": step.title_en,
                    "position": step.position,
                    "track": {"code": step.track.code, "title_fr": step.track.title_fr,
                              "title_en": step.track.title_en},
                    "maturity": cell(products, companies, step_scores.get(step.id, [])), "themes": cells})
    return {"format": FORMAT, "min_companies": MIN_COMPANIES, "band_labels": BAND_LABELS, "steps": out}
