"""`louzhang survey open --dry-run` prints the preview staff confirm on the web (households by
channel, SMS segments and cost, deadline and reminder times; "every building" said plainly) and
changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.bot.cli.test_cli import GOOD, louzhang


def test_dry_run_prints_the_preview_and_opens_nothing(tmp_path: Path) -> None:
    good = tmp_path / "residents.csv"
    good.write_bytes(GOOD.encode("utf-8"))
    assert louzhang(tmp_path, "import", "residents", str(good)).returncode == 0

    dry = louzhang(
        tmp_path, "survey", "open", "antigen", "--closes-in", "6h", "--dry-run", language="zh-CN"
    )
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout
    assert "预览" in out and "不会发送" in out
    assert "全部 1 栋楼" in out  # no --buildings: every building, said so
    assert "住户：2 户" in out
    assert "短信：" in out and "提醒：" in out and "截止：" in out
    assert "round " not in out

    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        assert db.execute("select count(*) from survey_round").fetchone() == (0,)
        assert db.execute("select count(*) from survey_response").fetchone() == (0,)
        assert db.execute("select count(*) from outbox").fetchone() == (0,)

    opened = louzhang(tmp_path, "survey", "open", "antigen", "--buildings", "3")
    assert opened.returncode == 0, opened.stderr
    again = louzhang(
        tmp_path, "survey", "open", "medication", "--buildings", "3", "--dry-run", language="zh-CN"
    )
    assert again.returncode == 0, again.stderr
    assert "第1轮尚未开始填写的 2 户先收到本轮" in again.stdout
    assert "楼栋：3" in again.stdout
