"""The review's CSV export on PostgreSQL: each line written by the database, read a batch at a time.

The streamed export (exports.csv_chunks) builds a Python object per row and formats it with the csv module; at
20,000 rows that is most of its time. Here the database writes the very bytes of csv_chunks: the same cells
(views.review_row, exports.export_values), formula neutralisation (core.csv_safe.safe_cell), quoting (every field
quoted, quotes doubled), `;` between fields; the app only joins the lines with CRLF. tests/test_review_scale.py
compares the two documents byte for byte on the same rows. SQLite keeps the streamed export.

Why not COPY … TO STDOUT: asyncpg reads COPY's output as fast as the server sends it, whatever the client takes,
so a slow download held the whole file in memory (tests/test_review.py's memory test failed: 2 MB at 5,000 rows
for 0.8 MB at 1,000). A server-side cursor read in batches keeps memory flat; the lines are one text column, so
the per-row cost left in Python is small.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal

from convergence.core.csv_safe import FORMULA_PREFIXES, safe_cell
from convergence.products.models import OS
from convergence.review.filters import STATUSES, Filters
from convergence.review.queries import ReviewQueries

# The characters Python's str.split() and str.strip() take for whitespace (compose_name normalises names with
# them): a regular expression class, so that the database normalises exactly as the app does.
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                 "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")  # tests check it is str.isspace()
_WS_CLASS = "[" + PY_WHITESPACE + "]"
_NORMAL = f"^[^{PY_WHITESPACE}]+( [^{PY_WHITESPACE}]+)*$"  # words separated by single spaces


def _text(value: ColumnElement[Any]) -> ColumnElement[str]:
    return cast(value, String)


def _safe(value: ColumnElement[Any]) -> ColumnElement[str]:
    """core.csv_safe.safe_cell in SQL: a text beginning like a formula gets a leading quote."""
    return case((func.left(value, 1).in_([literal(p, String) for p in FORMULA_PREFIXES]), literal("'") + value),
                else_=value)


def _quoted(value: ColumnElement[Any]) -> ColumnElement[str]:
    """A field as csv.QUOTE_ALL writes it: in double quotes, the quotes inside doubled."""
    return literal('"') + func.replace(value, literal('"'), literal('""')) + literal('"')


def _spaced(value: ColumnElement[Any]) -> ColumnElement[str]:
    """Every whitespace character as a plain space."""
    others = PY_WHITESPACE.replace(" ", "")
    return func.translate(func.coalesce(value, ""), literal(others), literal(" " * len(others)))


def _collapsed(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`" ".join(value.split())`: runs of whitespace as one space, none at either end. Most names are already
    so, which one match tells cheaply (translate over these 30 characters costs several µs a row)."""
    spaced = _spaced(value)
    single = func.btrim(func.regexp_replace(spaced, literal(" {2,}"), literal(" "), literal("g")), literal(" "))
    return case((value.regexp_match(_NORMAL), value), else_=single)


def _stripped(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`value.strip()` (Python's whitespace), the whitespace inside kept as it is."""
    return func.regexp_replace(func.coalesce(value, ""), literal(f"^{_WS_CLASS}+|{_WS_CLASS}+$"), literal(""),
                               literal("g"))


def _display_name(columns: Mapping[str, Any]) -> ColumnElement[str]:
    """products.models.compose_name: name, OS (the free text when "Other"), device, the empty ones left out."""
    os_label = case((columns["os"] == OS.OTHER, _stripped(columns["os_other"])), else_=columns["os"])
    return func.concat_ws(literal(" "), func.nullif(_collapsed(columns["name"]), ""), func.nullif(os_label, ""),
                          func.nullif(columns["device"], ""))


def _maturity(value: ColumnElement[Any], comma: bool) -> ColumnElement[str]:
    """repr(float(value)) (always a decimal part: "80.0"), with the French decimal comma; maturities are 0 to 100
    with one decimal, where PostgreSQL's shortest float text is Python's repr."""
    number = func.coalesce(value, 0.0)
    text = case((number == func.trunc(number), _text(func.trunc(number)) + literal(".0")),
                else_=_text(number))
    return func.replace(text, literal("."), literal(",")) if comma else text


def _iso(value: ColumnElement[Any]) -> ColumnElement[str]:
    """datetime.isoformat() of a UTC time: microseconds only when there are some, "+00:00"."""
    utc = func.timezone(literal("UTC"), value)
    micro = func.to_char(utc, literal("US"))
    return func.coalesce(func.to_char(utc, literal('YYYY-MM-DD"T"HH24:MI:SS'))
                         + case((micro == literal("000000"), literal("")), else_=literal(".") + micro)
                         + literal("+00:00"), literal(""))


def _field(value: Any) -> str:
    """A cell the app knows beforehand, written as csv_chunks writes it (neutralised, quoted)."""
    return '"' + str(safe_cell(value)).replace('"', '""') + '"'


def _plain(value: ColumnElement[Any]) -> ColumnElement[str]:
    """A cell that cannot begin like a formula nor hold a quote (digits, dates): only the quotes around it."""
    return literal('"') + _text(value) + literal('"')


def line_statement(queries: ReviewQueries, filters: Filters, language: str, labels: Mapping[str, str]) -> Any:
    """The filtered rows in the export's order, each as its CSV line (without the line end). What the app knows
    (the status and its label) is written here once; only the texts of the rows are neutralised and quoted by
    the database."""
    statement, columns = queries.filtered(filters)
    rank = columns["rank"]
    status = case(*((rank == index, literal(_field(code) + ";" + _field(labels[code])))
                    for index, code in enumerate(STATUSES)),
                  else_=literal(_field(STATUSES[0]) + ";" + _field(labels[STATUSES[0]])))
    step = columns["step_title_en"] if language == "en" else columns["step_title_fr"]
    cells = [
        _plain(columns["product_id"]), _plain(columns["company_id"]), _quoted(_safe(columns["company_name"])),
        _quoted(_safe(_display_name(columns))), _plain(columns["step_id"]), _quoted(_safe(step)), status,
        _plain(_maturity(columns["maturity"], language == "fr")), _plain(_iso(columns["validated_at"])),
    ]
    line = cells[0]
    for cell in cells[1:]:
        line = line + literal(";") + cell
    ordered = queries._ordered(statement, columns, filters)
    return ordered.with_only_columns(line.label("line"), maintain_column_froms=True)


async def csv_lines(queries: ReviewQueries, statement: Any, batch: int) -> AsyncIterator[bytes]:
    """The statement's lines, `batch` at a time from a server-side cursor (as ReviewQueries.stream_rows reads
    the rows), each batch as one chunk of CSV bytes."""
    async for lines in queries.stream_scalars(statement, batch):
        yield ("\r\n".join(lines) + "\r\n").encode("utf-8")
