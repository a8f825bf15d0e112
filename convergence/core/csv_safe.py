"""Spreadsheet exports that cannot run formulas and that French spreadsheets split correctly.

CSV: UTF-8 with a byte-order mark (so Excel reads accents), `;` between fields (what French spreadsheets expect),
every field quoted (a `;` or a line break inside a value stays in its cell), and every text that begins with
`=`, `+`, `-`, `@`, a tab or a carriage return prefixed with a single quote (OWASP's advice against CSV
injection). XLSX: text is written as typed text cells, never as formulas, whatever it begins with.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

BOM = "\ufeff"
DELIMITER = ";"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text that a spreadsheet would read as a formula gets a leading quote; numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole document, BOM included: `;`-separated, every field quoted, lines ended by CRLF."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=DELIMITER, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet; every text cell is typed as a string (`data_type="s"`) so none can become a formula, and one
    that begins like a formula also gets Excel's quote prefix (it stays text when someone edits the cell)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        written = WriteOnlyCell(sheet, value=value)
        written.data_type = "s"  # openpyxl would otherwise store a text beginning with "=" as a formula
        if value.startswith(FORMULA_PREFIXES):
            written.quotePrefix = True
        return written

    sheet.append([cell(v) for v in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
