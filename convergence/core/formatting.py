"""Values as a person reads them: numbers, percentages, dates and times in the current language (Babel),
times in Europe/Paris. Every function is also a Jinja filter (see FILTERS, registered in app.py).

Contract for templates: `x|number`, `x|percent` (0-100 scale), `x|maturity(status)`, `x|datetime`, `x|time`,
`x|date`. None (and a maturity of a response not started) is written "—".
Long texts stored as Markdown (the CGU, the FAQ answers) are shown with `text|markdown` (`|markdown(shift=1)`
moves headings one level down, under the page's own h1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.dates import get_timezone_location
from babel.numbers import format_decimal, format_percent as babel_percent, format_scientific
from markdown_it import MarkdownIt
from markupsafe import Markup

from convergence.core.i18n import current_language, gettext

DEFAULT_TZ = "Europe/Paris"
EMPTY = "—"
NOT_STARTED = "not_started"
# Babel's decimal arithmetic (28 digits) cannot quantize larger numbers: they are written 1E300.
_SCIENTIFIC_FROM = 1e18

_DATE_PATTERN = "d MMM y"  # fr: 30 nov. 2026, en: 30 Nov 2026
_MONTH_PATTERN = "MMM y"  # fr: nov. 2026, en: Nov 2026
_DATETIME_PATTERNS = {"fr": "d MMM y 'à' HH:mm", "en": "d MMM y, HH:mm"}
_TIME_PATTERN = "HH:mm"
# Babel names the zone by country ("heure : France"); people say "Paris time". Keyed by language, not gettext,
# so that an explicit `lang=` is honoured.
_PARIS_TIME = {"fr": "heure de Paris", "en": "Paris time"}


def local_today() -> date:
    """Today where the platform's users are: a planned date or a date bound is judged in Paris, not in UTC."""
    return datetime.now(ZoneInfo(DEFAULT_TZ)).date()


def _locale(lang: str | None) -> str:
    return lang or current_language()


def _zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    return ZoneInfo(tz or DEFAULT_TZ)


def _as_number(value: Any) -> float | int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_datetime(value: Any) -> datetime | None:
    """An aware datetime; a naive one (or an ISO string without offset) is taken as UTC, as the database stores."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def format_number(value: Any, lang: str | None = None) -> str:
    """76.7 → "76,7" (fr) / "76.7" (en); 1000000 → "1 000 000" / "1,000,000"; at most three decimals."""
    number = _as_number(value)
    if number is None:
        return EMPTY
    locale = _locale(lang)
    if math.isfinite(number) and abs(number) >= _SCIENTIFIC_FROM:
        return format_scientific(number, locale=locale)
    return format_decimal(number, locale=locale)


def format_percent(value: Any, lang: str | None = None) -> str:
    """A value on a 0-100 scale, one decimal at most: 76.7 → "76,7 %" (fr, no-break space) / "76.7%" (en)."""
    number = _as_number(value)
    if number is None or not math.isfinite(number):
        return EMPTY
    return _percent(round(number, 1), _locale(lang))


# Babel builds each text from the locale's patterns at every call; pages write the same few values many times
# (a chart's axis, a table's maturities), so the texts are kept. Pure functions of hashable arguments.
@lru_cache(maxsize=4096)
def _percent(number: float, locale: str) -> str:
    # Through Decimal: 57.2 / 100 is 0.5720000000000001 in binary, which Babel would print whole.
    return babel_percent(Decimal(repr(number)) / 100, locale=locale, decimal_quantization=False)


@lru_cache(maxsize=4096)
def _date(value: date, pattern: str, locale: str) -> str:
    return babel_date(value, pattern, locale=locale)


def format_maturity(value: Any, status: Any = None, lang: str | None = None) -> str:
    """A maturity as a percentage; "—" when there is none yet or the response is not started."""
    status = getattr(status, "value", status)  # a Status enum or its value
    if value is None or status == NOT_STARTED:
        return EMPTY
    return format_percent(value, lang)


def _zone_label(zone: ZoneInfo, locale: str) -> str:
    if zone.key == DEFAULT_TZ:
        return _PARIS_TIME.get(locale, _PARIS_TIME["en"])
    return get_timezone_location(zone, locale=locale)  # "heure : États-Unis (New York)"


def format_datetime(value: Any, tz: str | ZoneInfo | None = None, *, zone: bool = True,
                    lang: str | None = None) -> str:
    """A moment in local time with its zone: "30 nov. 2026 à 14:02 (heure de Paris)" / "30 Nov 2026, 14:02
    (Paris time)". `zone=False` leaves the zone out where the page already says it."""
    moment = _as_datetime(value)
    if moment is None:
        return EMPTY
    locale = _locale(lang)
    where = _zone(tz)
    text = babel_datetime(moment, _DATETIME_PATTERNS.get(locale, _DATETIME_PATTERNS["en"]), tzinfo=where,
                          locale=locale)
    return f"{text} ({_zone_label(where, locale)})" if zone else text


