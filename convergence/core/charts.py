"""Charts drawn on the server: numbers in, the geometry an SVG template draws (readable without JavaScript,
with the same points listed for a table). Knows no domain: the vendors' response page and the review's
drill-down both draw a response's projected maturity with it."""

from __future__ import annotations

from datetime import date
from typing import Any

CHART_W, CHART_H, PAD = 640, 220, 36
GRID = (0, 25, 50, 75, 100)


def chart(points: list[tuple[date, float]]) -> dict[str, Any]:
    """A step line of values from 0 to 100 over dates: each value holds until the next date."""
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def xy(moment: date, value: float) -> tuple[float, float]:
        x = PAD + (moment - first).days / span * (CHART_W - 2 * PAD)
        y = CHART_H - PAD - value / 100 * (CHART_H - 2 * PAD)
        return round(x, 1), round(y, 1)

    coords = [xy(d, m) for d, m in points]
    path: list[str] = []
    for index, (x, y) in enumerate(coords):
        if index:
            path.append(f"{x},{coords[index - 1][1]}")
        path.append(f"{x},{y}")
    return {"width": CHART_W, "height": CHART_H, "pad": PAD, "polyline": " ".join(path),
            "dots": [{"x": x, "y": y, "date": d.isoformat(), "maturity": m}
                     for (x, y), (d, m) in zip(coords, points, strict=True)],
            "gridlines": [{"y": CHART_H - PAD - v / 100 * (CHART_H - 2 * PAD), "label": v} for v in GRID],
            "points": points}
