"""The command line on a committee's first day, run as a new user would (the process boundary:
a mistyped database URL and `louzhang audit | head` run real subprocesses; the rest calls the
CLI's main() in this process, see tests/bot/cli/test_cli.py).

Promises:
- `import template` writes an XLSX or CSV whose header names each column in Chinese and
  English, with two example rows, and the file imports as it is;
- LOUZHANG_DATABASE_URL may be a plain file path or sqlite:///absolute/path; a mistyped URL
  exits 2 with a clear message (no password shown) and creates nothing;
- the SQLite file is created readable by its owner only (0600: it holds health data);
- `survey open`, `staff add` and `import residents` are in the audit log, like `drive start`;
- `survey list` shows each round's opening and deadline in LOUZHANG_TIMEZONE, with the offset;
- counts read naturally ("1 household", not "1 households");
- `louzhang audit | head` ends quietly, without a BrokenPipe traceback.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests.bot.cli.test_cli import GOOD, louzhang, louzhang_process


def run(
    tmp_path: Path, *args: str, url: str | None = None, language: str = "en"
) -> subprocess.CompletedProcess[str]:
    """Run the CLI (in this process, see :func:`tests.bot.cli.test_cli.louzhang`) on ``url``
    (default ``day.sqlite3`` in ``tmp_path``); these tests read its English words
    (``language="zh-CN"``: the default)."""
    return louzhang(tmp_path, *args, language=language, url=url or _day(tmp_path))


def _day(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/day.sqlite3"


def test_the_residents_template_names_both_languages_and_imports_as_it_is(
    tmp_path: Path,
) -> None:
    for name in ("template.xlsx", "template.csv"):
        made = run(tmp_path, "import", "template", "-o", name)
        assert made.returncode == 0, made.stderr
        checked = run(tmp_path, "import", "residents", name, "--dry-run")
        assert checked.returncode == 0, checked.stderr
        assert "2 households" in checked.stdout
    header = [c.value for c in next(load_workbook(tmp_path / "template.xlsx").active.iter_rows())]
    assert header[:3] == ["楼号/building", "楼层/floor", "室号/room"]
    assert (tmp_path / "template.csv").read_bytes().startswith("\ufeff楼号/building".encode())


def test_a_plain_path_is_a_sqlite_database_made_for_its_owner_only(tmp_path: Path) -> None:
    done = run(tmp_path, "db", "upgrade", url=str(tmp_path / "plain" / "louzhang.db"))
    assert done.returncode == 0, done.stderr
    mode = stat.S_IMODE((tmp_path / "plain" / "louzhang.db").stat().st_mode)
    assert mode == 0o600
    absolute = run(
        tmp_path, "db", "upgrade", url=f"sqlite:///{tmp_path}/abs.sqlite3".replace("////", "///")
    )
    assert absolute.returncode == 0, absolute.stderr
    assert (tmp_path / "abs.sqlite3").exists()


def test_a_mistyped_database_url_is_explained_and_creates_nothing(tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    wrong = louzhang_process(
        tmp_path, "survey", "list", url="postgre://louzhang:s3cret@db.example/louzhang"
    )  # a real process: what its user sees, exit status and all
    assert wrong.returncode == 2
    assert "LOUZHANG_DATABASE_URL" in wrong.stderr and "postgres://" in wrong.stderr
    assert "s3cret" not in wrong.stderr and "Traceback" not in wrong.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_changes_are_audited_and_listed_in_local_time(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_bytes(GOOD.encode("utf-8"))
    assert run(tmp_path, "import", "residents", str(people)).returncode == 0
    added = run(tmp_path, "staff", "add", "王主任", "--role", "cadre", "--buildings", "3")
    assert added.returncode == 0, added.stderr
    opened = run(tmp_path, "survey", "open", "antigen", "--buildings", "3", "--closes-in", "6h")
    assert opened.returncode == 0, opened.stderr
    assert "2 households: 2 by sms" in opened.stdout
    one = tmp_path / "one.csv"
    one.write_text("building,room,name,phone\n9,901,赵,13700137009\n", encoding="utf-8")
    assert run(tmp_path, "import", "residents", str(one)).returncode == 0
    single = run(tmp_path, "survey", "open", "medication", "--buildings", "9")
    assert "1 household: 1 by sms" in single.stdout
    log = run(tmp_path, "audit").stdout
    for action in ("import residents", "staff add", "survey open"):
        assert f"cli\tallowed\t{action}" in log
    listed = run(tmp_path, "survey", "list").stdout
    assert "Asia/Shanghai, UTC+08:00" in listed
    assert "closes" in listed and "UTC\n" not in listed


def test_audit_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "day.sqlite3") as conn:  # enough lines to fill the pipe
        conn.executemany(
            "INSERT INTO audit_entry (at, actor, action, target, allowed, detail) "
            "VALUES ('2026-01-01 00:00:00+00:00', 'cli', 'survey open', ?, 1, '{}')",
            [(f"round {n} " + "x" * 100,) for n in range(3000)],
        )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": f"sqlite://{tmp_path}/day.sqlite3",
    }
    piped = subprocess.run(
        f"{sys.executable} -m bot audit --limit 3000 | head -1",
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "BrokenPipe" not in piped.stderr and "Traceback" not in piped.stderr
