"""The dashboard's rows as a spreadsheet: CSV (`;`, BOM, every field quoted) or XLSX, formulas defused by
core.csv_safe; the status both as its code and as a label, the maturity with the language's decimal mark."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convergence.core.csv_safe import csv_text, xlsx_bytes
from convergence.core.i18n import gettext as _
from convergence.review.schemas import ReviewRowOut

EXPORT_COLUMNS = ("product_id", "company_id", "company_name", "display_name", "step_id", "step", "status",
                  "status_label", "maturity", "validated_at")
MATURITY_COLUMN = EXPORT_COLUMNS.index("maturity")


def status_label(status: str) -> str:
    """A status code as its label in the request language ("Validé" / "Validated"), as the pages' tags show it."""
    return _(status.replace("_", " ").capitalize())


def _decimal(value: Any, comma: bool) -> Any:
    """A number as text with the decimal mark French spreadsheets read ("87,5"), or the dot in English."""
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if comma else text
    return value


def export_values(row: ReviewRowOut) -> list[Any]:
    return [row.product_id, row.company_id, row.company_name, row.display_name, row.step_id, row.step,
            row.status, status_label(row.status), row.maturity,
            row.validated_at or ""]


def csv_export(rows: Iterable[ReviewRowOut], language: str) -> str:
    comma = language == "fr"
    return csv_text(EXPORT_COLUMNS, [
        [_decimal(v, comma) if i == MATURITY_COLUMN else v for i, v in enumerate(export_values(row))]
        for row in rows])


def xlsx_export(rows: Iterable[ReviewRowOut]) -> bytes:
    return xlsx_bytes("review", EXPORT_COLUMNS, [export_values(row) for row in rows])