def format_time(value: Any, tz: str | ZoneInfo | None = None, lang: str | None = None) -> str:
    """The local time of a moment, 24-hour: "14:02"."""
    moment = _as_datetime(value)
    if moment is None:
        return EMPTY
    return babel_datetime(moment, _TIME_PATTERN, tzinfo=_zone(tz), locale=_locale(lang))


def format_date(value: Any, tz: str | ZoneInfo | None = None, lang: str | None = None, *,
                month: bool = False) -> str:
    """A calendar date: "30 nov. 2026" / "30 Nov 2026" (`month=True`: "nov. 2026", for chart axes).
    A datetime is first brought to local time."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    elif isinstance(value, str) or isinstance(value, datetime):
        moment = _as_datetime(value)
        assert moment is not None
        value = moment.astimezone(_zone(tz)).date()
    return _date(value, _MONTH_PATTERN if month else _DATE_PATTERN, _locale(lang))


def format_value(value: Any) -> str:
    """A message parameter as the reader expects it: numbers and dates by locale, {"fr": …, "en": …} by
    language, a Phrase translated; anything else as text."""
    if isinstance(value, Phrase):
        return str(value)
    if isinstance(value, Mapping) and set(value) <= {"fr", "en"}:
        return str(value.get(current_language()) or value.get("fr") or "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, date):
        return format_date(value)
    return str(value)


@dataclass(frozen=True)
class Phrase:
    """An English msgid and its parameters, translated and formatted in the current language only when shown
    (`str(phrase)`, or `{{ phrase }}` in a template). Lets pure code (the answer rules) build sentences."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return gettext(self.msgid, **{name: format_value(v) for name, v in self.params.items()})


# CommonMark with raw HTML turned off: a `<script>` or `<img onerror>` in a text is written out as text, never
# interpreted. Links are kept (markdown-it refuses javascript:, vbscript:, file: and non-image data: URLs). The
# output has no style attribute and no script, so the Content-Security-Policy needs nothing more.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_HEADINGS = ("heading_open", "heading_close")


def render_markdown(text: Any, shift: int = 0) -> Markup:
    """A Markdown text as safe HTML; `shift` moves every heading down that many levels (h6 at most)."""
    if text is None or text == "":
        return Markup("")
    env: dict[str, Any] = {}
    tokens = _MARKDOWN.parse(str(text), env)
    if shift:
        for token in tokens:
            if token.type in _HEADINGS:
                token.tag = f"h{min(6, max(1, int(token.tag[1:]) + shift))}"
    return Markup(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, env))


def markdown_text(text: Any) -> str:
    """The words of a Markdown text without its marks, on one line (excerpts): blocks and list items are joined
    by a space."""
    parts: list[str] = []
    for token in _MARKDOWN.parse(str(text or "")):
        if token.type == "inline":
            parts.extend(child.content if child.type in ("text", "code_inline") else " "
                         for child in token.children or () if child.type in ("text", "code_inline", "softbreak",
                                                                              "hardbreak"))
            parts.append(" ")
        elif token.type in ("code_block", "fence"):
            parts.extend((token.content, " "))
    return " ".join("".join(parts).split())


FILTERS = {
    "number": format_number,
    "percent": format_percent,
    "maturity": format_maturity,
    "datetime": format_datetime,
    "time": format_time,
    "date": format_date,
    "markdown": render_markdown,
}
