"""Spreadsheet exports (CSV and XLSX) that stay inert when opened in Excel or WPS.

A resident can type anything, e.g. ``=HYPERLINK("http://…"&A2,"点我")`` as a drug name. Every
export goes through these writers, so:

- in CSV, text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
  leading apostrophe (OWASP's rule against CSV injection), so a spreadsheet shows it as text;
- in XLSX, every text is written as a string cell (never a formula), apostrophe-free;
- real numbers (int, float) stay numbers in both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_text(value: Any) -> Any:
    """The CSV form of one cell: text that a spreadsheet would run gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([inert_text(c) for c in columns])
    writer.writerows([[inert_text(v) for v in row] for row in rows])
    return out.getvalue()


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # utf-8-sig: Excel opens Chinese text correctly only with the BOM.
    path.write_text(to_csv(columns, rows), encoding="utf-8-sig", newline="")


def write_xlsx(
    path: Path | io.BytesIO, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str
) -> None:
    """One sheet; every text a string cell (openpyxl would make ``=…`` a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "report")

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str):
            text = WriteOnlyCell(sheet, value=None)
            text.value = value
            text.data_type = "s"
            return text
        return value

    sheet.append([cell(c) for c in columns])
    for row in rows:
        sheet.append([cell(v) for v in row])
    workbook.save(path)
