"""`louzhang survey open --remind` and `louzhang audit`, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from config.i18n import check_catalog
from tests.bot.cli.test_cli import GOOD, louzhang


def test_survey_open_schedules_reminders_and_audit_lists_staff_actions(tmp_path: Path) -> None:
    good = tmp_path / "residents.csv"
    good.write_bytes(GOOD.encode("utf-8"))
    assert louzhang(tmp_path, "import", "residents", str(good)).returncode == 0

    opened = louzhang(
        tmp_path, "survey", "open", "antigen", "--closes-in", "6h", "--remind", "2h,30m,10m"
    )
    assert opened.returncode == 0, opened.stderr
    lines = opened.stdout.strip().splitlines()
    assert lines[-1] == "round 1"
    assert "reminders before the deadline: 2h, 30m, 10m" in lines

    default = louzhang(tmp_path, "survey", "open", "medication", "--closes-in", "6h")
    assert "reminders before the deadline: 2h, 30m" in default.stdout

    refused = louzhang(tmp_path, "survey", "open", "antigen", "--remind", "2h")
    assert refused.returncode == 2 and "--remind needs --closes-in" in refused.stderr

    assert (
        louzhang(tmp_path, "staff", "add", "Wang", "--role", "cadre", "--buildings", "3").returncode
        == 0
    )
    empty = louzhang(tmp_path, "audit", "--staff", "Wang")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "--limit" in louzhang(tmp_path, "audit", "--help").stdout


def test_every_staff_text_is_in_both_languages() -> None:
    from bot.staff.texts import TEXTS as STAFF
    from surveys.reminders import TEXTS as REMINDERS

    assert check_catalog(STAFF) == []
    assert check_catalog(REMINDERS) == []
