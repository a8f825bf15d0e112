"""Spreadsheet exports: formulas defused, `;`-separated quoted fields with a BOM, XLSX text never a formula."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from convergence.core.csv_safe import csv_text, safe_cell, xlsx_bytes

HOSTILE = ["=1+1", "+33 1 02", "-2", "@SUM(A1)", "\t=1", "\r=1", "Acme;=2+5;@SUM(9+9)", 'a "quoted"; b\r\nc',
           "=cmd|' /C calc'!A0", "ok", "Éditeur ;-)"]


def test_text_that_begins_like_a_formula_gets_a_quote():
    assert [safe_cell(v) for v in ("=1+1", "+33", "-2", "@SUM(A1)", "\tx", "\rx", "ok", "a=1", "", 12, -3, 1.5,
                                   None)] == [
        "'=1+1", "'+33", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok", "a=1", "", 12, -3, 1.5, None]


def test_csv_has_a_bom_semicolons_and_every_field_quoted():
    text = csv_text(["name", "n"], [["Acme", 1], ["Zoé", None]])
    assert text == '\ufeff"name";"n"\r\n"Acme";"1"\r\n"Zoé";""\r\n'
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_spreadsheet_reads_each_value_back_as_one_inert_cell(value):
    text = csv_text(["value", "after"], [[value, "x"]])
    # A French spreadsheet splits on `;` outside quotes; what it reads is the escaped text in one cell.
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert rows == [["value", "after"], [safe_cell(value), "x"]]
    assert not rows[1][0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_writes_text_as_text_never_as_a_formula():
    data = xlsx_bytes("export", ["value", "number"], [[v, -2.5] for v in HOSTILE] + [[None, 3]])
    for formulas_as_values in (False, True):
        sheet = load_workbook(io.BytesIO(data), data_only=formulas_as_values).active
        cells = [c for row in sheet.iter_rows() for c in row]
        assert not any(c.data_type == "f" for c in cells)
        values = [row[0].value for row in sheet.iter_rows(min_row=2)]
        # The exact text, no quote added inside the cell (XML reads a CR as a line feed).
        assert values == [v.replace("\r\n", "\n").replace("\r", "\n") for v in HOSTILE] + [None]
    sheet = load_workbook(io.BytesIO(data)).active
    first = {row[0].value: row[0] for row in sheet.iter_rows(min_row=2) if row[0].value}
    assert first["=1+1"].quotePrefix and first["-2"].quotePrefix and not first["ok"].quotePrefix
    assert [row[1].value for row in sheet.iter_rows(min_row=2)][0] == -2.5  # numbers stay numbers
