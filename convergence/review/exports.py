"""The dashboard's rows as a spreadsheet: CSV (`;`, BOM, every field quoted) or XLSX, formulas defused by
core.csv_safe; the status both as its code and as a label, the maturity with the language's decimal mark.

Both are written as a stream of chunks from batches of rows (`csv_chunks`, `xlsx_chunks`): what is held in
memory is one batch and the compressor's window, whatever the number of rows. `csv_export` and `xlsx_export`
build the same documents at once from a list (small exports, and the reference the tests compare the streams to).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

from convergence.core.csv_safe import DELIMITER, FORMULA_PREFIXES, csv_text, safe_cell, xlsx_bytes
from convergence.core.i18n import gettext as _
from convergence.products.models import compose_name
from convergence.review.filters import STATUSES
from convergence.review.schemas import ReviewRowOut

EXPORT_COLUMNS = ("product_id", "company_id", "company_name", "display_name", "step_id", "step", "status",
                  "status_label", "maturity", "validated_at")
MATURITY_COLUMN = EXPORT_COLUMNS.index("maturity")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "review"


def status_label(status: str) -> str:
    """A status code as its label in the request language ("Validé" / "Validated"), as the pages' tags show it."""
    return _(status.replace("_", " ").capitalize())


def _decimal(value: Any, comma: bool) -> Any:
    """A number as text with the decimal mark French spreadsheets read ("87,5"), or the dot in English."""
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if comma else text
    return value


def export_values(row: ReviewRowOut, labels: dict[str, str] | None = None) -> list[Any]:
    """One row's cells; `labels` (status → label) spares a catalogue look-up per row in a long export."""
    label = labels[row.status] if labels is not None else status_label(row.status)
    return [row.product_id, row.company_id, row.company_name, row.display_name, row.step_id, row.step,
            row.status, label, row.maturity, row.validated_at or ""]


def _csv_values(row: ReviewRowOut, comma: bool) -> list[Any]:
    return [_decimal(v, comma) if i == MATURITY_COLUMN else v for i, v in enumerate(export_values(row))]


def csv_export(rows: Iterable[ReviewRowOut], language: str) -> str:
    comma = language == "fr"
    return csv_text(EXPORT_COLUMNS, [_csv_values(row, comma) for row in rows])


def xlsx_export(rows: Iterable[ReviewRowOut]) -> bytes:
    return xlsx_bytes(SHEET_TITLE, EXPORT_COLUMNS, [export_values(row) for row in rows])


# ------------------------------------------------------------------------------------------------ CSV stream

