"""`louzhang pickup list` as a user runs it: text on stdout, XLSX with -o, clear errors."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from config.database import database
from estate.models import AuditEntry
from surveys.models import Response
from surveys.pickups.lists import XLSX_COLUMNS
from tests.bot.cli.test_cli import GOOD, louzhang


async def test_pickup_list_text_and_xlsx(tmp_path: Path) -> None:
    residents = tmp_path / "residents.csv"
    residents.write_bytes(GOOD.encode("utf-8"))
    assert louzhang(tmp_path, "import", "residents", str(residents)).returncode == 0
    opened = louzhang(tmp_path, "survey", "open", "medication")
    assert opened.stdout.strip().splitlines()[-1] == "round 1"
    antigen = louzhang(tmp_path, "survey", "open", "antigen")
    assert antigen.stdout.strip().splitlines()[-1] == "round 2"

    async with database(f"sqlite://{tmp_path}/cli.sqlite3"):
        for room, drug, card in (("1203", "阿莫西林", "yes"), ("502", "降压药", "no")):
            await Response.filter(round_id=1, household__room=room).update(
                status="answered",
                answers={
                    "needs_medicine": "yes",
                    "medicines": [{"drug": drug, "dose": "2盒", "insurance_card": card}],
                    "urgency": "today",
                },
            )

    listed = louzhang(tmp_path, "pickup", "list", "1", "--building", "3", language="zh-CN")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.index("3-502") < listed.stdout.index("3-1203")  # floor 5 before 12
    assert "阿莫西林 2盒" in listed.stdout and "💳需收医保卡" in listed.stdout

    out = tmp_path / "pickup.xlsx"
    written = louzhang(tmp_path, "pickup", "list", "1", "-o", str(out), language="zh-CN")
    assert written.returncode == 0, written.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert list(rows[0]) == XLSX_COLUMNS
    assert [(r[2], r[6], r[10]) for r in rows[1:]] == [
        ("502", "降压药", "no"),
        ("1203", "阿莫西林", "yes"),
    ]

    missing = louzhang(tmp_path, "pickup", "list", "99")
    assert missing.returncode == 2 and "no round 99" in missing.stderr
    wrong = louzhang(tmp_path, "pickup", "list", "2")
    assert wrong.returncode == 2 and "not 'medication'" in wrong.stderr

    async with database(f"sqlite://{tmp_path}/cli.sqlite3"):
        assert await AuditEntry.filter(actor="cli", action="pickup list").count() == 2
