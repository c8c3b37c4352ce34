"""The `louzhang` command line as a user runs it, on a temporary database. The process itself
(``python -m bot``: its entry point, environment, exit status and streams) is exercised by the
tests that start real subprocesses (:func:`louzhang_process`, ``louzhang run``); the others call
the same ``main()`` in this process (:func:`louzhang`), which is what a subprocess would run,
without a second of imports per command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import free_port
from tests.workers import die_with_parent

GOOD = (
    "\ufeff楼号,楼层,室号,姓名,电话,出生年份\r\n"
    "3,,1203室,王芳,138 0013 8000,1980\r\n"
    "3,,1203室,李强,139-0013-9000,1950\r\n"
    "3,5,502,张伯,136 0013 6000,1940\r\n"
)
BROKEN = (
    "building,floor,room,name,phone\r\n"
    "3,,1203,王芳,12345\r\n"  # line 2: bad phone
    "3,,12,李强,13900139000\r\n"  # line 3: room without a floor
)


def _env(tmp_path: Path, language: str, url: str | None) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": url or f"sqlite://{tmp_path}/cli.sqlite3",
        "LOUZHANG_LANGUAGE": language,
    }


def louzhang_process(
    tmp_path: Path, *args: str, language: str = "en", url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a real ``python -m bot`` process in ``tmp_path`` on ``url`` (default
    ``cli.sqlite3`` there); its English words unless ``language``."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=_env(tmp_path, language, url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def louzhang(
    tmp_path: Path, *args: str, language: str = "en", url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI's ``main()`` in this process as :func:`louzhang_process` would run it (same
    environment, working directory, logging set-up; stdout and stderr captured, exit status
    returned); these tests read its English words (``language="zh-CN"`` for the default)."""
    import io
    import logging

    from bot.cli.main import main
    from config.settings import get_settings

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(_env(tmp_path, language, url))
    os.chdir(tmp_path)
    get_settings.cache_clear()
    # As in a fresh process, the CLI's logging set-up sends the log to (the captured) stderr.
    root.handlers = []
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                if _loop_running():  # an async test: main() runs its own loop, in a thread
                    with ThreadPoolExecutor(1) as thread:
                        code = thread.submit(main, list(args)).result()
                else:
                    code = main(list(args))
            except SystemExit as exc:  # argparse: --help, wrong arguments
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                for handler in root.handlers:
                    handler.flush()
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        for name in list(logging.root.manager.loggerDict):  # the levels it set, undone
            logging.getLogger(name).setLevel(saved_levels.get(name, logging.NOTSET))
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        get_settings.cache_clear()
    # Read as ``subprocess.run(text=True)`` reads a pipe: universal newlines.
    out, err = (s.getvalue().replace("\r\n", "\n").replace("\r", "\n") for s in (stdout, stderr))
    return subprocess.CompletedProcess(["louzhang", *args], code, out, err)


def test_import_open_report_from_the_command_line(tmp_path: Path) -> None:
    """Real processes: exit statuses, summaries on stdout, the CSV report written to stdout."""
    good = tmp_path / "residents.csv"
    good.write_bytes(GOOD.encode("utf-8"))
    dry = louzhang_process(tmp_path, "import", "residents", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "nothing was written" in dry.stdout
    done = louzhang_process(tmp_path, "import", "residents", str(good))
    assert done.returncode == 0, done.stderr
    again = louzhang_process(tmp_path, "import", "residents", str(good))
    assert "nothing changed" in again.stdout  # idempotent

    opened = louzhang_process(
        tmp_path, "survey", "open", "antigen", "--buildings", "1-5", "--closes-in", "6h"
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip().splitlines()[-1] == "round 1"
    assert "2 households" in opened.stdout

    report = louzhang_process(tmp_path, "survey", "report", "1")
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0].startswith("building,floor,room,status,")
    rows = lines[1:]
    assert len(rows) == 2
    assert any(r.startswith("3,12,1203,no_reply,") for r in rows)  # floor from 1203室
    assert any(r.startswith("3,5,502,no_reply,") for r in rows)
    status = louzhang_process(tmp_path, "outbox", "status")
    assert status.returncode == 0, status.stderr
    assert "queued" in status.stdout and "waiting: 2" in status.stdout  # both questions wait

    out = tmp_path / "round1.xlsx"
    xlsx = louzhang_process(
        tmp_path, "survey", "report", "1", "--format", "xlsx", "-o", str(out), language="zh-CN"
    )
    assert xlsx.returncode == 0, xlsx.stderr
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]][:4] == ["楼号", "楼层", "室号", "状态"]  # the staff language
    assert sheet.max_row == 3