async def csv_chunks(batches: AsyncIterable[Sequence[Any]], language: str) -> AsyncIterator[bytes]:
    """The CSV document of `csv_export`, byte for byte, as one encoded chunk per batch of the rows of
    ReviewQueries.rows / stream_rows.

    The rows are written as they come from the database, by position, without building the ReviewRowOut of each
    (views.review_row), which was most of the export's time on SQLite: the cells are those of export_values, only
    the texts neutralised (core.csv_safe.safe_cell), the status and its label written once per status.

    The BOM and the header go first, before the first row is read: the download starts at once (the status line
    is sent before the body either way, so an error later could not become an error answer anyway)."""
    comma = language == "fr"
    statuses = [(code, status_label(code)) for code in STATUSES]
    step_title = "step_title_en" if language == "en" else "step_title_fr"
    yield csv_text(EXPORT_COLUMNS, []).encode("utf-8")
    out = io.StringIO()
    # The same dialect as core.csv_safe.csv_text: `;`, every field quoted, CRLF.
    writer = csv.writer(out, delimiter=DELIMITER, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    keys = ("product_id", "company_id", "company_name", "name", "os", "os_other", "device", "step_id", step_title,
            "rank", "maturity", "validated_at")
    positions: tuple[int, ...] | None = None
    async for rows in batches:
        if not rows:
            continue
        if positions is None:  # every batch has the columns of the first
            positions = tuple(rows[0]._fields.index(key) for key in keys)
        product, company, company_name, name, os, os_other, device, step, title, rank, maturity, validated = positions
        lines = []
        for row in rows:
            code, label = statuses[int(row[rank])]
            moment = row[validated]
            lines.append((row[product], row[company], _text_cell(row[company_name]),
                          _text_cell(compose_name(row[name], row[os], row[os_other], row[device])), row[step],
                          _text_cell(row[title]), code, label, _decimal(float(row[maturity] or 0), comma),
                          moment.isoformat() if moment else ""))
        writer.writerows(lines)
        chunk = out.getvalue()
        out.seek(0)
        out.truncate()
        yield chunk.encode("utf-8")


def _text_cell(value: str | None) -> str:
    return "" if value is None else safe_cell(value)


async def csv_lines_chunks(lines: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The CSV document of `csv_chunks` from rows the database already wrote as CSV lines (csv_sql.py): the
    BOM and the header first, then the lines as they come."""
    yield csv_text(EXPORT_COLUMNS, []).encode("utf-8")
    async for chunk in lines:
        yield chunk



# ------------------------------------------------------------------------------------------------ XLSX stream
#
# openpyxl cannot stream: even in write-only mode it keeps every distinct text in the shared-strings table and
# writes the zip at `save()`. The workbook is therefore written here, part by part, into a zip whose output is a
# pipe the generator empties after each batch: text cells are inline strings (no shared table to hold), and
# zipfile, given an unseekable output, follows each entry with a data descriptor instead of seeking back to its
# header. Only the sheet grows with the rows; the other parts are the smallest a spreadsheet opens.

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_PART = "xl/worksheets/sheet1.xml"
_XLSX_PARTS = (
    ("[Content_Types].xml", _XML + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/{_SHEET_PART}" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '</Types>')),
    ("_rels/.rels", _XML + (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>')),
    ("xl/workbook.xml", _XML + (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f'<sheets><sheet name="{SHEET_TITLE}" sheetId="1" r:id="rId1"/></sheets></workbook>')),
    ("xl/_rels/workbook.xml.rels", _XML + (
        f'<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        '</Relationships>')),
    # Style 1 is Excel's quote prefix: a text that begins like a formula stays text when someone edits the cell.
    ("xl/styles.xml", _XML + (
        f'<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>')),
)
_SHEET_HEAD = _XML + f'<worksheet xmlns="{_MAIN_NS}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
# Characters XML 1.0 cannot carry at all: dropped (openpyxl refused the whole export for one of them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _column(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_COLUMNS = [_column(i) for i in range(len(EXPORT_COLUMNS))]


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xlsx_cell(ref: str, value: Any) -> str:
    """A number as a number; any text as an inline string, never a formula, with the quote prefix when it
    begins like one (as core.csv_safe.xlsx_bytes does); an empty value as no cell."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = str(value)
    style = ' s="1"' if text.startswith(FORMULA_PREFIXES) else ""
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


def _xlsx_row(number: int, values: Sequence[Any]) -> str:
    cells = "".join(_xlsx_cell(f"{column}{number}", value) for column, value in zip(_COLUMNS, values))
    return f'<row r="{number}">{cells}</row>'


class _Pipe:
    """The zip's output: write-only and unseekable (zipfile then writes data descriptors), emptied by `take`."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


async def xlsx_chunks(batches: AsyncIterable[Sequence[ReviewRowOut]]) -> AsyncIterator[bytes]:
    """One sheet, the rows of `xlsx_export`, as a chunk of the zip per batch of rows.

    The sheet part is opened without a size: zipfile then refuses one beyond 2 GiB (zip64 must be chosen before
    an unseekable entry is written). Excel's own limit, 1,048,576 rows of about 400 bytes, stays below it."""
    pipe = _Pipe()
    labels = {status: status_label(status) for status in STATUSES}
    # Level 1: most of the size gain of deflate for a fraction of the time of the default 6 on repetitive XML.
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in _XLSX_PARTS:
            book.writestr(name, text)
        with book.open(_SHEET_PART, "w") as sheet:
            sheet.write((_SHEET_HEAD + _xlsx_row(1, EXPORT_COLUMNS)).encode("utf-8"))
            yield pipe.take()
            number = 1
            async for rows in batches:
                parts = []
                for row in rows:
                    number += 1
                    parts.append(_xlsx_row(number, export_values(row, labels)))
                sheet.write("".join(parts).encode("utf-8"))
                if pipe.buffer:
                    yield pipe.take()
            sheet.write(_SHEET_TAIL.encode("utf-8"))
    yield pipe.take()
