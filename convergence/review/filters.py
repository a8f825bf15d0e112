"""The review's query string as a typed, validated object: what the dashboard, the API and the exports filter,
sort and page by. A bad value is a 422 naming its field with a sentence; nothing here reads the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convergence.core.errors import Invalid
from convergence.core.i18n import N_
from convergence.core.inputs import parse_decimal, parse_int
from convergence.questionnaires.models import Status

STATUSES = [s.value for s in Status]  # least advanced first
SORTS = ("company", "product", "step", "status", "maturity", "validated_at")
PAGE_SIZE = 25  # rows per dashboard page
DEFAULT_LIMIT, MAX_LIMIT = 50, 200  # rows per API page
MAX_TRACK, MAX_SEARCH = 40, 200  # characters
MAX_PAGE = 10**9


@dataclass(frozen=True)
class Filters:
    track: str | None = None  # a track's code, or its id as digits
    step: int | None = None
    status: str | None = None  # one of STATUSES
    company: int | None = None
    q: str = ""
    min_maturity: float | None = None
    max_maturity: float | None = None
    sort: str = "company"  # one of SORTS
    descending: bool = False

    @property
    def track_id(self) -> int | None:
        """The track given by its id rather than its code."""
        return parse_int(self.track) if self.track else None

    def query(self) -> dict[str, str]:
        """The filters as query parameters (export links, pager), without the empty ones."""
        values = {"track": self.track, "step": self.step, "status": self.status, "company": self.company,
                  "q": self.q or None, "min_maturity": _number(self.min_maturity),
                  "max_maturity": _number(self.max_maturity),
                  "sort": None if (self.sort, self.descending) == ("company", False)
                  else ("-" if self.descending else "") + self.sort}
        return {key: str(value) for key, value in values.items() if value is not None}


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _int(raw: str, name: str, sentence: str) -> int:
    number = parse_int(raw)
    if number is None:
        raise Invalid(sentence, code="invalid_filter", fields={name: sentence})
    return number


def _maturity(raw: str, name: str) -> float:
    sentence = N_("A maturity bound is a number from 0 to 100.")
    value = parse_decimal(raw)
    if value is None or not 0 <= value <= 100:
        raise Invalid(sentence, code="invalid_filter", fields={name: sentence})
    return value


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse_filters(raw: Mapping[str, Any]) -> Filters:
    """Query-string values (strings, empty meaning "any") → Filters; a bad value is a 422 with a sentence."""
    values: dict[str, Any] = {}
    if track := _text(raw, "track"):
        if len(track) > MAX_TRACK:
            raise Invalid("This track does not exist.", code="invalid_filter",
                          fields={"track": "This track does not exist."})
        values["track"] = track
    if step := _text(raw, "step"):
        values["step"] = _int(step, "step", N_("The step is given by its number."))
    if status := _text(raw, "status"):
        if status not in STATUSES:
            raise Invalid("The status must be not_started, draft, submitted or validated.", code="invalid_filter",
                          fields={"status": "The status must be not_started, draft, submitted or validated."})
        values["status"] = status
    if company := _text(raw, "company"):
        values["company"] = _int(company, "company", N_("The company is given by its number."))
    values["q"] = q = _text(raw, "q")
    if len(q) > MAX_SEARCH:
        raise Invalid("The search text is limited to 200 characters.", code="invalid_filter",
                      fields={"q": "The search text is limited to 200 characters."})
    for bound in ("min_maturity", "max_maturity"):
        if value := _text(raw, bound):
            values[bound] = _maturity(value, bound)
    if values.get("min_maturity") is not None and values.get("max_maturity") is not None \
            and values["min_maturity"] > values["max_maturity"]:
        raise Invalid("The minimum maturity is above the maximum.", code="invalid_filter",
                      fields={"min_maturity": "The minimum maturity is above the maximum."})
    if sort := _text(raw, "sort"):
        key = sort.removeprefix("-")
        if key not in SORTS:
            raise Invalid("Sort by company, product, step, status, maturity or validated_at (with - for "
                          "descending order).", code="invalid_filter",
                          fields={"sort": N_("Sort by company, product, step, status, maturity or validated_at.")})
        values["sort"], values["descending"] = key, sort.startswith("-")
    return Filters(**values)


def parse_window(limit: str | None, offset: str | None) -> tuple[int, int]:
    """The API's `limit` (1 to MAX_LIMIT, DEFAULT_LIMIT when absent) and `offset` (from 0)."""
    size = _int(limit.strip(), "limit", N_("The limit is a number from 1 to 200.")) if limit and limit.strip() \
        else DEFAULT_LIMIT
    if not 1 <= size <= MAX_LIMIT:
        raise Invalid("The limit is a number from 1 to 200.", code="invalid_filter",
                      fields={"limit": "The limit is a number from 1 to 200."})
    start = _int(offset.strip(), "offset", N_("The offset is a whole number.")) if offset and offset.strip() else 0
    return size, start


def parse_page(raw: str | None) -> int:
    """The dashboard's page number, from 1 (1 when absent)."""
    page = parse_int(raw or "1") or 0
    if not 1 <= page <= MAX_PAGE:
        raise Invalid("The page is a number from 1.", code="invalid_filter",
                      fields={"page": "The page is a number from 1."})
    return page