def test_bad_input_gets_a_clear_message_and_a_non_zero_exit(tmp_path: Path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_bytes(BROKEN.encode("utf-8"))
    result = louzhang_process(tmp_path, "import", "residents", str(broken))  # a real exit status
    assert result.returncode != 0
    assert "line 2" in result.stderr and "line 3" in result.stderr
    assert "nothing imported" in result.stderr

    unknown = louzhang(tmp_path, "survey", "open", "no-such-survey")
    assert unknown.returncode != 0 and "no-such-survey" in unknown.stderr
    bad_range = louzhang(tmp_path, "survey", "open", "antigen", "--buildings", "1-x")
    assert bad_range.returncode != 0 and "--buildings" in bad_range.stderr
    missing = louzhang(tmp_path, "survey", "report", "99")
    assert missing.returncode != 0 and "99" in missing.stderr
    for verb in (
        ("db", "upgrade"),
        ("import", "residents"),
        ("survey", "open"),
        ("drive", "start"),
        ("run",),
    ):
        helped = louzhang(tmp_path, *verb, "--help")
        assert helped.returncode == 0 and "usage:" in helped.stdout


def test_run_serves_health_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": f"sqlite://{tmp_path}/run.sqlite3",
        "LOUZHANG_HTTP_PORT": str(port),
        "LOUZHANG_LANGUAGE": "en",  # the English lines are read below
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "louzhang run did not answer /healthz"
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Telegram: off (set LOUZHANG_TELEGRAM_TOKEN" in output
    assert "SMS: off" in output


def test_drive_start_status_and_pace_from_the_command_line(tmp_path: Path) -> None:
    assert louzhang(tmp_path, "demo", "seed").returncode == 0
    points = "A:1-4,B:5-8,C:9-12,D:13-16,E:17-21,F:22-25"
    args = ("drive", "start", "--points", points, "--start", "now", "--interval", "5m")
    dry = louzhang(tmp_path, *args, "--lead", "10m", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "batches" in dry.stdout and "segments" in dry.stdout and "expected finish" in dry.stdout
    assert "nothing was started" in dry.stdout
    started = louzhang(tmp_path, *args, "--lead", "10m", "--locations", "A=东门广场")
    assert started.returncode == 0, started.stderr
    drive_id = started.stdout.strip().splitlines()[-1]
    assert drive_id.startswith("drive ")
    status = louzhang(tmp_path, "drive", "status", drive_id.split()[1])
    assert status.returncode == 0, status.stderr
    assert "Point A (东门广场)" in status.stdout and "Building 25" in status.stdout
    assert "Door-to-door" in status.stdout and "next call" in status.stdout
    chinese = louzhang(tmp_path, "drive", "status", drive_id.split()[1], language="zh-CN")
    assert "采样点 A（东门广场）" in chinese.stdout or "采样点 A (东门广场)" in chinese.stdout
    assert "下一批" in chinese.stdout and "Door-to-door" not in chinese.stdout
    paused = louzhang(tmp_path, "drive", "pause", "B")
    assert paused.returncode == 0 and "paused" in paused.stdout
    resumed = louzhang(tmp_path, "drive", "resume", "B")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout
    # Bad input: a clear message, exit 2, nothing started or changed.
    for bad, message in (
        (("--points", "A:1-4,B:4-6"), "4"),  # building 4 served twice
        (("--points", "A:1,B:99"), "99"),
        (("--points", "A 1-4"), "A 1-4"),
        (("--interval", "5 minutes"), "duration"),
        (("--start", "25:00"), "25:00"),
    ):
        values = dict(zip(args[2::2], args[3::2], strict=True))
        values.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        flat = [item for key, value in values.items() for item in (key, value)]
        result = louzhang(tmp_path, "drive", "start", *flat, "--lead", "10m")
        assert result.returncode == 2, (bad, result.stdout, result.stderr)
        assert message in result.stderr, (bad, result.stderr)
    unknown = louzhang(tmp_path, "drive", "next", "Z")
    assert unknown.returncode == 2 and "no point 'Z'" in unknown.stderr
    cancelled = louzhang(tmp_path, "drive", "cancel")
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    after = louzhang(tmp_path, "drive", "status")
    assert after.returncode == 0 and "cancelled" in after.stdout
    assert "next call" not in after.stdout and "expected finish" not in after.stdout
    assert "no drive 42" in louzhang(tmp_path, "drive", "status", "42").stderr


def has_table(path: Path, table: str) -> bool:
    """Whether the SQLite database at ``path`` has ``table`` yet (read-only; WAL lets us read)."""
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,))
            return found.fetchone() is not None
    except sqlite3.Error:
        return False


def test_ctrl_c_during_start_up_still_stops_cleanly(tmp_path: Path) -> None:
    """A fresh machine seeds the demo estate first; Ctrl-C in that second is a clean stop."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUZHANG_")},
        "LOUZHANG_DATABASE_URL": f"sqlite://{tmp_path}/run.sqlite3",
        "LOUZHANG_HTTP_PORT": str(free_port()),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        deadline = time.monotonic() + 30
        # The signal handlers are in place before the database is opened; once its schema is
        # there, the demo seeding is next: Ctrl-C now lands in the seeding or the site opening.
        while not has_table(tmp_path / "run.sqlite3", "household"):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
